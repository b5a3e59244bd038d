"""The rules, pure: every threshold at and around its bar on the shown rate, zero denominators,
vertical agencies, several decisions per unit, and the letter's layout."""

from __future__ import annotations

import pytest
from support.decisions import figures, pct, rules_at, unit

from cchc.rules.decide import decide_period_pure, decide_unit, directive_addressees, layout, shortfalls

RULES = rules_at("2023-08")  # commend 98,5/99, low 90/90, payment target 30, 4 posts


def kinds(decisions):
    return [(d.kind, d.metric, d.reason) for d in decisions]


def commended(**figs) -> bool:
    return any(d.kind == "commend" for d in decide_unit(unit("X"), figures(**figs), RULES))


# ------------------------------------------------------------------------------ commend


@pytest.mark.parametrize(
    ("receipt", "expected"),
    [
        (pct(984900), False),  # 98,49%
        (pct(984949), False),  # 98,4949% → shown 98,49%
        (pct(984950), True),  # 98,495% → shown 98,5% (half-up on the exact fraction)
        ((197, 200), True),  # 98,5% exactly
        (pct(985100), True),  # 98,51%
    ],
)
def test_commend_receipt_bar(receipt, expected):
    assert commended(receipt=receipt) is expected


@pytest.mark.parametrize(
    ("result", "expected"),
    [
        (pct(989900), False),  # 98,99%
        (pct(989949), False),  # shown 98,99%
        (pct(989950), True),  # 98,995% → shown 99%
        ((99, 100), True),
    ],
)
def test_commend_result_bar(result, expected):
    assert commended(result=result) is expected


@pytest.mark.parametrize(
    ("payment", "expected"),
    [
        (pct(299900), False),  # 29,99%
        (pct(299950), True),  # 29,995% → shown 30%
        ((3, 10), True),  # 30%
        ((0, 0), True),  # no fee-bearing dossiers: payment is no condition
    ],
)
def test_commend_payment_at_target_where_there_are_fee_dossiers(payment, expected):
    assert commended(payment=payment, payment_campaign=(50, 100)) is expected


def test_commend_reasons_carry_the_figures():
    [decision] = [
        d
        for d in decide_unit(unit("X"), figures(receipt=(309, 310), payment=(30, 31)), RULES)
        if d.kind == "commend"
    ]
    assert decision.rulebook_version == "default@2023-04-01"
    assert [r.json() for r in decision.reasons][0] == {
        "metric": "receipt",
        "window": "month",
        "numerator": 309,
        "denominator": 310,
        "shown": "99.68",
        "text": "99,68%",
        "threshold": "98.5",
        "comparison": "at_or_above",
    }
    assert [r.metric for r in decision.reasons] == ["receipt", "result", "payment"]
    no_fees = [d for d in decide_unit(unit("X"), figures(payment=(0, 0)), RULES) if d.kind == "commend"][0]
    assert [r.metric for r in no_fees.reasons] == ["receipt", "result"]


def test_no_payment_condition_before_the_target_exists():
    march = rules_at("2023-03")
    decisions = decide_unit(unit("X"), figures(payment=(0, 100), payment_campaign=(0, 100)), march)
    assert kinds(decisions) == [("commend", None, None)]  # and no payment reminder or criticism


@pytest.mark.parametrize("field", ["receipt", "result"])
def test_zero_denominator_is_never_commended(field):
    assert commended(**{field: (0, 0)}) is False


# ------------------------------------------------------------------------------ remind on digitisation


@pytest.mark.parametrize(
    ("metric", "month", "expected"),
    [
        ("result", pct(899900), [("remind", "result", "low_month")]),  # 89,99%
        ("result", pct(899949), [("remind", "result", "low_month")]),  # shown 89,99%
        ("result", pct(899950), []),  # 89,995% → shown 90%: not "chỉ đạt 90%" against a 90% bar
        ("result", (9, 10), []),
        ("receipt", pct(899900), [("remind", "receipt", "low_month")]),
        ("receipt", pct(899950), []),
    ],
)
def test_low_month_bar(metric, month, expected):
    decisions = decide_unit(unit("X"), figures(**{metric: month}), RULES)
    assert [k for k in kinds(decisions) if k[0] == "remind"] == expected


@pytest.mark.parametrize(
    ("ytd", "expected"),
    [(pct(899900), [("remind", "result", "low_ytd")]), (pct(899950), []), ((90, 100), [])],
)
def test_low_year_to_date_bar(ytd, expected):
    decisions = decide_unit(unit("X"), figures(result=(96, 100), result_ytd=ytd), RULES)
    assert [k for k in kinds(decisions) if k[0] == "remind"] == expected


def test_low_ytd_reasons_month_then_year():
    [d] = [
        d
        for d in decide_unit(unit("X"), figures(result=(150, 156), result_ytd=(1357, 1561)), RULES)
        if d.kind == "remind"
    ]
    assert [(r.window, r.comparison, r.json()["text"]) for r in d.reasons] == [
        ("month", "at_or_above", "96,15%"),
        ("ytd", "below", "86,93%"),
    ]


def test_low_month_wins_over_low_ytd():
    decisions = decide_unit(unit("X"), figures(result=(50, 100), result_ytd=(50, 100)), RULES)
    assert [k for k in kinds(decisions) if k[0] == "remind"] == [("remind", "result", "low_month")]


@pytest.mark.parametrize("metric", ["receipt", "result"])
def test_zero_denominator_month_gets_no_reminder_whatever_the_year(metric):
    decisions = decide_unit(unit("X"), figures(**{metric: (0, 0), f"{metric}_ytd": (10, 100)}), RULES)
    assert decisions == []


# ------------------------------------------------------------------------------ online payment


@pytest.mark.parametrize(
    ("month", "campaign", "expected"),
    [
        (pct(299900), pct(299900), [("criticise", "payment", None)]),
        (pct(299950), pct(299900), [("remind", "payment", "low_campaign")]),  # month shown 30%
        ((3, 10), pct(299900), [("remind", "payment", "low_campaign")]),
        (pct(299900), pct(299950), [("remind", "payment", "low_month")]),  # campaign shown 30%
        (pct(299900), (3, 10), [("remind", "payment", "low_month")]),
        ((3, 10), (3, 10), []),
        ((0, 0), (0, 100), []),  # no fee-bearing dossiers this month: nothing, whatever the campaign
    ],
)
def test_payment_month_and_campaign_against_target(month, campaign, expected):
    decisions = decide_unit(
        unit("X"), figures(receipt=(95, 100), payment=month, payment_campaign=campaign), RULES
    )
    assert kinds(decisions) == expected


def test_criticism_counts_from_earlier_and_adds_the_posts_shortfall():
    low = figures(payment=(10, 100), payment_campaign=(10, 100), posts=2)
    [d] = decide_unit(unit("X"), low, RULES, earlier_criticisms=2)
    assert d.kind == "criticise" and d.count == 3
    assert [r.json() for r in d.reasons][2] == {
        "metric": "posts",
        "window": "month",
        "value": 2,
        "threshold": 4,
        "comparison": "below",
    }
    [enough] = decide_unit(unit("X"), figures(payment=(10, 100), payment_campaign=(10, 100), posts=4), RULES)
    assert [r.metric for r in enough.reasons] == ["payment", "payment"]


def test_posts_shortfall_alone_is_no_decision_but_is_listed():
    units = [unit("X", position=1), unit("Y", position=2)]
    figs = {"X": figures(receipt=(95, 100), posts=0), "Y": figures(receipt=(95, 100), payment=(10, 100))}
    decided = decide_period_pure(units, figs, RULES)
    assert [d.unit_code for d in decided.decisions] == ["Y"]
    assert shortfalls(units, figs, RULES, decided.sections) == {"payment": ["Y"], "posts": ["X"]}


def test_vertical_agency_gets_a_request_not_a_criticism():
    agency = unit("V", kind="vertical_agency", name="Chi cục Thuế khu vực Tứ Kỳ", head_title="Chi cục trưởng")
    low = figures(receipt=(95, 100), payment=(10, 100), payment_campaign=(10, 100), posts=1)
    [d] = decide_unit(agency, low, RULES, earlier_criticisms=3)
    assert (d.kind, d.metric, d.count) == ("request", "payment", None)
    assert [r.metric for r in d.reasons] == ["payment", "payment", "posts"]
    # Reminders are not criticism: a vertical agency is reminded like anyone else.
    [r] = decide_unit(agency, figures(receipt=(50, 100)), RULES)
    assert (r.kind, r.reason) == ("remind", "low_month")


def test_a_unit_may_get_several_decisions():
    """Hà Kỳ: commended for its month and reminded for its campaign-to-date payment rate."""
    decisions = decide_unit(
        unit("X-HK"),
        figures(receipt=(309, 310), result=(290, 290), payment=(30, 31), payment_campaign=(75, 265)),
        RULES,
    )
    assert kinds(decisions) == [("commend", None, None), ("remind", "payment", "low_campaign")]


# ------------------------------------------------------------------------------ layout


def test_layout_numbers_are_contiguous_and_ordered():
    units = [
        unit("X-1", position=1),  # a commune first in the registry: still after the departments
        unit("P-1", kind="department", position=2, name="Phòng Tư pháp huyện"),
        unit(
            "V-1",
            kind="vertical_agency",
            position=3,
            name="Chi cục Thuế khu vực",
            head_title="Chi cục trưởng",
        ),
        unit("X-2", position=4),
        unit("X-3", position=5),
    ]
    low = dict(receipt=(95, 100), payment=(10, 100), payment_campaign=(10, 100))
    figs = {
        "X-1": figures(**low),
        "P-1": figures(**low),
        "V-1": figures(**low),
        "X-2": figures(**low),
        "X-3": figures(receipt=(95, 100), payment=(40, 100), payment_campaign=(20, 100)),
    }
    decided = decide_period_pure(units, figs, RULES, {"X-1": 1, "P-1": 0, "X-2": 0})
    sections = decided.sections
    # No commendation: the reminders are section 1, payment its only sub-section 1.1.
    assert [(s["number"], s["kind"]) for s in sections] == [
        ("1", "remind"),
        ("2", "criticise"),
        ("3", "criticise"),
        ("4", "request"),
        ("5", "directives"),
    ]
    assert sections[0]["subsections"][0]["number"] == "1.1"
    assert sections[0]["subsections"][0]["metric"] == "payment"
    first, second = sections[1], sections[2]
    assert (first["count"], first["ordinal"]) == (1, None)
    assert [e["unit"] for e in first["entries"]] == ["P-1", "X-2"]  # department before commune
    assert first["subjects"] == "Phòng Tư pháp huyện, UBND xã X-2"
    assert (second["count"], second["ordinal"], second["subjects"]) == (2, "lần thứ hai", "UBND xã X-1")
    assert sections[3]["heads"] == "Chi cục trưởng Chi cục Thuế khu vực"
    assert [e["unit"] for e in sections[3]["entries"]] == ["V-1"]
    sections_of = {d.unit_code: d.section for d in decided.decisions}
    assert sections_of == {"P-1": "2", "X-2": "2", "X-1": "3", "V-1": "4", "X-3": "1.1"}


def test_remind_subsections_results_receipt_payment_and_requests():
    units = [
        unit("P-A", kind="department", position=1, name="Phòng Tài chính - Kế hoạch huyện"),
        unit("X-CL", position=2, name="UBND xã Cộng Lạc"),
        unit("X-HK", position=3, name="UBND xã Hà Kỳ"),
    ]
    figs = {
        "P-A": figures(receipt=(95, 100), payment=(67, 100), payment_campaign=(28, 100)),
        "X-CL": figures(receipt=(95, 100), payment=(61, 100), payment_campaign=(13, 100), result=(50, 100)),
        "X-HK": figures(
            receipt=(97, 100), receipt_ytd=(85, 100), payment=(96, 100), payment_campaign=(28, 100)
        ),
    }
    sections = decide_period_pure(units, figs, RULES).sections
    remind = sections[0]
    assert [(s["number"], s["metric"]) for s in remind["subsections"]] == [
        ("1.1", "result"),
        ("1.2", "receipt"),
        ("1.3", "payment"),
    ]
    payment = remind["subsections"][2]["groups"]
    assert [g["reason"] for g in payment] == ["low_campaign"]
    assert payment[0]["request"] == {
        "units": ["P-A", "X-CL", "X-HK"],
        "heads": "Trưởng phòng Tài chính - Kế hoạch huyện, Chủ tịch UBND các xã Cộng Lạc và Hà Kỳ",
        "subjects": "Phòng Tài chính - Kế hoạch huyện, UBND các xã Cộng Lạc và Hà Kỳ",
    }


def test_commend_groups_agencies_email_communes():
    units = [
        unit("X-1", position=1, official_email_regular=False),
        unit("X-2", position=2, official_email_regular=True),
        unit("V-1", kind="vertical_agency", position=3),
        unit("P-1", kind="department", position=4),
        unit("X-3", position=5, official_email_regular=None),
    ]
    figs = {code: figures() for code in ("X-1", "X-2", "V-1", "P-1", "X-3")}
    figs["P-1"] = figures(payment=(0, 0))  # commended on digitisation alone: after the one with payment too
    [commend, _directives] = decide_period_pure(units, figs, RULES).sections
    assert commend["groups"] == [
        {"group": "agencies", "units": ["V-1", "P-1"]},
        {"group": "communes_official_email", "units": ["X-2"]},
        {"group": "communes", "units": ["X-1", "X-3"]},
    ]


def test_nothing_to_say_leaves_only_the_directives():
    units = [unit("X", position=1)]
    sections, placed = layout([], units)
    assert sections == [{"number": "1", "kind": "directives", "addressees": "Chủ tịch UBND các xã"}]
    assert placed == []


def test_directive_addressees_by_kinds_present():
    assert directive_addressees([unit("X"), unit("T", kind="township")]) == "Chủ tịch UBND các xã, thị trấn"
    assert directive_addressees([unit("P", kind="department")]) == "Thủ trưởng các cơ quan, đơn vị"

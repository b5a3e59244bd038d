"""Whom the letter asks and whom it requires: reminder groups with a vertical agency, the directives'
addressees (issue 11), pure, and what the operator's summary says of them."""

from __future__ import annotations

import pytest
from support.decisions import figures, rules_at, unit

from cchc.core.authorities import LetterSettings
from cchc.rules.decide import decide_period_pure, directive_groups, directives_section
from cchc.rules.document import rebuild_document
from cchc.rules.summary import decisions_text

RULES = rules_at("2023-08", payment_target=60)
PROVINCE = LetterSettings().resolved("province", "thành phố Hải Phòng")
LOW_MONTH_PAYMENT = dict(payment=(40, 100), payment_campaign=(70, 100))  # reminded in 2.x payment
CRITICISED = dict(payment=(10, 100), payment_campaign=(10, 100))


def good():
    """In no section: digitisation at 100%, online payment at 80% against the 60% target."""
    return figures(payment=(80, 100))


def registry():
    return [
        unit("S-TC", kind="department", position=1, name="Sở Tài chính", head_title="Giám đốc Sở"),
        unit(
            "BHXH",
            kind="vertical_agency",
            position=2,
            name="Bảo hiểm xã hội thành phố Hải Phòng",
            head_title="Giám đốc Bảo hiểm xã hội thành phố",
        ),
        unit("X-NS", position=3, name="UBND xã Nam Sách", head_title="Chủ tịch UBND xã Nam Sách"),
        unit("X-KT", position=4, name="UBND xã Kiến Thụy", head_title="Chủ tịch UBND xã Kiến Thụy"),
    ]


def payment_request(figs, letter=PROVINCE):
    sections = decide_period_pure(registry(), figs, RULES, letter=letter).sections
    [sub] = next(s for s in sections if s["kind"] == "remind")["subsections"]
    return sub["groups"][0]["request"], sections


def test_a_group_with_a_vertical_agency_and_communes_asks_the_one_and_requires_the_others():
    figs = {code: good() for code in ("S-TC", "X-KT")}
    figs |= {"BHXH": figures(**LOW_MONTH_PAYMENT), "X-NS": figures(**LOW_MONTH_PAYMENT)}
    request, _ = payment_request(figs)
    assert request["units"] == ["BHXH", "X-NS"]
    assert request["asked"] == {
        "units": ["BHXH"],
        "heads": "Giám đốc Bảo hiểm xã hội thành phố Hải Phòng",
        "subjects": "Bảo hiểm xã hội thành phố Hải Phòng",
    }
    assert request["required"] == {
        "units": ["X-NS"],
        "heads": "Chủ tịch UBND xã Nam Sách",
        "subjects": "UBND xã Nam Sách",
    }


def test_a_group_of_vertical_agencies_only_is_asked_and_one_without_them_has_neither_key():
    figs = {code: good() for code in ("S-TC", "X-NS", "X-KT")} | {"BHXH": figures(**LOW_MONTH_PAYMENT)}
    request, _ = payment_request(figs)
    assert request["asked"]["units"] == ["BHXH"] and request["required"] is None
    figs = {code: good() for code in ("S-TC", "BHXH")}
    figs |= {"X-NS": figures(**LOW_MONTH_PAYMENT), "X-KT": figures(**LOW_MONTH_PAYMENT)}
    request, _ = payment_request(figs)
    assert set(request) == {"units", "heads", "subjects"}
    assert request["heads"] == "Chủ tịch UBND các xã Nam Sách và Kiến Thụy"  # full titles, grouped


def test_the_directives_follow_whom_the_letter_concerns():
    units = registry()
    figs = {"S-TC": figures(**CRITICISED), "BHXH": good(), "X-NS": good(), "X-KT": figures(**CRITICISED)}
    sections = decide_period_pure(units, figs, RULES, letter=PROVINCE).sections
    assert sections[-1] == {
        "number": str(len(sections)),
        "kind": "directives",
        "addressees": "Giám đốc các Sở, ban, ngành, Chủ tịch UBND các xã",
    }
    # A vertical agency concerned too: it is asked ("đề nghị"), never assigned.
    figs["BHXH"] = figures(**LOW_MONTH_PAYMENT)
    closing = decide_period_pure(units, figs, RULES, letter=PROVINCE).sections[-1]
    assert closing["addressees"] == "Giám đốc các Sở, ban, ngành, Chủ tịch UBND các xã"
    assert closing["requested"] == "Thủ trưởng các cơ quan ngành dọc đóng trên địa bàn thành phố"


def test_only_a_vertical_agency_concerned_leaves_nobody_assigned():
    figs = {"S-TC": good(), "BHXH": figures(**CRITICISED), "X-NS": good(), "X-KT": good()}
    decided = decide_period_pure(registry(), figs, RULES, letter=PROVINCE)
    assert decided.sections[-1]["addressees"] == ""
    assert decided.sections[-1]["requested"].startswith("Thủ trưởng các cơ quan ngành dọc")


@pytest.mark.parametrize(
    ("setting", "expected"),
    [
        ("concerned", ["departments"]),
        ("all", ["departments", "vertical_agencies", "communes"]),
        (("communes",), ["communes"]),  # the seed's configuration
        (("communes", "departments"), ["departments", "communes"]),
    ],
)
def test_directive_groups_by_setting(setting, expected):
    units = registry()
    figs = {code: good() for code in ("BHXH", "X-NS", "X-KT")} | {"S-TC": figures(**CRITICISED)}
    decisions = decide_period_pure(units, figs, RULES).decisions
    assert directive_groups(units, decisions, setting) == expected


def test_nothing_to_say_addresses_every_group_and_an_absent_group_is_never_addressed():
    units = registry()
    assert directive_groups(units, [], "concerned") == ["departments", "vertical_agencies", "communes"]
    communes = [u for u in units if u.kind == "commune"]
    assert directive_groups(communes, [], ("departments", "communes")) == ["communes"]
    assert directives_section(communes, []) == {"kind": "directives", "addressees": "Chủ tịch UBND các xã"}


def test_a_recount_keeps_the_directives_the_period_was_decided_with():
    units = registry()
    figs = {code: good() for code in ("BHXH", "X-NS")} | {
        "S-TC": figures(**CRITICISED),
        "X-KT": figures(**CRITICISED),
    }
    decided = decide_period_pure(units, figs, RULES, letter=PROVINCE)
    document = {
        "units": {
            u.code: {"code": u.code, "name": u.name, "kind": u.kind, "head_title": u.head_title}
            for u in units
        },
        "sections": decided.sections,
    }
    stored = dict(decided.sections[-1])
    stored["addressees"] = "Chủ tịch UBND các xã"  # decided under another configuration
    document["sections"][-1] = stored
    rebuilt, _ = rebuild_document(document, decided.decisions)
    assert rebuilt["sections"][-1] == stored


def test_the_operators_summary_says_who_is_asked_and_who_required():
    figs = {code: good() for code in ("S-TC", "X-KT")}
    figs |= {"BHXH": figures(**LOW_MONTH_PAYMENT), "X-NS": figures(**LOW_MONTH_PAYMENT)}
    _, sections = payment_request(figs)
    document = {
        "authority": {"id": "hai-phong", "name": "thành phố Hải Phòng"},
        "period_label": "3/2026",
        "rulebook": {"version": "v"},
        "targets": RULES.targets_json(),
        "totals": {
            **{m: {"text": "90%", "change_text": None} for m in ("receipt", "result", "payment")},
            "posts": {"numerator": 10},
        },
        "windows": {
            "ytd": {"label": "3 tháng đầu năm 2026"},
            "campaign": {"payment": {"label": "từ ngày …"}},
        },
        "units": {
            u.code: {
                "name": u.name,
                "figures": {m: {"month": {"text": "1%"}} for m in ("receipt", "result", "payment")},
            }
            for u in registry()
        },
        "sections": sections,
        "shortfalls": {"payment": [], "posts": []},
    }
    text = decisions_text(document)
    assert "Đề nghị: Giám đốc Bảo hiểm xã hội thành phố Hải Phòng; yêu cầu: Chủ tịch UBND xã Nam Sách" in text
    assert "; đề nghị Thủ trưởng các cơ quan ngành dọc đóng trên địa bàn thành phố thực hiện" in text

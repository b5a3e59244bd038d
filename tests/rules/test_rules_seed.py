"""The seed letter's decisions (Tứ Kỳ, August 2023) come out of the warehouse exactly, on both backends.

All of scenarios/seed/tu-ky/monthly.csv goes through the warehouse API, the rates are computed with
the rulebook's campaign starts, history.csv is imported, and decide_period writes decisions.json. The
same August counts come out when April–July are decided by the system instead of imported, in order or
in any order.
"""

from __future__ import annotations

import json
import shutil

import pytest
from support.decisions import counts_by_unit, history_rows, runs, stored_rows
from support.paths import SEED_AUTHORITY
from support.warehouse import fresh_url, load_seed, migrated, sqlite_url

from cchc.core.authorities import load_authority
from cchc.rules.service import decide_period
from cchc.rules.store import read_stored

AUGUST_COUNTS = {"X-HD": 2, "X-PK": 2, "X-DC": 3, "X-TD": 3}


@pytest.fixture(scope="module")
def seeded(backend, request, tmp_path_factory):
    """Seed loaded, history imported by decide_period, August decided."""
    engine = migrated(fresh_url(backend, request, tmp_path_factory.mktemp("seed")))
    authority = load_authority(SEED_AUTHORITY)
    load_seed(engine, authority)
    output = tmp_path_factory.mktemp("output")
    result = decide_period(engine, authority, "2023-08", run_id="scheduled__2023-09-01", output_dir=output)
    yield engine, authority, result, output
    engine.dispose()


def test_decisions_json_is_written_where_the_contract_says(seeded):
    _, _, result, output = seeded
    assert result.path == output / "tu-ky" / "2023-08" / "decisions.json"
    document = json.loads(result.path.read_text(encoding="utf-8"))
    assert document == result.document
    assert list(document) == [
        "schema",
        "authority",
        "period",
        "period_label",
        "previous_period_label",
        "year",
        "rulebook",
        "windows",
        "targets",
        "totals",
        "shortfalls",
        "operator_note",
        "units",
        "sections",
    ]
    assert document["schema"] == "cchc.decisions/1"
    assert document["authority"] == {"id": "tu-ky", "level": "district", "name": "huyện Tứ Kỳ"}
    assert (
        document["period"],
        document["period_label"],
        document["previous_period_label"],
        document["year"],
    ) == ("2023-08", "8/2023", "7/2023", 2023)
    assert document["rulebook"]["version"] == "default@2023-04-01"
    assert document["operator_note"] == "đã có sự tiến bộ ở 7/7 lĩnh vực"
    assert document["windows"]["ytd"] == {
        "start": "2023-01",
        "end": "2023-08",
        "label": "8 tháng đầu năm 2023",
    }
    assert document["windows"]["campaign"]["payment"] == {
        "start": "2023-04",
        "end": "2023-08",
        "label": "từ ngày 01/4/2023-31/8/2023",
    }
    assert document["targets"] == {
        "commend_receipt": "98.5",
        "commend_result": "99",
        "low_month": "90",
        "low_ytd": "90",
        "payment_target": "30",
        "posts_required": 4,
        "digitization_target": "100",
    }


def test_totals_and_changes_of_the_opening_paragraph(seeded):
    totals = seeded[2].document["totals"]
    assert (totals["receipt"]["text"], totals["receipt"]["change_text"]) == ("97,67%", "tăng 0,54%")
    assert (totals["result"]["text"], totals["result"]["change_text"]) == ("99,05%", "tăng 0,24%")
    assert (totals["payment"]["text"], totals["payment"]["change_text"]) == ("80,2%", "tăng 29,86%")
    assert totals["payment"]["shown"] == "80.2" and totals["payment"]["change"] == "29.86"
    assert set(totals["posts"]) == {"numerator"}


def test_sections_are_the_seed_letters(seeded):
    sections = seeded[2].document["sections"]
    assert [(s["number"], s["kind"]) for s in sections] == [
        ("1", "commend"),
        ("2", "remind"),
        ("3", "criticise"),
        ("4", "criticise"),
        ("5", "directives"),
    ]
    assert sections[0]["groups"] == [
        {"group": "agencies", "units": ["P-KTHT", "P-NV"]},
        {"group": "communes_official_email", "units": ["X-QN", "X-QK", "X-DH"]},
        {"group": "communes", "units": ["X-DS", "X-HK", "X-QT"]},
    ]
    remind = sections[1]["subsections"]
    assert [(s["number"], s["metric"], [g["reason"] for g in s["groups"]]) for s in remind] == [
        ("2.1", "result", ["low_month", "low_ytd"]),
        ("2.2", "receipt", ["low_ytd"]),
        ("2.3", "payment", ["low_campaign"]),
    ]
    assert [[e["unit"] for e in g["entries"]] for s in remind for g in s["groups"]] == [
        ["P-VHTT"],
        ["X-TD"],
        ["X-HD"],
        ["P-TCKH", "X-CL", "X-HK", "X-TS", "X-TK"],
    ]
    assert remind[0]["groups"][0]["request"] == {
        "units": ["P-VHTT"],
        "heads": "Trưởng phòng Văn hóa và Thông tin huyện",
        "subjects": "Phòng Văn hóa và Thông tin huyện",
    }
    assert remind[2]["groups"][0]["request"]["heads"] == (
        "Trưởng phòng Tài chính - Kế hoạch huyện, Chủ tịch UBND các xã Cộng Lạc, Hà Kỳ, Tái Sơn và Tân Kỳ"
    )
    second, third = sections[2], sections[3]
    assert (second["count"], second["ordinal"], second["subjects"]) == (
        2,
        "lần thứ hai",
        "UBND các xã Hưng Đạo và Phượng Kỳ",
    )
    assert (third["count"], third["ordinal"], third["subjects"]) == (
        3,
        "lần thứ ba",
        "UBND các xã Dân Chủ và Tiên Động",
    )
    assert [e["unit"] for e in second["entries"]] == ["X-HD", "X-PK"]
    assert [e["unit"] for e in third["entries"]] == ["X-DC", "X-TD"]
    assert sections[4] == {
        "number": "5",
        "kind": "directives",
        "addressees": "Chủ tịch UBND các xã, thị trấn",
    }


def _texts(entry):
    return [
        (r["metric"], r["window"], r.get("text", r.get("value")), r["comparison"]) for r in entry["reasons"]
    ]


def test_figures_of_every_reminder_and_criticism(seeded):
    sections = seeded[2].document["sections"]
    entries = {e["unit"]: e for s in sections[1]["subsections"] for g in s["groups"] for e in g["entries"]}
    assert _texts(entries["P-VHTT"]) == [("result", "month", "50%", "below")]
    assert entries["P-VHTT"]["reasons"][0] | {} == {
        "metric": "result",
        "window": "month",
        "numerator": 3,
        "denominator": 6,
        "shown": "50",
        "text": "50%",
        "threshold": "90",
        "comparison": "below",
    }
    assert _texts(entries["X-TD"]) == [
        ("result", "month", "96,15%", "at_or_above"),
        ("result", "ytd", "86,93%", "below"),
    ]
    assert _texts(entries["X-HD"]) == [
        ("receipt", "month", "97,67%", "at_or_above"),
        ("receipt", "ytd", "85,89%", "below"),
    ]
    campaign = {
        code: [r["text"] for r in entries[code]["reasons"]]
        for code in ("P-TCKH", "X-CL", "X-HK", "X-TS", "X-TK")
    }
    assert campaign == {
        "P-TCKH": ["67,27%", "28,16%"],
        "X-CL": ["61,88%", "13,15%"],
        "X-HK": ["96,77%", "28,3%"],
        "X-TS": ["44,33%", "12,32%"],
        "X-TK": ["78,18%", "19,52%"],
    }
    criticised = {e["unit"]: _texts(e) for s in sections[2:4] for e in s["entries"]}
    assert criticised == {
        "X-HD": [
            ("payment", "month", "24,27%", "below"),
            ("payment", "campaign", "16,05%", "below"),
            ("posts", "month", 2, "below"),
        ],
        "X-PK": [("payment", "month", "13,33%", "below"), ("payment", "campaign", "8,97%", "below")],
        "X-DC": [
            ("payment", "month", "19,51%", "below"),
            ("payment", "campaign", "12,5%", "below"),
            ("posts", "month", 1, "below"),
        ],
        "X-TD": [
            ("payment", "month", "4,11%", "below"),
            ("payment", "campaign", "1,45%", "below"),
            ("posts", "month", 0, "below"),
        ],
    }


def test_units_carry_figures_and_their_decisions(seeded):
    document = seeded[2].document
    authority = seeded[1]
    assert list(document["units"]) == authority.unit_codes
    hk = document["units"]["X-HK"]
    assert (hk["name"], hk["kind"], hk["head_title"], hk["official_email_regular"]) == (
        "UBND xã Hà Kỳ",
        "commune",
        "Chủ tịch UBND xã",
        False,
    )
    assert hk["figures"]["receipt"]["month"] == {
        "numerator": 309,
        "denominator": 310,
        "shown": "99.68",
        "text": "99,68%",
    }
    assert hk["figures"]["payment"]["campaign"]["text"] == "28,3%"
    import csv

    monthly = csv.DictReader((SEED_AUTHORITY / "monthly.csv").open(encoding="utf-8"))
    posts = next(
        int(r["web_posts"]) for r in monthly if r["period"] == "2023-08" and r["unit_code"] == "X-HK"
    )
    assert hk["figures"]["posts"] == {"month": posts, "required": 4}
    assert [(d["kind"], d["section"], d.get("metric"), d.get("reason")) for d in hk["decisions"]] == [
        ("commend", "1", None, None),
        ("remind", "2.3", "payment", "low_campaign"),
    ]
    nv = document["units"]["P-NV"]["figures"]["payment"]["month"]
    assert nv == {"numerator": 0, "denominator": 0, "shown": None, "text": None}
    td = document["units"]["X-TD"]["decisions"]
    assert [(d["kind"], d["section"], d.get("count"), d.get("ordinal")) for d in td] == [
        ("remind", "2.1", None, None),
        ("criticise", "4", 3, "lần thứ ba"),
    ]
    assert document["shortfalls"] == {
        "payment": ["X-HD", "X-PK", "X-DC", "X-TD"],
        "posts": ["X-HD", "X-DC", "X-TD"],
    }


def test_stored_in_the_warehouse_with_the_rulebook_version(seeded):
    engine, authority, result, _ = seeded
    rows = stored_rows(engine, authority.id, "2023-08")
    assert len(rows) == len(result.decisions) == 20
    assert {r["rulebook_version"] for r in rows} == {"default@2023-04-01"}
    criticised = {r["unit_code"]: (r["section"], r["count"]) for r in rows if r["kind"] == "criticise"}
    assert criticised == {"X-HD": ("3", 2), "X-PK": ("3", 2), "X-DC": ("4", 3), "X-TD": ("4", 3)}
    hd = next(r for r in rows if r["unit_code"] == "X-HD" and r["kind"] == "criticise")
    assert hd["reasons"][0] == {
        "metric": "payment",
        "window": "month",
        "numerator": 25,
        "denominator": 103,
        "shown": "24.27",
        "text": "24,27%",
        "threshold": "30",
        "comparison": "below",
    }
    [run] = runs(engine, authority.id, "2023-08")
    assert (run["run_id"], run["cause"], run["is_current"], run["decision_count"]) == (
        "scheduled__2023-09-01",
        "decide",
        True,
        20,
    )
    assert run["decisions_hash"] == result.decisions_hash
    assert run["rulebook_values"]["payment_target"] == "30"
    assert read_stored(engine, authority.id, "2023-08")["document"] == result.document
    assert len(history_rows(engine, authority.id)) == 11


def test_summary_and_text_for_the_operator(seeded):
    result = seeded[2]
    summary = result.summary()
    json.dumps(summary)  # JSON-able, for XCom
    assert summary["path"] == str(result.path)
    assert summary["decisions"] == {"commend": 8, "remind": 8, "criticise": 4, "request": 0}
    assert [(s["number"], s["units"]) for s in summary["sections"] if "units" in s] == [
        ("1", 8),
        ("2.1", 2),
        ("2.2", 1),
        ("2.3", 5),
        ("3", 2),
        ("4", 2),
    ]
    text = result.text()
    assert "Phê bình lần thứ hai đối với UBND các xã Hưng Đạo và Phượng Kỳ" in text
    assert "UBND xã Tiên Động: thanh toán trực tuyến tháng 8/2023 4,11%" in text
    assert (
        "Yêu cầu: Trưởng phòng Tài chính - Kế hoạch huyện, Chủ tịch UBND các xã Cộng Lạc, Hà Kỳ, Tái Sơn và Tân Kỳ"
        in text
    )


def test_rerun_replaces_and_does_not_count_itself_twice(seeded):
    engine, authority, first, output = seeded
    again = decide_period(engine, authority, "2023-08", run_id="manual__rerun", output_dir=output)
    assert counts_by_unit(again) == AUGUST_COUNTS
    assert again.decisions_hash == first.decisions_hash
    assert again.changed is False and again.recounted == []
    assert len(stored_rows(engine, authority.id, "2023-08")) == 20
    assert [(r["run_id"], r["is_current"]) for r in runs(engine, authority.id, "2023-08")] == [
        ("scheduled__2023-09-01", False),
        ("manual__rerun", True),
    ]


def test_backfilling_the_imported_months_changes_no_count(seeded):
    """History imported, August decided; then April–July decided by the system (stored replaces history)."""
    engine, authority, first, output = seeded
    for month in (7, 4, 6, 5):
        result = decide_period(
            engine, authority, f"2023-{month:02d}", run_id=f"backfill-{month}", output_dir=output
        )
        assert result.recounted == []
    assert counts_by_unit(read_stored(engine, authority.id, "2023-08")["decisions"]) == AUGUST_COUNTS
    assert read_stored(engine, authority.id, "2023-08")["decisions_hash"] == first.decisions_hash


def _without_history(seed_config):
    folder = seed_config / "tu-ky"
    (folder / "history.csv").unlink()
    return load_authority(folder)


@pytest.fixture
def bare(backend, request, tmp_path, seed_config):
    """The seed without history.csv, all months loaded, rates of April–August computed."""
    engine = migrated(fresh_url(backend, request, tmp_path))
    authority = _without_history(seed_config)
    load_seed(engine, authority)
    yield engine, authority, tmp_path / "output"
    engine.dispose()


def _all_counts(engine, authority_id):
    return {
        p: counts_by_unit(read_stored(engine, authority_id, p)["decisions"])
        for p in ("2023-04", "2023-05", "2023-06", "2023-07", "2023-08")
    }


def went_out(engine, authority, period: str, output):
    """The period's letter is issued (escalation counts what went out: issue 10), and the later
    months recounted as the issue task does; returns what that recount rewrote."""
    from support.decisions import issue_period

    from cchc.rules.service import recount_after_issue

    issue_period(engine, authority.id, period)
    return recount_after_issue(engine, authority, output)


def test_in_order_through_the_system_gives_the_history_counts(bare):
    engine, authority, output = bare
    for month in range(4, 9):
        result = decide_period(engine, authority, f"2023-{month:02d}", output_dir=output)
        assert result.recounted == []
        assert went_out(engine, authority, f"2023-{month:02d}", output).documents == {}
    assert counts_by_unit(result) == AUGUST_COUNTS
    assert _all_counts(engine, authority.id) == {
        "2023-04": {"P-TCKH": 1, "X-CL": 1, "X-HK": 1, "X-TS": 1, "X-TK": 1},
        "2023-05": {"X-DC": 1},
        "2023-06": {"X-PK": 1, "X-TD": 1},
        "2023-07": {"X-DC": 2, "X-HD": 1, "X-TD": 2},
        "2023-08": AUGUST_COUNTS,
    }
    # Every criticism the system stored for April–July is one history.csv lists, and no other.
    listed = sorted(
        (line.split(",")[0], line.split(",")[1])
        for line in (SEED_AUTHORITY / "history.csv").read_text(encoding="utf-8").splitlines()[1:]
    )
    stored = sorted(
        (r["period"], r["unit_code"])
        for r in stored_rows(engine, authority.id)
        if r["kind"] == "criticise" and r["period"] < "2023-08"
    )
    assert stored == listed


def test_out_of_order_backfill_ends_with_the_in_order_counts(bare, tmp_path):
    engine, authority, output = bare
    first = decide_period(engine, authority, "2023-08", output_dir=output)
    assert counts_by_unit(first) == {
        "X-HD": 1,
        "X-PK": 1,
        "X-DC": 1,
        "X-TD": 1,
    }  # nothing known before August yet
    assert [s["count"] for s in first.document["sections"] if s["kind"] == "criticise"] == [1]

    # Decided, not issued: July's criticisms do not count for August yet (issue 10).
    decide_period(engine, authority, "2023-07", output_dir=output)
    assert counts_by_unit(read_stored(engine, authority.id, "2023-08")["decisions"]) == counts_by_unit(first)
    for month in (5, 4, 6):
        decide_period(engine, authority, f"2023-{month:02d}", output_dir=output)
    # The letters go out in order; each issue recounts the later months' drafts.
    recounted = [sorted(went_out(engine, authority, f"2023-{m:02d}", output).documents) for m in (4, 5, 6, 7)]
    assert "2023-08" in recounted[-1]

    assert _all_counts(engine, authority.id)["2023-08"] == AUGUST_COUNTS
    assert _all_counts(engine, authority.id)["2023-07"] == {"X-DC": 2, "X-HD": 1, "X-TD": 2}
    stored = read_stored(engine, authority.id, "2023-08")
    assert stored["cause"] == "recount"
    # decisions.json of August was rewritten with the new sections.
    document = json.loads((output / "tu-ky" / "2023-08" / "decisions.json").read_text(encoding="utf-8"))
    assert document == stored["document"]
    assert [
        (s["number"], s["count"], s["ordinal"], [e["unit"] for e in s["entries"]])
        for s in document["sections"]
        if s["kind"] == "criticise"
    ] == [("3", 2, "lần thứ hai", ["X-HD", "X-PK"]), ("4", 3, "lần thứ ba", ["X-DC", "X-TD"])]
    assert document["units"]["X-TD"]["decisions"][-1]["count"] == 3

    # A letter that went out is frozen: a later recount that would change it is reported, not written.
    stored_july = read_stored(engine, authority.id, "2023-07")["decisions_hash"]
    from support.decisions import issue_period

    from cchc.rules.escalation import recount

    issue_period(engine, authority.id, "2023-08")
    with engine.begin() as conn:  # pretend April's history had one more criticism of X-HD
        conn.exec_driver_sql(
            "INSERT INTO criticism_history (authority_id, period, unit_code, count, imported_at) "
            "VALUES ('tu-ky', '2023-03', 'X-HD', 1, '2023-04-05')"
        )
        done = recount(conn, authority.id, "test")
    assert done.documents == {} and "2023-08" in done.conflicts
    assert read_stored(engine, authority.id, "2023-07")["decisions_hash"] == stored_july

    # The same decisions as an in-order run, period by period (only run ids and causes differ).
    reference = migrated(sqlite_url(tmp_path))
    try:
        load_seed(reference, authority)
        for month in range(4, 9):
            decide_period(reference, authority, f"2023-{month:02d}", output_dir=tmp_path / "reference")
            went_out(reference, authority, f"2023-{month:02d}", tmp_path / "reference")
        for month in range(4, 9):
            period = f"2023-{month:02d}"
            assert (
                read_stored(engine, authority.id, period)["decisions_hash"]
                == read_stored(reference, authority.id, period)["decisions_hash"]
            ), period
    finally:
        reference.dispose()


def test_importing_history_after_deciding_recounts_later_periods(bare, seed_config):
    """August decided with no history; history.csv then appears: August's counts are refreshed."""
    engine, authority, output = bare
    decide_period(engine, authority, "2023-08", output_dir=output)
    shutil.copy(SEED_AUTHORITY / "history.csv", seed_config / "tu-ky" / "history.csv")
    from cchc.rules.history import import_history

    imported = import_history(engine, authority, output_dir=output)
    assert len(imported.added) == 11 and imported.recounted == ["2023-08"]
    assert counts_by_unit(read_stored(engine, authority.id, "2023-08")["decisions"]) == AUGUST_COUNTS
    again = import_history(engine, authority, output_dir=output)
    assert not again.touched and again.recounted == []

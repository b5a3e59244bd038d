"""The shared Vietnamese wording (cchc.core.wording): heads, the trích yếu, window headings."""

from __future__ import annotations

import pytest

from cchc.core import wording
from cchc.core.authorities import LetterSettings
from cchc.core.periods import Period


def unit(name: str, kind: str, head_title: str) -> dict:
    return {"name": name, "kind": kind, "head_title": head_title}


@pytest.mark.parametrize(
    "titles",
    [
        ("Chủ tịch UBND xã", "Chủ tịch UBND xã"),  # the seed's form
        ("Chủ tịch UBND xã Kiến Thụy", "Chủ tịch UBND xã Vĩnh Bảo"),  # the title in full
        ("Chủ tịch", "Chủ tịch"),  # the title alone
        ("Chủ tịch UBND xã Kiến Thụy", "Chủ tịch UBND xã"),  # mixed forms, the same head
    ],
)
def test_heads_of_communes_are_grouped_whatever_form_the_title_takes(titles):
    units = [unit("UBND xã Kiến Thụy", "commune", titles[0]), unit("UBND xã Vĩnh Bảo", "commune", titles[1])]
    assert wording.heads(units) == "Chủ tịch UBND các xã Kiến Thụy và Vĩnh Bảo"


def test_heads_of_different_titles_stay_apart_and_agencies_are_named_one_by_one():
    units = [
        unit("Sở Tài chính", "department", "Giám đốc Sở"),
        unit("UBND xã Kiến Thụy", "commune", "Chủ tịch UBND xã Kiến Thụy"),
        unit("UBND xã Vĩnh Bảo", "commune", "Phó Chủ tịch UBND xã"),  # a deputy stands in
        unit("UBND phường Lê Chân", "ward", "Chủ tịch UBND phường"),
        unit("UBND phường Hải An", "ward", "Chủ tịch UBND phường Hải An"),
    ]
    assert wording.heads(units) == (
        "Giám đốc Sở Tài chính, Chủ tịch UBND xã Kiến Thụy, Phó Chủ tịch UBND xã Vĩnh Bảo, "
        "Chủ tịch UBND các phường Lê Chân và Hải An"
    )


def test_the_seeds_heads_read_as_before():
    units = [
        unit("Phòng Tài chính - Kế hoạch huyện", "department", "Trưởng phòng"),
        *(unit(f"UBND xã {n}", "commune", "Chủ tịch UBND xã") for n in ("Cộng Lạc", "Hà Kỳ", "Tái Sơn")),
    ]
    assert wording.heads(units) == (
        "Trưởng phòng Tài chính - Kế hoạch huyện, Chủ tịch UBND các xã Cộng Lạc, Hà Kỳ và Tái Sơn"
    )


def test_local_heads_name_every_kind_of_local_committee_present():
    units = [
        unit("UBND xã A", "commune", "Chủ tịch UBND xã A"),
        unit("UBND phường B", "ward", "Chủ tịch UBND phường"),
        unit("UBND đặc khu C", "special_zone", "Chủ tịch"),
        unit("Sở D", "department", "Giám đốc Sở"),
    ]
    assert wording.local_heads(units) == "Chủ tịch UBND các xã, phường, đặc khu"
    assert wording.local_heads(units[3:]) is None


def test_level_word_and_local_units():
    assert wording.level_word("thành phố Hải Phòng", "province") == "thành phố"
    assert wording.level_word("huyện Tứ Kỳ") == "huyện"
    assert wording.level_word("Quảng Ninh", "province") == "tỉnh"
    assert (
        wording.local_units_words({"special_zone", "commune", "ward", "department"}) == "xã, phường, đặc khu"
    )
    assert wording.local_units_words({"township", "commune"}) == "xã, thị trấn"


def _document(kinds: list[str], sections: list[str], label: str = "3/2026") -> dict:
    return {
        "units": {f"U{i}": {"kind": k} for i, k in enumerate(kinds)},
        "sections": [{"kind": s} for s in sections],
        "period_label": label,
    }


def test_the_trich_yeu_names_whom_the_letter_addresses():
    province = _document(
        ["department", "vertical_agency", "ward", "commune", "special_zone"],
        ["commend", "remind", "directives"],
    )
    assert wording.summary_line(province, LetterSettings()) == (
        "V/v biểu dương, nhắc nhở các cơ quan chuyên môn, cơ quan ngành dọc, UBND các xã, phường, đặc khu "
        "trong thực hiện nhiệm vụ Cải cách hành chính tháng 3/2026"
    )
    seed = _document(["department", "commune", "township"], ["commend", "remind", "criticise"], "8/2023")
    assert wording.summary_line(seed, LetterSettings()) == (
        "V/v biểu dương, nhắc nhở các cơ quan chuyên môn, UBND các xã, thị trấn trong thực hiện nhiệm vụ "
        "Cải cách hành chính tháng 8/2023"
    )
    # Nothing commended: it only reminds; the authority names its groups its own way.
    settings = LetterSettings(
        summary_departments="các sở, ban, ngành", summary_vertical_agencies="các cơ quan Trung ương"
    )
    assert wording.summary_line(_document(["department", "vertical_agency"], ["remind"]), settings) == (
        "V/v nhắc nhở các sở, ban, ngành, các cơ quan Trung ương trong thực hiện nhiệm vụ Cải cách hành chính "
        "tháng 3/2026"
    )


def test_a_window_heading_breaks_between_its_dates():
    heading = wording.window_heading(Period(2026, 1), Period(2026, 3))
    assert heading == "Từ ngày 01/01/2026 đến 31/3/2026"
    # Every date is a word of its own: a line breaker can put each on its line.
    assert "01/01/2026" in heading.split() and "31/3/2026" in heading.split()
    assert wording.window_heading(Period(2023, 4), Period(2023, 8)) == "Từ ngày 01/4/2023 đến 31/8/2023"

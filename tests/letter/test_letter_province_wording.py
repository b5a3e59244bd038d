"""A provincial letter's wording, unit by unit (issue 11): vertical agencies asked and measured against
their own target, the directives' addressees, one trích yếu, the annex's campaign column and the Kính
gửi indents. Each case edits the province fixture's decisions and renders the DOCX only."""

from __future__ import annotations

import copy
import shutil

import pytest
import yaml
from docx import Document
from support.letters import load_json, normalise, write_json
from support.paths import PROVINCE_AUTHORITY, PROVINCE_DECISIONS, SEED_AUTHORITY, SEED_DECISIONS

from cchc.core.authorities import load_authority
from cchc.letter import layout
from cchc.letter.build_template import TEMPLATE_PATH
from cchc.letter.context import build_context, letter_summary
from cchc.letter.render import letter_text, render_letter

BHXH_LOW = {
    "unit": "BHXH",
    "reasons": [
        {
            "metric": "payment",
            "window": "month",
            "numerator": 20,
            "denominator": 50,
            "shown": "40",
            "text": "40%",
            "threshold": "60",
            "comparison": "below",
        }
    ],
}


def _mixed(decisions: dict, split: bool) -> dict:
    """Bảo hiểm xã hội tỉnh reminded with Sở Tài chính in one payment group (``split``: as decided now)."""
    data = copy.deepcopy(decisions)
    group = data["sections"][1]["subsections"][0]["groups"][0]
    group["entries"].append(BHXH_LOW)
    group["request"] = {
        "units": ["S-TC", "BHXH"],
        "heads": "Giám đốc Sở Tài chính, Giám đốc Bảo hiểm xã hội tỉnh",
        "subjects": "Sở Tài chính, Bảo hiểm xã hội tỉnh",
    }
    if split:
        group["request"]["asked"] = {
            "units": ["BHXH"],
            "heads": "Giám đốc Bảo hiểm xã hội tỉnh",
            "subjects": "Bảo hiểm xã hội tỉnh",
        }
        group["request"]["required"] = {
            "units": ["S-TC"],
            "heads": "Giám đốc Sở Tài chính",
            "subjects": "Sở Tài chính",
        }
    data["units"]["BHXH"]["decisions"] = [{"kind": "remind", "section": "2.1"}]
    return data


def _render(tmp_path, decisions: dict, authority=PROVINCE_AUTHORITY, **kwargs):
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = write_json(tmp_path / "decisions.json", decisions)
    result = render_letter(path, authority, tmp_path / "out", pdf=False, **kwargs)
    return result, normalise(letter_text(result.docx_path))


def _authority_with(tmp_path, letter: dict):
    folder = tmp_path / "quang-ninh"
    shutil.copytree(PROVINCE_AUTHORITY, folder)
    path = folder / "authority.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["letter"] = letter
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return folder


# --- 1. a vertical agency is asked, the others required --------------------------------------------


@pytest.mark.parametrize("split", [True, False], ids=["asked-required", "older-document"])
def test_a_mixed_group_asks_the_vertical_agency_and_requires_the_department(tmp_path, split):
    _, flat = _render(tmp_path, _mixed(load_json(PROVINCE_DECISIONS), split))
    assert (
        "Đề nghị Giám đốc Bảo hiểm xã hội tỉnh; yêu cầu Giám đốc Sở Tài chính tăng cường chỉ đạo, xác định "
        "giải pháp để triển khai thực hiện trong những tháng còn lại của năm 2025, đảm bảo hoàn thành và vượt "
        "chỉ tiêu đề ra."
    ) in flat
    assert "Yêu cầu Giám đốc Sở Tài chính, Giám đốc Bảo hiểm xã hội tỉnh" not in flat


def test_the_request_view_of_every_kind_of_group():
    authority = load_authority(PROVINCE_AUTHORITY)
    decisions = _mixed(load_json(PROVINCE_DECISIONS), split=True)
    context = build_context(decisions, authority)
    mixed, campaign = context["sections"][1]["subsections"][0]["groups"]
    assert (
        mixed["request"]["to_heads"] == "Đề nghị Giám đốc Bảo hiểm xã hội tỉnh; yêu cầu Giám đốc Sở Tài chính"
    )
    assert mixed["request"]["to_subjects"] == "Đề nghị Bảo hiểm xã hội tỉnh; yêu cầu Sở Tài chính"
    assert (mixed["request"]["mixed"], mixed["request"]["vertical"]) == (True, True)
    assert [e["vertical"] for e in mixed["entries"]] == [False, True]
    assert campaign["request"]["to_heads"] == "Yêu cầu Chủ tịch UBND xã Quảng Hà"
    assert (campaign["request"]["verb"], campaign["request"]["mixed"]) == ("Yêu cầu", False)
    only = copy.deepcopy(decisions)
    group = only["sections"][1]["subsections"][0]["groups"][0]
    group["request"] = {
        "units": ["BHXH"],
        "heads": "Giám đốc Bảo hiểm xã hội tỉnh",
        "subjects": "Bảo hiểm xã hội tỉnh",
    }
    request = build_context(only, authority)["sections"][1]["subsections"][0]["groups"][0]["request"]
    assert (request["verb"], request["to_heads"]) == ("Đề nghị", "Đề nghị Giám đốc Bảo hiểm xã hội tỉnh")


def test_a_mixed_year_to_date_group_asks_then_requires(tmp_path):
    """A receipt sub-section with a low year-to-date rate, a vertical agency and a commune in it."""
    decisions = load_json(PROVINCE_DECISIONS)

    def entry(code: str) -> dict:
        month = {
            "numerator": 99,
            "denominator": 100,
            "shown": "99",
            "text": "99%",
            "comparison": "at_or_above",
        }
        ytd = {"numerator": 80, "denominator": 100, "shown": "80", "text": "80%", "comparison": "below"}
        return {
            "unit": code,
            "reasons": [
                {"metric": "receipt", "window": "month", "threshold": "90", **month},
                {"metric": "receipt", "window": "ytd", "threshold": "90", **ytd},
            ],
        }

    decisions["sections"][1]["subsections"].append(
        {
            "number": "2.2",
            "metric": "receipt",
            "groups": [
                {
                    "reason": "low_ytd",
                    "entries": [entry("BHXH"), entry("X-QH")],
                    "request": {
                        "units": ["BHXH", "X-QH"],
                        "heads": "Giám đốc Bảo hiểm xã hội tỉnh, Chủ tịch UBND xã Quảng Hà",
                        "subjects": "Bảo hiểm xã hội tỉnh, UBND xã Quảng Hà",
                        "asked": {
                            "units": ["BHXH"],
                            "heads": "Giám đốc Bảo hiểm xã hội tỉnh",
                            "subjects": "Bảo hiểm xã hội tỉnh",
                        },
                        "required": {
                            "units": ["X-QH"],
                            "heads": "Chủ tịch UBND xã Quảng Hà",
                            "subjects": "UBND xã Quảng Hà",
                        },
                    },
                }
            ],
        }
    )
    _, flat = _render(tmp_path, decisions)
    assert (
        "Đề nghị Bảo hiểm xã hội tỉnh; yêu cầu UBND xã Quảng Hà trong các tháng cuối năm 2025 cần tiếp tục nâng "
        "cao tỷ lệ số hóa đầy đủ thành phần hồ sơ khi tiếp nhận."
    ) in flat


# --- 2. a vertical agency's target ---------------------------------------------------------------


def test_a_vertical_agency_is_commended_and_reminded_against_the_target_set(tmp_path):
    decisions = _mixed(load_json(PROVINCE_DECISIONS), split=True)
    decisions["sections"][0]["groups"][0]["units"].append("BHXH")
    _, flat = _render(tmp_path, decisions)
    assert "tỷ lệ hồ sơ đã thanh toán trực tuyến đạt 66,67%, đảm bảo theo chỉ tiêu đề ra." in flat
    assert "đạt 85%, đảm bảo theo chỉ tiêu do UBND tỉnh giao." in flat  # Sở Xây dựng, the province's
    assert (
        "- Bảo hiểm xã hội tỉnh có tỷ lệ thanh toán trực tuyến trong tháng 8/2025 chỉ đạt 40%, chưa đảm bảo "
        "chỉ tiêu đề ra (60%)."
    ) in flat
    assert "31/8/2025 đạt 30%, chưa đảm bảo chỉ tiêu đề ra." in flat  # Công an tỉnh, requested
    assert (
        "Đề nghị Giám đốc Công an tỉnh quan tâm chỉ đạo, có giải pháp nâng cao tỷ lệ thanh toán trực tuyến, đảm bảo chỉ tiêu đề ra."
        in flat
    )


def test_the_vertical_agencies_target_wording_is_configurable(tmp_path):
    authority = _authority_with(tmp_path, {"vertical_target": "chỉ tiêu ngành dọc cấp trên giao"})
    _, flat = _render(tmp_path, load_json(PROVINCE_DECISIONS), authority)
    assert "31/8/2025 đạt 30%, chưa đảm bảo chỉ tiêu ngành dọc cấp trên giao." in flat
    assert "chỉ tiêu đề ra" not in flat


def test_a_low_campaign_vertical_agency_exceeds_the_target_set(tmp_path):
    decisions = load_json(PROVINCE_DECISIONS)
    group = decisions["sections"][1]["subsections"][0]["groups"][1]
    group["entries"][0]["unit"] = "BHXH"
    group["request"] = {
        "units": ["BHXH"],
        "heads": "Giám đốc Bảo hiểm xã hội tỉnh",
        "subjects": "Bảo hiểm xã hội tỉnh",
    }
    _, flat = _render(tmp_path, decisions)
    assert (
        "- Bảo hiểm xã hội tỉnh mặc dù có tỷ lệ thanh toán trực tuyến trong tháng 8/2025 đạt 70%, vượt chỉ tiêu "
        "đề ra (60%); tuy nhiên, kết quả này tính từ ngày 01/01/2025-31/8/2025 chỉ đạt 51,95%, chưa đảm bảo chỉ "
        "tiêu đề ra."
    ) in flat
    assert "Đề nghị Giám đốc Bảo hiểm xã hội tỉnh tăng cường chỉ đạo" in flat


# --- 3. the directives ---------------------------------------------------------------------------


def test_the_directives_assign_and_ask(tmp_path):
    decisions = load_json(PROVINCE_DECISIONS)
    decisions["sections"][-1]["requested"] = "Thủ trưởng các cơ quan ngành dọc đóng trên địa bàn tỉnh"
    _, flat = _render(tmp_path, decisions)
    assert (
        "5. Chủ tịch UBND tỉnh giao Giám đốc các Sở, ban, ngành, Chủ tịch UBND các xã, phường, đặc khu; đề nghị "
        "Thủ trưởng các cơ quan ngành dọc đóng trên địa bàn tỉnh thực hiện đảm bảo"
    ) in flat
    decisions["sections"][-1]["addressees"] = ""
    _, flat = _render(tmp_path / "ask-only", decisions)
    assert (
        "5. Chủ tịch UBND tỉnh đề nghị Thủ trưởng các cơ quan ngành dọc đóng trên địa bàn tỉnh thực hiện đảm bảo"
    ) in flat


# --- 4. one trích yếu ------------------------------------------------------------------------------


def test_the_trich_yeu_is_printed_and_is_the_documents_title(tmp_path):
    decisions = load_json(PROVINCE_DECISIONS)
    authority = load_authority(PROVINCE_AUTHORITY)
    summary = letter_summary(decisions, authority)
    assert summary == (
        "V/v biểu dương, nhắc nhở các cơ quan chuyên môn, cơ quan ngành dọc, UBND các xã, phường, đặc khu trong "
        "thực hiện nhiệm vụ Cải cách hành chính tháng 8/2025"
    )
    result, _ = _render(tmp_path, decisions)
    assert summary in letter_text(result.docx_path).splitlines()
    assert Document(str(result.docx_path)).core_properties.title == summary
    configured = _authority_with(tmp_path, {"summary": {"departments": "các sở, ban, ngành"}})
    result, flat = _render(tmp_path / "configured", decisions, configured)
    assert "V/v biểu dương, nhắc nhở các sở, ban, ngành, cơ quan ngành dọc, UBND các xã" in flat


def test_the_seeds_trich_yeu_and_title_are_the_seeds(tmp_path):
    result, flat = _render(tmp_path, load_json(SEED_DECISIONS), SEED_AUTHORITY)
    summary = (
        "V/v biểu dương, nhắc nhở các cơ quan chuyên môn, UBND các xã, thị trấn trong thực hiện nhiệm vụ Cải "
        "cách hành chính tháng 8/2023"
    )
    assert summary in flat
    assert Document(str(result.docx_path)).core_properties.title == summary


# --- 6. the annex's payment columns ----------------------------------------------------------------


def _annex(result):
    table = Document(str(result.docx_path)).tables[-1]
    return table, [[c.text for c in row.cells] for row in table.rows]


def test_a_campaign_from_january_has_no_column_of_its_own(tmp_path):
    result, _ = _render(tmp_path, load_json(PROVINCE_DECISIONS))
    table, rows = _annex(result)
    assert len(table.columns) == 9
    assert rows[0][6:8] == ["Thanh toán trực tuyến"] * 2  # the merged heading spans two columns
    assert rows[1][2:8] == ["Tháng 8/2025", "8 tháng đầu năm 2025"] * 3
    assert rows[2][6:] == ["≥ 60%", "≥ 60%", "≥ 4"]
    assert all(len(r) == 9 for r in rows)


def test_a_campaign_from_april_keeps_its_column_with_a_breakable_heading(tmp_path):
    decisions = load_json(PROVINCE_DECISIONS)
    decisions["windows"]["campaign"]["payment"]["start"] = "2025-04"
    decisions["windows"]["campaign"]["payment"]["label"] = "từ ngày 01/4/2025-31/8/2025"
    result, _ = _render(tmp_path, decisions)
    table, rows = _annex(result)
    assert len(table.columns) == 10
    assert rows[1][8] == "Từ ngày 01/4/2025 đến 31/8/2025"


# --- 8. Kính gửi ----------------------------------------------------------------------------------


def test_kinh_gui_lines_hang_after_their_dash_and_after_the_label():
    document = Document(str(TEMPLATE_PATH))
    items = document.styles["CV Kính gửi danh sách"].paragraph_format
    dash = layout.text_width_mm("- ", 14)
    assert items.first_line_indent.mm == pytest.approx(-dash, abs=0.05)
    assert items.left_indent.mm == pytest.approx(45 + dash, abs=0.05)  # the dash itself stays at 45 mm
    label = document.styles["CV Kính gửi"].paragraph_format
    assert label.left_indent.mm + label.first_line_indent.mm == pytest.approx(25, abs=0.05)
    assert label.left_indent.mm == pytest.approx(25 + layout.text_width_mm("Kính gửi: ", 14), abs=0.05)

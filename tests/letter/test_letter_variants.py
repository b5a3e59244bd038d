"""Other letters and what goes wrong: a province after 2025 (signed), empty sections, special characters,
broken templates, broken decisions, LibreOffice missing or failing, signing."""

from __future__ import annotations

import copy
import re
import shutil
from pathlib import Path

import pytest
from docx import Document
from support.letters import load_json, normalise, run, write_json
from support.paths import PROVINCE_AUTHORITY, SEED_AUTHORITY, SEED_DECISIONS

from cchc.core.authorities import load_authority
from cchc.letter.errors import DecisionsError, LetterTemplateError, PdfConversionError, SigningError
from cchc.letter.pdf import to_pdf
from cchc.letter.render import TEMPLATE_PATH, letter_text, render_letter
from cchc.letter.sign import sign_pdf, signing_config


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


# --- a province after 2025 ---------------------------------------------------------------------


def test_province_letter_speaks_as_a_province(province_letter):
    text = letter_text(province_letter.docx_path)
    flat = normalise(text)
    lines = text.splitlines()
    assert lines[:2] == ["ỦY BAN NHÂN DÂN", "TỈNH QUẢNG NINH"]
    assert re.search(r"^Số: {3,}/UBND-TTHC$", text, re.M)
    assert "Quảng Ninh, ngày tháng 9 năm 2025" in flat
    assert (
        "Kính gửi: - Giám đốc các Sở, ban, ngành thuộc UBND tỉnh; - Thủ trưởng các cơ quan ngành dọc đóng trên "
        "địa bàn tỉnh; - Chủ tịch UBND các xã, phường, đặc khu."
    ) in flat
    # No operator note this month: the opening goes straight to the figures, with a decrease.
    assert (
        flat.count("Trong tháng 8/2025, trong lĩnh vực cải cách thủ tục hành chính, tỷ lệ số hóa đầy đủ") == 1
    )
    assert "giảm 0,15%" in flat and "so với tháng 7/2025." in flat
    # Công an tỉnh is among them: the committee does not assign a vertical agency's target (issue 11).
    assert (
        "Tuy nhiên, vẫn còn một số cơ quan, đơn vị, địa phương có tỷ lệ thanh toán trực tuyến chưa đạt chỉ tiêu "
        "đề ra; việc đăng tải"
    ) in flat
    assert "Chủ tịch UBND tỉnh biểu dương, nhắc nhở các cơ quan, đơn vị" in flat
    # A department without fee-bearing dossiers is commended without the payment clause.
    assert (
        "- Sở Nội vụ có tỷ lệ số hóa đầy đủ thành phần hồ sơ khi tiếp nhận và số hóa kết quả giải quyết TTHC "
        "trong tháng 8/2025 đạt tỷ lệ 100%."
    ) in flat
    assert "đạt 85%, đảm bảo theo chỉ tiêu do UBND tỉnh giao." in flat
    assert "- 02 UBND phường, đặc khu có tỷ lệ" in flat
    assert "2. Đối với các cơ quan, đơn vị, UBND xã, phường, đặc khu có kết quả" in flat
    # Only online payment has reminders, so it is 2.1.
    assert "2.1. Về thanh toán trực tuyến" in flat and "2.2." not in flat
    assert (
        "- Sở Tài chính có tỷ lệ thanh toán trực tuyến trong tháng 8/2025 chỉ đạt 45%, chưa đảm bảo chỉ tiêu do "
        "UBND tỉnh giao (60%)."
    ) in flat
    assert "Yêu cầu Giám đốc Sở Tài chính tăng cường chỉ đạo" in flat
    assert (
        "vượt chỉ tiêu giao của UBND tỉnh (60%); tuy nhiên, kết quả này tính từ ngày 01/01/2025-31/8/2025"
        in flat
    )
    assert "3. Phê bình đối với UBND xã Đầm Hà, UBND đặc khu Cô Tô Lý do:" in flat  # first time: no ordinal
    # A vertical agency is requested, never criticised.
    assert "4. Đề nghị đối với Công an tỉnh Lý do: - Công an tỉnh có tỷ lệ" in flat
    assert "Đề nghị Giám đốc Công an tỉnh quan tâm chỉ đạo" in flat
    assert "Phê bình đối với Công an tỉnh" not in flat
    assert (
        "5. Chủ tịch UBND tỉnh giao Giám đốc các Sở, ban, ngành, Chủ tịch UBND các xã, phường, đặc khu"
        in flat
    )
    assert "đạt từ 60% trở lên" in flat
    # The vertical agencies are asked, never required, even in the closing line (issue 11).
    assert (
        "Yêu cầu các cơ quan, đơn vị, UBND các xã, phường, đặc khu nghiêm túc thực hiện; đề nghị các cơ quan "
        "ngành dọc phối hợp thực hiện./."
    ) in flat
    assert ["KT. CHỦ TỊCH", "PHÓ CHỦ TỊCH", "Trần Văn Nam"] == [
        line for line in lines if line in ("KT. CHỦ TỊCH", "PHÓ CHỦ TỊCH", "Trần Văn Nam")
    ]
    assert "huyện" not in flat and "thị trấn" not in flat


def test_province_pdf_is_signed_and_the_signature_verifies(province_letter, certificate):
    from pyhanko.keys import load_cert_from_pemder
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext

    assert province_letter.signed
    with province_letter.pdf_path.open("rb") as handle:
        reader = PdfFileReader(handle)
        (signature,) = reader.embedded_signatures
        status = validate_pdf_signature(
            signature, ValidationContext(trust_roots=[load_cert_from_pemder(str(certificate["pem"]))])
        )
        assert status.intact and status.valid and status.trusted, status.pretty_print_details()
        assert status.signing_cert.subject.native["common_name"] == "Trần Văn Nam"
    # Still a well-formed A4 PDF with its fonts embedded after the incremental update.
    assert "A4" in run("pdfinfo", str(province_letter.pdf_path))
    assert all(
        line.split()[-5] == "yes" for line in run("pdffonts", str(province_letter.pdf_path)).splitlines()[2:]
    )


# --- sections ----------------------------------------------------------------------------------


def _renumbered(decisions: dict, drop_kinds: set[str], drop_subsections: set[str]) -> dict:
    """What the decisions stage writes when some sections are empty: left out, numbers contiguous."""
    data = copy.deepcopy(decisions)
    kept = []
    for section in data["sections"]:
        if section["kind"] in drop_kinds:
            continue
        if section["kind"] == "remind":
            section["subsections"] = [
                s for s in section["subsections"] if s["number"] not in drop_subsections
            ]
        kept.append(section)
    for number, section in enumerate(kept, start=1):
        section["number"] = str(number)
        for sub_number, sub in enumerate(section.get("subsections", []), start=1):
            sub["number"] = f"{number}.{sub_number}"
    data["sections"] = kept
    return data


def test_empty_sections_are_left_out_and_numbers_stay_contiguous(tmp_path):
    decisions = _renumbered(load_json(SEED_DECISIONS), {"commend"}, {"2.2"})
    path = write_json(tmp_path / "decisions.json", decisions)
    result = render_letter(path, SEED_AUTHORITY, tmp_path / "out", pdf=False, annex=False)
    flat = normalise(letter_text(result.docx_path))
    headings = re.findall(r"(?:^|(?<= ))(\d\.(?:\d\.)?) (?=[A-ZĐ])", flat)
    assert headings == ["1.", "1.1.", "1.2.", "2.", "3.", "4."]
    assert "1. Đối với các cơ quan, đơn vị, UBND xã, thị trấn có kết quả" in flat
    assert "1.1. Về số hóa kết quả giải quyết thủ tục hành chính" in flat
    assert "1.2. Về thanh toán trực tuyến" in flat
    assert "2. Phê bình lần thứ hai" in flat and "3. Phê bình lần thứ ba" in flat
    assert "4. Chủ tịch UBND huyện giao" in flat
    assert "Biểu dương" not in flat and "tiếp nhận TTHC" not in flat
    # Nothing commended this month: the intro and the summary only remind.
    assert "Chủ tịch UBND huyện nhắc nhở các cơ quan, đơn vị" in flat
    assert "V/v nhắc nhở các cơ quan chuyên môn" in flat
    assert "PHỤ LỤC" not in flat and not (result.folder / "annex_chart.png").exists()


def test_numbering_with_a_gap_is_refused(tmp_path):
    decisions = load_json(SEED_DECISIONS)
    del decisions["sections"][0]  # commendations gone, but the others keep their numbers 2, 3, 4, 5
    path = write_json(tmp_path / "decisions.json", decisions)
    with pytest.raises(DecisionsError, match=r"sections\[0\].*'2', cần '1'"):
        render_letter(path, SEED_AUTHORITY, tmp_path / "out", pdf=False)
    assert _files(tmp_path / "out") == []


def test_decisions_of_another_authority_are_refused(tmp_path):
    with pytest.raises(DecisionsError, match="quang-ninh"):
        render_letter(SEED_DECISIONS, PROVINCE_AUTHORITY, tmp_path / "out", pdf=False)


def test_unknown_unit_in_a_section_is_refused(tmp_path):
    decisions = load_json(SEED_DECISIONS)
    decisions["sections"][2]["entries"][0]["unit"] = "X-KHONG"
    path = write_json(tmp_path / "decisions.json", decisions)
    with pytest.raises(DecisionsError, match="X-KHONG"):
        render_letter(path, SEED_AUTHORITY, tmp_path / "out", pdf=False)


# --- text from data ----------------------------------------------------------------------------


def test_special_characters_in_names_and_notes_are_escaped(tmp_path):
    decisions = load_json(SEED_DECISIONS)
    odd = 'UBND xã Quảng & Nghiệp <mới> "A"'
    decisions["units"]["X-QN"]["name"] = odd
    decisions["operator_note"] = "đã có sự tiến bộ ở 7/7 lĩnh vực (R&D <ổn>) {{ not_a_field }}"
    path = write_json(tmp_path / "decisions.json", decisions)
    result = render_letter(path, SEED_AUTHORITY, tmp_path / "out", pdf=False)
    text = letter_text(result.docx_path)
    assert f"gồm: {odd} (tiếp nhận đạt 99,03%;" in text
    assert "các địa phương đã có sự tiến bộ ở 7/7 lĩnh vực (R&D <ổn>) {{ not_a_field }}; đặc biệt" in text
    assert odd in text.splitlines()  # the annex table's cell
    Document(str(result.docx_path))  # still a well-formed document


# --- broken templates --------------------------------------------------------------------------


def _template_with(tmp_path: Path, name: str, old: str, new: str) -> Path:
    """A copy of the shipped template with one paragraph's text changed, as a clerk might."""
    document = Document(str(TEMPLATE_PATH))
    paragraphs = list(document.paragraphs) + [
        p for t in document.tables for c in t._cells for p in c.paragraphs
    ]
    target = next(p for p in paragraphs if p.text == old)
    for run_ in target.runs[1:]:
        run_.text = ""
    target.runs[0].text = new
    path = tmp_path / name
    document.save(str(path))
    return path


def test_missing_field_names_the_template_and_the_field(tmp_path):
    template = _template_with(
        tmp_path, "mau-thieu-truong.docx", "{{ authority.signer.name }}", "{{ authority.signer.fax_number }}"
    )
    out = tmp_path / "out"
    with pytest.raises(LetterTemplateError) as caught:
        render_letter(SEED_DECISIONS, SEED_AUTHORITY, out, template=template)
    message = str(caught.value)
    assert "mau-thieu-truong.docx" in message and "thiếu trường 'fax_number'" in message
    assert "tại đoạn: «{{ authority.signer.fax_number }}" in message  # where to look in Word
    assert _files(out) == [] and not (out / "tu-ky").exists()


def test_syntax_error_names_the_template(tmp_path):
    template = _template_with(tmp_path, "mau-loi-cu-phap.docx", "Lý do:", "Lý do: {% if %}")
    out = tmp_path / "out"
    with pytest.raises(LetterTemplateError) as caught:
        render_letter(SEED_DECISIONS, SEED_AUTHORITY, out, template=template)
    message = str(caught.value)
    assert "mau-loi-cu-phap.docx" in message and "cú pháp" in message
    assert "tại đoạn: «Lý do: {% if %}" in message
    assert _files(out) == []


def test_a_failure_keeps_the_previous_letter_and_leaves_no_new_file(tmp_path, seed_letter):
    out = tmp_path / "out"
    previous = out / "tu-ky" / "2023-08"
    previous.mkdir(parents=True)
    shutil.copy(seed_letter.docx_path, previous / "letter.docx")
    template = _template_with(tmp_path, "mau.docx", "{{ authority.signer.name }}", "{{ no_such_field }}")
    with pytest.raises(LetterTemplateError, match="no_such_field"):
        render_letter(SEED_DECISIONS, SEED_AUTHORITY, out, template=template)
    assert [p.name for p in _files(out)] == ["letter.docx"]
    assert (previous / "letter.docx").read_bytes() == seed_letter.docx_path.read_bytes()


def test_null_printed_by_the_template_is_an_error_naming_the_field(tmp_path):
    decisions = load_json(SEED_DECISIONS)
    decisions["units"]["P-NV"]["figures"]["receipt"]["month"]["text"] = None
    path = write_json(tmp_path / "decisions.json", decisions)
    with pytest.raises(LetterTemplateError, match=r"units\.P-NV\.figures\.receipt\.month\.text"):
        render_letter(path, SEED_AUTHORITY, tmp_path / "out", pdf=False)
    assert _files(tmp_path / "out") == []


# --- LibreOffice ---------------------------------------------------------------------------------


def test_missing_soffice_is_a_clear_error_and_leaves_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("CCHC_SOFFICE", str(tmp_path / "khong-co" / "soffice"))
    out = tmp_path / "out"
    with pytest.raises(PdfConversionError, match="không tìm thấy LibreOffice.*khong-co/soffice"):
        render_letter(SEED_DECISIONS, SEED_AUTHORITY, out)
    assert _files(out) == []


def test_failing_conversion_names_the_command_and_stderr(tmp_path, seed_letter):
    broken = tmp_path / "hong.docx"
    broken.write_bytes(seed_letter.docx_path.read_bytes()[:3000])  # a truncated zip
    with pytest.raises(PdfConversionError) as caught:
        to_pdf(
            broken, tmp_path / "hong.pdf", session=False
        )  # one soffice for it (the session: test_letter_office)
    message = str(caught.value)
    assert "--convert-to" in message and "-env:UserInstallation=file://" in message
    assert "stderr:" in message and "could not be loaded" in message
    assert not (tmp_path / "hong.pdf").exists()


def test_timeout_kills_soffice(tmp_path, seed_letter):
    with pytest.raises(PdfConversionError, match="quá thời gian"):
        to_pdf(seed_letter.docx_path, tmp_path / "cham.pdf", timeout=0.01)
    assert not (tmp_path / "cham.pdf").exists()


# --- signing -------------------------------------------------------------------------------------


def test_signing_from_the_environment_and_a_wrong_password(tmp_path, seed_letter, certificate):
    config = signing_config(
        load_authority(SEED_AUTHORITY),
        env={"CCHC_SIGNING_P12": str(certificate["p12"]), "CCHC_SIGNING_PASSWORD": certificate["password"]},
    )
    assert config is not None and config.p12 == certificate["p12"]
    assert certificate["password"] not in repr(config)
    assert signing_config(load_authority(SEED_AUTHORITY), env={}) is None

    pdf = tmp_path / "letter.pdf"
    shutil.copy(seed_letter.pdf_path, pdf)
    sign_pdf(pdf, config, signer_name="Vũ Thị Hà", location="Tứ Kỳ")
    assert pdf.read_bytes().startswith(seed_letter.pdf_path.read_bytes())  # an incremental update

    wrong = type(config)(config.p12, b"sai")
    copy_ = tmp_path / "copy.pdf"
    shutil.copy(seed_letter.pdf_path, copy_)
    with pytest.raises(SigningError, match="signer.p12"):
        sign_pdf(copy_, wrong)
    assert copy_.read_bytes() == seed_letter.pdf_path.read_bytes()


def test_a_password_in_yaml_is_refused(tmp_path):
    folder = tmp_path / "tu-ky"
    shutil.copytree(SEED_AUTHORITY, folder)
    with (folder / "authority.yaml").open("a", encoding="utf-8") as handle:
        handle.write("signing:\n  p12: a.p12\n  password: lo-ra\n")
    with pytest.raises(SigningError, match="password_env"):
        signing_config(load_authority(folder), env={})

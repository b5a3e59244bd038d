"""``cchc reissue`` (issue 10) on the seed's August: a letter that went out is replaced on purpose, with
a reason, by a new letter with the next number that says which one it replaces; the old one becomes
superseded. Real parts: ``cchc decide``, the letter stage, LibreOffice, a SQLite warehouse.

Issuing the first letter renders twice (draft, numbered letter), so it is done once for the module
and each test works on a copy of that output folder.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml
from support.authorities import edit_yaml
from support.letters import normalise
from support.paths import SEED_CONFIG

from cchc.cli import main
from cchc.core.db import engine_for
from cchc.core.wording import day_month
from cchc.letter.lifecycle import events
from cchc.letter.records import read_letters
from cchc.letter.render import letter_text
from cchc.warehouse.schema import document_numbers

pytestmark = pytest.mark.libreoffice

AUTHORITY = "tu-ky"
PERIOD = "2023-08"
REASON = "Cổng DVC điều chỉnh số liệu thanh toán trực tuyến tháng 8 của xã Hà Kỳ"
APPROVER = "Chánh Văn phòng"
# Variables a developer's shell may set that would sign the test letters or pick another warehouse.
FOREIGN_ENV = ("CCHC_SIGNING_P12", "CCHC_SIGNING_PASSWORD", "CCHC_SOFFICE", "CCHC_WAREHOUSE_URL")


def url_of(out: Path) -> str:
    return f"sqlite:///{out / 'warehouse.db'}"


def decide(config: Path, out: Path) -> None:
    argv = ["decide", "--config-dir", str(config), "--period", PERIOD, "--url", url_of(out)]
    assert main([*argv, "--output-dir", str(out)]) == 0


@pytest.fixture(scope="module")
def issued_once(tmp_path_factory) -> tuple[Path, int]:
    """A deployment folder (config/, out/) whose August letter was issued as number 1; its letter id."""
    from cchc.core.authorities import load_authority
    from cchc.delivery.issue import issue_with_files
    from cchc.letter.drafting import draft_letter

    root = tmp_path_factory.mktemp("reissue")
    config, out = root / "config", root / "out"
    shutil.copytree(SEED_CONFIG, config)
    with pytest.MonkeyPatch.context() as patch:
        for name in FOREIGN_ENV:
            patch.delenv(name, raising=False)
        patch.setenv("CCHC_CONFIG_DIR", str(config))
        patch.setenv("CCHC_OUTPUT_DIR", str(out))
        decide(config, out)
        engine = engine_for(url_of(out))
        try:
            authority = load_authority(config / AUTHORITY)
            draft = draft_letter(engine, authority, PERIOD, out, run_id="test-august")
            # Issued now (not in 2023): the re-issue takes the next number of the same year's register.
            issued = issue_with_files(engine, authority, draft.letter_id, out, run_id="test-august")
        finally:
            engine.dispose()
    assert issued.number == 1 and issued.rendered
    return root, int(draft.letter_id)


@dataclass
class Deployment:
    config: Path
    out: Path
    letter_id: int  # the August letter that went out, number 1

    @property
    def url(self) -> str:
        return url_of(self.out)

    def reissue(self, *args: str) -> int:
        return main(
            [
                "reissue",
                "--config-dir",
                str(self.config),
                "--authority",
                AUTHORITY,
                "--period",
                PERIOD,
                "--output-dir",
                str(self.out),
                "--url",
                self.url,
                *args,
            ]
        )

    def engine(self):
        return engine_for(self.url)

    def letters(self) -> dict[int, dict]:
        engine = self.engine()
        try:
            return {r["letter_id"]: r for r in read_letters(engine, AUTHORITY, PERIOD)}
        finally:
            engine.dispose()

    def register(self) -> list[tuple]:
        engine = self.engine()
        try:
            with engine.connect() as conn:
                query = sa.select(document_numbers.c.number, document_numbers.c.letter_id)
                return [tuple(r) for r in conn.execute(query.order_by(document_numbers.c.number))]
        finally:
            engine.dispose()

    def events(self, letter_id: int) -> list[dict]:
        engine = self.engine()
        try:
            return events(engine, letter_id)
        finally:
            engine.dispose()


@pytest.fixture
def deployment(issued_once, tmp_path, monkeypatch) -> Deployment:
    source, letter_id = issued_once
    shutil.copytree(source, tmp_path / "d")
    for name in FOREIGN_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CCHC_CONFIG_DIR", str(tmp_path / "d" / "config"))
    monkeypatch.setenv("CCHC_OUTPUT_DIR", str(tmp_path / "d" / "out"))
    return Deployment(tmp_path / "d" / "config", tmp_path / "d" / "out", letter_id)


def pdf_text(path: Path) -> str:
    text = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(path), "-"], check=True, capture_output=True, text=True
    ).stdout
    return normalise(text)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --------------------------------------------------------------------------- refusals


def test_a_reissue_without_a_reason_is_refused(deployment, capsys):
    with pytest.raises(SystemExit) as info:  # argparse: --reason is required
        deployment.reissue()
    assert info.value.code == 2 and "--reason" in capsys.readouterr().err
    assert deployment.reissue("--reason", "   ") == 2  # a reason of blanks is no reason
    assert "cần nêu lý do" in capsys.readouterr().err
    assert list(deployment.letters()) == [deployment.letter_id]
    assert deployment.register() == [(1, deployment.letter_id)]
    assert deployment.letters()[deployment.letter_id]["status"] == "issued"


def test_nothing_to_reissue_before_a_letter_went_out(tmp_path, capsys, monkeypatch):
    config, out = tmp_path / "config", tmp_path / "out"
    shutil.copytree(SEED_CONFIG, config)
    monkeypatch.setenv("CCHC_OUTPUT_DIR", str(out))
    decide(config, out)
    argv = ["reissue", "--config-dir", str(config), "--authority", AUTHORITY, "--period", PERIOD]
    assert main([*argv, "--output-dir", str(out), "--url", url_of(out), "--reason", REASON]) == 2
    assert "chưa có công văn nào đã phát hành" in capsys.readouterr().err
    engine = engine_for(url_of(out))
    try:
        assert read_letters(engine, AUTHORITY, PERIOD) == []
    finally:
        engine.dispose()


# --------------------------------------------------------------------------- the re-issue


def test_a_reissue_takes_the_next_number_and_supersedes_the_old_letter(deployment, capsys):
    old = deployment.letters()[deployment.letter_id]
    old_pdf = deployment.out / old["pdf_path"]
    old_bytes = old_pdf.read_bytes()

    assert deployment.reissue("--reason", REASON, "--run-id", "operator-42") == 0
    out = capsys.readouterr().out
    assert "Đã cấp số 2/UBND-NV" in out

    rows = deployment.letters()
    (new_id,) = set(rows) - {deployment.letter_id}
    new, old_now = rows[new_id], rows[deployment.letter_id]
    assert (new["status"], new["document_number"], new["is_current"]) == ("issued", 2, True)
    assert (new["replaces_letter_id"], new["reason"]) == (deployment.letter_id, REASON)
    assert (old_now["status"], old_now["document_number"], old_now["is_current"]) == ("superseded", 1, False)
    assert deployment.register() == [(1, deployment.letter_id), (2, new_id)]

    # The new letter's own numbered PDF, in its own folder; the old one's files are untouched.
    new_pdf = deployment.out / new["pdf_path"]
    assert new_pdf.parent.name == str(new_id) and new_pdf.name == "letter.pdf"
    assert new["pdf_sha256"] == sha256(new_pdf) and str(new_pdf) in out
    assert old_pdf.read_bytes() == old_bytes and old_now["pdf_sha256"] == old["pdf_sha256"]
    issued = old["issued_at"]  # SQLite keeps the Vietnamese wall time the number was taken at
    text = pdf_text(new_pdf)
    assert f"thay thế Công văn số 01/UBND-NV ngày {day_month(issued.day, issued.month)}/{issued.year}" in text
    assert "Số: 02/UBND-NV" in text
    assert "thay thế Công văn số" not in pdf_text(old_pdf)

    superseded = deployment.events(deployment.letter_id)[-1]
    assert (superseded["previous_state"], superseded["state"], superseded["reason"]) == (
        "issued",
        "superseded",
        REASON,
    )
    assert superseded["details"] == {"replaced_by": new_id, "document_number": 2}
    assert superseded["run_id"] == "operator-42" and new["run_id"] == "operator-42"
    assert [(e["state"], e["reason"]) for e in deployment.events(new_id)] == [
        ("draft", REASON),
        ("issued", None),
    ]


def _parts(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def assert_numbered_draft(folder: Path, number: str) -> None:
    """The issued letter is its draft with the number written in: no other change, in the DOCX or the PDF."""
    draft, issued = _parts(folder / "draft.docx"), _parts(folder / "letter.docx")
    assert list(draft) == list(issued)
    assert {name for name in draft if draft[name] != issued[name]} == {
        "word/document.xml",
        "docProps/core.xml",
    }
    blank = " " * 7
    expected = (
        letter_text(folder / "draft.docx")
        .replace(f"Số: {blank}/UBND-NV", f"Số: {number}/UBND-NV")
        .replace(f"Công văn số {blank}/UBND-NV", f"Công văn số {number}/UBND-NV")
    )
    assert letter_text(folder / "letter.docx") == expected
    draft_pdf = pdf_text(folder / "draft.pdf")
    assert pdf_text(folder / "letter.pdf") == draft_pdf.replace(
        "Số: /UBND-NV", f"Số: {number}/UBND-NV"
    ).replace("Công văn số /UBND-NV", f"Công văn số {number}/UBND-NV")


def test_the_issued_letters_are_their_drafts_with_the_number(deployment):
    assert deployment.reissue("--reason", REASON) == 0
    rows = deployment.letters()
    (new_id,) = set(rows) - {deployment.letter_id}
    for letter_id, number in ((deployment.letter_id, "01"), (new_id, "02")):
        folder = (deployment.out / rows[letter_id]["pdf_path"]).parent
        assert_numbered_draft(folder, number)
    assert "thay thế Công văn số 01/UBND-NV" in letter_text(
        (deployment.out / rows[new_id]["docx_path"]).parent / "draft.docx"
    )  # the re-issue's line was in the draft already


def _require_approval(deployment) -> None:
    """The authority asks for an approver (the Chánh Văn phòng) before a letter is numbered."""
    path = deployment.config / AUTHORITY / "authority.yaml"
    edit_yaml(
        path,
        distribution={
            **yaml.safe_load(path.read_text(encoding="utf-8"))["distribution"],
            "require_approval": True,
            "approvers": [{"name": APPROVER, "email": "chanhvp@tuky.haiduong.gov.vn", "user": "chanhvp"}],
        },
    )


def test_a_draft_changed_on_disk_is_not_numbered_but_rendered_again(deployment, capsys, caplog):
    _require_approval(deployment)
    assert deployment.reissue("--reason", REASON) == 2  # a draft, waiting for the approver
    (draft_id,) = set(deployment.letters()) - {deployment.letter_id}
    folder = (deployment.out / deployment.letters()[draft_id]["docx_path"]).parent
    tampered = folder / "draft.docx"
    with zipfile.ZipFile(tampered, "a") as archive:  # someone's edit after the approver read the PDF
        archive.writestr("customXml/sua-tay.xml", "<sua/>")
    with caplog.at_level("WARNING", logger="cchc.delivery.issue"):
        assert deployment.reissue("--reason", REASON, "--approved-by", APPROVER) == 0
    assert "khác bản thảo đã ghi nhận" in caplog.text
    issued = folder / "letter.docx"
    assert "customXml/sua-tay.xml" not in _parts(issued)  # rendered from the decisions, not from the edit
    assert "Số: 02/UBND-NV" in pdf_text(folder / "letter.pdf")


def test_where_approval_is_required_the_reissue_waits_for_an_approver(deployment, capsys):
    _require_approval(deployment)
    assert deployment.reissue("--reason", REASON) == 2
    assert "--approved-by" in capsys.readouterr().out
    rows = deployment.letters()
    (draft_id,) = set(rows) - {deployment.letter_id}
    draft = rows[draft_id]
    assert (draft["status"], draft["document_number"], draft["replaces_letter_id"]) == (
        "draft",
        None,
        deployment.letter_id,
    )
    assert rows[deployment.letter_id]["status"] == "issued"  # still the letter that stands
    assert deployment.register() == [(1, deployment.letter_id)]  # no number taken

    # The approver has read the draft: the same draft is approved and issued, nothing drafted again.
    assert deployment.reissue("--reason", REASON, "--approved-by", APPROVER) == 0
    rows = deployment.letters()
    assert set(rows) == {deployment.letter_id, draft_id}
    assert (rows[draft_id]["status"], rows[draft_id]["document_number"]) == ("issued", 2)
    assert rows[deployment.letter_id]["status"] == "superseded"
    assert deployment.register() == [(1, deployment.letter_id), (2, draft_id)]
    steps = [(e["state"], e["actor"]) for e in deployment.events(draft_id)]
    assert steps == [("draft", "cchc"), ("approved", APPROVER), ("issued", "cchc")]


def test_the_same_reissue_request_twice_makes_one_new_letter(deployment, capsys):
    # A cleared task or a rerun of the same Airflow run repeats its run id: one request, one letter.
    assert deployment.reissue("--reason", REASON, "--run-id", "operator-7") == 0
    first = deployment.register()
    assert [n for n, _ in first] == [1, 2]
    capsys.readouterr()
    assert deployment.reissue("--reason", REASON, "--run-id", "operator-7") == 0
    assert "đã phát hành lại công văn số 2" in capsys.readouterr().out
    assert deployment.register() == first
    assert len(deployment.letters()) == 2

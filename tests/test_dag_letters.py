"""The letters DAG run by Airflow (``dag.test()``) against a real SMTP server, on the seed scenario."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from email import message_from_bytes
from email.policy import default as default_policy
from pathlib import Path

import pytest

from cchc.core.periods import TIMEZONE

pytestmark = pytest.mark.airflow
LETTER_SUBJECT = "V/v biểu dương, nhắc nhở"


@pytest.fixture(scope="module")
def letters_dag(load_dag):
    return load_dag("cchc_letters")


@pytest.fixture
def decided(seed_config, tmp_path, monkeypatch):
    """The seed's August decisions in a fresh warehouse, as the monthly DAG leaves them."""
    from cchc.cli import main

    out = tmp_path / "out"
    monkeypatch.setenv("CCHC_CONFIG_DIR", str(seed_config))
    monkeypatch.setenv("CCHC_OUTPUT_DIR", str(out))
    url = f"sqlite:///{out}/warehouse.db"
    assert (
        main(
            [
                "decide",
                "--config-dir",
                str(seed_config),
                "--period",
                "2023-08",
                "--url",
                url,
                "--output-dir",
                str(out),
            ]
        )
        == 0
    )
    return out


def messages(folder: Path) -> list:
    return [message_from_bytes(p.read_bytes(), policy=default_policy) for p in sorted(folder.glob("*.eml"))]


def run(dag, conf: dict):
    from airflow.utils.state import DagRunState

    dagrun = dag.test(logical_date=datetime(2023, 9, 1, 7, 0, tzinfo=TIMEZONE), run_conf=conf)
    states = {(ti.task_id, ti.map_index): ti.state for ti in dagrun.get_task_instances()}
    return dagrun.state == DagRunState.SUCCESS, states


def test_every_recipient_gets_exactly_one_letter_and_a_rerun_sends_nothing(
    letters_dag, decided, mailbox, seed_config
):
    from cchc.core.authorities import load_authority

    ok, states = run(letters_dag, {"period": "2023-08"})
    assert ok, states
    assert states[("authority.approve", 0)] == "skipped"  # the seed authority needs no approval

    letters = [m for m in messages(mailbox) if LETTER_SUBJECT in m["Subject"]]
    recipients = Counter(addr.addr_spec for m in letters for addr in m["To"].addresses)
    units = load_authority(seed_config / "tu-ky").units
    assert {u.email for u in units} <= set(recipients)
    assert all(n == 1 for n in recipients.values()), recipients
    for message in letters:
        names = [part.get_filename() for part in message.iter_attachments()]
        assert "Công văn CCHC tháng 8-2023.pdf" in names
        assert message["Subject"].startswith("Công văn số 01/UBND-NV")

    ha_ky = next(m for m in letters if m["To"].addresses[0].addr_spec == "haky@tuky.haiduong.gov.vn")
    body = ha_ky.get_body(("plain",)).get_content()
    assert "Chủ tịch UBND xã Hà Kỳ" in body and "96,77%" in body and "28,3%" in body

    # The issued letter's own folder (letters/<letter_id>/), beside its draft.
    [issued] = (decided / "tu-ky" / "2023-08" / "letters").glob("*/letter.docx")
    from cchc.letter.render import letter_text

    assert "Số: 01/UBND-NV" in letter_text(issued)

    before = len(letters)
    ok, states = run(letters_dag, {"period": "2023-08"})
    assert ok, states
    again = [m for m in messages(mailbox) if LETTER_SUBJECT in m["Subject"]]
    assert len(again) == before, "a rerun sends nothing new"


def test_dry_run_sends_everything_to_the_test_address(letters_dag, decided, mailbox):
    ok, states = run(
        letters_dag, {"period": "2023-08", "dry_run": True, "test_address": "thu@tuky.haiduong.gov.vn"}
    )
    assert ok, states
    # The sink names each file after the envelope recipient: every letter went to the test address.
    letter_files = [
        p
        for p in mailbox.glob("*.eml")
        if LETTER_SUBJECT in message_from_bytes(p.read_bytes(), policy=default_policy)["Subject"]
    ]
    assert len(letter_files) > 30
    assert all(p.name.startswith("thu_at_tuky.haiduong.gov.vn") for p in letter_files)
    assert all(
        m["Subject"].startswith("[THỬ NGHIỆM]") for m in messages(mailbox) if LETTER_SUBJECT in m["Subject"]
    )

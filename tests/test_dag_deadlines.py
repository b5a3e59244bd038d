"""The deadline check (``cchc_deadlines``) run by Airflow (``dag.test()``) against a real warehouse and
a real SMTP sink: one alert per late authority and period, to that authority's operators only."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from email import message_from_bytes
from email.policy import default as default_policy
from pathlib import Path

import pytest
import yaml
from support.warehouse import migrated

from cchc.core.db import default_url
from cchc.core.periods import TIMEZONE

pytestmark = pytest.mark.airflow

PERIOD = "2023-08"
LATE = "thanh-ha"  # requires approval; its draft has waited since 2 September; sends by the 7th
ON_TIME = "tu-ky"  # its letter went out; sends by the 5th (the default)
LATE_OPERATOR = "cchc@thanhha.haiduong.gov.vn"


@pytest.fixture(scope="module")
def deadlines_dag(load_dag):
    return load_dag("cchc_deadlines")


@pytest.fixture
def scenario(seed_config, mailbox, tmp_path, monkeypatch):
    config = seed_config
    shutil.copytree(config / ON_TIME, config / LATE)
    path = config / LATE / "authority.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["id"], data["name"] = LATE, "huyện Thanh Hà"
    data["distribution"].update(
        sender_name="UBND huyện Thanh Hà",
        operators=[{"name": "Bộ phận CCHC Thanh Hà", "email": LATE_OPERATOR}],
        allowed_domains=["thanhha.haiduong.gov.vn", "tuky.haiduong.gov.vn"],
        require_approval=True,
        send_by_day=7,
    )
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")

    out = tmp_path / "out"
    monkeypatch.setenv("CCHC_CONFIG_DIR", str(config))
    monkeypatch.setenv("CCHC_OUTPUT_DIR", str(out))
    monkeypatch.delenv("CCHC_WAREHOUSE_URL", raising=False)
    out.mkdir()
    engine = migrated(default_url(out))
    add_letter(engine, ON_TIME, "sent", number=1, created=datetime(2023, 9, 1, 1, 0, tzinfo=UTC))
    add_letter(engine, LATE, "draft", created=datetime(2023, 9, 2, 2, 30, tzinfo=UTC))
    yield {"engine": engine, "mail": mailbox, "out": out}
    engine.dispose()


def add_letter(engine, authority_id: str, status: str, *, created: datetime, number: int | None = None):
    from cchc.warehouse.schema import letters

    with engine.begin() as conn:
        conn.execute(
            letters.insert().values(
                authority_id=authority_id,
                period=PERIOD,
                status=status,
                document_number=number,
                issued_at=created if number else None,
                decisions_hash="0" * 64,
                rulebook_version="test",
                docx_path=f"{authority_id}/{PERIOD}/letters/1/letter.docx",
                docx_sha256="0" * 64,
                signed=False,
                run_id="test",
                is_current=True,
                created_at=created,
            )
        )


def run(dag, day: int):
    from airflow.utils.state import DagRunState

    dagrun = dag.test(logical_date=datetime(2023, 9, day, 8, 0, tzinfo=TIMEZONE))
    assert dagrun.state == DagRunState.SUCCESS, [(t.task_id, t.state) for t in dagrun.get_task_instances()]


def messages(folder: Path):
    return [message_from_bytes(p.read_bytes(), policy=default_policy) for p in sorted(folder.glob("*.eml"))]


def test_a_late_letter_is_reported_once_to_its_own_operators(deadlines_dag, scenario):
    import sqlalchemy as sa

    from cchc.warehouse.schema import deadline_alerts

    # 6 September: Tứ Kỳ's deadline (the 5th) has passed but its letter went out; Thanh Hà's is the 7th.
    run(deadlines_dag, 6)
    assert messages(scenario["mail"]) == []

    # 8 September: Thanh Hà's draft still waits for approval.
    run(deadlines_dag, 8)
    (alert,) = messages(scenario["mail"])
    assert [a.addr_spec for a in alert["To"].addresses] == [LATE_OPERATOR]
    assert alert["Subject"] == "[CCHC] Quá hạn gửi công văn tháng 8/2023 của UBND huyện Thanh Hà"
    body = alert.get_body(("plain",)).get_content()
    assert "ngày 07/09/2023" in body
    assert "Bản thảo công văn chờ duyệt từ 09:30 ngày 02/09/2023" in body
    with scenario["engine"].connect() as conn:
        rows = conn.execute(sa.select(deadline_alerts)).mappings().all()
    assert [(r["authority_id"], r["period"], r["recipients"]) for r in rows] == [
        (LATE, PERIOD, [LATE_OPERATOR])
    ]

    # A rerun of the same day, and the next day: nothing new.
    run(deadlines_dag, 8)
    run(deadlines_dag, 9)
    assert len(messages(scenario["mail"])) == 1

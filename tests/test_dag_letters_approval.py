"""The letters DAG's approval gate, answered through Airflow's public REST API (``support.approval``):
the approver is a helper thread, ``dag.test()`` runs in the main thread. Mail goes to a real SMTP sink.
"""

from __future__ import annotations

import csv
from datetime import datetime
from email import message_from_bytes
from email.policy import default as default_policy
from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml
from support.approval import APPROVE, document_numbers, letter_rows
from support.approval import run_with_answer as answer
from support.warehouse import warehouse_of_run

from cchc.core.periods import TIMEZONE

pytestmark = pytest.mark.airflow

DAG_ID = "cchc_letters"
PERIOD = "2023-08"
AUTHORITY = "tu-ky"
# The hard bound of each test: pytest-timeout's SIGALRM interrupts dag.test() in the main thread.
TEST_TIMEOUT = 180


@pytest.fixture(scope="module")
def letters_dag(load_dag):
    return load_dag(DAG_ID)


@pytest.fixture
def scenario(seed_config, mailbox, tmp_path, monkeypatch):
    """The seed authority requiring approval, its period decided, and a real SMTP sink."""
    from cchc.cli import main

    authority_yaml = seed_config / AUTHORITY / "authority.yaml"
    data = yaml.safe_load(authority_yaml.read_text(encoding="utf-8"))
    assert data["distribution"]["require_approval"] is False
    data["distribution"]["require_approval"] = True
    authority_yaml.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")

    out = tmp_path / "out"
    mail = mailbox
    monkeypatch.setenv("CCHC_CONFIG_DIR", str(seed_config))
    monkeypatch.setenv("CCHC_OUTPUT_DIR", str(out))
    monkeypatch.delenv("CCHC_WAREHOUSE_URL", raising=False)
    # The warehouse file the DAG uses when there is no cchc_warehouse connection.
    code = main(
        [
            "decide",
            "--config-dir",
            str(seed_config),
            "--period",
            PERIOD,
            "--url",
            f"sqlite:///{out}/warehouse.db",
            "--output-dir",
            str(out),
        ]
    )
    assert code == 0
    assert (out / AUTHORITY / PERIOD / "decisions.json").exists()

    with (seed_config / AUTHORITY / "units.csv").open(encoding="utf-8") as handle:
        units = list(csv.DictReader(handle))
    distribution = data["distribution"]
    return {
        "out": out,
        "mail": mail,
        "units": {row["email"].lower() for row in units if row["email"]},
        "copies": {c["email"].lower() for c in distribution["copies"]},
        "operators": {c["email"].lower() for c in distribution["operators"]},
    }


def letters(out: Path) -> list[dict]:
    return letter_rows(out, AUTHORITY, PERIOD)


def deliveries(out: Path) -> list[tuple]:
    with warehouse_of_run(out) as engine, engine.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.text("SELECT recipient, kind, state FROM deliveries"))]


def received(mail: Path) -> dict[str, list[str]]:
    """Subjects of the saved messages, by envelope recipient (the sink names files <rcpt>-<hash>.eml)."""
    by_recipient: dict[str, list[str]] = {}
    for path in sorted(mail.glob("*.eml")):
        recipient = path.name.rsplit("-", 1)[0].replace("_at_", "@").lower()
        message = message_from_bytes(path.read_bytes(), policy=default_policy)
        by_recipient.setdefault(recipient, []).append(str(message["Subject"]))
    return by_recipient


def run_with_answer(dag, api, scenario, choice: str, logical_date: datetime):
    return answer(dag, api, scenario["mail"], scenario["out"], choice, logical_date, {"period": PERIOD})


def states_of(states: dict, task_id: str) -> set[str]:
    return {str(state) for (task, _), state in states.items() if task == task_id}


@pytest.mark.timeout(TEST_TIMEOUT)
def test_approval_through_the_api_releases_issue_and_distribution(letters_dag, api, scenario):
    from airflow.utils.state import DagRunState

    from cchc.core.wording import document_number_text

    dagrun, states, approver = run_with_answer(
        letters_dag, api, scenario, "Approve", datetime(2023, 9, 1, 7, 0, tzinfo=TIMEZONE)
    )
    assert approver.error is None, approver.error

    # While the approval was pending: a draft letter, no number taken, nothing sent.
    assert approver.before["mail"] == []
    assert approver.before["numbers"] == []
    assert [(row["status"], row["document_number"]) for row in approver.before["letters"]] == [
        ("draft", None)
    ]
    assert PERIOD in approver.detail["subject"] and approver.detail["body"]
    assert approver.detail["options"] == ["Approve", "Reject"]
    assert approver.response.status_code == 200, approver.response.text
    assert approver.response.json()["chosen_options"] == ["Approve"]

    assert dagrun.state == DagRunState.SUCCESS, states
    for task_id in ("approve", "issue", "distribute", "report"):
        assert states_of(states, f"authority.{task_id}") == {"success"}, (task_id, states)

    # Issued, then sent to every recipient: the letter's life says so (issue 10).
    (letter,) = letters(scenario["out"])
    assert letter["status"] == "sent" and letter["document_number"] is not None
    number = letter["document_number"]
    assert document_numbers(scenario["out"]) == [(AUTHORITY, 2023, number, letter["letter_id"])]

    recipients = scenario["units"] | scenario["copies"] | scenario["operators"]
    mail = received(scenario["mail"])
    assert set(mail) == recipients
    for recipient, subjects in mail.items():
        letters_received = [s for s in subjects if not s.startswith("[CCHC]")]
        assert len(letters_received) == 1, (recipient, subjects)
        assert f"Công văn số {document_number_text(number, 'UBND-NV')} " in letters_received[0]
        summaries = [s for s in subjects if s.startswith("[CCHC]")]
        assert len(summaries) == (1 if recipient in scenario["operators"] else 0), (recipient, subjects)
    assert sorted(d[0].lower() for d in deliveries(scenario["out"])) == sorted(recipients)
    assert {d[2] for d in deliveries(scenario["out"])} == {"sent"}

    # The API shows who answered what.
    ti = approver.detail["task_instance"]
    shown = api.get(
        f"/api/v2/dags/{DAG_ID}/dagRuns/{ti['dag_run_id']}/taskInstances/{APPROVE}/{ti['map_index']}/hitlDetails"
    )
    assert shown.status_code == 200
    assert shown.json()["chosen_options"] == ["Approve"] and shown.json()["response_received"] is True


@pytest.mark.timeout(TEST_TIMEOUT)
def test_rejection_through_the_api_issues_and_sends_nothing(letters_dag, api, scenario):
    from airflow.utils.state import DagRunState

    dagrun, states, approver = run_with_answer(
        letters_dag, api, scenario, "Reject", datetime(2023, 9, 1, 8, 0, tzinfo=TIMEZONE)
    )
    assert approver.error is None, approver.error
    assert approver.before["mail"] == [] and approver.before["numbers"] == []
    assert [(row["status"], row["document_number"]) for row in approver.before["letters"]] == [
        ("draft", None)
    ]
    assert approver.response.status_code == 200, approver.response.text
    assert approver.response.json()["chosen_options"] == ["Reject"]

    # A rejection is an answer, not an error: the run ends green with everything after it skipped.
    assert dagrun.state == DagRunState.SUCCESS, states
    assert states_of(states, APPROVE) == {"success"}, states
    for task_id in ("issue", "distribute", "report"):
        assert states_of(states, f"authority.{task_id}") == {"skipped"}, (task_id, states)

    assert list(scenario["mail"].glob("*.eml")) == []
    assert document_numbers(scenario["out"]) == []
    assert deliveries(scenario["out"]) == []
    # The rejection is recorded (issue 10): the draft is "rejected", never numbered.
    assert [(row["status"], row["document_number"]) for row in letters(scenario["out"])] == [
        ("rejected", None)
    ]

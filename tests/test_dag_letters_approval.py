"""The letters DAG's approval gate, answered through Airflow's public REST API.

``dag.test()`` runs the DAG in the test's main thread: its in-process task runner installs a SIGTERM
handler for every task (``signal.signal`` only works in the main thread), so in a background thread
every task fails at once. The human is a helper thread instead: it waits (bounded) until the
``approve`` task is parked in ``awaiting_input``, records what had been issued and sent by then, and
answers through ``PATCH /api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances/approve/-1/hitlDetails``
of Airflow's own FastAPI app (``airflow.api_fastapi.app.create_app``), served in-process by a
TestClient on the same metadata database. The response handler flips the task back to scheduled and
``dag.test()`` resumes it, exactly as the api-server would. Mail goes to a real SMTP sink.
"""

from __future__ import annotations

import csv
import threading
import time
from datetime import UTC, datetime
from email import message_from_bytes
from email.policy import default as default_policy
from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml
from support.warehouse import warehouse_of_run

from cchc.core.periods import TIMEZONE

pytestmark = pytest.mark.airflow

DAG_ID = "cchc_letters"
PERIOD = "2023-08"
AUTHORITY = "tu-ky"
# Every authority has its own approval, in the per-authority task group (issue 10).
APPROVE = "authority.approve"
# Past this, the approver gives up (and rejects, so dag.test() ends instead of waiting forever).
AWAIT_TIMEOUT = 90.0
# The hard bound of each test: pytest-timeout's SIGALRM interrupts dag.test() in the main thread.
TEST_TIMEOUT = 180


@pytest.fixture(scope="module")
def letters_dag(load_dag):
    return load_dag(DAG_ID)


@pytest.fixture(scope="module")
def api(airflow_db):
    """Airflow's public REST API (the api-server's core app), in-process, every caller an admin."""
    from fastapi.testclient import TestClient

    with pytest.MonkeyPatch.context() as mp:
        # The simple auth manager then adds an admin token to every request (read per request too).
        mp.setenv("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS", "True")
        from airflow.api_fastapi.app import create_app

        with TestClient(create_app(apps="core"), base_url="http://localhost") as client:
            yield client


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


class Approver(threading.Thread):
    """The human: waits for the approval request, notes what exists by then, answers through the API."""

    def __init__(
        self, api, choice: str, mail: Path, out: Path, created_after: datetime, done: threading.Event
    ):
        super().__init__(name=f"approver-{choice}", daemon=True)
        self.api, self.choice, self.mail, self.out = api, choice, mail, out
        self.created_after, self.done = created_after, done
        self.detail: dict | None = None
        self.before: dict | None = None
        self.response = None
        self.waited: float | None = None
        self.error: str | None = None
        self.last_poll_error: str | None = None

    def pending_request(self) -> dict | None:
        answer = self.api.get(
            f"/api/v2/dags/{DAG_ID}/dagRuns/~/hitlDetails",
            params={"task_id": APPROVE, "response_received": False},
        )
        if answer.status_code != 200:  # say, SQLite busy while a task writes: ask again
            self.last_poll_error = f"{answer.status_code} {answer.text[:300]}"
            return None
        for detail in answer.json()["hitl_details"]:
            created = datetime.fromisoformat(detail["created_at"])
            if detail["task_instance"]["state"] == "awaiting_input" and created >= self.created_after:
                return detail
        return None

    def respond(self, detail: dict, choice: str):
        ti = detail["task_instance"]
        return self.api.patch(
            f"/api/v2/dags/{DAG_ID}/dagRuns/{ti['dag_run_id']}/taskInstances/{APPROVE}/{ti['map_index']}/hitlDetails",
            json={"chosen_options": [choice], "params_input": {}},
        )

    def run(self) -> None:
        start = time.monotonic()
        try:
            while not self.done.is_set():
                detail = self.pending_request()
                if detail is not None:
                    self.waited = time.monotonic() - start
                    if self.waited > AWAIT_TIMEOUT:
                        self.error = f"the approval request came after {self.waited:.0f} s; rejected it"
                        self.respond(detail, "Reject")
                        return
                    self.detail = detail
                    self.before = {
                        "mail": sorted(p.name for p in self.mail.glob("*.eml")),
                        "letters": letters(self.out),
                        "numbers": document_numbers(self.out),
                    }
                    self.response = self.respond(detail, self.choice)
                    return
                if time.monotonic() - start > AWAIT_TIMEOUT + 60:
                    self.error = (
                        f"no approval request while the run was going on (last poll: {self.last_poll_error})"
                    )
                    return
                self.done.wait(0.5)
            self.error = "the run ended without asking for approval"
        except Exception as exc:  # noqa: BLE001 (reported by the test, which asserts on it)
            self.error = f"approver failed: {exc!r}"


def letters(out: Path) -> list[dict]:
    from cchc.letter.records import read_letters

    with warehouse_of_run(out) as engine:
        return [
            {k: row[k] for k in ("letter_id", "status", "document_number", "is_current")}
            for row in read_letters(engine, AUTHORITY, PERIOD)
        ]


def document_numbers(out: Path) -> list[tuple]:
    with warehouse_of_run(out) as engine, engine.connect() as conn:
        return [
            tuple(r)
            for r in conn.execute(
                sa.text("SELECT authority_id, year, number, letter_id FROM document_numbers")
            )
        ]


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
    """dag.test() here, in the main thread, the approver in its own; returns (dagrun, states, approver)."""
    done = threading.Event()
    approver = Approver(api, choice, scenario["mail"], scenario["out"], datetime.now(UTC), done)
    approver.start()
    try:
        dagrun = dag.test(logical_date=logical_date, run_conf={"period": PERIOD})
    finally:
        done.set()
        approver.join(timeout=30)
    assert not approver.is_alive(), "the approver thread did not stop"
    states = {(ti.task_id, ti.map_index): ti.state for ti in dagrun.get_task_instances()}
    return dagrun, states, approver


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

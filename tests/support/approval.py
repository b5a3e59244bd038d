"""Answering a letter's approval (Airflow's human-in-the-loop task) through Airflow's REST API.

``dag.test()`` runs the DAG in the test's main thread: its in-process task runner installs a SIGTERM
handler for every task (``signal.signal`` only works in the main thread), so in a background thread
every task fails at once. The human is a helper thread instead: it waits (bounded) until the
approval task is parked in ``awaiting_input``, records what had been issued and sent by then (and may
act first: ``before_answer``), and answers through
``PATCH /api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/{map_index}/hitlDetails`` of
Airflow's own FastAPI app, served in-process by a TestClient on the same metadata database.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

from support.warehouse import warehouse_of_run

DAG_ID = "cchc_letters"
APPROVE = "authority.approve"
# Past this, the approver gives up (and rejects, so dag.test() ends instead of waiting forever).
AWAIT_TIMEOUT = 90.0


def letter_rows(out: Path, authority: str, period: str) -> list[dict]:
    from cchc.letter.records import read_letters

    with warehouse_of_run(out) as engine:
        return [
            {k: row[k] for k in ("letter_id", "status", "document_number", "is_current")}
            for row in read_letters(engine, authority, period)
        ]


def document_numbers(out: Path) -> list[tuple]:
    with warehouse_of_run(out) as engine, engine.connect() as conn:
        return [
            tuple(r)
            for r in conn.execute(
                sa.text("SELECT authority_id, year, number, letter_id FROM document_numbers")
            )
        ]


class Approver(threading.Thread):
    """The human: waits for the approval request, notes what exists by then, answers through the API."""

    def __init__(
        self,
        api,
        choice: str,
        mail: Path,
        out: Path,
        created_after: datetime,
        done: threading.Event,
        *,
        authority: str = "tu-ky",
        period: str = "2023-08",
        before_answer: Callable[[], None] | None = None,
    ):
        super().__init__(name=f"approver-{choice}", daemon=True)
        self.authority, self.period, self.before_answer = authority, period, before_answer
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
                        "letters": letter_rows(self.out, self.authority, self.period),
                        "numbers": document_numbers(self.out),
                    }
                    if self.before_answer is not None:
                        self.before_answer()
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


def run_with_answer(
    dag, api, mail: Path, out: Path, choice: str, logical_date: datetime, conf: dict, **approver
):
    """dag.test() here, in the main thread, the approver in its own; returns (dagrun, states, approver)."""
    done = threading.Event()
    human = Approver(api, choice, mail, out, datetime.now(UTC), done, **approver)
    human.start()
    try:
        dagrun = dag.test(logical_date=logical_date, run_conf=conf)
    finally:
        done.set()
        human.join(timeout=30)
    assert not human.is_alive(), "the approver thread did not stop"
    states = {(ti.task_id, ti.map_index): ti.state for ti in dagrun.get_task_instances()}
    return dagrun, states, human

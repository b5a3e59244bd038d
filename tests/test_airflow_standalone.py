"""``make airflow`` as a user meets it: a month end to end under a real scheduler.

The server and the seed month's first run are the session fixture ``standalone``
(tests/support/standalone_server.py, shared with the browser test tests/test_ui_browser.py): it runs
``scripts/airflow-standalone.sh`` with its own Airflow home, output folder and port, logs in through
the REST API with the login the startup lines print, unpauses both DAGs, triggers ``cchc_monthly`` for
2023-08 and waits for it and for the ``cchc_letters`` run it triggers. Here: what the startup printed,
that both runs succeeded with true durations, that every recipient got exactly one letter, that a
second trigger of the month sends no letter again, and that SIGTERM stops everything (no process with
this Airflow home in its environment may be left; that test runs last in the session).

On a failure the tests print the supervisor's output, the tail of Airflow's log and of every task log
of the runs that did not succeed.
"""

from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import pytest
from support.standalone_server import (
    AUTHORITY,
    PERIOD,
    TIMEOUT,
    assert_true_duration,
    expected_recipients,
    letters_runs,
    mailbox,
    new_letters_run,
    task_instances,
    wait_for_run,
)

pytestmark = [pytest.mark.airflow, pytest.mark.slow, pytest.mark.timeout(TIMEOUT)]

PDF_NAME = "Công văn CCHC tháng 8-2023.pdf"
# The letters run skips the approval branch: the seed authority needs no approval.
SKIPPED_LETTER_TASKS = {"authority.approve"}  # the seed authority needs no approval


def test_the_startup_lines_say_where_everything_is(standalone):
    output = standalone.output
    assert standalone.login.url == f"http://127.0.0.1:{standalone.port}"
    assert standalone.mail_dir == standalone.stack.out / "mail" / "airflow", output
    assert re.search(r"Trình giả lập Cổng DVC:\s+http://127\.0\.0\.1:\d+", output), output
    assert f"{standalone.stack.out}/<cơ quan>/<kỳ>/" in output
    assert "đang tạm dừng" in output  # both DAGs are loaded, paused as Airflow creates them
    assert "Báo cáo CCHC" in output  # where the operators' page is


def test_the_month_runs_end_to_end_with_true_durations(standalone):
    api, monthly, letters = standalone.api, standalone.monthly, standalone.letters
    with standalone.diagnosing():
        assert monthly["state"] == "success"
        assert letters["state"] == "success"
        assert letters["conf"]["period"] == PERIOD
        monthly_states = Counter(
            t["state"] for t in task_instances(api, "cchc_monthly", monthly["dag_run_id"])
        )
        assert set(monthly_states) == {"success"}, monthly_states
        letter_states = {
            t["task_id"]: t["state"] for t in task_instances(api, "cchc_letters", letters["dag_run_id"])
        }
        assert {t for t, s in letter_states.items() if s != "success"} == SKIPPED_LETTER_TASKS, letter_states
        assert {letter_states[t] for t in SKIPPED_LETTER_TASKS} == {"skipped"}
        for run in (monthly, letters):
            assert_true_duration(run, standalone.since, standalone.until)

        # The scheduled latest month is there too, still waiting for its period: it held nothing back.
        scheduled = [
            r
            for r in api.get("dags/cchc_monthly/dagRuns", limit=100)["dag_runs"]
            if r["run_type"] == "scheduled"
        ]
        assert [r["state"] for r in scheduled] == ["running"], scheduled


def test_every_recipient_gets_exactly_one_letter_and_the_operators_a_summary(standalone):
    recipients, operators = expected_recipients()
    first_mail = standalone.first_mail
    letter_mail = [m for m in first_mail.values() if m["kind"] == "letter"]
    assert Counter(m["recipient"] for m in letter_mail) == Counter(recipients)
    assert all(PDF_NAME in m["attachments"] for m in letter_mail), letter_mail
    summaries = [m["recipient"] for m in first_mail.values() if m["kind"] == "summary"]
    assert Counter(summaries) == Counter(operators)
    assert [m for m in first_mail.values() if m["kind"] == "alert"] == []


def test_the_letters_tasks_link_to_the_page_at_their_authority_and_period(standalone):
    """The "Báo cáo CCHC" extra link on render / issue / distribute, as the task's page asks for it."""
    api, run_id = standalone.api, standalone.letters["dag_run_id"]
    with standalone.diagnosing():
        for task_id in ("authority.render", "authority.issue", "authority.distribute"):
            links = api.get(f"dags/cchc_letters/dagRuns/{run_id}/taskInstances/{task_id}/links", map_index=0)
            url = (links.get("extra_links") or links).get("Báo cáo CCHC")
            assert url, (task_id, links)
            assert urlsplit(url).path.endswith("/cchc/"), url
            assert parse_qs(urlsplit(url).query) == {"authority": [AUTHORITY], "period": [PERIOD]}, url
        # Not on the other tasks.
        links = api.get(
            f"dags/cchc_letters/dagRuns/{run_id}/taskInstances/authority.report/links", map_index=0
        )
        assert not (links.get("extra_links") or {}).get("Báo cáo CCHC"), links


def test_a_second_trigger_of_the_month_sends_no_letter_again(standalone):
    api = standalone.api
    _, operators = expected_recipients()
    before = mailbox(standalone.mail_dir)
    seen = set(letters_runs(api))
    with standalone.diagnosing():
        since = datetime.now(UTC)
        second = api.trigger("cchc_monthly", {"period": PERIOD})
        standalone.runs.append(("cchc_monthly", second["dag_run_id"]))
        again = wait_for_run(api, "cchc_monthly", second["dag_run_id"])
        assert again["state"] == "success"
        letters_again = new_letters_run(api, seen)
        standalone.runs.append(("cchc_letters", letters_again["dag_run_id"]))
        letters_again = wait_for_run(api, "cchc_letters", letters_again["dag_run_id"])
        assert letters_again["state"] == "success"
        for run in (again, letters_again):
            assert_true_duration(run, since, datetime.now(UTC))
        # The operators get a new summary, nobody anything else.
        new_mail = {name: m for name, m in mailbox(standalone.mail_dir).items() if name not in before}
        assert [m for m in new_mail.values() if m["kind"] != "summary"] == []
        assert Counter(m["recipient"] for m in new_mail.values()) == Counter(operators)


def test_sigterm_stops_everything_and_leaves_nothing_behind(standalone_stopped):
    stopped = standalone_stopped
    assert stopped.code == 0, stopped.output[-3000:]
    assert "Đã dừng." in stopped.output
    assert stopped.left == [], stopped.left

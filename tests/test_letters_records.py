"""Letters are records (issue 10), end to end: both DAGs under ``dag.test()``, the portal simulator, a
real SMTP server that keeps every message it accepts (duplicates included), LibreOffice for the PDFs.

Each test is what an operator does after a letter went out (corrects an address, finds the portal
revised last month, re-issues), or what goes wrong around an approval, several authorities in one
run, and two distributions at once; each asserts what recipients receive and what the register holds.
"""

from __future__ import annotations

import csv
import json
import os
import re
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml
from support.approval import document_numbers, letter_rows, run_with_answer
from support.smtp import Received, smtp_default_connection
from support.warehouse import load_seed_months, migrated, warehouse_of_run

from cchc.core.periods import TIMEZONE

pytestmark = [pytest.mark.airflow, pytest.mark.libreoffice]

AUTHORITY = "tu-ky"
AUGUST = "2023-08"
SEPTEMBER = "2023-09"
AUGUST_RUN = datetime(2023, 9, 1, 7, 0, tzinfo=TIMEZONE)
SEPTEMBER_RUN = datetime(2023, 10, 1, 7, 0, tzinfo=TIMEZONE)
TEST_TIMEOUT = 600


# --------------------------------------------------------------------------- the deployment


def read_csv(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def write_csv(path: Path, rows: list[dict]) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def edit_distribution(config: Path, authority: str, **fields) -> None:
    path = config / authority / "authority.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["distribution"].update(fields)
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


def pdf_text(data: bytes, folder: Path) -> str:
    path = folder / f"attachment-{len(list(folder.glob('attachment-*.pdf')))}.pdf"
    path.write_bytes(data)
    return subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(path), "-"], check=True, capture_output=True, text=True
    ).stdout


def letter_pdf(received: Received) -> bytes:
    parts = [p for p in received.message.iter_attachments() if p.get_content_type() == "application/pdf"]
    assert len(parts) == 1, [p.get_filename() for p in received.message.iter_attachments()]
    return parts[0].get_content()


class Deployment:
    """One deployment under test: its configuration, output folder, portal and SMTP server."""

    def __init__(self, config: Path, out: Path, smtp, monkeypatch, load_dag) -> None:
        self.config, self.out, self.smtp, self.monkeypatch = config, out, smtp, monkeypatch
        self.load_dag = load_dag
        self.simulator = None
        monkeypatch.setenv("CCHC_CONFIG_DIR", str(config))
        monkeypatch.setenv("CCHC_OUTPUT_DIR", str(out))
        monkeypatch.delenv("CCHC_WAREHOUSE_URL", raising=False)
        monkeypatch.setenv("AIRFLOW_CONN_SMTP_DEFAULT", smtp_default_connection(smtp.port))

    # The portal reads monthly.csv when it starts: after editing it, start it again.
    def start_portal(self) -> None:
        from cchc.portal.simulator import PortalSimulator

        self.stop_portal()
        self.simulator = PortalSimulator(self.config)
        url = self.simulator.start()
        self.monkeypatch.setenv(
            "AIRFLOW_CONN_CCHC_PORTAL", json.dumps({"conn_type": "http", "extra": {"url": url}})
        )

    def stop_portal(self) -> None:
        if self.simulator is not None:
            self.simulator.stop()
            self.simulator = None

    def preload(self, authorities: list[str], last_month: int = 7) -> None:
        """January to ``last_month`` already in the warehouse (as earlier runs leave it), so a run
        extracts only its month."""
        from cchc.core.authorities import load_authority
        from cchc.core.db import default_url
        from cchc.core.periods import Period
        from cchc.rules.rulebook import campaign_starts_for
        from cchc.warehouse.rates import compute_rates

        self.out.mkdir(parents=True, exist_ok=True)
        engine = migrated(default_url(self.out))
        try:
            for authority_id in authorities:
                authority = load_authority(self.config / authority_id)
                load_seed_months(engine, authority, months=range(1, last_month + 1))
                for month in range(1, last_month + 1):
                    period = Period(2023, month)
                    compute_rates(engine, authority.id, period, campaign_starts_for(authority, period))
        finally:
            engine.dispose()

    def dag(self, dag_id: str):
        # A DAG object freshly parsed for every run: dag.test() runs the tasks in this process, and
        # Airflow resolves a run's conf into the DAG's own Param objects, so a DAG object reused keeps
        # the previous run's conf (a dry run's, say) as its defaults.
        return self.load_dag(dag_id)

    def monthly(self, period: str = AUGUST, logical_date: datetime = AUGUST_RUN):
        # The per-authority trigger of cchc_letters needs a scheduler: marked done, the letters DAG
        # is run next by the test, as the trigger would.
        dagrun = self.dag("cchc_monthly").test(
            logical_date=logical_date, run_conf={"period": period}, mark_success_pattern="trigger_letters"
        )
        return dagrun, states_of(dagrun)

    def letters(self, logical_date: datetime = AUGUST_RUN, **conf):
        dagrun = self.dag("cchc_letters").test(logical_date=logical_date, run_conf={"period": AUGUST, **conf})
        return dagrun, states_of(dagrun)

    def letters_answered(self, api, choice: str, authority: str = AUTHORITY, **conf):
        """The letters DAG with an approver answering ``choice`` through Airflow's REST API."""
        mail = self.out.parent / "approver-mail"
        mail.mkdir(exist_ok=True)
        before_answer = conf.pop("before_answer", None)
        dagrun, states, human = run_with_answer(
            self.dag("cchc_letters"),
            api,
            mail,
            self.out,
            choice,
            AUGUST_RUN,
            {"period": AUGUST, **conf},
            authority=authority,
            period=conf.get("period", AUGUST),
            before_answer=before_answer,
        )
        assert human.error is None, human.error
        assert human.response is not None and human.response.status_code == 200, human.response
        return dagrun, states, human

    def mark(self) -> int:
        return len(self.smtp.handler.received)

    def letters_since(self, mark: int, authority: str = AUTHORITY) -> list[Received]:
        """The letter messages (not the notices to operators and approvers) accepted since ``mark``."""
        return [
            r
            for r in self.smtp.handler.received[mark:]
            if (r.message["X-CCHC-Letter"] or "").startswith(f"{authority}/")
        ]

    def outcomes(self, dagrun) -> dict[str, dict]:
        from cchc.core.paths import run_outcomes_file

        path = run_outcomes_file(self.out, dagrun.dag_id, dagrun.run_id)
        data = json.loads(path.read_text(encoding="utf-8"))
        return {o["authority"]: o for o in data["authorities"]}

    def unit_emails(self, authority: str = AUTHORITY) -> set[str]:
        return {r["email"].lower() for r in read_csv(self.config / authority / "units.csv") if r["email"]}


def states_of(dagrun) -> dict[tuple[str, int], str]:
    return {(ti.task_id, ti.map_index): str(ti.state) for ti in dagrun.get_task_instances()}


def by_recipient(messages: list[Received]) -> Counter:
    return Counter(rcpt.lower() for r in messages for rcpt in r.rcpt_tos)


def ledger(out: Path, letter_id: int) -> list[dict]:
    with warehouse_of_run(out) as engine, engine.connect() as conn:
        return [
            dict(r)
            for r in conn.execute(
                sa.text("SELECT recipient, kind, state, pdf_sha256 FROM deliveries WHERE letter_id = :id"),
                {"id": letter_id},
            ).mappings()
        ]


def events(out: Path, letter_id: int) -> list[tuple]:
    with warehouse_of_run(out) as engine, engine.connect() as conn:
        return [
            tuple(r)
            for r in conn.execute(
                sa.text(
                    "SELECT state, actor, reason FROM letter_events WHERE letter_id = :id ORDER BY event_id"
                ),
                {"id": letter_id},
            )
        ]


def decisions_of(out: Path, authority: str, period: str) -> dict:
    return json.loads((out / authority / period / "decisions.json").read_text(encoding="utf-8"))


def criticised(decisions: dict) -> dict[str, int]:
    """unit code → the n of its "phê bình lần thứ n" in the decisions."""
    counts: dict[str, int] = {}
    for section in decisions["sections"]:
        if section["kind"] == "criticise":
            for entry in section["entries"]:
                counts[entry["unit"]] = section["count"]
    return counts


@pytest.fixture
def deployment(seed_config, smtp_server, tmp_path, monkeypatch, load_dag):
    d = Deployment(seed_config, tmp_path / "out", smtp_server, monkeypatch, load_dag)
    yield d
    d.stop_portal()


def issued_and_sent(deployment: Deployment) -> tuple[dict, list[Received]]:
    """August decided by cchc_monthly and its letter issued and sent by cchc_letters."""
    deployment.preload([AUTHORITY])
    deployment.start_portal()
    dagrun, states = deployment.monthly()
    assert dagrun.state == "success", states
    mark = deployment.mark()
    dagrun, states = deployment.letters()
    assert dagrun.state == "success", states
    (letter,) = letter_rows(deployment.out, AUTHORITY, AUGUST)
    assert letter["status"] == "sent" and letter["document_number"] == 1, letter
    return letter, deployment.letters_since(mark)


# --------------------------------------------------------------------------- a bounce, corrected


@pytest.mark.timeout(TEST_TIMEOUT)
def test_a_corrected_address_gets_the_same_letter_and_nobody_else_gets_anything(deployment):
    letter, first = issued_and_sent(deployment)
    recipients = by_recipient(first)
    assert set(recipients.values()) == {1} and deployment.unit_emails() <= set(recipients)

    # The commune's mailbox bounced: the operator corrects its address in units.csv, reruns the month.
    units = read_csv(deployment.config / AUTHORITY / "units.csv")
    commune = next(u for u in units if u["kind"] == "commune" and u["email"])
    old_address, new_address = commune["email"], "vanthu.moi@tuky.haiduong.gov.vn"
    commune["email"] = new_address
    write_csv(deployment.config / AUTHORITY / "units.csv", units)
    original_pdf = next(letter_pdf(r) for r in first if old_address in r.rcpt_tos)

    dagrun, states = deployment.monthly()
    assert dagrun.state == "success", states
    mark = deployment.mark()
    dagrun, states = deployment.letters()
    assert dagrun.state == "success", states

    assert document_numbers(deployment.out) == [(AUTHORITY, 2023, 1, letter["letter_id"])]
    again = deployment.letters_since(mark)
    assert [r.rcpt_tos for r in again] == [[new_address]]
    assert re.search(
        r"\b01/UBND-NV\b", again[0].message["Subject"] + again[0].message.get_body(("plain",)).get_content()
    )
    assert letter_pdf(again[0]) == original_pdf  # the very PDF the others received, byte for byte
    rows = ledger(deployment.out, letter["letter_id"])
    assert {(r["recipient"], r["state"]) for r in rows if r["recipient"] in (old_address, new_address)} == {
        (old_address, "replaced"),
        (new_address, "sent"),
    }
    assert len({r["pdf_sha256"] for r in rows if r["state"] == "sent"}) == 1
    outcome = deployment.outcomes(dagrun)[AUTHORITY]
    assert not outcome["failed"] and "số 01" in outcome["text"], outcome


# --------------------------------------------------------------------------- the portal revised August


@pytest.mark.timeout(TEST_TIMEOUT)
def test_revised_figures_are_reported_then_reissued_on_purpose(deployment):
    letter, first = issued_and_sent(deployment)
    everyone = by_recipient(first)

    # The portal revises one commune's August payments after the letter went out.
    monthly = deployment.config / AUTHORITY / "monthly.csv"
    rows = read_csv(monthly)
    row = next(r for r in rows if r["period"] == AUGUST and r["unit_code"] == "X-HK")
    before = (row["fee_dossiers"], row["paid_online"])
    row["paid_online"] = str(int(row["paid_online"]) - 20)
    write_csv(monthly, rows)
    deployment.start_portal()
    dagrun, states = deployment.monthly()
    assert dagrun.state == "success", states

    mark = deployment.mark()
    dagrun, states = deployment.letters()
    assert deployment.letters_since(mark) == []  # nothing goes out on revised figures
    assert states[("authority.issue", 0)] == "skipped" and states[("authority.distribute", 0)] == "skipped"
    assert document_numbers(deployment.out) == [(AUTHORITY, 2023, 1, letter["letter_id"])]
    report = json.loads((deployment.out / AUTHORITY / AUGUST / "revision.json").read_text(encoding="utf-8"))
    assert report["document_number"] == 1
    (unit,) = [u for u in report["changes"]["units"] if u["code"] == "X-HK"]
    assert unit["figures"], unit
    old_new = [pair for pair in unit["figures"].values()]
    assert all(old != new for old, new in old_new)
    assert any("X-HK" in line and "→" in line for line in report["lines"])
    # The operators are told, by email, what changed.
    notices = [
        r.message
        for r in deployment.smtp.handler.received[mark:]
        if not r.message["X-CCHC-Letter"] and "cchc@tuky.haiduong.gov.vn" in r.rcpt_tos
    ]
    assert any("X-HK" in m.get_body(("plain",)).get_content() for m in notices), [
        m["Subject"] for m in notices
    ]
    assert before != (row["fee_dossiers"], row["paid_online"])

    # The operator re-issues, with a reason: a new number, the replacement sentence, everyone once.
    reason = "Cổng DVC điều chỉnh số liệu thanh toán trực tuyến tháng 8 của xã"
    mark = deployment.mark()
    dagrun, states = deployment.letters(reissue=True, reissue_reason=reason)
    assert dagrun.state == "success", states
    rows = {r["letter_id"]: r for r in letter_rows(deployment.out, AUTHORITY, AUGUST)}
    new_id = max(rows)
    assert rows[letter["letter_id"]]["status"] == "superseded"
    assert rows[new_id]["status"] == "sent" and rows[new_id]["document_number"] == 2
    assert document_numbers(deployment.out) == [
        (AUTHORITY, 2023, 1, letter["letter_id"]),
        (AUTHORITY, 2023, 2, new_id),
    ]
    reissued = deployment.letters_since(mark)
    assert by_recipient(reissued) == everyone  # every recipient of the first letter, exactly once
    text = " ".join(pdf_text(letter_pdf(reissued[0]), deployment.out.parent).split())
    assert "thay thế Công văn số 01/UBND-NV" in text, text[:2000]
    assert any(e[0] == "superseded" and e[2] == reason for e in events(deployment.out, letter["letter_id"]))


# --------------------------------------------------------------------------- approval


def require_approval(deployment: Deployment, authority: str = AUTHORITY) -> None:
    edit_distribution(
        deployment.config,
        authority,
        require_approval=True,
        approvers=[{"name": "Chánh Văn phòng", "email": "chanhvanphong@tuky.haiduong.gov.vn"}],
    )


@pytest.mark.timeout(TEST_TIMEOUT)
def test_a_dry_run_before_approval_takes_no_number_and_every_sent_pdf_carries_it(deployment, api):
    require_approval(deployment)
    deployment.preload([AUTHORITY])
    deployment.start_portal()
    dagrun, states = deployment.monthly()
    assert dagrun.state == "success", states

    # A preview while the letter waits for approval: all to the test address, no approval asked, no number.
    mark = deployment.mark()
    dagrun, states = deployment.letters(dry_run=True)
    assert dagrun.state == "success", states
    assert states[("authority.approve", 0)] == "skipped" and states[("authority.issue", 0)] == "skipped"
    previews = deployment.letters_since(mark)
    assert previews and {a for r in previews for a in r.rcpt_tos} == {"thunghiem@tuky.haiduong.gov.vn"}
    assert document_numbers(deployment.out) == []
    (draft,) = letter_rows(deployment.out, AUTHORITY, AUGUST)
    assert draft["status"] == "draft"

    mark = deployment.mark()
    dagrun, states, human = deployment.letters_answered(api, "Approve")
    assert dagrun.state == "success", states
    assert human.before["numbers"] == []  # nothing was numbered before the approver said yes
    sent = deployment.letters_since(mark)
    assert deployment.unit_emails() <= set(by_recipient(sent)) and set(by_recipient(sent).values()) == {1}
    texts = {pdf_text(letter_pdf(r), deployment.out.parent) for r in sent}
    assert len({letter_pdf(r) for r in sent}) == 1  # one PDF for everyone
    assert all(re.search(r"Số:\s*01/UBND-NV", t) for t in texts), [t[:300] for t in texts]
    (letter,) = letter_rows(deployment.out, AUTHORITY, AUGUST)
    assert letter["status"] == "sent" and letter["document_number"] == 1
    kinds = Counter(r["kind"] for r in ledger(deployment.out, letter["letter_id"]) if r["state"] == "sent")
    assert kinds["normal"] == len(sent) and kinds["test"] == len(previews)


@pytest.mark.timeout(TEST_TIMEOUT)
def test_decisions_changed_after_approval_are_refused_and_nothing_is_sent(deployment, api):
    require_approval(deployment)
    deployment.preload([AUTHORITY])
    deployment.start_portal()
    dagrun, states = deployment.monthly()
    assert dagrun.state == "success", states
    decisions_file = deployment.out / AUTHORITY / AUGUST / "decisions.json"

    def decisions_change() -> None:
        # What a rerun of cchc_monthly on revised figures would leave while the approver reads: the
        # period's decisions print other figures than the draft the approver sees.
        data = json.loads(decisions_file.read_text(encoding="utf-8"))
        data["totals"]["payment"]["text"] = "12,34%"
        decisions_file.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")

    mark = deployment.mark()
    dagrun, states, human = deployment.letters_answered(api, "Approve", before_answer=decisions_change)
    assert dagrun.state == "failed"
    assert states[("authority.issue", 0)] == "failed"
    assert states[("authority.distribute", 0)] in ("upstream_failed", "skipped")
    assert deployment.letters_since(mark) == []
    assert document_numbers(deployment.out) == []
    (letter,) = letter_rows(deployment.out, AUTHORITY, AUGUST)
    assert letter["status"] == "approved" and letter["document_number"] is None
    outcome = deployment.outcomes(dagrun)[AUTHORITY]
    assert outcome["failed"] and "cấp số" in outcome["text"], outcome


# --------------------------------------------------------------------------- every authority on its own


def add_authority(config: Path, source: str, new_id: str, name: str, root: str) -> None:
    import shutil

    shutil.copytree(config / source, config / new_id)
    path = config / new_id / "authority.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data.update(id=new_id, name=name)
    data["portal"]["root_department_id"] = root
    data["distribution"]["sender_name"] = f"UBND {name}"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


@pytest.mark.timeout(TEST_TIMEOUT)
def test_bad_data_and_a_rejection_hold_back_only_their_own_authority(deployment, api):
    bad, rejecting, good = "bad-data", "rejecting", AUTHORITY
    add_authority(deployment.config, AUTHORITY, bad, "huyện Số Liệu Lỗi", "HD-BAD")
    add_authority(deployment.config, AUTHORITY, rejecting, "huyện Từ Chối", "HD-REJ")
    require_approval(deployment, rejecting)
    monthly = deployment.config / bad / "monthly.csv"
    rows = read_csv(monthly)
    for row in rows:
        if row["period"] == AUGUST and row["unit_code"] == "X-HK":
            row["paid_online"] = str(int(row["fee_dossiers"]) + 9)  # more paid online than fee-bearing
    write_csv(monthly, rows)
    deployment.preload([bad, rejecting, good])
    deployment.start_portal()

    dagrun, states = deployment.monthly()
    assert dagrun.state == "failed"  # the run shows red: one authority did not make it
    monthly_outcomes = deployment.outcomes(dagrun)
    assert set(monthly_outcomes) == {bad, rejecting, good}
    assert monthly_outcomes[bad]["failed"] and "kiểm tra dữ liệu" in monthly_outcomes[bad]["text"]
    for authority in (rejecting, good):
        assert not monthly_outcomes[authority]["failed"], monthly_outcomes[authority]
        assert (deployment.out / authority / AUGUST / "decisions.json").exists()

    mark = deployment.mark()
    dagrun, states, _ = deployment.letters_answered(api, "Reject", authority=rejecting)
    outcomes = deployment.outcomes(dagrun)
    assert set(outcomes) == {bad, rejecting, good}
    assert outcomes[bad]["failed"] and "soạn công văn" in outcomes[bad]["text"], outcomes[bad]
    assert not outcomes[rejecting]["failed"] and "từ chối" in outcomes[rejecting]["text"], outcomes[rejecting]
    assert not outcomes[good]["failed"] and "số 01" in outcomes[good]["text"], outcomes[good]
    assert dagrun.state == "failed"  # the bad authority's failure shows, after everyone's outcome

    assert deployment.letters_since(mark, bad) == [] and deployment.letters_since(mark, rejecting) == []
    sent = deployment.letters_since(mark, good)
    assert deployment.unit_emails(good) <= set(by_recipient(sent)) and set(by_recipient(sent).values()) == {1}
    assert [n[:3] for n in document_numbers(deployment.out)] == [(good, 2023, 1)]
    (rejected,) = letter_rows(deployment.out, rejecting, AUGUST)
    assert rejected["status"] == "rejected" and rejected["document_number"] is None


# --------------------------------------------------------------------------- escalation


@pytest.mark.timeout(TEST_TIMEOUT)
def test_a_rejected_draft_does_not_count_towards_next_months_escalation(deployment, api):
    require_approval(deployment)
    # September on the portal: August's figures again, so the same units fall short again.
    monthly = deployment.config / AUTHORITY / "monthly.csv"
    rows = read_csv(monthly)
    rows += [{**r, "period": SEPTEMBER} for r in rows if r["period"] == AUGUST]
    write_csv(monthly, rows)
    deployment.preload([AUTHORITY])
    deployment.start_portal()
    dagrun, states = deployment.monthly()
    assert dagrun.state == "success", states
    august = criticised(decisions_of(deployment.out, AUTHORITY, AUGUST))
    assert august, "the seed's August criticises someone"

    dagrun, states, _ = deployment.letters_answered(api, "Reject")
    (letter,) = letter_rows(deployment.out, AUTHORITY, AUGUST)
    assert letter["status"] == "rejected"

    dagrun, states = deployment.monthly(SEPTEMBER, SEPTEMBER_RUN)
    assert dagrun.state == "success", states
    september = criticised(decisions_of(deployment.out, AUTHORITY, SEPTEMBER))
    again = set(august) & set(september)
    assert again, (august, september)
    # Criticised in the rejected August draft and again in September: the same n, not n + 1.
    assert {code: september[code] for code in again} == {code: august[code] for code in again}


# --------------------------------------------------------------------------- two distributions at once


@pytest.mark.timeout(TEST_TIMEOUT)
def test_a_cli_distribution_during_the_dags_sends_nothing_twice(deployment):
    deployment.preload([AUTHORITY])
    deployment.start_portal()
    dagrun, states = deployment.monthly()
    assert dagrun.state == "success", states
    deployment.smtp.handler.delay = 0.4  # a slow server: the two senders overlap for seconds

    # As soon as the DAG starts sending, an operator runs `cchc distribute` for the same letter.
    cli: dict = {}

    def operator() -> None:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and not cli.get("stop"):
            with warehouse_of_run(deployment.out) as engine, engine.connect() as conn:
                started = conn.execute(
                    sa.text("SELECT count(*) FROM deliveries WHERE state IN ('sending', 'sent')")
                ).scalar()
            if started:
                break
            time.sleep(0.2)
        else:
            return
        cli["started_at"] = datetime.now(UTC)
        cli["result"] = subprocess.run(
            [
                str(Path(sys.executable).with_name("cchc")),
                "distribute",
                "--period",
                AUGUST,
                "--authority",
                AUTHORITY,
                "--no-summary",
            ],
            capture_output=True,
            text=True,
            env=os.environ.copy(),
            timeout=240,
        )

    helper = threading.Thread(target=operator, daemon=True)
    helper.start()
    mark = deployment.mark()
    try:
        dagrun, states = deployment.letters()
    finally:
        cli["stop"] = True
        helper.join(timeout=300)
    result = cli.get("result")
    assert result is not None, "the CLI never started"
    assert result.returncode in (0, 1), result.stderr
    by_cli = int(re.search(r"gửi lần này (\d+)", result.stdout).group(1))

    sent = deployment.letters_since(mark)
    recipients = by_recipient(sent)
    assert set(recipients.values()) == {1}, [a for a, n in recipients.items() if n > 1]
    assert deployment.unit_emails() <= set(recipients)
    assert 0 < by_cli < len(sent), result.stdout  # both really sent: they overlapped
    (letter,) = letter_rows(deployment.out, AUTHORITY, AUGUST)
    states_in_ledger = Counter(r["state"] for r in ledger(deployment.out, letter["letter_id"]))
    assert states_in_ledger == {"sent": len(sent)}, states_in_ledger
    assert dagrun.state == "success", states

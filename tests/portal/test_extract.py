"""The extract stage end to end against the real simulator: tidy table, raw landing, Excel source, CLI."""

from __future__ import annotations

import hashlib
import json
import random
import shutil
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml

from cchc import cli
from cchc.core.authorities import load_authority
from cchc.core.errors import ExtractError, PeriodNotClosed, PortalError
from cchc.core.fields import COUNT_FIELDS
from cchc.core.periods import Period
from cchc.portal import excel
from cchc.portal.client import PortalClient
from cchc.portal.extract import COLUMNS, extract_period, period_is_closed, read_extracted, source_settings
from cchc.portal.landing import Landing, read_body, verify
from cchc.portal.simulator import Faults

AUGUST = Period(2023, 8)


def client_for(url: str, **kwargs) -> PortalClient:
    kwargs.setdefault("sleep", lambda _s: None)  # retries cost no wall time in tests
    kwargs.setdefault("rng", random.Random(0))
    kwargs.setdefault("backoff", 0.01)
    kwargs.setdefault("read_timeout", 5)
    return PortalClient(url, **kwargs)


def expected(data, period: str = "2023-08") -> list[dict]:
    return [
        {
            "unit_code": r["unit_code"],
            **{c: r[c] for c in COUNT_FIELDS},
            "official_email_regular": r["official_email_regular"],
        }
        for r in data.rows
        if r["period"] == period
    ]


def as_records(table) -> list[dict]:
    out = []
    for row in table.to_dict("records"):
        record = {"unit_code": row["unit_code"], **{c: int(row[c]) for c in COUNT_FIELDS}}
        email = row["official_email_regular"]
        record["official_email_regular"] = None if email is None or str(email) == "<NA>" else bool(email)
        out.append(record)
    return out


def tree_digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def wait_for_log(simulator, count: int, timeout: float = 2.0) -> None:
    # The simulator logs a request after writing its answer: the client may be faster.
    deadline = time.monotonic() + timeout
    while len(simulator.request_log) < count and time.monotonic() < deadline:
        time.sleep(0.01)


def set_portal(config_dir: Path, aid: str, **portal) -> None:
    path = config_dir / aid / "authority.yaml"
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    doc["portal"].update(portal)
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")


# ------------------------------------------------------------------------------------- from the API


def test_extract_equals_dataset(start_simulator, config_dir, data, tmp_path):
    sim = start_simulator()
    authority = load_authority(config_dir / "demo")
    result = extract_period(
        authority,
        "2023-08",
        tmp_path / "out",
        client=client_for(sim.base_url, page_size=2),
        run_id="scheduled__2023-09-01",
    )

    assert result.path == (tmp_path / "out" / "demo" / "2023-08" / "extracted" / "extracted.csv").resolve()
    table = read_extracted(result.path)
    assert list(table.columns) == list(COLUMNS)
    assert as_records(table) == expected(data)
    assert set(table["authority"]) == {"demo"} and set(table["period"]) == {"2023-08"}
    assert set(table["source"]) == {"api"}
    assert (result.rows, result.units, result.source) == (3, 3, "api")
    assert result.landing == result.path.parents[1] / "raw" / "001"
    assert result.summary() == {
        "path": str(result.path),
        "rows": 3,
        "units": 3,
        "source": "api",
        "landing": str(result.landing),
    }
    json.dumps(result.summary())  # small and serialisable: fit for XCom

    totals = json.loads(result.parent_totals.read_text(encoding="utf-8"))
    august = expected(data)
    assert totals["dossier_digitized"]["received"] == sum(r["received"] for r in august)
    assert totals["online_payment"]["paid_online"] == sum(r["paid_online"] for r in august)
    assert totals["official_email"] == {"id": data.root, "name": data.authority_name}
    assert totals["run_id"] == "scheduled__2023-09-01"
    assert not list(result.path.parent.glob(".*.tmp"))  # no temp file left behind


@pytest.mark.slow  # real time passes: the portal's bucket refills at 4 requests a second
@pytest.mark.parametrize("retry_after", [True, False], ids=["retry-after", "no-retry-after"])
def test_a_rate_limited_portal_is_slow_never_a_failure(
    start_simulator, config_dir, data, tmp_path, retry_after
):
    """Four workers against a portal allowing 4 requests/s per client, with and without Retry-After:
    the whole month extracts with no retry spent (a 429 only slows the shared limiter down, which
    halves for every worker at once and then creeps back up)."""
    sim = start_simulator(faults=Faults(rate_limit=4, retry_after=1, limit_retry_after=retry_after))
    client = PortalClient(
        sim.base_url, max_workers=4, page_size=1, rate_limit=50, max_retries=2, read_timeout=5
    )
    result = extract_period(load_authority(config_dir / "demo"), "2023-08", tmp_path / "out", client=client)
    assert as_records(read_extracted(result.path)) == expected(data)
    codes = [status for _method, _path, status in sim.request_log]
    assert 429 in codes  # the portal's limit did bite ...
    assert result.stats["throttled"] == codes.count(429) and result.stats["retries"] == 0
    # ... and every worker slowed down: the shared limiter's rate fell below what was configured.
    assert client.limiter.cuts >= 1 and client.limiter.rate is not None and client.limiter.rate < 50


def test_posts_listing_extracts_the_same_in_far_fewer_calls(config_dir, tmp_path):
    """The seed month, once from a CMS with the posts listing by root and once from one without
    (404: the client falls back to one call per unit): the same table, far fewer calls."""
    from cchc.portal.simulator import PortalSimulator

    seed = Path(__file__).resolve().parents[2] / "scenarios" / "seed"
    authority = load_authority(seed / "tu-ky")
    tables, calls = {}, {}
    for listing in (True, False):
        with PortalSimulator(seed, post_listing=listing) as sim:
            result = extract_period(
                authority, "2023-08", tmp_path / str(listing), client=client_for(sim.base_url)
            )
            tables[listing] = read_extracted(result.path)
            calls[listing] = Counter(path for _method, path, _status in sim.request_log)
    assert tables[True].equals(tables[False])
    assert tables[True]["web_posts"].notna().sum() == len(authority.units)
    posts, listing_path = "/api/v1/cms/post-statistics", "/api/v1/cms/post-statistics/by-root"
    assert calls[True][listing_path] == 1 and calls[True][posts] == 0
    assert calls[False][listing_path] == 1 and calls[False][posts] == len(
        authority.units
    )  # the 404, then each unit
    assert sum(calls[True].values()) == 5 < sum(calls[False].values()) / 5


def test_unknown_children_are_kept_for_the_validator(start_simulator, config_dir, data, tmp_path):
    # The portal (simulator) knows X-C; our registry copy does not: the row stays, last.
    sim = start_simulator()
    ours = tmp_path / "ours" / "demo"
    shutil.copytree(config_dir / "demo", ours)
    lines = (ours / "units.csv").read_text(encoding="utf-8").splitlines()
    (ours / "units.csv").write_text(
        "\n".join(line for line in lines if not line.startswith("X-C,")) + "\n", encoding="utf-8"
    )
    authority = load_authority(ours)
    result = extract_period(authority, AUGUST, tmp_path / "out", client=client_for(sim.base_url))
    assert list(read_extracted(result.path)["unit_code"]) == ["P-A", "X-B", "X-C"]


def test_survives_faults_and_lands_every_response(start_simulator, config_dir, data, tmp_path):
    sim = start_simulator(
        faults=Faults(
            share_5xx=0.15,
            share_drop=0.1,
            share_html=0.1,
            share_truncated=0.1,
            share_429=0.1,
            fail_first=2,
            seed=3,
        )
    )
    received: list[tuple[str, bytes]] = []
    client = client_for(
        sim.base_url,
        page_size=1,
        max_retries=10,
        on_response=lambda call, params, page, status, body, headers: received.append((call, body)),
    )
    authority = load_authority(config_dir / "demo")
    result = extract_period(authority, AUGUST, tmp_path / "out", client=client)
    assert as_records(read_extracted(result.path)) == expected(data)

    entries = [
        json.loads(line)
        for line in (result.landing / "manifest.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    wait_for_log(sim, len(received) + sum(1 for _m, _p, s in sim.request_log if s == 0))
    answered = [s for _m, _p, s in sim.request_log if s != 0]  # a dropped connection has no body to land
    assert 0 in [s for _m, _p, s in sim.request_log]
    assert len(entries) == len(answered) == len(received)
    assert any(e["status"] != 200 for e in entries)  # failed attempts are landed too
    assert any("html" in (e["content_type"] or "") for e in entries)
    # One JSON-lines file per call, not a file per response.
    assert {p.name for p in result.landing.iterdir()} == {"manifest.jsonl"} | {
        f"{e['call']}.jsonl" for e in entries
    }
    assert any(e["attempt"] > 1 for e in entries)
    # Byte-identical: each landed file is what the client received, and hashes match the manifest.
    landed = Counter((e["call"], read_body(result.landing, e)) for e in entries)
    assert landed == Counter(received)
    for entry in entries:
        body = read_body(result.landing, entry)
        assert hashlib.sha256(body).hexdigest() == entry["sha256"] and len(body) == entry["size"]
        assert entry["fetched_at"].endswith("+00:00")
        assert set(entry) >= {
            "call",
            "params",
            "page",
            "attempt",
            "status",
            "fetched_at",
            "sha256",
            "size",
            "file",
            "run_id",
        }
    assert verify(result.landing) == []
    assert sorted(e["seq"] for e in entries) == list(range(1, len(entries) + 1))


def test_rerun_lands_in_a_new_folder(start_simulator, config_dir, tmp_path):
    sim = start_simulator()
    authority = load_authority(config_dir / "demo")
    first = extract_period(authority, AUGUST, tmp_path / "out", client=client_for(sim.base_url))
    before = tree_digest(first.landing)
    second = extract_period(authority, AUGUST, tmp_path / "out", client=client_for(sim.base_url))
    assert (first.landing.name, second.landing.name) == ("001", "002")
    assert tree_digest(first.landing) == before
    assert second.path == first.path
    assert sorted(p.name for p in (first.landing.parent).iterdir()) == ["001", "002"]


def test_secrets_never_reach_the_landing(start_simulator, config_dir, tmp_path):
    sim = start_simulator(client_id="cchc", client_secret="s3cr3t-value")
    authority = load_authority(config_dir / "demo")
    client = client_for(sim.base_url, client_id="cchc", client_secret="s3cr3t-value")
    result = extract_period(authority, AUGUST, tmp_path / "out", client=client)
    token = client.token()
    for path in result.landing.parent.parent.rglob("*"):
        if path.is_file():
            content = path.read_bytes()
            assert b"s3cr3t-value" not in content and token.encode() not in content


def test_open_period_is_refused(start_simulator, config_dir, tmp_path):
    sim = start_simulator(faults=Faults(period_open=True))
    authority = load_authority(config_dir / "demo")
    client = client_for(sim.base_url)
    assert period_is_closed(authority, AUGUST, client) is False
    with pytest.raises(PeriodNotClosed) as info:
        extract_period(authority, AUGUST, tmp_path / "out", client=client)
    assert "demo" in str(info.value) and "8/2023" in str(info.value)
    assert not (tmp_path / "out" / "demo" / "2023-08" / "extracted").exists()


def test_period_is_closed_follows_the_data(start_simulator, config_dir):
    sim = start_simulator()
    authority = load_authority(config_dir / "demo")
    client = client_for(sim.base_url)
    assert period_is_closed(authority, AUGUST, client) is True
    assert period_is_closed(authority, "2023-09", client) is False
    assert sim.request_log == [("POST", "/api/v1/reporting/period-status", 200)] * 2


def test_protocol_error_fails_without_a_table(start_simulator, config_dir, tmp_path):
    sim = start_simulator(faults=Faults(share_truncated=1.0))
    authority = load_authority(config_dir / "demo")
    with pytest.raises(PortalError, match="period-status trả về nội dung không phải JSON hợp lệ"):
        extract_period(authority, AUGUST, tmp_path / "out", client=client_for(sim.base_url, max_retries=1))
    period_dir = tmp_path / "out" / "demo" / "2023-08"
    assert not (period_dir / "extracted").exists()
    # What was received is still on disk, for the operator to look at.
    assert len((period_dir / "raw" / "001" / "manifest.jsonl").read_text().splitlines()) == 2


# ------------------------------------------------------------------------------------- from Excel


def test_excel_source(config_dir, data, tmp_path):
    inbox = tmp_path / "inbox"
    set_portal(config_dir, "demo", source="excel", inbox=str(inbox))
    authority = load_authority(config_dir / "demo")
    assert source_settings(authority).source == "excel"
    rows = [r for r in data.rows if r["period"] == "2023-08"]
    export = inbox / "demo" / "2023-08.xlsx"
    excel.write_export(authority, rows, AUGUST, export)

    result = extract_period(authority, AUGUST, tmp_path / "out")
    assert result.source == "excel"
    table = read_extracted(result.path)
    assert as_records(table) == expected(data)
    assert set(table["source"]) == {"excel"}
    (entry,) = [json.loads(line) for line in (result.landing / "manifest.jsonl").read_text().splitlines()]
    assert (result.landing / entry["file"]).read_bytes() == export.read_bytes()
    assert entry["sha256"] == hashlib.sha256(export.read_bytes()).hexdigest()
    totals = json.loads(result.parent_totals.read_text(encoding="utf-8"))
    assert totals["source"] == "excel" and totals["dossier_digitized"] is None


def test_excel_inbox_from_env_and_missing_file(config_dir, tmp_path, monkeypatch):
    set_portal(config_dir, "demo", source="excel")
    monkeypatch.setenv("CCHC_INBOX_DIR", str(tmp_path / "drop"))
    authority = load_authority(config_dir / "demo")
    assert source_settings(authority).inbox == tmp_path / "drop"
    with pytest.raises(ExtractError) as info:
        extract_period(authority, AUGUST, tmp_path / "out")
    assert str(tmp_path / "drop" / "demo" / "2023-08.xlsx") in str(info.value)


def test_source_argument_overrides_config(start_simulator, config_dir, data, tmp_path):
    set_portal(config_dir, "demo", source="excel", inbox="inbox")
    sim = start_simulator()
    authority = load_authority(config_dir / "demo")
    assert source_settings(authority).inbox == config_dir / "demo" / "inbox"  # relative to the folder
    result = extract_period(
        authority, AUGUST, tmp_path / "out", client=client_for(sim.base_url), source="api"
    )
    assert result.source == "api"


# ------------------------------------------------------------------------------------- CLI and landing


def test_cli_extracts_every_authority(start_simulator, config_dir, tmp_path, monkeypatch, capsys):
    sim = start_simulator()
    monkeypatch.setenv("CCHC_PORTAL_URL", sim.base_url)
    monkeypatch.delenv("CCHC_PORTAL_CLIENT_SECRET", raising=False)
    code = cli.main(
        [
            "extract",
            "--config-dir",
            str(config_dir),
            "--period",
            "2023-08",
            "--output-dir",
            str(tmp_path / "out"),
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    for aid in ("demo", "other"):
        path = (tmp_path / "out" / aid / "2023-08" / "extracted" / "extracted.csv").resolve()
        assert path.is_file() and str(path) in out
    assert "dữ liệu thô" in out
    other = read_extracted(tmp_path / "out" / "other" / "2023-08" / "extracted" / "extracted.csv")
    assert list(other["web_posts"]) == [9]  # X-B of 'other', not of 'demo'


def test_cli_reports_open_period(start_simulator, config_dir, tmp_path, monkeypatch, capsys):
    sim = start_simulator()
    code = cli.main(
        [
            "extract",
            "--config-dir",
            str(config_dir),
            "--authority",
            "demo",
            "--period",
            "2023-09",
            "--output-dir",
            str(tmp_path / "out"),
            "--portal-url",
            sim.base_url,
        ]
    )
    assert code == 2
    assert "chưa khóa sổ" in capsys.readouterr().err


def test_landing_is_thread_safe_and_numbered(tmp_path):
    landing = Landing(tmp_path / "demo" / "2023-08", run_id="r1")

    def land(i: int) -> None:
        landing.record(
            "dossier-digitized",
            {"currentPage": i % 3, "client_secret": "x"},
            i % 3,
            200,
            f'{{"n": {i}}}'.encode(),
            {"content-type": "application/json"},
        )

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(land, range(60)))
    entries = landing.entries()
    assert sorted(e["seq"] for e in entries) == list(range(1, 61))
    assert Counter(e["page"] for e in entries) == {0: 20, 1: 20, 2: 20}
    assert sorted(e["attempt"] for e in entries if e["page"] == 1) == list(range(1, 21))
    assert all("client_secret" not in e["params"] for e in entries)
    assert verify(landing.dir) == []
    assert Landing(tmp_path / "demo" / "2023-08").dir.name == "002"


def test_landing_keeps_any_body_verbatim_in_few_files(tmp_path):
    landing = Landing(tmp_path / "demo" / "2023-08")
    bodies = [b'{"code": "OK"}', "Lỗi hệ thống\n".encode(), b"\xff\xfe not utf-8 \x00", b""]
    for page, body in enumerate(bodies, start=1):
        landing.record("dossier-digitized", {}, page, 200, body, {"Content-Type": "application/json"})
    landing.record("period-status", {}, None, 200, b'{"a": 1}', {})
    assert sorted(p.name for p in landing.dir.iterdir()) == [
        "dossier-digitized.jsonl",
        "manifest.jsonl",
        "period-status.jsonl",
    ]
    assert [read_body(landing.dir, e) for e in landing.entries()] == [*bodies, b'{"a": 1}']
    assert verify(landing.dir) == []
    path = landing.dir / "dossier-digitized.jsonl"
    path.write_text(path.read_text(encoding="utf-8").replace("OK", "KO"), encoding="utf-8")
    assert verify(landing.dir) == ["dossier-digitized.jsonl:1: mã băm hoặc kích thước không khớp manifest"]

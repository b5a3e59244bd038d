"""PortalClient against the real simulator (HTTP on 127.0.0.1, port 0): retries, paging, auth, limits."""

from __future__ import annotations

import random
import threading
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from types import SimpleNamespace

import pytest

from cchc.core.errors import PortalError
from cchc.core.periods import Period
from cchc.portal.client import PortalClient, RateLimiter, _check_page, _check_unit, parse_retry_after
from cchc.portal.simulator import Faults

AUGUST = Period(2023, 8)
DIGITIZED = "/api/v1/reporting/evaluation/dossier-digitized"


def expected_children(data: SimpleNamespace, period: str = "2023-08") -> list[dict]:
    names = {code: name for code, name, _kind, _head in data.units}
    return [
        {
            "id": row["unit_code"],
            "name": names[row["unit_code"]],
            "received": row["received"],
            "received_digitized": row["received_digitized"],
            "resolved": row["resolved"],
            "resolved_digitized": row["resolved_digitized"],
        }
        for row in data.rows
        if row["period"] == period
    ]


def make_client(url: str, **kwargs) -> tuple[PortalClient, list[float]]:
    """A client whose sleeps are recorded, not slept: retries cost no wall time in tests."""
    delays: list[float] = []
    kwargs.setdefault("sleep", delays.append)
    kwargs.setdefault("rng", random.Random(1))
    kwargs.setdefault("backoff", 0.01)
    kwargs.setdefault("read_timeout", 5)
    return PortalClient(url, **kwargs), delays


def statuses(simulator, path: str | None = None) -> list[int]:
    return [status for _method, p, status in simulator.request_log if path is None or p == path]


# ------------------------------------------------------------------------------------- happy path


def test_reports_match_dataset(start_simulator, data):
    sim = start_simulator()
    client, delays = make_client(sim.base_url)
    parent, children = client.dossier_digitized(data.root, AUGUST)
    assert children == expected_children(data)
    assert parent["id"] == data.root
    assert parent["received"] == sum(c["received"] for c in children)

    _, payment = client.online_payment(data.root, "2023-08")
    august = [r for r in data.rows if r["period"] == "2023-08"]
    assert [(c["id"], c["fee_dossiers"], c["paid_online"]) for c in payment] == [
        (r["unit_code"], r["fee_dossiers"], r["paid_online"]) for r in august
    ]
    email_parent, email = client.official_email(data.root, AUGUST)
    assert set(email_parent) == {"id", "name"}
    assert [c["official_email_regular"] for c in email] == [r["official_email_regular"] for r in august]

    # X-B exists in two authorities: the client must say which root it means.
    posts = client.post_counts([r["unit_code"] for r in august], AUGUST, root_id=data.root)
    assert posts == {r["unit_code"]: r["web_posts"] for r in august}
    assert client.period_status(data.root, AUGUST) == "CLOSED"
    assert client.period_status(data.root, Period(2023, 9)) == "OPEN"
    assert delays == []
    assert client.stats.retries == 0


def test_every_page_is_fetched(start_simulator, data):
    sim = start_simulator()
    client, _ = make_client(sim.base_url, page_size=2, max_workers=3)
    _, children = client.dossier_digitized(data.root, AUGUST)
    assert children == expected_children(data)
    assert statuses(sim, DIGITIZED) == [200, 200]  # 3 units, 2 per page


def test_page_size_one_keeps_registry_order(start_simulator, data):
    sim = start_simulator()
    client, _ = make_client(sim.base_url, page_size=1, max_workers=4)
    _, children = client.official_email(data.root, AUGUST)
    assert [c["id"] for c in children] == ["P-A", "X-B", "X-C"]
    assert len(statuses(sim, "/api/v1/reporting/evaluation/official-email")) == 3


def test_on_response_sees_every_body_before_parsing(start_simulator, data):
    sim = start_simulator(faults=Faults(share_html=0.5, fail_first=1, seed=0))
    seen = []
    client, _ = make_client(sim.base_url, on_response=lambda *args: seen.append(args))
    client.period_status(data.root, AUGUST)
    (call1, params1, page1, status1, body1, headers1), (_, _, _, status2, body2, _) = seen
    assert (call1, page1, status1) == ("period-status", None, 200)
    assert params1["rootDepartmentId"] == data.root
    assert body1.startswith(b"<!DOCTYPE html>")  # the failed attempt, as received
    assert "text/html" in headers1["Content-Type"]
    assert b'"CLOSED"' in body2 and status2 == 200


# ------------------------------------------------------------------------------------- transient faults


class FakeTime:
    """A clock that only sleeping moves: the shared limiter's waits, recorded and never slept."""

    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []
        self._lock = threading.Lock()

    def clock(self) -> float:
        with self._lock:
            return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.slept.append(seconds)
            self.now += seconds


def test_429_honours_retry_after(start_simulator, data):
    sim = start_simulator(faults=Faults(share_429=0.5, retry_after=3, fail_first=3, seed=5))
    fake = FakeTime()
    client, _ = make_client(sim.base_url, page_size=1, clock=fake.clock, sleep=fake.sleep)
    _, children = client.dossier_digitized(data.root, AUGUST)
    assert children == expected_children(data)
    assert statuses(sim) == [429, 429, 429, 200, 200, 200]
    # Each 429 held the next request back for its Retry-After at least; none cost a retry.
    assert len(fake.slept) >= 3 and min(fake.slept[:3]) >= 3
    assert (client.stats.throttled, client.stats.retries) == (3, 0)
    # ... and slowed the shared limiter down: it now spaces requests.
    assert client.limiter.cuts == 3 and client.limiter.rate is not None


def test_retry_after_as_http_date():
    now = datetime(2023, 9, 1, 8, 0, tzinfo=UTC)
    assert parse_retry_after(format_datetime(now + timedelta(seconds=42), usegmt=True), now=now) == 42
    assert parse_retry_after("7") == 7
    assert parse_retry_after("not a date") is None
    assert parse_retry_after(format_datetime(now - timedelta(seconds=5), usegmt=True), now=now) == 0


def test_backoff_is_exponential_with_full_jitter():
    client = PortalClient("http://127.0.0.1:9", backoff=1, max_backoff=8, rng=random.Random(3))
    for retry, cap in ((1, 1), (2, 2), (3, 4), (4, 8), (5, 8), (9, 8)):
        draws = [client._delay(retry, None) for _ in range(200)]
        assert 0 <= min(draws) and max(draws) <= cap
        assert max(draws) > cap * 0.8  # the whole range is used, not just the cap


def test_survives_5xx_and_dropped_connections(start_simulator, data):
    sim = start_simulator(faults=Faults(share_5xx=0.25, share_drop=0.25, fail_first=2, seed=11))
    client, delays = make_client(sim.base_url, page_size=1, max_retries=8)
    _, children = client.dossier_digitized(data.root, AUGUST)
    assert children == expected_children(data)
    posts = client.post_counts(["P-A", "X-B", "X-C"], AUGUST, root_id=data.root)
    assert posts == {"P-A": 4, "X-B": 0, "X-C": 7}
    codes = statuses(sim)
    assert 0 in codes and any(code >= 500 for code in codes)  # both faults did happen
    assert client.stats.retries == len(delays) == sum(1 for c in codes if c != 200)


def test_survives_occasional_garbage_bodies(start_simulator, data):
    sim = start_simulator(
        faults=Faults(share_malformed=0.15, share_truncated=0.15, share_html=0.15, fail_first=3, seed=2)
    )
    client, _ = make_client(sim.base_url, page_size=1, max_retries=8)
    _, children = client.dossier_digitized(data.root, AUGUST)
    assert children == expected_children(data)
    assert client.stats.retries >= 3


# ------------------------------------------------------------------------------------- permanent faults


@pytest.mark.parametrize(
    ("faults", "expected"),
    [
        (Faults(share_malformed=1.0), "trang 1 của dossier-digitized trả về nội dung không phải JSON hợp lệ"),
        (Faults(share_truncated=1.0), "trang 1 của dossier-digitized trả về nội dung không phải JSON hợp lệ"),
        (Faults(share_html=1.0), "trang 1 của dossier-digitized trả về HTML thay vì JSON"),
        (Faults(share_5xx=1.0), "trang 1 của dossier-digitized: HTTP 50"),
        (Faults(share_drop=1.0), "trang 1 của dossier-digitized: mất kết nối"),
    ],
)
def test_permanent_fault_fails_naming_call_and_page(start_simulator, data, faults, expected):
    sim = start_simulator(faults=faults)
    client, delays = make_client(sim.base_url, max_retries=2)
    with pytest.raises(PortalError) as info:
        client.dossier_digitized(data.root, AUGUST)
    assert expected in str(info.value)
    assert "đã thử 3 lần" in str(info.value)
    assert len(sim.request_log) == 3 and len(delays) == 2


def test_read_timeout_is_retried_then_named(start_simulator, data):
    sim = start_simulator(faults=Faults(latency=0.4))
    client, delays = make_client(sim.base_url, read_timeout=0.1, max_retries=1)
    with pytest.raises(PortalError) as info:
        client.period_status(data.root, AUGUST)
    assert str(info.value).startswith("period-status: hết thời gian chờ (ReadTimeout)")
    assert "đã thử 2 lần" in str(info.value) and len(delays) == 1


def test_page_two_is_named(start_simulator, data):
    # Seed 22 draws 0.96, 0.14, 0.02: page 1 answers, both attempts at page 2 get the HTML page.
    sim = start_simulator(faults=Faults(share_html=0.5, seed=22))
    client, _ = make_client(sim.base_url, max_retries=1, page_size=2, max_workers=1)
    with pytest.raises(PortalError) as info:
        client.dossier_digitized(data.root, AUGUST)
    assert str(info.value).startswith("trang 2 của dossier-digitized trả về HTML thay vì JSON")
    assert statuses(sim, DIGITIZED) == [200, 200, 200]


def test_client_errors_are_not_retried(start_simulator, data):
    sim = start_simulator()
    client, delays = make_client(sim.base_url)
    with pytest.raises(PortalError) as info:
        client.dossier_digitized("KHONG-CO", AUGUST)
    message = str(info.value)
    assert "trang 1 của dossier-digitized" in message and "404" in message and "NOT_FOUND" in message
    assert "KHONG-CO" in message  # the portal's own message is passed on
    with pytest.raises(PortalError, match="NO_DATA"):
        client.dossier_digitized(data.root, Period(2023, 9))
    assert len(sim.request_log) == 2 and delays == []


def test_posts_of_unknown_unit(start_simulator, data):
    sim = start_simulator()
    client, _ = make_client(sim.base_url)
    with pytest.raises(PortalError, match=r"post-statistics \(đơn vị X-KHONG\).*NOT_FOUND"):
        client.post_counts(["X-KHONG"], AUGUST, root_id=data.root)
    assert client.post_counts(["P-A", "X-KHONG"], AUGUST, root_id=data.root, missing_ok=True) == {
        "P-A": 4,
        "X-KHONG": None,
    }


# ------------------------------------------------------------------------------------- protocol checks


def test_wrong_types_fail_naming_field():
    # The simulator never sends ill-typed JSON, so the checks every page goes through are fed directly.
    child = {
        "id": "X-B",
        "name": "UBND xã Hà Kỳ",
        "received": 3,
        "receivedDigitized": True,
        "resolved": 1,
        "resolvedDigitized": 1,
    }
    with pytest.raises(PortalError) as info:
        _check_unit("dossier-digitized", 2, child, "children[0]", child=True)
    assert str(info.value) == (
        "trang 2 của dossier-digitized, children[0] (đơn vị X-B): trường 'receivedDigitized' phải là số "
        "nguyên, nhận bool (True)"
    )
    with pytest.raises(PortalError, match="trường 'received' phải là số nguyên, nhận chuỗi"):
        _check_unit(
            "dossier-digitized", 1, {**child, "received": "3", "receivedDigitized": 2}, "parent", False
        )
    with pytest.raises(PortalError, match="trường 'paidOnline' là số âm"):
        _check_unit(
            "formality-online-payment-tree",
            1,
            {"id": "P-A", "feeDossiers": 2, "paidOnline": -1},
            "children[1]",
            True,
        )
    with pytest.raises(PortalError, match=r"trang 3 của official-email, children\[4\]: thiếu trường 'id'"):
        _check_unit("official-email", 3, {"name": "x", "officialEmailRegular": True}, "children[4]", True)
    with pytest.raises(PortalError, match="officialEmailRegular' phải là true/false/null, nhận chuỗi"):
        _check_unit("official-email", 1, {"id": "P-A", "officialEmailRegular": "yes"}, "children[0]", True)
    with pytest.raises(PortalError, match="thiếu trường 'resolved'"):
        _check_unit(
            "dossier-digitized", 1, {"id": "HD-DEMO", "received": 3, "receivedDigitized": 2}, "parent", False
        )
    page = {
        "parent": {},
        "children": [],
        "currentPage": 1,
        "pageSize": 2,
        "totalElements": 3.0,
        "totalPages": 2,
    }
    with pytest.raises(
        PortalError, match="trang 1 của dossier-digitized: trường 'totalElements' phải là số nguyên"
    ):
        _check_page("dossier-digitized", 1, page)
    with pytest.raises(PortalError, match="trường 'children' phải là mảng"):
        _check_page("dossier-digitized", 1, {**page, "totalElements": 3, "children": {}})


# ------------------------------------------------------------------------------------- authentication


@pytest.mark.slow  # waits for real time to pass
def test_token_refresh_after_expiry(start_simulator, data):
    sim = start_simulator(client_id="cchc", client_secret="s3cr3t", token_ttl=1)
    # A frozen clock: the client believes its token is still fresh, so the portal's 401 is what
    # makes it refresh (as when the portal revokes a token early).
    client, _ = make_client(sim.base_url, client_id="cchc", client_secret="s3cr3t", clock=lambda: 0.0)
    assert client.period_status(data.root, AUGUST) == "CLOSED"
    time.sleep(1.2)
    assert client.period_status(data.root, AUGUST) == "CLOSED"
    log = [(p, s) for _m, p, s in sim.request_log]
    assert log == [
        ("/oauth2/token", 200),
        ("/api/v1/reporting/period-status", 200),
        ("/api/v1/reporting/period-status", 401),
        ("/oauth2/token", 200),
        ("/api/v1/reporting/period-status", 200),
    ]
    assert "s3cr3t" not in repr(client)


@pytest.mark.slow  # waits for real time to pass
def test_token_refreshed_before_expiry_by_clock(start_simulator, data):
    sim = start_simulator(client_id="cchc", client_secret="s3cr3t", token_ttl=1)
    client, _ = make_client(sim.base_url, client_id="cchc", client_secret="s3cr3t")
    client.period_status(data.root, AUGUST)
    time.sleep(1.1)
    client.period_status(data.root, AUGUST)
    assert 401 not in statuses(sim)
    assert statuses(sim, "/oauth2/token") == [200, 200]


def test_wrong_secret_and_missing_credentials(start_simulator, data):
    sim = start_simulator(client_id="cchc", client_secret="s3cr3t")
    bad, _ = make_client(sim.base_url, client_id="cchc", client_secret="sai")
    with pytest.raises(PortalError) as info:
        bad.period_status(data.root, AUGUST)
    assert "từ chối cấp token" in str(info.value) and "401" in str(info.value)
    assert "sai" not in str(info.value).replace("sai client_id", "")  # the secret is never echoed
    anonymous, _ = make_client(sim.base_url)
    with pytest.raises(PortalError, match="period-status: .*401.*chưa cấu hình client_id"):
        anonymous.period_status(data.root, AUGUST)


# ------------------------------------------------------------------------------------- rate limits


@pytest.mark.slow  # waits for real time to pass
def test_client_rate_limit_keeps_under_portal_limit(start_simulator, data):
    sim = start_simulator(faults=Faults(rate_limit=8))
    # Real sleeps here: the point is the wall-clock spacing of requests from 4 parallel workers.
    client = PortalClient(sim.base_url, rate_limit=6, max_workers=4, page_size=1, backoff=0.01)
    client.dossier_digitized(data.root, AUGUST)
    client.online_payment(data.root, AUGUST)
    client.post_counts(["P-A", "X-B", "X-C"], AUGUST, root_id=data.root)
    codes = statuses(sim)
    assert len(codes) == 9 and 429 not in codes


@pytest.mark.slow  # waits for real time to pass
def test_without_client_limit_the_portal_limit_bites(start_simulator, data):
    # The counter-test: a parallel burst without the client-side bucket does trip the portal, and
    # the client still gets through by honouring Retry-After (slept for real: the portal's window
    # has to pass).
    sim = start_simulator(faults=Faults(rate_limit=2, retry_after=1))
    delays: list[float] = []

    def sleep(seconds: float) -> None:
        delays.append(seconds)
        time.sleep(seconds)

    # Unit by unit (no listing): three calls at once, over the portal's two a second.
    client, _ = make_client(sim.base_url, max_workers=4, sleep=sleep, post_listing=False)
    assert client.post_counts(["P-A", "X-B", "X-C"], AUGUST, root_id=data.root) == {
        "P-A": 4,
        "X-B": 0,
        "X-C": 7,
    }
    assert 429 in statuses(sim)
    # The shared limiter held the workers back for the Retry-After (counted from the 429, so a
    # hair under 1 s by the time a worker asks), and a 429 cost no retry.
    assert delays and max(delays) >= 0.9
    assert client.stats.throttled >= 1 and client.stats.retries == 0


def test_token_bucket_spacing():
    now = [0.0]
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)

    bucket = RateLimiter(rate=4, clock=lambda: now[0], sleep=sleep)
    for _ in range(5):
        bucket.acquire()
    # The first token is there; each later one is a quarter second after the one before.
    assert waits == pytest.approx([0.25, 0.5, 0.75, 1.0])


# ------------------------------------------------------------------------------------- construction


def test_from_connection():
    conn = SimpleNamespace(
        host="portal.example.gov.vn",
        port=8443,
        schema="https",
        login="cchc",
        password="s3cr3t",
        extra_dejson={"read_timeout": "12", "max_workers": 2, "rate_limit": 5, "page_size": 50},
    )
    client = PortalClient.from_connection(conn)
    assert client.base_url == "https://portal.example.gov.vn:8443"
    assert client.client_id == "cchc" and client.timeout == (5.0, 12.0)
    assert (client.max_workers, client.rate_limit, client.page_size) == (2, 5.0, 50)
    assert "s3cr3t" not in repr(client)
    assert (
        PortalClient.from_connection(
            SimpleNamespace(
                host="http://127.0.0.1:8765/",
                port=None,
                schema=None,
                login=None,
                password=None,
                extra_dejson={},
            )
        ).base_url
        == "http://127.0.0.1:8765"
    )
    with pytest.raises(PortalError, match="extra 'max_workers'"):
        PortalClient.from_connection(
            SimpleNamespace(
                host="h",
                port=None,
                schema="https",
                login=None,
                password=None,
                extra_dejson={"max_workers": "nhiều"},
            )
        )


def _portal_conn(host, schema=None, port=None, extra=None):
    return SimpleNamespace(
        conn_id="cchc_portal",
        host=host,
        port=port,
        schema=schema,
        login="cchc",
        password="s3cr3t",
        extra_dejson=extra or {},
    )


def test_from_connection_without_schema_is_https_except_on_loopback():
    # Before: no schema meant http, the client secret in clear to any host.
    assert PortalClient.from_connection(_portal_conn("dichvucong.haiduong.gov.vn")).base_url == (
        "https://dichvucong.haiduong.gov.vn"
    )
    for host, url in (
        ("127.0.0.1", "http://127.0.0.1:8765"),
        ("127.8.9.10", "http://127.8.9.10:8765"),
        ("localhost", "http://localhost:8765"),
        ("::1", "http://[::1]:8765"),
    ):
        assert PortalClient.from_connection(_portal_conn(host, port=8765)).base_url == url


@pytest.mark.parametrize(
    "conn",
    [
        _portal_conn("dichvucong.haiduong.gov.vn", schema="http"),
        _portal_conn("http://10.0.0.5:8765"),
        _portal_conn("h", extra={"url": "http://portal-simulator:8765"}),
        _portal_conn("h", extra={"url": "http://portal-simulator:8765", "allow_http": "false"}),
        _portal_conn("http://[::2]:8765"),
    ],
)
def test_from_connection_refuses_plain_http_to_another_machine(conn):
    with pytest.raises(PortalError) as caught:
        PortalClient.from_connection(conn)
    message = str(caught.value)
    assert "cchc_portal" in message and "https" in message and '"allow_http": true' in message
    assert "s3cr3t" not in message


def test_from_connection_plain_http_when_the_connection_allows_it():
    for flag in (True, "true"):
        client = PortalClient.from_connection(
            _portal_conn("h", extra={"url": "http://portal-simulator:8765", "allow_http": flag})
        )
        assert client.base_url == "http://portal-simulator:8765"
    assert PortalClient.from_connection(_portal_conn("http://[::1]:8765/")).base_url == "http://[::1]:8765"
    with pytest.raises(PortalError, match="allow_http"):
        PortalClient.from_connection(_portal_conn("http://10.0.0.5", extra={"allow_http": "có"}))

"""HTTP client of the public-service portal's reporting calls (see ``openapi.yaml``).

The portal is not a documented API and its firewall is strict, so the client treats it as fragile:
it retries what may pass on a second try (429, 5xx, dropped connections, read timeouts, garbage
bodies) with exponential backoff and full jitter, spaces its requests through one limiter that all
its workers share (the configured rate, halved for everyone on a 429 and paused for its
``Retry-After``, then recovering gradually: a rate-limited portal makes the extract slow, never
failed), and checks every answer against
the protocol before anyone uses it. Every response body is handed to ``on_response`` before it is
parsed, which is how the raw data is landed byte for byte.

This module must not import Airflow: it runs from the CLI and from tests as well.
"""

from __future__ import annotations

import copy
import ipaddress
import json
import logging
import math
import random
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter

from cchc.core import settings
from cchc.core.errors import PortalError
from cchc.core.periods import Period

log = logging.getLogger(__name__)

OnResponse = Callable[[str, dict, "int | None", int, bytes, dict], None]

TOKEN_PATH = "/oauth2/token"
EVALUATION_PATH = "/api/v1/reporting/evaluation/"
PERIOD_STATUS_PATH = "/api/v1/reporting/period-status"
POST_STATISTICS_PATH = "/api/v1/cms/post-statistics"
POST_LISTING_PATH = "/api/v1/cms/post-statistics/by-root"

DOSSIER_DIGITIZED = "dossier-digitized"
ONLINE_PAYMENT = "formality-online-payment-tree"
OFFICIAL_EMAIL = "official-email"
PERIOD_STATUS = "period-status"
POST_STATISTICS = "post-statistics"
POST_LISTING = "post-statistics-by-root"

# Count fields of each evaluation report: portal name -> our name. The parent carries the same
# counts as the children (official-email has no counts at all).
REPORT_COUNTS: dict[str, dict[str, str]] = {
    DOSSIER_DIGITIZED: {
        "received": "received",
        "receivedDigitized": "received_digitized",
        "resolved": "resolved",
        "resolvedDigitized": "resolved_digitized",
    },
    ONLINE_PAYMENT: {"feeDossiers": "fee_dossiers", "paidOnline": "paid_online"},
    OFFICIAL_EMAIL: {},
}

PERIOD_STATUSES = ("CLOSED", "OPEN")


class _Throttled(Exception):
    """HTTP 429: the portal asks this client to slow down (the shared limiter has been told)."""

    def __init__(self, at_lowest_rate: bool):
        super().__init__("HTTP 429 (quá nhiều yêu cầu)")
        self.problem = "HTTP 429 (quá nhiều yêu cầu)"
        self.at_lowest_rate = at_lowest_rate


class _Retryable(Exception):
    """An attempt failed in a way a later attempt may not (the message is the problem, in Vietnamese)."""

    def __init__(self, problem: str, retry_after: float | None = None):
        super().__init__(problem)
        self.problem = problem
        self.retry_after = retry_after


class _NotFound(PortalError):
    """404 NOT_FOUND / NO_DATA: a PortalError that a caller may choose to tolerate."""

    def __init__(self, message: str, code: str | None):
        super().__init__(message)
        self.code = code


class _TokenRejected(Exception):
    """401: the bearer token is missing or expired."""

    def __init__(self, used: str | None):
        # Kept as an attribute, not as the message: a token must never end up in a traceback.
        super().__init__("HTTP 401")
        self.used = used


def _where(call: str, page: int | None, params: dict | None = None) -> str:
    """How messages name a request: 'trang 2 của dossier-digitized', 'post-statistics (đơn vị X)'."""
    if page is not None:
        return f"trang {page} của {call}"
    unit = (params or {}).get("unitId")
    if unit:
        return f"{call} (đơn vị {unit})"
    return call


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """``Retry-After`` in seconds: either delta-seconds or an HTTP date (RFC 9110 §10.2.3)."""
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return max(0.0, seconds) if math.isfinite(seconds) else None
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    # The wall clock is needed here: an HTTP date is only meaningful against "now".
    now = now or datetime.now(UTC)
    return max(0.0, (when - now).total_seconds())


class RateLimiter:
    """The one rate limit every worker of a client (and every ``bind`` copy) goes through.

    ``rate`` (requests per second, None: no limit of our own) is the ceiling the deployment
    configures. Requests are spaced ``1 / current rate`` apart; slots are reserved under a lock and
    waited for outside it, so that concurrent workers queue fairly instead of all waking at once.

    The portal's 429 is the signal that the current rate is too high for it, whatever was
    configured: ``throttled`` halves the rate (from the rate actually observed when there was no
    limit yet) and pauses every worker for the ``Retry-After`` given, else for one new slot. Each
    answer that is not a 429 raises the rate again by a twentieth of the rate set by the last cut
    (twenty answers to double), back up to the ceiling: all workers slow down
    together, then recover gradually. A 429 to a request sent before the last cut says nothing
    new and does not cut again, so four workers meeting the same full window halve the rate once.
    """

    WINDOW = 20  # recent requests the observed rate is measured over

    def __init__(
        self,
        rate: float | None = None,
        min_rate: float = 0.2,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ):
        if rate is not None and rate <= 0:
            raise ValueError("rate must be positive")
        self.ceiling = float(rate) if rate else None
        self.rate: float | None = self.ceiling  # the current rate; None: unlimited
        self.min_rate = float(min_rate)
        self.cuts = 0  # how many times a 429 slowed every worker down
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._next = clock()  # the earliest start of the next request
        self._generation = 0  # bumped by every cut
        self._recent: deque[float] = deque(maxlen=self.WINDOW)
        self._step = 0.0

    def acquire(self) -> int:
        """Wait for a slot; returns the generation to hand back to ``throttled``."""
        with self._lock:
            now = self._clock()
            start = max(now, self._next)
            if self.rate is not None:
                self._next = start + 1.0 / self.rate
            self._recent.append(start)
            generation = self._generation
        if start > now:
            self._sleep(start - now)
        return generation

    def succeeded(self) -> None:
        with self._lock:
            if self.rate is None or (self.ceiling is not None and self.rate >= self.ceiling):
                return
            self.rate += self._step
            if self.ceiling is not None:
                self.rate = min(self.ceiling, self.rate)

    def throttled(self, generation: int, retry_after: float | None) -> bool:
        """A 429 to a request sent in ``generation``: slow every worker down and pause them.

        False when the request was already sent at the lowest rate: slowing down has not helped.
        """
        with self._lock:
            now = self._clock()
            helped = True
            if generation == self._generation:
                current = self.rate if self.rate is not None else self._observed()
                helped = current > self.min_rate
                self.rate = max(self.min_rate, current / 2)
                # Additive increase after a multiplicative cut: twenty answers to double again.
                self._step = self.rate / 20
                self._generation += 1
                self.cuts += 1
            assert self.rate is not None
            pause = retry_after if retry_after is not None else 1.0 / self.rate
            self._next = max(self._next, now + pause)
            return helped

    def _observed(self) -> float:
        """Requests per second over the recent window (a floor of 1/s with too few to tell)."""
        if len(self._recent) < 2:
            return 1.0
        span = self._recent[-1] - self._recent[0]
        return max(1.0, (len(self._recent) - 1) / span) if span > 0 else float(len(self._recent))


@dataclass
class ClientStats:
    """What a run did, for the log line of the extract stage."""

    requests: int = 0
    retries: int = 0
    throttled: int = 0  # 429 answers, waited out by the shared limiter
    token_fetches: int = 0
    statuses: dict[int, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def count(self, status: int | None) -> None:
        with self._lock:
            self.requests += 1
            if status is not None:
                self.statuses[status] = self.statuses.get(status, 0) + 1

    def retry(self) -> None:
        with self._lock:
            self.retries += 1

    def token(self) -> None:
        with self._lock:
            self.token_fetches += 1

    def throttle(self) -> None:
        with self._lock:
            self.throttled += 1

    def as_dict(self) -> dict[str, Any]:
        with self._lock:
            return {
                "requests": self.requests,
                "retries": self.retries,
                "throttled": self.throttled,
                "token_fetches": self.token_fetches,
                "statuses": dict(sorted(self.statuses.items())),
            }


class _TokenState:
    """Bearer token shared by every copy of a client (see ``PortalClient.bind``)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.value: str | None = None
        self.expires_at: float = 0.0


class PortalClient:
    """Client of the portal's reporting calls.

    ``on_response(call, params, page, status, body, headers)`` sees every response body (failed
    attempts included) before it is parsed. Token responses are not passed on: their body is a
    credential, not data, and must not be landed on disk.
    """

    def __init__(
        self,
        base_url: str,
        client_id: str | None = None,
        client_secret: str | None = None,
        connect_timeout: float = 5,
        read_timeout: float = 30,
        max_retries: int = 6,
        backoff: float = 0.5,
        max_backoff: float = 30,
        max_workers: int = 4,
        rate_limit: float | None = None,
        on_response: OnResponse | None = None,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
        page_size: int = 200,
        clock: Callable[[], float] = time.monotonic,
        post_listing: bool = True,
    ):
        if not base_url:
            raise PortalError(
                "chưa cấu hình địa chỉ Cổng dịch vụ công (CCHC_PORTAL_URL hoặc kết nối Airflow)"
            )
        if bool(client_id) != bool(client_secret):
            raise PortalError(
                "cấu hình OAuth2 chưa đủ: cần cả client_id và client_secret (hoặc không cả hai)"
            )
        if max_workers < 1:
            raise PortalError(f"max_workers phải ≥ 1 (đang là {max_workers})")
        if page_size < 1:
            raise PortalError(f"page_size phải ≥ 1 (đang là {page_size})")
        self.base_url = base_url.rstrip("/")
        self.client_id = client_id or None
        self._client_secret = client_secret or None
        self.timeout = (float(connect_timeout), float(read_timeout))
        self.max_retries = max(0, int(max_retries))
        self.backoff = float(backoff)
        self.max_backoff = float(max_backoff)
        self.max_workers = int(max_workers)
        self.page_size = int(page_size)
        self.rate_limit = rate_limit
        self.on_response = on_response
        self._sleep = sleep
        self._clock = clock
        self._rng = rng or random.Random()
        self._rng_lock = threading.Lock()
        # Always present, limit or not: a 429 must slow every worker down, not just the one that met it.
        self.limiter = RateLimiter(rate_limit, clock=clock, sleep=sleep)
        self._token = _TokenState()
        self.stats = ClientStats()
        # Whether the CMS offers the posts listing by root: tried first when allowed, and once it
        # answers 404 every copy of the client asks unit by unit from then on.
        self._listing = {"available": bool(post_listing)}

        self.session = requests.Session()
        # One pool slot per worker (plus the token call), so that concurrent pages reuse
        # connections instead of opening and discarding them. Retries are ours, not urllib3's.
        pool = self.max_workers + 2
        adapter = HTTPAdapter(pool_connections=2, pool_maxsize=pool, max_retries=0)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self.session.headers.update({"Accept": "application/json", "User-Agent": "cchc-extract/0.1"})

    def __repr__(self) -> str:  # never shows the secret
        auth = f", client_id={self.client_id!r}" if self.client_id else ""
        return f"PortalClient({self.base_url!r}{auth})"

    # ----------------------------------------------------------------------------- construction

    @classmethod
    def from_connection(cls, conn: Any, **overrides: Any) -> PortalClient:
        """Build from an Airflow Connection (or anything with the same attributes).

        ``extra.url`` (a full base URL) or ``host`` (may already carry the scheme), ``port``, ``schema``
        (http/https; none: https, or http on loopback), ``login`` =
        client id, ``password`` = client secret, ``extra_dejson`` with optional ``connect_timeout``,
        ``read_timeout`` (or ``timeout`` for both), ``max_retries``, ``backoff``, ``max_backoff``,
        ``max_workers``, ``rate_limit``, ``page_size``, ``post_listing`` (false: never ask the CMS
        for the posts listing by root, only unit by unit). ``rate_limit`` (requests per second for the
        whole client, every worker together) defaults to ``CCHC_PORTAL_RATE_LIMIT``; without either
        the client sends as fast as its workers go until the portal's first 429 slows it down.
        Plain http is refused (``PortalError``) unless the host is loopback or ``extra.allow_http``
        is true: the client secret must not cross a network in clear.
        """
        extra = getattr(conn, "extra_dejson", None) or {}
        if not isinstance(extra, dict):
            raise PortalError("kết nối tới Cổng dịch vụ công: extra phải là JSON dạng đối tượng")
        # A full base URL in extra.url wins: it is the one form that carries a path prefix too.
        host = str(extra.get("url") or getattr(conn, "host", None) or "").strip()
        if not host:
            raise PortalError("kết nối tới Cổng dịch vụ công chưa có host (hoặc extra.url)")
        given = (getattr(conn, "schema", None) or "").strip().lower()
        if given not in ("", "http", "https"):
            raise PortalError(
                f"kết nối tới Cổng dịch vụ công: schema '{given}' không hợp lệ (chỉ nhận http, https)"
            )
        if "://" in host:
            base_url = host.rstrip("/")
        else:
            port = getattr(conn, "port", None)
            # No schema: https, except on this machine (the simulator), where http is the only sense.
            scheme = given or ("http" if _is_loopback(host) else "https")
            netloc = f"[{host}]" if ":" in host and not host.startswith("[") else host  # IPv6
            base_url = f"{scheme}://{netloc}" + (f":{int(port)}" if port else "")
        _require_https(base_url, extra, getattr(conn, "conn_id", None) or settings.PORTAL_CONN_ID)
        kwargs: dict[str, Any] = {}
        if "timeout" in extra:
            kwargs["connect_timeout"] = kwargs["read_timeout"] = float(extra["timeout"])
        for key, kind in (
            ("connect_timeout", float),
            ("read_timeout", float),
            ("max_retries", int),
            ("backoff", float),
            ("max_backoff", float),
            ("max_workers", int),
            ("rate_limit", float),
            ("page_size", int),
            ("post_listing", _flag),
        ):
            if extra.get(key) is not None:
                try:
                    kwargs[key] = kind(extra[key])
                except (TypeError, ValueError) as exc:
                    raise PortalError(
                        f"kết nối tới Cổng dịch vụ công: extra '{key}' = {extra[key]!r} không hợp lệ"
                    ) from exc
        if "rate_limit" not in kwargs:
            kwargs["rate_limit"] = settings.current().portal_rate_limit
        kwargs.update(overrides)
        return cls(
            base_url,
            client_id=getattr(conn, "login", None) or None,
            client_secret=getattr(conn, "password", None) or None,
            **kwargs,
        )

    def bind(self, on_response: OnResponse | None) -> PortalClient:
        """A copy that reports responses to ``on_response`` and counts its own stats.

        The copy shares the session, the token and the rate limiter, so that two extracts running
        side by side in one process still stay under the portal's limit together.
        """
        other = copy.copy(self)
        other.on_response = on_response
        other.stats = ClientStats()
        return other

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> PortalClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ----------------------------------------------------------------------------- plumbing

    def _delay(self, retry: int, retry_after: float | None) -> float:
        """Full jitter (a uniform draw up to the exponential cap); Retry-After is a floor."""
        cap = min(self.max_backoff, self.backoff * (2 ** (retry - 1)))
        with self._rng_lock:
            jitter = self._rng.uniform(0, cap) if cap > 0 else 0.0
        if retry_after is not None:
            # Honour the portal's wait, plus a little jitter so workers do not all come back at once.
            return retry_after + min(jitter, self.backoff)
        return jitter

    def _notify(
        self, call: str, params: dict, page: int | None, status: int, body: bytes, headers: dict
    ) -> None:
        if self.on_response is not None:
            self.on_response(call, dict(params), page, status, body, headers)

    def token(self) -> str | None:
        """The current bearer token, fetched when absent or expired; None without credentials."""
        if not self.client_id:
            return None
        with self._token.lock:
            if self._token.value is None or self._clock() >= self._token.expires_at:
                self._fetch_token_locked()
            return self._token.value

    def _invalidate_token(self, used: str | None) -> None:
        # Only drop the token this request used: another worker may already have refreshed it.
        with self._token.lock:
            if self._token.value == used:
                self._token.value = None

    def _fetch_token_locked(self) -> None:
        url = self.base_url + TOKEN_PATH
        form = {
            "grant_type": "client_credentials",
            "client_id": self.client_id,
            "client_secret": self._client_secret,
        }
        retry = 0
        while True:
            generation = self.limiter.acquire()
            problem: str
            retry_after: float | None = None
            try:
                resp = self.session.post(url, data=form, timeout=self.timeout)
                self.stats.count(resp.status_code)
                self.stats.token()
            except (requests.ConnectionError, requests.Timeout) as exc:
                self.stats.count(None)
                problem = f"không kết nối được ({type(exc).__name__})"
            else:
                status = resp.status_code
                if status == 200:
                    try:
                        data = json.loads(resp.content)
                        token = data["access_token"]
                        expires_in = data.get("expires_in", 3600)
                        if not isinstance(token, str) or not token:
                            raise ValueError("access_token")
                        if isinstance(expires_in, bool) or not isinstance(expires_in, (int, float)):
                            raise ValueError("expires_in")
                    except (ValueError, KeyError, TypeError):
                        problem = "phản hồi cấp token không đúng giao thức"
                    else:
                        # Refresh a little early: a token that expires in flight costs a 401 round trip.
                        margin = min(30.0, float(expires_in) * 0.1)
                        self._token.value = token
                        self._token.expires_at = self._clock() + max(0.0, float(expires_in) - margin)
                        return
                elif status == 429 or status >= 500:
                    problem = f"HTTP {status}"
                    retry_after = parse_retry_after(resp.headers.get("Retry-After"))
                    if status == 429:
                        self.limiter.throttled(generation, retry_after)
                else:
                    # 400/401/403: wrong credentials do not get better by asking again.
                    raise PortalError(
                        f"Cổng dịch vụ công từ chối cấp token cho client_id '{self.client_id}' "
                        f"(HTTP {status}{_portal_message(resp.content)})"
                    )
            retry += 1
            if retry > self.max_retries:
                raise PortalError(f"không lấy được token OAuth2 sau {retry} lần thử: {problem}")
            self.stats.retry()
            self._sleep(self._delay(retry, retry_after))

    def _request(self, call: str, path: str, body: dict, page: int | None) -> dict:
        """POST one call and return its ``data``, after retries; protocol errors raise PortalError."""
        where = _where(call, page, body)
        url = self.base_url + path
        retry = 0
        refreshed = False
        while True:
            try:
                return self._attempt(call, url, body, page, where)
            except _TokenRejected as exc:
                if not self.client_id:
                    raise PortalError(
                        f"{where}: Cổng dịch vụ công yêu cầu xác thực (HTTP 401) nhưng chưa cấu hình "
                        "client_id/client_secret"
                    ) from None
                if refreshed:
                    raise PortalError(f"{where}: token mới vẫn bị từ chối (HTTP 401)") from None
                # Refresh once per call: a second 401 with a fresh token is not a timing problem.
                refreshed = True
                self._invalidate_token(exc.used)
                continue
            except _Throttled as exc:
                # The shared limiter has slowed every worker down and holds this one back for the
                # pause: a 429 costs a retry only once the limiter cannot slow down any further, so
                # a rate-limited portal makes the extract slow, not failed.
                self.stats.throttle()
                if not exc.at_lowest_rate:
                    continue
                retry += 1
                if retry > self.max_retries:
                    raise PortalError(
                        f"{where}: {exc.problem} (đã thử {retry} lần ở tốc độ thấp nhất "
                        f"{self.limiter.min_rate:g} yêu cầu/giây, không lần nào thành công)"
                    ) from None
                self.stats.retry()
            except _Retryable as exc:
                retry += 1
                if retry > self.max_retries:
                    problem = exc.problem if exc.problem.startswith(where) else f"{where}: {exc.problem}"
                    raise PortalError(f"{problem} (đã thử {retry} lần, không lần nào thành công)") from None
                self.stats.retry()
                delay = self._delay(retry, exc.retry_after)
                log.debug("%s: %s, thử lại sau %.2f s (lần %d)", where, exc.problem, delay, retry)
                self._sleep(delay)

    def _attempt(self, call: str, url: str, body: dict, page: int | None, where: str) -> dict:
        token = self.token()
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        generation = self.limiter.acquire()
        try:
            resp = self.session.post(url, json=body, headers=headers, timeout=self.timeout)
        except requests.Timeout as exc:
            self.stats.count(None)
            raise _Retryable(f"hết thời gian chờ ({type(exc).__name__})") from None
        except (
            requests.ConnectionError,
            requests.exceptions.ChunkedEncodingError,
            requests.exceptions.ContentDecodingError,
        ) as exc:
            # Dropped connections and bodies cut short by the peer both land here.
            self.stats.count(None)
            raise _Retryable(f"mất kết nối ({type(exc).__name__})") from None
        status = resp.status_code
        raw = resp.content
        self.stats.count(status)
        self._notify(call, body, page, status, raw, dict(resp.headers))

        if status == 401:
            raise _TokenRejected(token)
        if status == 429:
            retry_after = parse_retry_after(resp.headers.get("Retry-After"))
            raise _Throttled(not self.limiter.throttled(generation, retry_after))
        if status >= 500:
            raise _Retryable(
                f"HTTP {status}{_portal_message(raw)}", parse_retry_after(resp.headers.get("Retry-After"))
            )
        self.limiter.succeeded()  # answered, not throttled: the rate may creep back up
        if status == 404:
            raise _NotFound(
                f"{where}: Cổng dịch vụ công trả về HTTP 404{_portal_message(raw)}", _portal_code(raw)
            )
        if status != 200:
            raise PortalError(f"{where}: Cổng dịch vụ công trả về HTTP {status}{_portal_message(raw)}")

        content_type = resp.headers.get("Content-Type", "")
        if _looks_like_html(raw, content_type):
            # Firewalls and proxies answer 200 with an error page: it may be gone on the next try.
            raise _Retryable(f"{where} trả về HTML thay vì JSON")
        try:
            doc = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            raise _Retryable(f"{where} trả về nội dung không phải JSON hợp lệ ({len(raw)} byte)") from None
        if not isinstance(doc, dict):
            raise PortalError(f"{where}: phản hồi phải là đối tượng JSON, nhận {_kind(doc)}")
        code = doc.get("code")
        if code != "OK":
            raise PortalError(f"{where}: trường 'code' là {code!r} thay vì 'OK'{_portal_message(raw)}")
        data = doc.get("data")
        if not isinstance(data, dict):
            raise PortalError(f"{where}: thiếu trường 'data' (hoặc không phải đối tượng)")
        return data

    # ----------------------------------------------------------------------------- calls

    @staticmethod
    def _period_body(root_id: str, period: Period) -> dict:
        return {"timeType": "month", "year": period.year, "month": period.month, "rootDepartmentId": root_id}

    def period_status(self, root_id: str, period: Period | str) -> str:
        """``CLOSED`` or ``OPEN``: whether the portal still lets the period's figures change."""
        period = _period(period)
        data = self._request(PERIOD_STATUS, PERIOD_STATUS_PATH, self._period_body(root_id, period), None)
        status = data.get("status")
        if status not in PERIOD_STATUSES:
            raise PortalError(f"{PERIOD_STATUS}: trường 'status' là {status!r} thay vì CLOSED/OPEN")
        return status

    def dossier_digitized(self, root_id: str, period: Period | str) -> tuple[dict, list[dict]]:
        """Digitisation counts: parent and children with ``received``, ``received_digitized``,
        ``resolved``, ``resolved_digitized`` (snake_case) plus ``id`` and ``name``."""
        return self._report(DOSSIER_DIGITIZED, root_id, period)

    def online_payment(self, root_id: str, period: Period | str) -> tuple[dict, list[dict]]:
        """Online payment: parent and children with ``fee_dossiers`` and ``paid_online``."""
        return self._report(ONLINE_PAYMENT, root_id, period)

    def official_email(self, root_id: str, period: Period | str) -> tuple[dict, list[dict]]:
        """Official email: children with ``official_email_regular`` (bool or None); parent id, name."""
        return self._report(OFFICIAL_EMAIL, root_id, period)

    def _report(self, call: str, root_id: str, period: Period | str) -> tuple[dict, list[dict]]:
        period = _period(period)
        path = EVALUATION_PATH + call

        def fetch(page: int) -> dict:
            body = {**self._period_body(root_id, period), "currentPage": page, "pageSize": self.page_size}
            data = self._request(call, path, body, page)
            return _check_page(call, page, data)

        first = fetch(1)
        total_pages, total_elements = first["totalPages"], first["totalElements"]
        pages = [first]
        if total_pages > 1:
            pages += self._map(fetch, range(2, total_pages + 1))
        for page_no, page in enumerate(pages, start=1):
            if page["totalElements"] != total_elements or page["totalPages"] != total_pages:
                # Figures changed between pages: the collected children would mix two states.
                raise PortalError(
                    f"trang {page_no} của {call}: totalElements/totalPages ({page['totalElements']}/"
                    f"{page['totalPages']}) khác trang 1 ({total_elements}/{total_pages})"
                )
        children: list[dict] = []
        seen: dict[str, int] = {}
        for page_no, page in enumerate(pages, start=1):
            for index, child in enumerate(page["children"]):
                item = _check_unit(call, page_no, child, f"children[{index}]", child=True)
                if item["id"] in seen:
                    raise PortalError(
                        f"trang {page_no} của {call}: đơn vị '{item['id']}' đã có ở trang {seen[item['id']]}"
                    )
                seen[item["id"]] = page_no
                children.append(item)
        if len(children) != total_elements:
            raise PortalError(
                f"{call}: totalElements là {total_elements} nhưng {total_pages} trang chỉ có "
                f"{len(children)} đơn vị"
            )
        parent = _check_unit(call, 1, first["parent"], "parent", child=False)
        return parent, children

    def post_counts(
        self,
        unit_ids: Iterable[str],
        period: Period | str,
        root_id: str | None = None,
        missing_ok: bool = False,
    ) -> dict[str, int | None]:
        """Posts published on each unit's website in the month.

        With ``root_id`` the CMS's listing of the whole root is asked first (a page per
        ``page_size`` units); a CMS without it (404) is asked one call per unit, which is also
        where ``root_id`` tells it which authority a unit code belongs to when it serves several.
        With ``missing_ok`` a unit the CMS does not know (404 NOT_FOUND) or has no figure for
        (404 NO_DATA; absent from the listing) maps to None instead of failing the whole extract:
        the validation stage then reports it by unit, next to every other gap.
        """
        period = _period(period)
        ids = original = list(dict.fromkeys(unit_ids))
        listed: dict[str, int] | None = None
        if root_id and ids and self._listing["available"]:
            listed = self._post_listing(root_id, period)
        if listed is not None:
            missing = [unit_id for unit_id in ids if unit_id not in listed]
            if missing_ok:
                for unit_id in missing:
                    log.warning(
                        "%s (%s): không có số liệu tin bài của đơn vị %s", POST_LISTING, root_id, unit_id
                    )
                return {unit_id: listed.get(unit_id) for unit_id in ids}
            # Not tolerated: each absent unit is asked on its own, whose answer names the problem.
            ids = missing

        def fetch(unit_id: str) -> int | None:
            body: dict[str, Any] = {"year": period.year, "month": period.month, "unitId": unit_id}
            if root_id:
                body["rootDepartmentId"] = root_id
            where = _where(POST_STATISTICS, None, body)
            try:
                data = self._request(POST_STATISTICS, POST_STATISTICS_PATH, body, None)
            except _NotFound as exc:
                if missing_ok:
                    log.warning("%s: không có số liệu tin bài (%s)", where, exc.code)
                    return None
                raise PortalError(str(exc)) from None
            if data.get("unitId") != unit_id:
                raise PortalError(f"{where}: trường 'unitId' là {data.get('unitId')!r} thay vì '{unit_id}'")
            return _count(data, "posts", where)

        counts = dict(zip(ids, self._map(fetch, ids), strict=True))
        if listed is None:
            return counts
        return {unit_id: counts[unit_id] if unit_id in counts else listed[unit_id] for unit_id in original}

    def _post_listing(self, root_id: str, period: Period) -> dict[str, int] | None:
        """Every unit's posts from the CMS's listing by root, or None when the CMS answers 404."""

        def fetch(page: int) -> dict:
            body = {
                "year": period.year,
                "month": period.month,
                "rootDepartmentId": root_id,
                "currentPage": page,
                "pageSize": self.page_size,
            }
            data = self._request(POST_LISTING, POST_LISTING_PATH, body, page)
            where = f"trang {page} của {POST_LISTING}"
            for key in ("currentPage", "totalElements", "totalPages"):
                _count(data, key, where)
            if data["currentPage"] != page:
                raise PortalError(f"{where}: trường 'currentPage' là {data['currentPage']} thay vì {page}")
            if not isinstance(data.get("items"), list):
                raise PortalError(f"{where}: thiếu trường 'items' (hoặc không phải mảng)")
            return data

        try:
            first = fetch(1)
        except _NotFound as exc:
            # No listing here (or nothing for the month): the per-unit calls give each unit's answer.
            log.info("%s (%s): Cổng trả 404 (%s), hỏi từng đơn vị", POST_LISTING, root_id, exc.code)
            if exc.code != "NO_DATA":
                self._listing["available"] = False
            return None
        total_pages, total_elements = first["totalPages"], first["totalElements"]
        pages = [first] + (self._map(fetch, range(2, total_pages + 1)) if total_pages > 1 else [])
        posts: dict[str, int] = {}
        for page_no, page in enumerate(pages, start=1):
            where = f"trang {page_no} của {POST_LISTING}"
            if page["totalElements"] != total_elements or page["totalPages"] != total_pages:
                raise PortalError(
                    f"{where}: totalElements/totalPages ({page['totalElements']}/{page['totalPages']}) "
                    f"khác trang 1 ({total_elements}/{total_pages})"
                )
            for index, item in enumerate(page["items"]):
                if not isinstance(item, dict) or not isinstance(item.get("unitId"), str):
                    raise PortalError(f"{where}, items[{index}]: thiếu trường 'unitId' (mã đơn vị)")
                unit_id = item["unitId"]
                if unit_id in posts:
                    raise PortalError(f"{where}: đơn vị '{unit_id}' xuất hiện hai lần")
                posts[unit_id] = _count(item, "posts", f"{where} (đơn vị {unit_id})")
        if len(posts) != total_elements:
            raise PortalError(
                f"{POST_LISTING}: totalElements là {total_elements} nhưng {total_pages} trang chỉ có "
                f"{len(posts)} đơn vị"
            )
        return posts

    def _map(self, fn: Callable[[Any], Any], items: Iterable[Any]) -> list[Any]:
        """Run ``fn`` over ``items`` on at most ``max_workers`` threads, results in input order.

        The first failure cancels what has not started yet and is raised as is.
        """
        items = list(items)
        if self.max_workers == 1 or len(items) <= 1:
            return [fn(item) for item in items]
        pool = ThreadPoolExecutor(max_workers=min(self.max_workers, len(items)), thread_name_prefix="portal")
        try:
            futures = [pool.submit(fn, item) for item in items]
            return [f.result() for f in futures]
        finally:
            pool.shutdown(wait=True, cancel_futures=True)


# --------------------------------------------------------------------------------- validation


def _period(value: Period | str) -> Period:
    return value if isinstance(value, Period) else Period.parse(str(value))


def _is_loopback(host: str) -> bool:
    name = host.strip().strip("[]").rstrip(".").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def _require_https(base_url: str, extra: dict[str, Any], conn_id: str) -> None:
    """Refuse plain http to another machine: the OAuth2 client secret would cross the network in clear.

    Allowed only on loopback (127.0.0.0/8, ::1, localhost) or when the connection says so itself with
    ``extra.allow_http: true`` (a simulator on a private network, e.g. docker-compose's).
    """
    parts = urlsplit(base_url)
    scheme = parts.scheme.lower()
    if scheme == "https":
        return
    if scheme != "http":
        raise PortalError(
            f"kết nối {conn_id} tới Cổng dịch vụ công: địa chỉ '{base_url}' phải bắt đầu bằng https:// "
            "(hoặc http:// khi được phép)"
        )
    if _is_loopback(parts.hostname or ""):
        return
    try:
        allowed = _flag(extra.get("allow_http", False))
    except ValueError as exc:
        raise PortalError(
            f"kết nối {conn_id} tới Cổng dịch vụ công: extra 'allow_http' = {extra['allow_http']!r} "
            "không hợp lệ (true hoặc false)"
        ) from exc
    if not allowed:
        raise PortalError(
            f"kết nối {conn_id} tới Cổng dịch vụ công dùng http không mã hóa tới {parts.hostname}: "
            "client secret sẽ đi trên mạng dưới dạng rõ. Hãy đặt schema 'https' (hoặc địa chỉ "
            "https://… trong host/extra.url); chỉ khi thật sự cần http (máy mô phỏng trong mạng riêng), "
            f'thêm vào extra của kết nối {conn_id}: {{"allow_http": true}}'
        )


def _flag(value: Any) -> bool:
    """A connection extra's true/false, also as the strings an Airflow form may hold."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "1", "yes"):
        return True
    if text in ("false", "0", "no"):
        return False
    raise ValueError(value)


# JSON kinds as an error message names them; bool before int (a bool is an int in Python).
_KINDS = (
    (bool, "bool"),
    (int, "số nguyên"),
    (float, "số thực"),
    (str, "chuỗi"),
    (list, "mảng"),
    (dict, "đối tượng"),
)


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    return next((name for kind, name in _KINDS if isinstance(value, kind)), type(value).__name__)


def _looks_like_html(raw: bytes, content_type: str) -> bool:
    if "html" in content_type.lower():
        return True
    head = raw[:256].lstrip().lower()
    return head.startswith((b"<!doctype html", b"<html", b"<head", b"<body"))


def _portal_message(raw: bytes) -> str:
    """The portal's ``code``/``message`` from an error body, as ': CODE – message' (or '')."""
    try:
        doc = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return ""
    if not isinstance(doc, dict):
        return ""
    code, message = doc.get("code"), doc.get("message")
    parts = [str(p) for p in (code, message) if p]
    return (": " + " – ".join(parts)) if parts else ""


def _portal_code(raw: bytes) -> str | None:
    try:
        doc = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return None
    return doc.get("code") if isinstance(doc, dict) else None


def _count(obj: dict, key: str, where: str) -> int:
    if key not in obj:
        raise PortalError(f"{where}: thiếu trường '{key}'")
    value = obj[key]
    # bool is a subclass of int in Python; JSON true is not a count.
    if isinstance(value, bool) or not isinstance(value, int):
        raise PortalError(f"{where}: trường '{key}' phải là số nguyên, nhận {_kind(value)} ({value!r})")
    if value < 0:
        raise PortalError(f"{where}: trường '{key}' là số âm ({value})")
    return value


def _check_page(call: str, page: int, data: dict) -> dict:
    where = f"trang {page} của {call}"
    for key in ("currentPage", "pageSize", "totalElements", "totalPages"):
        _count(data, key, where)
    if data["currentPage"] != page:
        raise PortalError(f"{where}: trường 'currentPage' là {data['currentPage']} thay vì {page}")
    if "parent" not in data:
        raise PortalError(f"{where}: thiếu trường 'parent'")
    if not isinstance(data["parent"], dict):
        raise PortalError(f"{where}: trường 'parent' phải là đối tượng, nhận {_kind(data['parent'])}")
    if "children" not in data:
        raise PortalError(f"{where}: thiếu trường 'children'")
    if not isinstance(data["children"], list):
        raise PortalError(f"{where}: trường 'children' phải là mảng, nhận {_kind(data['children'])}")
    return data


def _check_unit(call: str, page: int, obj: Any, label: str, child: bool) -> dict:
    """One parent or child entry, renamed to snake_case; every field named in errors."""
    where = f"trang {page} của {call}, {label}"
    if not isinstance(obj, dict):
        raise PortalError(f"{where}: phải là đối tượng, nhận {_kind(obj)}")
    unit_id = obj.get("id")
    if not isinstance(unit_id, str) or not unit_id.strip():
        raise PortalError(f"{where}: thiếu trường 'id' (mã đơn vị)")
    where = f"{where} (đơn vị {unit_id})"
    name = obj.get("name")
    if name is not None and not isinstance(name, str):
        raise PortalError(f"{where}: trường 'name' phải là chuỗi, nhận {_kind(name)}")
    out: dict[str, Any] = {"id": unit_id.strip(), "name": name}
    for portal_key, key in REPORT_COUNTS[call].items():
        out[key] = _count(obj, portal_key, where)
    if call == OFFICIAL_EMAIL and child:
        if "officialEmailRegular" not in obj:
            raise PortalError(f"{where}: thiếu trường 'officialEmailRegular'")
        value = obj["officialEmailRegular"]
        if value is not None and not isinstance(value, bool):
            raise PortalError(
                f"{where}: trường 'officialEmailRegular' phải là true/false/null, nhận {_kind(value)} ({value!r})"
            )
        out["official_email_regular"] = value
    return out

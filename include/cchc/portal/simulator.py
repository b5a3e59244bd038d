"""A simulator of the public-service portal's reporting calls, on a real HTTP server.

No real portal is reachable from the project, so this server speaks the protocol written down in
``openapi.yaml`` (next to this file) from the ``monthly.csv`` of every authority folder of a config
dir. It is deliberately fragile when asked to be: rate limits, 429/5xx answers, dropped connections,
bodies that are not JSON, slow answers and periods that stay open are all switchable (``Faults``),
deterministically for a given seed, so that the extract client can be tested against what the real
portal does.

Python::

    with PortalSimulator("scenarios/seed", faults=Faults(share_5xx=0.2, seed=7)) as sim:
        requests.post(sim.base_url + "/api/v1/reporting/period-status", json={...})

Command line: ``cchc simulate --config-dir DIR [--port 8765] [--fault-5xx 0.2] …``.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import functools
import hmac
import json
import logging
import math
import os
import random
import secrets
import signal
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote_plus, urlsplit

from cchc.core import settings
from cchc.core.authorities import Authority, load_authorities, load_monthly
from cchc.core.errors import ConfigError
from cchc.core.periods import Period

log = logging.getLogger(__name__)

SPEC_PATH = Path(__file__).with_name("openapi.yaml")
SECRET_ENV = settings.SIMULATOR_CLIENT_SECRET
MAX_BODY_BYTES = 1 << 20

# Share faults in the order the seeded draw walks them; the order is part of what makes a seed
# reproduce the same sequence of faults.
_SHARE_FAULTS = (
    ("429", "share_429"),
    ("5xx", "share_5xx"),
    ("drop", "share_drop"),
    ("malformed", "share_malformed"),
    ("truncated", "share_truncated"),
    ("html", "share_html"),
)

_HTML_ERROR_PAGE = (
    '<!DOCTYPE html>\n<html lang="vi"><head><meta charset="utf-8"><title>Lỗi hệ thống</title></head>'
    "<body><h1>Lỗi hệ thống</h1><p>Hệ thống đang bận hoặc gặp sự cố, vui lòng thử lại sau.</p>"
    "</body></html>\n"
)


@dataclass
class Faults:
    """What goes wrong on ``/api/`` paths (``/healthz`` and ``/oauth2/token`` are never faulted).

    At most one fault is picked per request. The rate limit is checked first: a request over it is
    answered 429 at once. A request let through then draws one number from ``random.Random(seed)``
    and gets the share fault the number falls into (shares are cumulative in the order 429, 5xx,
    drop, malformed, truncated, html; their sum may not exceed 1), or none.

    ``fail_first``: each of the first N requests let through by the rate limit gets one of the
    share faults for certain, chosen among the kinds whose share is above 0 in proportion to their
    shares (with a single kind set, that kind). It makes "the first two calls fail, the third
    succeeds" tests deterministic. With every share at 0 it has no effect.

    ``latency`` is not a fault in that sense: every ``/api/`` request waits that long first.

    The simulator reads these attributes on every request, so a test may switch a fault on or off
    while it runs (``sim.faults.period_open = False``); the seeded sequence simply continues.
    """

    # Max requests/second per client (its OAuth2 client id, else its address): a token bucket of
    # ``rate_limit_burst`` tokens (default: the rate, at least 1) refilled at that rate; excess → 429.
    rate_limit: float | None = None
    rate_limit_burst: int | None = None
    retry_after: int = 1  # the Retry-After (seconds) of every 429 and of 503
    limit_retry_after: bool = True  # False: the rate limit's 429 carries no Retry-After
    share_429: float = 0.0  # 429 + Retry-After whatever the rate
    share_5xx: float = 0.0  # 500 (JSON), 502 (plain text) or 503 (JSON + Retry-After)
    latency: float = 0.0  # seconds slept before answering every /api/ request
    share_drop: float = 0.0  # connection closed without any response
    share_malformed: float = 0.0  # 200 with a body that is not JSON
    share_truncated: float = 0.0  # 200 with the JSON answer cut in half
    share_html: float = 0.0  # 200 with an HTML error page (Content-Type text/html)
    period_open: bool = False  # period-status always answers OPEN
    fail_first: int = 0
    seed: int = 0
    # Share faults hit only /api/ paths containing one of these (e.g. "evaluation"); empty: all.
    # Lets a test garble the report calls while the period-status call still answers.
    only_paths: tuple[str, ...] = ()

    def validate(self) -> None:
        for kind, attr in _SHARE_FAULTS:
            share = getattr(self, attr)
            if not 0.0 <= share <= 1.0:
                raise ConfigError(f"tỷ lệ lỗi giả lập '{kind}' phải từ 0 đến 1 (nhận được {share})")
        total = sum(getattr(self, attr) for _, attr in _SHARE_FAULTS)
        if total > 1.0 + 1e-9:
            raise ConfigError(f"tổng các tỷ lệ lỗi giả lập không được vượt quá 1 (đang là {total:g})")
        if self.rate_limit is not None and self.rate_limit <= 0:
            raise ConfigError(f"giới hạn tốc độ phải lớn hơn 0 yêu cầu/giây (nhận được {self.rate_limit})")
        if self.rate_limit_burst is not None and self.rate_limit_burst < 1:
            raise ConfigError(f"số yêu cầu dồn tối đa phải từ 1 trở lên (nhận được {self.rate_limit_burst})")
        if self.retry_after < 0:
            raise ConfigError(f"Retry-After không được âm (nhận được {self.retry_after})")
        if self.latency < 0:
            raise ConfigError(f"độ trễ không được âm (nhận được {self.latency})")
        if self.fail_first < 0:
            raise ConfigError(f"số yêu cầu lỗi đầu tiên không được âm (nhận được {self.fail_first})")

    def describe(self) -> str:
        parts = [f"{kind}={getattr(self, attr):g}" for kind, attr in _SHARE_FAULTS if getattr(self, attr)]
        if self.rate_limit is not None:
            parts.append(f"rate_limit={self.rate_limit:g}/s mỗi máy khách")
            if not self.limit_retry_after:
                parts.append("429 không kèm Retry-After")
        if self.latency:
            parts.append(f"latency={self.latency:g}s")
        if self.period_open:
            parts.append("period_open")
        if self.fail_first:
            parts.append(f"fail_first={self.fail_first}")
        if self.only_paths:
            parts.append(f"only_paths={','.join(self.only_paths)}")
        return ", ".join(parts) + f" (seed={self.seed})" if parts else "không"


@dataclass(frozen=True)
class _Fault:
    kind: str  # "rate_limit" or one of the share kinds
    status: int = 0  # the status chosen for a 5xx fault


class _FaultInjector:
    """Decides the fault of each /api/ request; one lock keeps the seeded sequence consistent."""

    def __init__(self, faults: Faults) -> None:
        self._faults = faults
        self._rng = random.Random(faults.seed)
        self._lock = threading.Lock()
        self._buckets: dict[str, tuple[float, float]] = {}  # client → (tokens, monotonic stamp)
        self._let_through = 0

    def choose(self, path: str = "", client: str = "") -> _Fault | None:
        faults = self._faults
        with self._lock:
            if faults.rate_limit is not None:
                # A fractional rate such as 0.5/s still lets one request through every 2 s.
                burst = float(faults.rate_limit_burst or max(1, int(faults.rate_limit)))
                now = time.monotonic()
                tokens, stamp = self._buckets.get(client, (burst, now))
                tokens = min(burst, tokens + (now - stamp) * faults.rate_limit)
                if tokens < 1.0:
                    self._buckets[client] = (tokens, now)
                    return _Fault("rate_limit")
                self._buckets[client] = (tokens - 1.0, now)

            if faults.only_paths and not any(part in path for part in faults.only_paths):
                return None
            forced = self._let_through < faults.fail_first
            self._let_through += 1
            shares = [(kind, getattr(faults, attr)) for kind, attr in _SHARE_FAULTS]
            total = sum(share for _, share in shares)
            draw = self._rng.random()
            if forced and total > 0:
                draw *= total  # lands inside the cumulative shares: a fault for certain
            cumulative = 0.0
            for kind, share in shares:
                cumulative += share
                if share and draw < cumulative:
                    status = self._rng.choice((500, 502, 503)) if kind == "5xx" else 0
                    return _Fault(kind, status)
            return None


@dataclass
class _Reply:
    status: int
    body: bytes = b""
    content_type: str = "application/json; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)
    drop: bool = False
    fault: str | None = None


def _json_reply(status: int, payload: Any, headers: dict[str, str] | None = None) -> _Reply:
    body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    return _Reply(status, body, headers=dict(headers or {}))


class _ApiError(Exception):
    """An answer other than 200, raised from deep in a handler and turned into the JSON error body."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.headers = headers or {}

    def reply(self) -> _Reply:
        return _json_reply(self.status, {"code": self.code, "message": self.message}, self.headers)


def _bad_request(message: str) -> _ApiError:
    return _ApiError(400, "BAD_REQUEST", message)


def _shown(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


# --- request fields ---------------------------------------------------------------------------------

_MISSING = object()


def _integer(body: Mapping[str, Any], name: str, low: int, high: int | None, default: Any = _MISSING) -> int:
    if name not in body:
        if default is _MISSING:
            raise _bad_request(f"thiếu trường '{name}'")
        return default
    value = body[name]
    # JSON Schema counts 8.0 as an integer and so does the spec; true/false do not count.
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or (isinstance(value, float) and not value.is_integer())
    ):
        raise _bad_request(f"trường '{name}' phải là số nguyên (nhận được {_shown(value)})")
    number = int(value)
    if number < low or (high is not None and number > high):
        bounds = f"từ {low} đến {high}" if high is not None else f"từ {low} trở lên"
        raise _bad_request(f"trường '{name}' phải {bounds} (nhận được {number})")
    return number


def _string(body: Mapping[str, Any], name: str) -> str:
    if name not in body:
        raise _bad_request(f"thiếu trường '{name}'")
    return _optional_string(body, name) or ""


def _optional_string(body: Mapping[str, Any], name: str) -> str | None:
    if name not in body:
        return None
    value = body[name]
    if not isinstance(value, str) or not value.strip():
        raise _bad_request(f"trường '{name}' phải là chuỗi không rỗng (nhận được {_shown(value)})")
    return value.strip()


def _periods(body: Mapping[str, Any]) -> tuple[list[Period], str]:
    """The months a ``timeType`` request covers, and the period as a message names it."""
    if "timeType" not in body:
        raise _bad_request("thiếu trường 'timeType'")
    time_type = body["timeType"]
    if time_type not in ("month", "quarter", "year"):
        raise _bad_request(
            f"trường 'timeType' phải là 'month', 'quarter' hoặc 'year' (nhận được {_shown(time_type)})"
        )
    year = _integer(body, "year", 1900, 9999)
    if time_type == "month":
        month = _integer(body, "month", 1, 12)
        return [Period(year, month)], f"tháng {month}/{year}"
    if time_type == "quarter":
        quarter = _integer(body, "quarter", 1, 4)
        return [Period(year, m) for m in range(3 * quarter - 2, 3 * quarter + 1)], f"quý {quarter}/{year}"
    return [Period(year, m) for m in range(1, 13)], f"năm {year}"


def _json_body(raw: bytes) -> dict[str, Any]:
    if not raw.strip():
        raise _bad_request("thân yêu cầu trống: cần một đối tượng JSON")
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise _bad_request(f"thân yêu cầu không phải JSON hợp lệ ({exc})") from exc
    if not isinstance(data, dict):
        raise _bad_request("thân yêu cầu phải là một đối tượng JSON")
    return data


# --- data ---------------------------------------------------------------------------------------------


@dataclass
class _AuthorityData:
    authority: Authority
    rows: dict[tuple[Period, str], dict[str, Any]]  # (month, unit code) → the monthly.csv record
    months: set[Period]


def _load(config_dir: Path) -> list[_AuthorityData]:
    loaded: list[_AuthorityData] = []
    for authority in load_authorities(config_dir):
        if authority.monthly_path.is_file():
            records = load_monthly(authority)
        else:
            log.warning(
                "%s: không có monthly.csv, cổng giả lập không có số liệu của cơ quan này", authority.id
            )
            records = []
        rows = {(Period.parse(r["period"]), r["unit_code"]): r for r in records}
        loaded.append(_AuthorityData(authority, rows, {month for month, _ in rows}))
    if not any(data.rows for data in loaded):
        raise ConfigError(
            f"{config_dir}: không cơ quan nào có số liệu trong monthly.csv, không có gì để phục vụ"
        )
    return loaded


@dataclass(frozen=True)
class _Report:
    counts: dict[str, str]  # JSON field → monthly.csv column, summed over months (and units for the parent)
    official_email: bool = False


_REPORTS = {
    "/api/v1/reporting/evaluation/dossier-digitized": _Report(
        {
            "received": "received",
            "receivedDigitized": "received_digitized",
            "resolved": "resolved",
            "resolvedDigitized": "resolved_digitized",
        }
    ),
    "/api/v1/reporting/evaluation/formality-online-payment-tree": _Report(
        {"feeDossiers": "fee_dossiers", "paidOnline": "paid_online"}
    ),
    "/api/v1/reporting/evaluation/official-email": _Report({}, official_email=True),
}
PERIOD_STATUS_PATH = "/api/v1/reporting/period-status"
POST_STATISTICS_PATH = "/api/v1/cms/post-statistics"
POST_LISTING_PATH = "/api/v1/cms/post-statistics/by-root"


# The request's headers: http.server's (case-insensitive) message, or a plain mapping in tests.
Headers = Mapping[str, str] | Message


class _Portal:
    """The protocol without sockets: (method, path, headers, body) in, a reply out."""

    def __init__(
        self,
        authorities: list[_AuthorityData],
        faults: Faults,
        client_id: str | None,
        client_secret: str | None,
        token_ttl: float,
        post_listing: bool = True,
    ) -> None:
        self._faults = faults
        self._injector = _FaultInjector(faults)
        self._client_id = client_id
        self._client_secret = client_secret
        self._token_ttl = token_ttl
        self._tokens: dict[str, float] = {}  # access token → monotonic expiry
        self._token_lock = threading.Lock()
        self._by_root: dict[str, _AuthorityData] = {}
        self._by_unit: dict[str, list[_AuthorityData]] = {}
        for data in authorities:
            root = data.authority.root_department_id
            if root in self._by_root:
                other = self._by_root[root].authority.id
                raise ConfigError(
                    f"{data.authority.id}: root_department_id '{root}' trùng với cơ quan '{other}'"
                )
            self._by_root[root] = data
            for unit in data.authority.units:
                self._by_unit.setdefault(unit.code, []).append(data)
        self._api_routes: dict[str, Callable[[dict[str, Any]], Any]] = {
            PERIOD_STATUS_PATH: self._period_status,
            POST_STATISTICS_PATH: self._post_statistics,
        }
        if post_listing:  # a CMS without the listing answers 404, as an older real one would
            self._api_routes[POST_LISTING_PATH] = self._post_listing
        for path, report in _REPORTS.items():
            self._api_routes[path] = functools.partial(self._evaluation, report)

    # -- dispatch --

    def handle(self, method: str, target: str, headers: Headers, body: bytes, address: str = "") -> _Reply:
        path = urlsplit(target).path
        try:
            if path == "/healthz":
                self._require_method(method, "GET")
                return _json_reply(200, {"status": "ok"})
            if path == "/oauth2/token":
                self._require_method(method, "POST")
                return self._issue_token(headers, body)
        except _ApiError as exc:
            return exc.reply()
        if path.startswith("/api/"):
            return self._handle_api(method, path, headers, body, address)
        return _ApiError(404, "NOT_FOUND", f"không có đường dẫn '{path}'").reply()

    @staticmethod
    def _require_method(method: str, allowed: str) -> None:
        if method != allowed:
            raise _ApiError(
                405,
                "METHOD_NOT_ALLOWED",
                f"phương thức {method} không được hỗ trợ, chỉ nhận {allowed}",
                {"Allow": allowed},
            )

    def _handle_api(self, method: str, path: str, headers: Headers, body: bytes, address: str) -> _Reply:
        if self._faults.latency:
            time.sleep(self._faults.latency)
        fault = self._injector.choose(path, self._client_of(headers, address))
        kind = fault.kind if fault else None
        if kind in ("rate_limit", "429"):
            with_retry_after = kind == "429" or self._faults.limit_retry_after
            reply = _ApiError(
                429,
                "TOO_MANY_REQUESTS",
                "quá nhiều yêu cầu, vui lòng thử lại sau",
                {"Retry-After": str(self._faults.retry_after)} if with_retry_after else {},
            ).reply()
        elif kind == "5xx" and fault is not None:
            reply = self._server_error(fault.status)
        elif kind == "drop":
            reply = _Reply(0, drop=True)
        else:
            reply = self._answer_api(method, path, headers, body)
            if kind == "malformed":
                # The shape of the answer in Python's notation (single quotes, None): close to JSON,
                # not JSON, like a misconfigured gateway would render it.
                reply = _Reply(200, repr(json.loads(reply.body)).encode("utf-8"))
            elif kind == "truncated":
                reply = _Reply(200, reply.body[: len(reply.body) // 2])
            elif kind == "html":
                reply = _Reply(200, _HTML_ERROR_PAGE.encode("utf-8"), "text/html; charset=utf-8")
        reply.fault = kind
        return reply

    def _client_of(self, headers: Headers, address: str) -> str:
        """Whom the rate limit counts a request against: the OAuth2 client of its bearer token,
        else the address it came from."""
        scheme, _, token = headers.get("Authorization", "").partition(" ")
        if self._client_id is not None and scheme.lower() == "bearer":
            with self._token_lock:
                if token.strip() in self._tokens:
                    return "client:" + self._client_id
        return "address:" + address

    def _server_error(self, status: int) -> _Reply:
        if status == 502:
            return _Reply(502, b"502 Bad Gateway\n", "text/plain; charset=utf-8")
        if status == 503:
            return _ApiError(
                503,
                "SERVICE_UNAVAILABLE",
                "dịch vụ tạm thời không khả dụng",
                {"Retry-After": str(self._faults.retry_after)},
            ).reply()
        return _ApiError(500, "INTERNAL_ERROR", "lỗi hệ thống, vui lòng thử lại sau").reply()

    def _answer_api(self, method: str, path: str, headers: Headers, body: bytes) -> _Reply:
        try:
            self._check_bearer(headers)
            route = self._api_routes.get(path)
            if route is None:
                raise _ApiError(404, "NOT_FOUND", f"không có đường dẫn '{path}'")
            self._require_method(method, "POST")
            return _json_reply(200, {"code": "OK", "data": route(_json_body(body))})
        except _ApiError as exc:
            return exc.reply()

    # -- OAuth2 --

    def _issue_token(self, headers: Headers, raw: bytes) -> _Reply:
        form = parse_qs(raw.decode("utf-8", "replace"), keep_blank_values=True)

        def first(name: str) -> str | None:
            values = form.get(name)
            return values[0] if values else None

        if first("grant_type") != "client_credentials":
            raise _bad_request(
                f"trường 'grant_type' phải là 'client_credentials' (nhận được {_shown(first('grant_type'))})"
            )
        candidates = [(first("client_id"), first("client_secret"))]
        scheme, _, encoded = headers.get("Authorization", "").partition(" ")
        if scheme.lower() == "basic":
            try:
                user, sep, password = (
                    base64.b64decode(encoded.strip(), validate=True).decode("utf-8").partition(":")
                )
            except (binascii.Error, UnicodeDecodeError) as exc:
                raise self._unauthorized("tiêu đề Authorization Basic không hợp lệ", "Basic") from exc
            if not sep:
                raise self._unauthorized(
                    "tiêu đề Authorization Basic thiếu dấu ':' giữa client_id và client_secret", "Basic"
                )
            # RFC 6749 §2.3.1 form-encodes both before Basic; many clients do not, so take either.
            candidates = [(user, password), (unquote_plus(user), unquote_plus(password))]
        if self._client_id is not None and not any(
            _same(cid, self._client_id) and _same(secret, self._client_secret) for cid, secret in candidates
        ):
            raise self._unauthorized("sai client_id hoặc client_secret", "Basic")
        token = secrets.token_urlsafe(32)
        now = time.monotonic()
        with self._token_lock:
            for old in [t for t, expiry in self._tokens.items() if expiry <= now]:
                del self._tokens[old]
            self._tokens[token] = now + self._token_ttl
        return _json_reply(
            200,
            {"access_token": token, "token_type": "Bearer", "expires_in": max(1, math.ceil(self._token_ttl))},
            {"Cache-Control": "no-store"},
        )

    @staticmethod
    def _unauthorized(message: str, scheme: str = "Bearer") -> _ApiError:
        return _ApiError(401, "UNAUTHORIZED", message, {"WWW-Authenticate": f'{scheme} realm="cchc-portal"'})

    def _check_bearer(self, headers: Headers) -> None:
        if self._client_id is None:
            return
        scheme, _, token = headers.get("Authorization", "").partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise self._unauthorized("thiếu mã truy cập: cần tiêu đề 'Authorization: Bearer <access_token>'")
        with self._token_lock:
            expiry = self._tokens.get(token)
        if expiry is None:
            raise self._unauthorized("mã truy cập không hợp lệ")
        if time.monotonic() >= expiry:
            raise self._unauthorized("mã truy cập đã hết hạn, hãy xin mã mới tại /oauth2/token")

    # -- reports --

    def _authority(self, root_id: str) -> _AuthorityData:
        data = self._by_root.get(root_id)
        if data is None:
            raise _ApiError(404, "NOT_FOUND", f"không có đơn vị gốc rootDepartmentId '{root_id}'")
        return data

    def _evaluation(self, report: _Report, body: dict[str, Any]) -> dict[str, Any]:
        periods, label = _periods(body)
        root_id = _string(body, "rootDepartmentId")
        page = _integer(body, "currentPage", 1, None, default=1)
        size = _integer(body, "pageSize", 1, 500, default=200)
        data = self._authority(root_id)
        months = [p for p in periods if p in data.months]
        if not months:
            raise _ApiError(404, "NO_DATA", f"chưa có số liệu của '{root_id}' cho {label}")

        children = []
        for unit in data.authority.units:
            records = [data.rows[(m, unit.code)] for m in months if (m, unit.code) in data.rows]
            if not records:
                continue  # a unit the portal has nothing on is absent, not zero
            node: dict[str, Any] = {"id": unit.code, "name": unit.name}
            for name, column in report.counts.items():
                node[name] = sum(record[column] for record in records)
            if report.official_email:
                known = [
                    r["official_email_regular"] for r in records if r["official_email_regular"] is not None
                ]
                node["officialEmailRegular"] = known[-1] if known else None
            children.append(node)

        parent: dict[str, Any] = {"id": root_id, "name": data.authority.name}
        for name in report.counts:
            parent[name] = sum(child[name] for child in children)
        start = (page - 1) * size
        return {
            "parent": parent,
            "children": children[start : start + size],
            "currentPage": page,
            "pageSize": size,
            "totalElements": len(children),
            "totalPages": math.ceil(len(children) / size),
        }

    def _period_status(self, body: dict[str, Any]) -> dict[str, Any]:
        periods, _ = _periods(body)
        data = self._authority(_string(body, "rootDepartmentId"))
        if self._faults.period_open or not all(p in data.months for p in periods):
            return {"status": "OPEN", "closedAt": None}
        return {"status": "CLOSED", "closedAt": f"{periods[-1].next()}-05T00:00:00+07:00"}

    def _post_statistics(self, body: dict[str, Any]) -> dict[str, Any]:
        year = _integer(body, "year", 1900, 9999)
        month = _integer(body, "month", 1, 12)
        unit_id = _string(body, "unitId")
        root_id = _optional_string(body, "rootDepartmentId")
        candidates = self._by_unit.get(unit_id, [])
        if root_id is not None:
            candidates = [d for d in candidates if d.authority.root_department_id == root_id]
        if not candidates:
            where = f" thuộc '{root_id}'" if root_id else ""
            raise _ApiError(404, "NOT_FOUND", f"không có đơn vị unitId '{unit_id}'{where}")
        if len(candidates) > 1:
            roots = ", ".join(d.authority.root_department_id for d in candidates)
            raise _bad_request(
                f"mã đơn vị '{unit_id}' có ở nhiều cơ quan ({roots}): cần trường 'rootDepartmentId'"
            )
        record = candidates[0].rows.get((Period(year, month), unit_id))
        if record is None:
            raise _ApiError(
                404, "NO_DATA", f"chưa có số liệu tin bài của đơn vị '{unit_id}' cho tháng {month}/{year}"
            )
        return {"unitId": unit_id, "year": year, "month": month, "posts": record["web_posts"]}

    def _post_listing(self, body: dict[str, Any]) -> dict[str, Any]:
        """Posts of the month for every unit of a root that has a figure, in registry order, paged."""
        year = _integer(body, "year", 1900, 9999)
        month = _integer(body, "month", 1, 12)
        root_id = _string(body, "rootDepartmentId")
        page = _integer(body, "currentPage", 1, None, default=1)
        size = _integer(body, "pageSize", 1, 500, default=200)
        data = self._authority(root_id)
        period = Period(year, month)
        if period not in data.months:
            raise _ApiError(
                404, "NO_DATA", f"chưa có số liệu tin bài của '{root_id}' cho tháng {month}/{year}"
            )
        items = [
            {"unitId": unit.code, "posts": data.rows[(period, unit.code)]["web_posts"]}
            for unit in data.authority.units
            if (period, unit.code) in data.rows
        ]
        start = (page - 1) * size
        return {
            "rootDepartmentId": root_id,
            "year": year,
            "month": month,
            "items": items[start : start + size],
            "currentPage": page,
            "pageSize": size,
            "totalElements": len(items),
            "totalPages": math.ceil(len(items) / size),
        }


def _same(given: str | None, expected: str | None) -> bool:
    if given is None or expected is None:
        return False
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


# --- HTTP ----------------------------------------------------------------------------------------------


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # a burst of parallel extract workers should queue, not be refused
    simulator: PortalSimulator


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the real portal; every reply carries Content-Length
    server_version = "CongDVC-GiaLap/1.0"
    timeout = 30  # idle keep-alive connections end, so a stopped simulator leaves no thread for long
    # Headers and body go out in two writes: with Nagle's algorithm on, the body waits for the
    # client's delayed ACK (~40 ms a call), which made thousands of calls crawl.
    disable_nagle_algorithm = True
    server: _Server

    def do_GET(self) -> None:  # noqa: N802 (name fixed by http.server)
        self._serve("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._serve("POST")

    def do_PUT(self) -> None:  # noqa: N802
        self._serve("PUT")

    def do_DELETE(self) -> None:  # noqa: N802
        self._serve("DELETE")

    def do_PATCH(self) -> None:  # noqa: N802
        self._serve("PATCH")

    def _serve(self, method: str) -> None:
        simulator = self.server.simulator
        path = urlsplit(self.path).path
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if not 0 <= length <= MAX_BODY_BYTES:
            self.close_connection = True  # the body cannot be skipped safely: end the connection
            reply = _bad_request("tiêu đề Content-Length không hợp lệ hoặc thân yêu cầu quá lớn").reply()
        else:
            body = self.rfile.read(length) if length else b""
            reply = simulator._portal.handle(method, self.path, self.headers, body, self.client_address[0])
        if reply.drop:
            # Nothing is written: http.server closes the socket after this, and the client sees the
            # connection end without a status line.
            self.close_connection = True
            simulator._record(method, path, 0, reply.fault)
            return
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(reply.body)))
        for name, value in reply.headers.items():
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        # Recorded before the body goes out: a client that has its answer finds the request logged.
        simulator._record(method, path, reply.status, reply.fault)
        self.wfile.write(reply.body)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass  # every request is logged once by PortalSimulator._record, with its fault

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (signature of http.server)
        log.debug("%s: " + format, self.address_string(), *args)


class PortalSimulator:
    """The portal on ``host:port`` (port 0: any free port), served from a daemon thread.

    The config dir is read once, here: later edits of monthly.csv need a new simulator.
    ``request_log`` gets ``(method, path, status)`` for every request answered; a dropped
    connection is recorded with status 0.
    """

    def __init__(
        self,
        config_dir: str | os.PathLike,
        host: str = "127.0.0.1",
        port: int = 0,
        faults: Faults | None = None,
        client_id: str | None = None,
        client_secret: str | None = None,
        token_ttl: float = 3600,
        post_listing: bool = True,
    ) -> None:
        self.config_dir = Path(config_dir)
        self.host = host
        self.port = port
        self.faults = faults or Faults()
        self.faults.validate()
        if (client_id is None) != (client_secret is None):
            raise ConfigError(
                "cần đặt cả client_id và client_secret (hoặc không đặt cả hai) cho trình giả lập"
            )
        if token_ttl <= 0:
            raise ConfigError(f"thời hạn mã truy cập phải lớn hơn 0 giây (nhận được {token_ttl})")
        self.auth_required = client_id is not None
        self.request_log: list[tuple[str, str, int]] = []
        self._log_lock = threading.Lock()
        self._portal = _Portal(
            _load(self.config_dir), self.faults, client_id, client_secret, token_ttl, post_listing
        )
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("trình giả lập chưa được khởi động (gọi start() trước)")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> str:
        if self._server is not None:
            return self.base_url
        try:
            server = _Server((self.host, self.port), _RequestHandler)
        except OSError as exc:
            raise ConfigError(f"không mở được cổng {self.host}:{self.port} cho trình giả lập: {exc}") from exc
        server.simulator = self
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.1}, name="portal-simulator", daemon=True
        )
        self._thread.start()
        return self.base_url

    def stop(self) -> None:
        server, thread = self._server, self._thread
        if server is None:
            return
        server.shutdown()
        server.server_close()
        if thread is not None:
            thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> PortalSimulator:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _record(self, method: str, path: str, status: int, fault: str | None) -> None:
        with self._log_lock:
            self.request_log.append((method, path, status))
        if fault:
            log.info("%s %s → %s (lỗi giả lập: %s)", method, path, status or "ngắt kết nối", fault)
        else:
            log.info("%s %s → %s", method, path, status)


# --- command line --------------------------------------------------------------------------------------


# Faults switched on for a share of the requests: option and what it does.
SHARE_FAULTS = {
    "--fault-429": ("share_429", "yêu cầu bị trả 429"),
    "--fault-5xx": ("share_5xx", "yêu cầu bị trả 500/502/503"),
    "--fault-drop": ("share_drop", "kết nối bị ngắt không trả lời"),
    "--fault-malformed": ("share_malformed", "câu trả lời 200 không phải JSON"),
    "--fault-truncated": ("share_truncated", "câu trả lời 200 bị cắt cụt"),
    "--fault-html": ("share_html", "câu trả lời 200 là trang lỗi HTML"),
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config-dir", required=True, help="thư mục cấu hình các cơ quan (có monthly.csv)")
    parser.add_argument("--host", default="127.0.0.1", help="địa chỉ lắng nghe (mặc định 127.0.0.1)")
    parser.add_argument(
        "--port", type=int, default=8765, help="cổng lắng nghe (mặc định 8765; 0: cổng trống bất kỳ)"
    )
    parser.add_argument("--client-id", help="bật OAuth2: client_id được cấp mã truy cập")
    parser.add_argument(
        "--client-secret",
        help=f"client_secret đi kèm --client-id (nên đặt qua biến môi trường {SECRET_ENV} thay vì dòng lệnh)",
    )
    parser.add_argument(
        "--token-ttl", type=float, default=3600, help="thời hạn mã truy cập, giây (mặc định 3600)"
    )
    parser.add_argument(
        "--no-post-listing",
        action="store_true",
        help="không phục vụ số tin bài theo đơn vị gốc (trả 404): máy khách phải hỏi từng đơn vị",
    )
    faults = parser.add_argument_group("lỗi giả lập (chỉ trên các đường dẫn /api/)")
    faults.add_argument(
        "--rate-limit", type=float, help="số yêu cầu tối đa mỗi giây của mỗi máy khách; vượt quá trả 429"
    )
    faults.add_argument(
        "--rate-limit-burst",
        type=int,
        metavar="N",
        help="số yêu cầu dồn tối đa của giới hạn tốc độ (mặc định: bằng --rate-limit, ít nhất 1)",
    )
    faults.add_argument(
        "--no-retry-after",
        action="store_true",
        help="429 do vượt giới hạn tốc độ không kèm tiêu đề Retry-After",
    )
    faults.add_argument(
        "--retry-after", type=int, default=1, help="giá trị Retry-After (giây) của 429 và 503"
    )
    for option, (_, what) in SHARE_FAULTS.items():
        faults.add_argument(option, type=float, default=0.0, metavar="TỶ_LỆ", help=f"tỷ lệ {what}")
    faults.add_argument(
        "--latency", type=float, default=0.0, metavar="GIÂY", help="độ trễ trước mỗi câu trả lời"
    )
    faults.add_argument(
        "--period-open", action="store_true", help="period-status luôn trả OPEN (kỳ chưa chốt)"
    )
    faults.add_argument(
        "--fail-first",
        type=int,
        default=0,
        metavar="N",
        help="N yêu cầu đầu tiên chắc chắn gặp một trong các lỗi theo tỷ lệ",
    )
    faults.add_argument(
        "--fault-only",
        action="append",
        metavar="ĐOẠN_ĐƯỜNG_DẪN",
        help="chỉ gây lỗi trên các đường dẫn /api/ chứa đoạn này (lặp lại được), ví dụ evaluation",
    )
    faults.add_argument(
        "--seed", type=int, default=0, help="hạt giống ngẫu nhiên của lỗi giả lập (mặc định 0)"
    )


def faults_from_args(args: argparse.Namespace) -> Faults:
    shares = {name: getattr(args, option[2:].replace("-", "_")) for option, (name, _) in SHARE_FAULTS.items()}
    return Faults(
        **shares,
        rate_limit=args.rate_limit,
        rate_limit_burst=args.rate_limit_burst,
        retry_after=args.retry_after,
        limit_retry_after=not args.no_retry_after,
        latency=args.latency,
        period_open=args.period_open,
        fail_first=args.fail_first,
        seed=args.seed,
        only_paths=tuple(args.fault_only or ()),
    )


def run_from_args(args: argparse.Namespace) -> int:
    secret = args.client_secret or settings.current().simulator_client_secret
    if args.client_secret and not args.client_id:
        raise ConfigError("--client-secret cần đi kèm --client-id")
    if args.client_id and not secret:
        raise ConfigError(f"--client-id cần --client-secret hoặc biến môi trường {SECRET_ENV}")
    if not args.client_id:
        secret = None  # a secret left in the environment alone does not turn authentication on
    simulator = PortalSimulator(
        args.config_dir,
        host=args.host,
        port=args.port,
        faults=faults_from_args(args),
        client_id=args.client_id,
        client_secret=secret,
        token_ttl=args.token_ttl,
        post_listing=not args.no_post_listing,
    )
    stopping = threading.Event()

    def on_signal(signum: int, _frame: Any) -> None:
        log.info("Nhận tín hiệu %s, đang dừng trình giả lập…", signal.Signals(signum).name)
        stopping.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        url = simulator.start()
        log.info(
            "Trình giả lập cổng DVC đang chạy tại %s (OAuth2: %s; lỗi giả lập: %s)",
            url,
            "bật" if simulator.auth_required else "tắt",
            simulator.faults.describe(),
        )
        # A timed wait keeps the main thread returning to the interpreter, where signal handlers run.
        while not stopping.wait(0.2):
            pass
    finally:
        simulator.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    log.info("Đã dừng trình giả lập cổng DVC")
    return 0


if __name__ == "__main__":
    import sys

    from cchc.core.errors import CchcError

    cli = argparse.ArgumentParser(
        prog="python -m cchc.portal.simulator", description="Trình giả lập cổng DVC"
    )
    add_arguments(cli)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        sys.exit(run_from_args(cli.parse_args()))
    except CchcError as exc:
        print(f"Lỗi: {exc}", file=sys.stderr)
        sys.exit(2)

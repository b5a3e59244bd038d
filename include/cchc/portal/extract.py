"""Extract stage: one authority's month from the portal (or an Excel export) into a tidy table.

The raw answers are landed first, byte for byte (see ``landing``), then joined into
the period folder's ``extracted/extracted.csv`` with one row per unit. Only the protocol is
checked here; business rules (digitised ≤ received, units missing from the registry, parent totals
equal to the sum of children) are the validation stage's job, so that every such problem is reported
together, by unit, instead of the first one stopping the run.
"""

from __future__ import annotations

import argparse
import logging
import os
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from cchc.core import options, settings
from cchc.core.authorities import Authority
from cchc.core.errors import ConfigError, ExtractError, PeriodNotClosed
from cchc.core.fields import COUNT_FIELDS, EXTRACT_COLUMNS
from cchc.core.files import atomic_write, atomic_write_json
from cchc.core.paths import PeriodFolder, inbox_file
from cchc.core.periods import Period
from cchc.portal.client import PortalClient
from cchc.portal.landing import Landing

log = logging.getLogger(__name__)

SOURCES = ("api", "excel")
COLUMNS = EXTRACT_COLUMNS
INT_COLUMNS = COUNT_FIELDS


@dataclass(frozen=True)
class SourceSettings:
    source: str
    inbox: Path | None


def source_settings(authority: Authority) -> SourceSettings:
    """Where an authority's figures come from: ``portal.source`` (api | excel) and ``portal.inbox``.

    A relative ``inbox`` is taken from the authority folder; without one,
    ``CCHC_INBOX_DIR`` (the deployment's drop folder) is used.
    """
    path = Path(authority.folder) / "authority.yaml"
    portal = authority.portal
    source = str(portal.get("source") or "api").strip().lower()
    if source not in SOURCES:
        raise ConfigError(f"{path}: portal.source '{source}' không hợp lệ (chỉ nhận {', '.join(SOURCES)})")
    inbox_value = portal.get("inbox")
    inbox: Path | None
    if inbox_value:
        inbox = Path(str(inbox_value)).expanduser()
        if not inbox.is_absolute():
            inbox = Path(authority.folder) / inbox
    else:
        inbox = settings.current().inbox_dir
    return SourceSettings(source=source, inbox=inbox)


@dataclass
class ExtractResult:
    path: Path
    rows: int
    units: int
    source: str
    landing: Path
    parent_totals: Path
    stats: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        """Small values only: the table itself goes to the next stage by path, never through XCom."""
        return {
            "path": str(self.path),
            "rows": self.rows,
            "units": self.units,
            "source": self.source,
            "landing": str(self.landing),
        }


def client_from_env(**overrides: Any) -> PortalClient:
    """A client from ``CCHC_PORTAL_URL``, ``CCHC_PORTAL_CLIENT_ID`` and ``CCHC_PORTAL_CLIENT_SECRET``."""
    current = settings.current()
    if not current.portal_url:
        raise ConfigError(f"chưa đặt biến môi trường {settings.PORTAL_URL} (địa chỉ Cổng dịch vụ công)")
    return PortalClient(
        current.portal_url,
        client_id=current.portal_client_id,
        client_secret=current.portal_client_secret,
        **{"rate_limit": current.portal_rate_limit, **overrides},
    )


def period_is_closed(authority: Authority, period: Period | str, client: PortalClient) -> bool:
    """For a sensor: True once the portal reports the period CLOSED (its figures are final)."""
    return client.period_status(authority.root_department_id, _period(period)) == "CLOSED"


def extract_period(
    authority: Authority,
    period: Period | str,
    output_dir: str | os.PathLike,
    client: PortalClient | None = None,
    run_id: str | None = None,
    source: str | None = None,
) -> ExtractResult:
    """Land and extract one authority's period; returns where the tidy table is."""
    period = _period(period)
    where_from = source_settings(authority)
    source = (source or where_from.source).lower()
    if source not in SOURCES:
        raise ConfigError(f"nguồn số liệu '{source}' không hợp lệ (chỉ nhận {', '.join(SOURCES)})")
    folder = PeriodFolder(Path(output_dir).resolve(), authority.id, period)
    run_id = run_id or f"manual__{uuid.uuid4().hex[:12]}"

    if source == "excel":
        landing, rows, totals, stats = _from_excel(authority, period, folder.root, where_from, run_id)
    else:
        owned = client is None
        client = client or client_from_env()
        try:
            landing, rows, totals, stats = _from_api(authority, period, folder.root, client, run_id)
        finally:
            if owned:
                client.close()

    table = _table(rows)
    path = folder.extracted_csv
    atomic_write(path, table.to_csv(index=False, lineterminator="\n"))
    totals_path = folder.parent_totals
    totals_doc = {
        "authority": authority.id,
        "period": str(period),
        "source": source,
        "root_department_id": authority.root_department_id,
        "landing": str(landing.dir),
        "run_id": run_id,
        **totals,
    }
    atomic_write_json(totals_path, totals_doc)

    result = ExtractResult(
        path=path,
        rows=len(table),
        units=int(table["unit_code"].nunique()),
        source=source,
        landing=landing.dir,
        parent_totals=totals_path,
        stats=stats,
    )
    log.info(
        "%s kỳ %s: trích xuất %d dòng, %d đơn vị từ nguồn %s; %d lượt gọi, %d lần thử lại; "
        "dữ liệu thô ở %s, bảng chuẩn ở %s",
        authority.id,
        period,
        result.rows,
        result.units,
        source,
        stats.get("requests", 0),
        stats.get("retries", 0),
        landing.dir,
        path,
    )
    return result


def _from_api(
    authority: Authority, period: Period, period_dir: Path, client: PortalClient, run_id: str
) -> tuple[Landing, list[dict], dict, dict]:
    landing = Landing(period_dir, run_id=run_id)
    previous = client.on_response

    def on_response(*args: Any) -> None:
        # Landing comes first: whatever the caller also listens for, the bytes are on disk already.
        landing.record(*args)
        if previous is not None:
            previous(*args)

    bound = client.bind(on_response)
    root = authority.root_department_id
    status = bound.period_status(root, period)
    if status != "CLOSED":
        raise PeriodNotClosed(
            f"{authority.id} ({authority.name}): kỳ {period.label} chưa khóa sổ trên Cổng dịch vụ công "
            f"(trạng thái {status}); số liệu còn có thể thay đổi"
        )
    dossier_parent, dossier = bound.dossier_digitized(root, period)
    payment_parent, payment = bound.online_payment(root, period)
    email_parent, email = bound.official_email(root, period)

    order: dict[str, None] = {}
    for children in (dossier, payment, email):
        for child in children:
            order.setdefault(child["id"], None)
    known = set(authority.unit_codes)
    # Registry order first (the portal uses it too); codes the registry does not know are kept at
    # the end, in the portal's order, for the validation stage to report.
    codes = [c for c in authority.unit_codes if c in order] + [c for c in order if c not in known]
    posts = bound.post_counts(codes, period, root_id=root, missing_ok=True)

    by_id = {
        "dossier": {c["id"]: c for c in dossier},
        "payment": {c["id"]: c for c in payment},
        "email": {c["id"]: c for c in email},
    }
    rows = []
    for code in codes:
        d, p, e = by_id["dossier"].get(code, {}), by_id["payment"].get(code, {}), by_id["email"].get(code, {})
        rows.append(
            {
                "authority": authority.id,
                "period": str(period),
                "unit_code": code,
                "received": d.get("received"),
                "received_digitized": d.get("received_digitized"),
                "resolved": d.get("resolved"),
                "resolved_digitized": d.get("resolved_digitized"),
                "fee_dossiers": p.get("fee_dossiers"),
                "paid_online": p.get("paid_online"),
                "web_posts": posts.get(code),
                "official_email_regular": e.get("official_email_regular"),
                "source": "api",
            }
        )
    totals = {
        "dossier_digitized": dossier_parent,
        "online_payment": payment_parent,
        "official_email": email_parent,
        "children": {
            "dossier_digitized": len(dossier),
            "online_payment": len(payment),
            "official_email": len(email),
        },
    }
    stats = bound.stats.as_dict()
    return landing, rows, totals, stats


def excel_path(inbox: Path, authority: Authority, period: Period) -> Path:
    return inbox_file(inbox, authority.id, period)


def _from_excel(
    authority: Authority, period: Period, period_dir: Path, settings: SourceSettings, run_id: str
) -> tuple[Landing, list[dict], dict, dict]:
    from cchc.portal import excel

    if settings.inbox is None:
        raise ConfigError(
            f"{authority.id}: nguồn số liệu là excel nhưng chưa có thư mục nhận tệp "
            "(portal.inbox trong authority.yaml hoặc biến môi trường CCHC_INBOX_DIR)"
        )
    source_path = excel_path(settings.inbox, authority, period)
    if not source_path.is_file():
        raise ExtractError(
            f"{authority.id} kỳ {period.label}: không tìm thấy tệp Excel xuất từ hệ thống giải quyết TTHC "
            f"tại {source_path}"
        )
    landing = Landing(period_dir, run_id=run_id)
    # Read the landed copy, not the inbox file: what was read is then exactly what was kept.
    copy = landing.land_file(source_path, params={"authority": authority.id, "period": str(period)})
    records = excel.read_export(copy, authority, period)
    rows = []
    for record in records:
        row = {"authority": authority.id, "period": str(period), "unit_code": record["unit_code"]}
        for column in INT_COLUMNS:
            row[column] = record.get(column)
        row["official_email_regular"] = record.get("official_email_regular")
        row["source"] = "excel"
        rows.append(row)
    # An export has no portal totals to compare with: the validator skips that check.
    totals = {"dossier_digitized": None, "online_payment": None, "official_email": None, "children": None}
    return landing, rows, totals, {"requests": 0, "retries": 0, "files": 1}


def _table(rows: list[dict]) -> pd.DataFrame:
    table = pd.DataFrame(rows, columns=list(COLUMNS))
    for column in INT_COLUMNS:
        # Nullable integers: a count the portal did not give stays empty, never 0 and never 3.0.
        table[column] = pd.array(table[column].tolist(), dtype="Int64")
    table["official_email_regular"] = pd.array(table["official_email_regular"].tolist(), dtype="boolean")
    return table


def read_extracted(path: str | os.PathLike) -> pd.DataFrame:
    """The tidy table back, with the same dtypes it was written with."""
    table = pd.read_csv(
        path,
        dtype={"authority": str, "period": str, "unit_code": str, "source": str},
        keep_default_na=False,
        na_values=[""],
    )
    for column in INT_COLUMNS:
        table[column] = table[column].astype("Int64")
    table["official_email_regular"] = (
        table["official_email_regular"]
        .map({True: True, False: False, "True": True, "False": False})
        .astype("boolean")
    )
    return table


def _period(value: Period | str) -> Period:
    return value if isinstance(value, Period) else Period.parse(str(value))


# ------------------------------------------------------------------------------------------ CLI


def add_arguments(parser: argparse.ArgumentParser) -> None:
    options.add_scope(parser, output_dir=True)
    parser.add_argument(
        "--portal-url",
        default=None,
        help="địa chỉ Cổng dịch vụ công (mặc định: biến môi trường CCHC_PORTAL_URL)",
    )
    parser.add_argument(
        "--client-id",
        default=None,
        help="client_id OAuth2 (mặc định: CCHC_PORTAL_CLIENT_ID); client secret chỉ lấy từ "
        "biến môi trường CCHC_PORTAL_CLIENT_SECRET",
    )
    parser.add_argument(
        "--source",
        choices=SOURCES,
        default=None,
        help="bỏ qua portal.source trong authority.yaml: lấy từ api hoặc excel",
    )
    parser.add_argument("--max-workers", type=int, default=4, help="số yêu cầu song song tối đa (mặc định 4)")
    parser.add_argument(
        "--rate-limit",
        type=float,
        default=None,
        help="số yêu cầu tối đa mỗi giây phía máy khách, mọi luồng cộng lại (mặc định: CCHC_PORTAL_RATE_LIMIT)",
    )
    parser.add_argument("--run-id", default=None, help="mã lần chạy ghi vào manifest dữ liệu thô")


def run_from_args(args: argparse.Namespace) -> int:
    period = options.period(args)
    output_dir = options.output_dir(args)
    authorities = options.authorities(args)

    client: PortalClient | None = None
    needs_api = any((args.source or source_settings(a).source) == "api" for a in authorities)
    if needs_api:
        current = settings.current()
        url = args.portal_url or current.portal_url
        if not url:
            raise ConfigError(
                f"chưa có địa chỉ Cổng dịch vụ công: dùng --portal-url hoặc biến môi trường {settings.PORTAL_URL}"
            )
        client_id = args.client_id or current.portal_client_id
        secret = current.portal_client_secret
        if client_id and not secret:
            raise ConfigError(f"có client_id nhưng chưa đặt biến môi trường {settings.PORTAL_CLIENT_SECRET}")
        client = PortalClient(
            url,
            client_id=client_id,
            client_secret=secret if client_id else None,
            max_workers=args.max_workers,
            rate_limit=args.rate_limit or current.portal_rate_limit,
        )
    try:
        for authority in authorities:
            result = extract_period(
                authority, period, output_dir, client=client, run_id=args.run_id, source=args.source
            )
            print(
                f"{authority.id} kỳ {period}: {result.rows} dòng, {result.units} đơn vị (nguồn {result.source})\n"
                f"  bảng chuẩn: {result.path}\n"
                f"  dữ liệu thô: {result.landing}"
            )
    finally:
        if client is not None:
            client.close()
    return 0

"""What the "Báo cáo CCHC" pages show, read from the warehouse and the period folder (no Airflow here).

Every function takes the engine, the output folder and an authority id already checked against the
user's access (``cchc.ui.access``); each returns plain dicts and lists that the templates print. The
figures are those the letter prints: the rates come from the decisions document the letter was
written from (``decision_runs.document``, the same as ``decisions.json``) and are formatted with
``cchc.core.percent``, so the page and the letter never disagree.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from cchc.core.authorities import Authority, list_authority_ids, load_authority
from cchc.core.fields import METRIC_FIELDS, METRIC_LABELS, RATE_METRICS
from cchc.core.paths import PeriodFolder
from cchc.core.percent import format_change, format_decimal, shown_percent
from cchc.core.periods import Period
from cchc.core.wording import document_number_text, ordinal
from cchc.warehouse.schema import (
    current_facts,
    decision_runs,
    decisions,
    deliveries,
    letter_events,
    letters,
    units,
)

UNDEFINED = "—"
"""An undefined rate (no dossiers): never 0%."""

KIND_LABELS = {
    "department": "Phòng, ban chuyên môn",
    "vertical_agency": "Cơ quan ngành dọc",
    "commune": "Xã",
    "township": "Thị trấn",
}
DECISION_LABELS = {
    "commend": "Biểu dương",
    "remind": "Nhắc nhở",
    "criticise": "Phê bình",
    "request": "Yêu cầu",
    "directives": "Giao nhiệm vụ",
}
REASON_LABELS = {
    "low_month": "tỷ lệ tháng dưới ngưỡng",
    "low_ytd": "tỷ lệ lũy kế dưới ngưỡng",
    "low_campaign": "tỷ lệ từ đầu đợt dưới chỉ tiêu",
}
WINDOW_LABELS = {"month": "tháng", "ytd": "lũy kế năm", "campaign": "từ đầu đợt"}
DELIVERY_LABELS = {
    "sent": "đã gửi",
    "failed": "lỗi",
    "unknown": "không rõ",
    "pending": "chờ gửi",
    "sending": "đang gửi",
    "replaced": "đã thay bằng địa chỉ mới",
}
DELIVERY_KIND_LABELS = {"normal": "gửi chính thức", "resend": "gửi lại", "test": "gửi thử"}
LETTER_LABELS = {
    "draft": "Bản thảo",
    "waiting": "Chờ duyệt",
    "approved": "Đã duyệt, chờ cấp số",
    "rejected": "Bị từ chối",
    "discarded": "Đã thay bằng bản thảo mới",
    "issued": "Đã cấp số, chưa gửi",
    "sending": "Đang gửi",
    "sent": "Đã gửi",
    "partly_sent": "Gửi chưa đủ",
    "superseded": "Đã được thay thế",
}
LETTERS_DAG = "cchc_letters"
MONTHLY_DAG = "cchc_monthly"


# --------------------------------------------------------------------------- authorities and periods


@dataclass(frozen=True)
class Place:
    """Where the pages read: the configuration (authorities) and the output folder (artefacts)."""

    config_dir: Path
    output_dir: Path

    def authority_ids(self) -> list[str]:
        return list_authority_ids(self.config_dir)

    def authority(self, authority_id: str) -> Authority:
        return load_authority(self.config_dir / authority_id)

    def folder(self, authority_id: str, period: str) -> PeriodFolder:
        return PeriodFolder(self.output_dir, authority_id, period)


def periods(engine: Engine, authority_id: str) -> list[str]:
    """The periods of an authority with a letter or decisions, newest first."""
    with engine.connect() as conn:
        found = {
            str(p)
            for (p,) in conn.execute(
                sa.select(letters.c.period).where(letters.c.authority_id == authority_id).distinct()
            )
        }
        found |= {
            str(p)
            for (p,) in conn.execute(
                sa.select(decision_runs.c.period)
                .where(decision_runs.c.authority_id == authority_id)
                .distinct()
            )
        }
    return sorted(found, reverse=True)


def has_letter(engine: Engine, authority_id: str) -> bool:
    with engine.connect() as conn:
        found = conn.execute(
            sa.select(letters.c.letter_id).where(letters.c.authority_id == authority_id).limit(1)
        ).first()
    return found is not None


def latest_letter_period(engine: Engine, authority_id: str) -> str | None:
    """The latest period with a letter (the page's default), else the latest decided one."""
    with engine.connect() as conn:
        period = conn.execute(
            sa.select(sa.func.max(letters.c.period)).where(letters.c.authority_id == authority_id)
        ).scalar()
    if period:
        return str(period)
    found = periods(engine, authority_id)
    return found[0] if found else None


# --------------------------------------------------------------------------- rates as the letter shows them


def rate_text(shown: Any) -> str:
    """'97,67%' (the letter's format), '—' when undefined."""
    if shown is None or shown == "":
        return UNDEFINED
    return f"{format_decimal(Decimal(str(shown)))}%"


def _judge(metric: str, window: str, shown: Any, targets: Mapping[str, Any]) -> str:
    """good / mid / bad / none: the colour of a rate against the rulebook's bars, as the letter judges
    it (the shown, rounded rate compared with the bar: at or above passes)."""
    if shown is None:
        return "none"
    value = Decimal(str(shown))

    def bar(key: str) -> Decimal | None:
        raw = targets.get(key)
        return None if raw in (None, "") else Decimal(str(raw))

    if metric == "payment":
        target = bar("payment_target")
        if window == "ytd" or target is None:
            return "plain"
        return "good" if value >= target else "bad"
    low = bar("low_month" if window == "month" else "low_ytd")
    if low is not None and value < low:
        return "bad"
    if window == "month":
        commend = bar(f"commend_{metric}")
        if commend is not None and value >= commend:
            return "good"
        return "mid"
    return "plain"


def _decision_text(decision: Mapping[str, Any]) -> str:
    kind = str(decision.get("kind"))
    parts = [f"{DECISION_LABELS.get(kind, kind)} (mục {decision.get('section')})"]
    if decision.get("metric"):
        parts.append(METRIC_LABELS.get(str(decision["metric"]), str(decision["metric"])).lower())
    if decision.get("reason"):
        parts.append(REASON_LABELS.get(str(decision["reason"]), str(decision["reason"])))
    if decision.get("count"):
        count = int(decision["count"])
        parts.append(ordinal(count) or "lần thứ nhất")
    return ", ".join(parts)


def document(engine: Engine, authority_id: str, period: str) -> dict[str, Any] | None:
    """The period's current decisions document (what decisions.json holds), or None if not decided."""
    with engine.connect() as conn:
        value = conn.execute(
            sa.select(decision_runs.c.document).where(
                decision_runs.c.authority_id == authority_id,
                decision_runs.c.period == period,
                decision_runs.c.is_current,
            )
        ).scalar()
    if value is None:
        return None
    return json.loads(value) if isinstance(value, str) else dict(value)


UNIT_COLUMNS = [
    ("receipt", "month"),
    ("receipt", "ytd"),
    ("result", "month"),
    ("result", "ytd"),
    ("payment", "month"),
    ("payment", "campaign"),
]
SORT_KEYS = ("position", "name", "kind", "posts", *(f"{m}_{w}" for m, w in UNIT_COLUMNS))


def unit_rows(
    doc: Mapping[str, Any],
    *,
    kind: str | None = None,
    section: str | None = None,
    sort: str = "position",
    descending: bool = False,
) -> list[dict[str, Any]]:
    """One row per unit of the decisions document: rates (text and colour), posts, decisions.

    ``kind`` keeps the units of that kind; ``section`` those with a decision in that section of the
    letter ("2" keeps 2.1, 2.2, 2.3). ``sort`` is one of ``SORT_KEYS``; undefined rates sort last.
    """
    targets = doc.get("targets") or {}
    rows = []
    for position, (code, unit) in enumerate((doc.get("units") or {}).items(), start=1):
        figures = unit.get("figures") or {}
        cells = {}
        for metric, window in [*UNIT_COLUMNS, ("receipt", "campaign"), ("result", "campaign")]:
            figure = (figures.get(metric) or {}).get(window) or {}
            shown = figure.get("shown")
            cells[f"{metric}_{window}"] = {
                "shown": None if shown is None else Decimal(str(shown)),
                "text": rate_text(shown),
                "judge": _judge(metric, window, shown, targets),
                "numerator": figure.get("numerator"),
                "denominator": figure.get("denominator"),
            }
        posts = (figures.get("posts") or {}).get("month")
        required = (figures.get("posts") or {}).get("required", targets.get("posts_required"))
        unit_decisions = list(unit.get("decisions") or [])
        rows.append(
            {
                "code": code,
                "name": unit.get("name") or code,
                "kind": unit.get("kind"),
                "kind_label": KIND_LABELS.get(str(unit.get("kind")), str(unit.get("kind"))),
                "position": position,
                "cells": cells,
                "posts": posts,
                "posts_required": required,
                "posts_judge": "none"
                if posts is None
                else ("bad" if required is not None and int(posts) < int(required) else "good"),
                "decisions": [_decision_text(d) for d in unit_decisions],
                "sections": sorted({str(d.get("section")) for d in unit_decisions}),
            }
        )
    if kind:
        rows = [r for r in rows if r["kind"] == kind]
    if section:
        rows = [r for r in rows if any(s == section or s.startswith(section + ".") for s in r["sections"])]
    sort = sort if sort in SORT_KEYS else "position"
    if sort in ("position", "name", "kind"):
        rows.sort(key=lambda r: str(r[sort]) if sort != "position" else r[sort], reverse=descending)
    elif sort == "posts":
        defined = [r for r in rows if r["posts"] is not None]
        rows = sorted(defined, key=lambda r: int(r["posts"]), reverse=descending) + [
            r for r in rows if r["posts"] is None
        ]
    else:
        defined = [r for r in rows if r["cells"][sort]["shown"] is not None]
        rows = sorted(defined, key=lambda r: r["cells"][sort]["shown"], reverse=descending) + [
            r for r in rows if r["cells"][sort]["shown"] is None
        ]
    return rows


def authority_row(
    engine: Engine, authority: Authority, period: str, doc: Mapping[str, Any]
) -> dict[str, Any] | None:
    """The authority-wide row of the units table (Σ of every unit's counts, from the stored rates)."""
    from cchc.warehouse.rates import index_rates, read_rates
    from cchc.warehouse.schema import AUTHORITY_TOTAL

    index = index_rates(
        [r for r in read_rates(engine, authority.id, period) if r["unit_code"] == AUTHORITY_TOTAL]
    )
    if not index:
        return None
    targets = doc.get("targets") or {}
    cells = {}
    for metric, window in [*UNIT_COLUMNS, ("receipt", "campaign"), ("result", "campaign")]:
        row = index.get((AUTHORITY_TOTAL, metric, window)) or {}
        shown = row.get("shown")
        cells[f"{metric}_{window}"] = {
            "shown": shown,
            "text": rate_text(shown),
            "judge": _judge(metric, window, shown, targets),
            "numerator": row.get("numerator"),
            "denominator": row.get("denominator"),
        }
    posts = (index.get((AUTHORITY_TOTAL, "posts", "month")) or {}).get("numerator")
    return {
        "code": AUTHORITY_TOTAL,
        "name": f"Toàn {authority.name}",
        "kind": "",
        "kind_label": "",
        "position": "",
        "cells": cells,
        "posts": posts,
        "posts_required": None,
        "posts_judge": "plain",
        "decisions": [],
        "sections": [],
    }


def sections_of(doc: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The letter's sections with how many units each names: [{number, kind, label, units}]."""
    out = []
    for section in doc.get("sections") or []:
        kind = str(section.get("kind"))
        named: set[str] = set()
        for group in section.get("groups") or []:
            named.update(group.get("units") or [])
        for entry in section.get("entries") or []:
            named.add(str(entry.get("unit")))
        for sub in section.get("subsections") or []:
            sub_named: set[str] = set()
            for group in sub.get("groups") or []:
                sub_named.update(str(e.get("unit")) for e in group.get("entries") or [])
            out.append(
                {
                    "number": str(sub.get("number")),
                    "kind": kind,
                    "label": f"{DECISION_LABELS.get(kind, kind)} — "
                    f"{METRIC_LABELS.get(str(sub.get('metric')), str(sub.get('metric')))}",
                    "units": len(sub_named),
                }
            )
            named |= sub_named
        if not section.get("subsections"):
            label = DECISION_LABELS.get(kind, kind)
            if section.get("ordinal"):
                label = f"{label} {section['ordinal']}"
            out.append(
                {
                    "number": str(section.get("number")),
                    "kind": kind,
                    "label": label,
                    "units": len(named) if kind != "directives" else None,
                }
            )
    return out


def totals_of(doc: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The authority-wide rates of the month and their change against last month, as printed."""
    out = []
    totals = doc.get("totals") or {}
    for metric in RATE_METRICS:
        total = totals.get(metric) or {}
        change = total.get("change")
        out.append(
            {
                "metric": metric,
                "label": METRIC_LABELS[metric],
                "text": rate_text(total.get("shown")),
                "previous": rate_text(total.get("previous_shown")),
                "change": total.get("change_text")
                or format_change(None if change is None else Decimal(str(change))),
                "numerator": total.get("numerator"),
                "denominator": total.get("denominator"),
            }
        )
    posts = (totals.get("posts") or {}).get("numerator")
    out.append(
        {
            "metric": "posts",
            "label": METRIC_LABELS["posts"],
            "text": UNDEFINED if posts is None else str(posts),
            "previous": "",
            "change": "",
            "numerator": posts,
            "denominator": None,
        }
    )
    return out


# --------------------------------------------------------------------------- letters and deliveries


def _local(value: Any) -> Any:
    """A stored time in Vietnam's time (SQLite gives it back without a zone: it was stored in UTC)."""
    from datetime import UTC

    from cchc.core.periods import TIMEZONE

    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(TIMEZONE)


def _date(value: Any) -> str:
    if value is None:
        return ""
    return _local(value).strftime("%d/%m/%Y")


def _time(value: Any) -> str:
    if value is None:
        return ""
    return _local(value).strftime("%d/%m/%Y %H:%M")


def period_letters(engine: Engine, authority: Authority, period: str) -> list[dict[str, Any]]:
    """Every letter of the period, newest first, with its state as the operator reads it."""
    from cchc.delivery.recipients import distribution_config

    needs_approval = distribution_config(authority).require_approval
    with engine.connect() as conn:
        rows = [
            dict(r)
            for r in conn.execute(
                sa.select(letters)
                .where(letters.c.authority_id == authority.id, letters.c.period == period)
                .order_by(letters.c.letter_id.desc())
            ).mappings()
        ]
        events: dict[int, list[dict[str, Any]]] = {}
        if rows:
            for event in conn.execute(
                sa.select(letter_events)
                .where(letter_events.c.letter_id.in_([r["letter_id"] for r in rows]))
                .order_by(letter_events.c.event_id)
            ).mappings():
                events.setdefault(int(event["letter_id"]), []).append(dict(event))
    out = []
    for row in rows:
        status = str(row["status"])
        shown = "waiting" if status == "draft" and needs_approval else status
        number = (
            document_number_text(int(row["document_number"]), authority.document_symbol)
            if row["document_number"]
            else None
        )
        label = LETTER_LABELS.get(shown, status)
        if number and status in ("issued", "sending", "sent", "partly_sent", "superseded"):
            label = f"{label} — số {number}, ngày {_date(row['issued_at'])}"
        out.append(
            {
                **row,
                "state": shown,
                "label": label,
                "number": number,
                "issued_on": _date(row["issued_at"]),
                "events": [
                    {
                        "state": LETTER_LABELS.get(str(e["state"]), str(e["state"])),
                        "actor": e["actor"],
                        "reason": e["reason"] or "",
                        "at": _time(e["at"]),
                        "run_id": e["run_id"] or "",
                    }
                    for e in events.get(int(row["letter_id"]), [])
                ],
            }
        )
    return out


def main_letter(all_letters: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The letter the period stands on: the one that went out and stands, else the current one."""
    for row in all_letters:
        if row["status"] in ("issued", "sending", "sent", "partly_sent"):
            return row
    for row in all_letters:
        if row["is_current"]:
            return row
    return all_letters[0] if all_letters else None


def delivery_rows(engine: Engine, letter_id: int) -> list[dict[str, Any]]:
    """Every ledger row of a letter (dry runs included), in the order they were planned."""
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(deliveries)
            .where(deliveries.c.letter_id == letter_id)
            .order_by(deliveries.c.delivery_id)
        ).mappings()
        return [
            {
                **dict(r),
                "state_label": DELIVERY_LABELS.get(str(r["state"]), str(r["state"])),
                "kind_label": DELIVERY_KIND_LABELS.get(str(r["kind"]), str(r["kind"])),
                "time": _time(r["sent_at"] or r["last_attempt_at"] or r["updated_at"]),
                "smtp": " ".join(str(x) for x in (r["smtp_code"], r["smtp_answer"]) if x not in (None, "")),
            }
            for r in rows
        ]


DELIVERY_COUNTS = ("sent", "failed", "unknown", "pending", "in_progress")


def delivery_counts(rows: list[dict[str, Any]]) -> dict[str, int]:
    """sent / failed / unknown / pending / in_progress (sending) of the real deliveries (no dry runs)."""
    counts = dict.fromkeys(DELIVERY_COUNTS, 0)
    for row in rows:
        if row["kind"] == "test" or row["state"] == "replaced":
            continue
        key = "in_progress" if row["state"] == "sending" else str(row["state"])
        if key in counts:
            counts[key] += 1
    return counts


def distribution_problems(
    engine: Engine, authority: Authority, letter_id: int, output_dir: Path
) -> dict[str, Any]:
    """Units without an email and addresses outside the allowed domains (what a distribution refuses)."""
    from cchc.delivery.preview import distribution_preview

    try:
        preview = distribution_preview(engine, authority, letter_id, output_dir=output_dir)
    except Exception as exc:  # noqa: BLE001 - the page still shows the ledger
        return {"missing_email": [], "refused": [], "error": str(exc)}
    return {"missing_email": preview["missing_email"], "refused": preview["refused"], "error": None}


# --------------------------------------------------------------------------- validation, revision


def validation(folder: PeriodFolder) -> dict[str, Any] | None:
    """The latest validation of the period (``validation/result.json``): success, failures, warnings."""
    path = folder.validation_result
    if not path.is_file():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    summary = data.get("summary") or {}

    def items(key: str) -> list[dict[str, Any]]:
        return [
            {
                "message": i.get("message") or "",
                "units": ", ".join(i.get("units") or []),
                "fields": ", ".join(i.get("fields") or []),
                "check": i.get("check") or "",
            }
            for i in data.get(key) or []
        ]

    return {
        "success": bool(summary.get("success")),
        "source": summary.get("source"),
        "rows": summary.get("rows"),
        "critical": items("critical"),
        "warnings": items("warnings"),
        "validated_at": data.get("validated_at"),
    }


def revision_report(folder: PeriodFolder, standing_letter_id: int | None) -> dict[str, Any] | None:
    """The revision report of the letter that stands (figures changed after it went out), if any."""
    path = folder.revision_json
    if not path.is_file():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    if standing_letter_id is not None and int(data.get("letter_id") or 0) != standing_letter_id:
        return None  # about an earlier letter, since re-issued
    return {"lines": list(data.get("lines") or []), "document_number": data.get("document_number")}


# --------------------------------------------------------------------------- artefacts (the allow-list)


@dataclass(frozen=True)
class Artefact:
    key: str
    label: str
    path: Path
    media_type: str
    filename: str


MEDIA = {
    ".pdf": "application/pdf",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".png": "image/png",
    ".json": "application/json",
    ".jsonl": "application/x-ndjson",
    ".html": "text/html; charset=utf-8",
    ".css": "text/css",
    ".js": "text/javascript",
    ".svg": "image/svg+xml",
    ".woff": "font/woff",
    ".woff2": "font/woff2",
    ".ttf": "font/ttf",
    ".ico": "image/x-icon",
    ".jpg": "image/jpeg",
    ".gif": "image/gif",
    ".csv": "text/csv; charset=utf-8",
}


def media_type(path: Path) -> str:
    return MEDIA.get(path.suffix.lower(), "application/octet-stream")


def _inside(path: Path, root: Path) -> bool:
    """A regular file, not a symlink, whose real path lies under ``root``'s real path."""
    try:
        if path.is_symlink() or not path.is_file():
            return False
        return path.resolve(strict=True).is_relative_to(root.resolve(strict=True))
    except (OSError, RuntimeError):
        return False


def latest_manifest(folder: PeriodFolder) -> Path | None:
    """The raw landing's manifest of the latest extraction (raw/NNN/manifest.jsonl)."""
    from cchc.core.paths import MANIFEST_NAME

    if not folder.raw_dir.is_dir():
        return None
    landings = sorted(p for p in folder.raw_dir.iterdir() if p.is_dir() and p.name.isdigit())
    for landing in reversed(landings):
        manifest = landing.joinpath(MANIFEST_NAME)
        if manifest.is_file():
            return manifest
    return None


def artefacts(
    place: Place, main: Mapping[str, Any] | None, authority_id: str, period: str
) -> dict[str, Artefact]:
    """The files of one authority's period the page links to, by key: the only files it serves.

    The letter is the one the period stands on (the issued, numbered files; else the current draft).
    Each path comes from the warehouse or the period folder, never from the request, and must be a
    regular file under the period folder.
    """
    folder = place.folder(authority_id, period)
    found: dict[str, tuple[str, Path | None]] = {}
    stem = f"cong-van-{authority_id}-{period}"
    if main is not None:
        for key, column in (("letter-pdf", "pdf_path"), ("letter-docx", "docx_path")):
            stored = main.get(column)
            found[key] = (
                "Công văn (PDF)" if key == "letter-pdf" else "Công văn (Word)",
                folder.resolve(stored) if stored else None,
            )
        chart = folder.letter_dir(int(main["letter_id"])).joinpath(folder.annex_chart.name)
        found["annex-chart"] = ("Biểu đồ phụ lục", chart if chart.is_file() else folder.annex_chart)
    found["decisions"] = ("Quyết định (decisions.json)", folder.decisions_json)
    found["revision"] = ("Báo cáo thay đổi số liệu (revision.json)", folder.revision_json)
    found["manifest"] = ("Nhật ký phản hồi gốc của cổng (manifest.jsonl)", latest_manifest(folder))
    found["validation-result"] = ("Kết quả kiểm tra (result.json)", folder.validation_result)
    out = {}
    names = {
        "letter-pdf": f"{stem}.pdf",
        "letter-docx": f"{stem}.docx",
        "annex-chart": f"bieu-do-{authority_id}-{period}.png",
    }
    for key, (label, path) in found.items():
        if path is not None and _inside(path, folder.root):
            out[key] = Artefact(key, label, path, media_type(path), names.get(key, path.name))
    return out


def data_docs_files(folder: PeriodFolder) -> dict[str, Path]:
    """Every file of the period's Data Docs by its path relative to the validation folder."""
    root = folder.validation_dir
    if not root.is_dir():
        return {}
    out = {}
    for dirpath, _dirs, files in os.walk(root, followlinks=False):
        for name in files:
            path = Path(dirpath, name)
            if _inside(path, root):
                out[path.relative_to(root).as_posix()] = path
    return out


# --------------------------------------------------------------------------- one unit's trend


def unit_trend(engine: Engine, authority: Authority, code: str, period: str) -> dict[str, Any] | None:
    """The unit's month rates from January to ``period`` (from the stored facts), its past decisions and
    the letters it received; None when the unit is unknown."""
    end = Period.parse(period)
    months = end.months_since(Period(end.year, 1))
    with engine.connect() as conn:
        unit = (
            conn.execute(
                sa.select(units)
                .where(units.c.authority_id == authority.id, units.c.code == code)
                .order_by(units.c.valid_from.desc())
            )
            .mappings()
            .first()
        )
        if unit is None:
            return None
        facts = {
            str(r["period"]): dict(r)
            for r in conn.execute(
                sa.select(current_facts).where(
                    current_facts.c.authority_id == authority.id,
                    current_facts.c.unit_code == code,
                    current_facts.c.period.between(str(months[0]), str(end)),
                )
            ).mappings()
        }
        past = [
            dict(r)
            for r in conn.execute(
                sa.select(decisions)
                .where(decisions.c.authority_id == authority.id, decisions.c.unit_code == code)
                .order_by(decisions.c.period.desc(), decisions.c.position)
            ).mappings()
        ]
        received = [
            dict(r)
            for r in conn.execute(
                sa.select(
                    deliveries.c.period,
                    deliveries.c.state,
                    deliveries.c.kind,
                    deliveries.c.recipient,
                    deliveries.c.sent_at,
                    deliveries.c.unit_codes,
                    letters.c.document_number,
                    letters.c.status,
                    letters.c.letter_id,
                )
                .join(letters, letters.c.letter_id == deliveries.c.letter_id)
                .where(deliveries.c.authority_id == authority.id, deliveries.c.kind != "test")
                .order_by(deliveries.c.period.desc(), deliveries.c.delivery_id)
            ).mappings()
            if code in str(r["unit_codes"]).split(",")
        ]
    series = []
    for month in months:
        row = facts.get(str(month))
        point: dict[str, Any] = {"period": str(month), "label": month.label}
        for metric in RATE_METRICS:
            num, den = METRIC_FIELDS[metric]
            shown = shown_percent(int(row[num]), int(row[den])) if row else None
            point[metric] = shown
            point[f"{metric}_text"] = rate_text(shown)
        point["posts"] = int(row["web_posts"]) if row else None
        series.append(point)
    return {
        "code": code,
        "name": unit["name"],
        "kind_label": KIND_LABELS.get(str(unit["kind"]), str(unit["kind"])),
        "series": series,
        "decisions": [{"period": d["period"], "text": _decision_text(d)} for d in past],
        "letters": [
            {
                "period": r["period"],
                "number": document_number_text(int(r["document_number"]), authority.document_symbol)
                if r["document_number"]
                else "chưa cấp số",
                "letter_state": LETTER_LABELS.get(str(r["status"]), str(r["status"])),
                "state": DELIVERY_LABELS.get(str(r["state"]), str(r["state"])),
                "kind": DELIVERY_KIND_LABELS.get(str(r["kind"]), str(r["kind"])),
                "recipient": r["recipient"],
                "time": _time(r["sent_at"]),
            }
            for r in received
        ],
    }


CHART_WIDTH, CHART_HEIGHT = 720, 300
CHART_COLOURS = {"receipt": "#1f6fb2", "result": "#2e8b57", "payment": "#c0392b"}


def trend_chart(series: list[dict[str, Any]], targets: Mapping[str, Any]) -> dict[str, Any]:
    """The trend chart's geometry (the template draws it as inline SVG): a polyline per metric over
    the months, 0–100%, and a dashed line per target of the rulebook."""
    left, right, top, bottom = 48, 16, 16, 40
    width = CHART_WIDTH - left - right
    height = CHART_HEIGHT - top - bottom
    n = max(len(series), 1)

    def x(i: int) -> float:
        return round(left + (width * (i + 0.5) / n), 1)

    def y(value: Decimal) -> float:
        return round(top + height * (1 - float(value) / 100), 1)

    lines = []
    for metric in RATE_METRICS:
        points = [(x(i), y(p[metric])) for i, p in enumerate(series) if p[metric] is not None]
        lines.append(
            {
                "metric": metric,
                "label": METRIC_LABELS[metric],
                "colour": CHART_COLOURS[metric],
                "points": " ".join(f"{a},{b}" for a, b in points),
                "dots": [
                    {"x": x(i), "y": y(p[metric]), "text": p[f"{metric}_text"], "label": p["label"]}
                    for i, p in enumerate(series)
                    if p[metric] is not None
                ],
            }
        )
    marks = []
    for key, label in (
        ("commend_receipt", "Biểu dương (tiếp nhận)"),
        ("low_month", "Ngưỡng nhắc nhở"),
        ("payment_target", "Chỉ tiêu thanh toán trực tuyến"),
    ):
        raw = targets.get(key)
        if raw not in (None, ""):
            value = Decimal(str(raw))
            marks.append({"y": y(value), "label": f"{label} {rate_text(value)}", "key": key})
    grid = [{"y": y(Decimal(v)), "label": f"{v}%"} for v in (0, 25, 50, 75, 100)]
    ticks = [{"x": x(i), "label": p["label"]} for i, p in enumerate(series)]
    return {
        "width": CHART_WIDTH,
        "height": CHART_HEIGHT,
        "left": left,
        "right": CHART_WIDTH - right,
        "bottom": CHART_HEIGHT - bottom,
        "lines": lines,
        "targets": marks,
        "grid": grid,
        "ticks": ticks,
    }

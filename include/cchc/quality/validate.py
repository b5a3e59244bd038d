"""Validate the extract stage's table of one authority and period with Great Expectations Core 1.x.

``validate_extract`` reads ``extracted.csv`` as text, runs the critical and warning suites of its
source through one Checkpoint on an ephemeral context, updates the period's Data Docs and writes the
result JSON; ``validated_frame`` hands the typed table to the warehouse, and only after a success.

Layout under ``<output>/<authority>/<period>/validation/``::

    index.html                 Data Docs home: every run of the period, newest first
    validations/<suite>/<run_id>/<time>/<batch>.html     one page per run and suite
    expectations/<suite>.html  the suites as last run
    static/                    the site's CSS, fonts, images and libraries, local (shared by all
                               runs; ``cchc.quality.offline``: readable without internet)
    gx_results/                the GX validation results the index is built from (JSON)
    result.json                the latest run: summary, failures, Vietnamese message
    runs/<run_id>.json         the same, per run (what the load task reads)

Great Expectations is imported inside the functions that need it (it takes seconds and talks a lot),
never when this module is imported; pandas likewise.
"""

from __future__ import annotations

import json
import logging
import os
import uuid
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cchc.core import settings
from cchc.core.authorities import Authority
from cchc.core.fields import COUNT_FIELDS
from cchc.core.files import atomic_write, sha256_bytes
from cchc.core.paths import (
    EXTRACTED_DIR,
    EXTRACTED_NAME,
    PARENT_TOTALS_NAME,
    VALIDATION_DIR,
    VALIDATION_RESULT_NAME,
    VALIDATION_RUNS_DIR,
    PeriodFolder,
    file_safe,
)
from cchc.core.periods import Period
from cchc.quality import suites as S
from cchc.quality.offline import make_offline
from cchc.quality.result import (
    CRITICAL,
    WARNING,
    Failure,
    ValidationFailed,
    ValidationInputError,
    ValidationReport,
)

if TYPE_CHECKING:
    import pandas as pd

log = logging.getLogger(__name__)

GX_RESULTS_DIR = "gx_results"
SITE_NAME = "cchc_validation"
TEXT_COLUMNS = ("authority", "period", "unit_code", "source")
# The portal's parent-totals document nests the counts under its reports (see portal.extract).
TOTALS_REPORTS = ("dossier_digitized", "online_payment")


# ------------------------------------------------------------------------------------------ inputs


def validation_dir(output_dir: str | os.PathLike, authority_id: str, period: Period | str) -> Path:
    return PeriodFolder(output_dir, authority_id, period).validation_dir


def read_raw_bytes(path: str | os.PathLike) -> bytes:
    path = Path(path)
    try:
        return path.read_bytes()
    except FileNotFoundError as exc:
        raise ValidationInputError(f"không tìm thấy bảng số liệu trích xuất: {path}") from exc
    except OSError as exc:
        raise ValidationInputError(f"{path}: không đọc được bảng số liệu trích xuất ({exc})") from exc


def read_raw_table(path: str | os.PathLike, data: bytes | None = None) -> pd.DataFrame:
    """``extracted.csv`` with every cell as stripped text ("" for a blank): nothing is coerced here.

    ``data`` is the file's bytes when the caller already read them (to hash exactly what it parses).
    """
    import io

    import pandas as pd

    path = Path(path)
    raw = data if data is not None else read_raw_bytes(path)
    try:
        table = pd.read_csv(io.BytesIO(raw), dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise ValidationInputError(f"{path}: không đọc được bảng số liệu trích xuất ({exc})") from exc
    table.columns = [str(c).strip() for c in table.columns]
    for column in table.columns:
        table[column] = table[column].astype(str).str.strip()
    return table


def read_parent_totals(path: str | os.PathLike) -> dict[str, int]:
    """The portal's parent totals by field; ``{}`` when the file is absent or gives none.

    Two shapes are read: flat ``{"received": 8012, ...}`` and the extract stage's document, where
    the counts sit in the parent of each report (``{"dossier_digitized": {"received": ...}, ...}``;
    ``null`` for an Excel export, which has no totals). Fields absent are simply not checked.
    """
    path = Path(path)
    if not path.exists():
        return {}
    where = str(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ValidationInputError(f"{where}: không đọc được số tổng của Cổng dịch vụ công ({exc})") from exc
    if not isinstance(data, dict):
        raise ValidationInputError(f"{where}: nội dung phải là một bảng khóa–giá trị")
    found: dict[str, Any] = {}
    for report in TOTALS_REPORTS:
        parent = data.get(report)
        if isinstance(parent, dict):
            found.update({k: v for k, v in parent.items() if k in S.TOTAL_FIELDS})
    found.update({k: v for k, v in data.items() if k in S.TOTAL_FIELDS})
    totals: dict[str, int] = {}
    for name, value in found.items():
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValidationInputError(
                f"{where}: số tổng trường '{name}' là {value!r}, không phải số nguyên không âm"
            )
        totals[name] = value
    return totals


def infer_source(table: pd.DataFrame) -> str:
    """The table's source (its most frequent known value), defaulting to ``api``.

    A table mixing sources still gets one suite; the ``source`` check then names the odd rows.
    """
    if "source" in table.columns:
        values = table["source"].str.lower()
        counts = values[values.isin(S.SOURCES)].value_counts()
        if len(counts):
            return str(counts.index[0])
    return "api"


def prepare_frame(table: pd.DataFrame, authority: Authority, previous: pd.DataFrame | None) -> pd.DataFrame:
    """The frame the suites run on: the table as text plus the derived columns (see ``suites``)."""
    import pandas as pd

    frame = table.copy().reset_index(drop=True)
    # ``line`` locates rows whose code is blank or repeated (and every row when unit_code is missing,
    # which the columns check reports: no placeholder column is added, or that check would pass).
    codes = frame["unit_code"] if "unit_code" in frame.columns else pd.Series([""] * len(frame), dtype=str)
    frame["line"] = pd.array(range(2, len(frame) + 2), dtype="int64")
    if "official_email_regular" in frame.columns:
        # Blank means "not reported", which the boolean check accepts; the commune check below does not.
        frame["official_email_regular"] = frame["official_email_regular"].where(
            frame["official_email_regular"] != "", None
        )

    previous_counts = _previous_counts(previous)
    for name in COUNT_FIELDS:
        if name not in frame.columns:
            continue
        text = frame[name]
        numbers = pd.to_numeric(text.where(text.str.fullmatch(S.INTEGER_REGEX)), errors="coerce")
        frame[S.int_column(name)] = numbers.astype("Int64")
        before = codes.map(previous_counts.get(name, {}))
        before = pd.to_numeric(before, errors="coerce").astype("float64")
        ratio = numbers.astype("float64") / before.where(before > 0)
        frame[S.jump_column(name)] = ratio.astype("float64")

    kinds = {unit.code: unit.kind for unit in authority.units}
    if "official_email_regular" in frame.columns:
        is_commune = codes.map(kinds).isin(S.COMMUNE_KINDS)
        values = frame["official_email_regular"].str.lower()
        frame[S.EMAIL_COMMUNE_COLUMN] = values.where(is_commune, None).where(~is_commune | values.notna(), "")
    return frame


def _previous_counts(previous: pd.DataFrame | None) -> dict[str, dict[str, float]]:
    """``{field: {unit_code: count}}`` from the previous month's table (first row of a repeated unit)."""
    import pandas as pd

    if previous is None or len(previous) == 0 or "unit_code" not in previous.columns:
        return {}
    prev = previous.drop_duplicates(subset="unit_code", keep="first").set_index("unit_code")
    out: dict[str, dict[str, float]] = {}
    for name in COUNT_FIELDS:
        if name in prev.columns:
            values = pd.to_numeric(prev[name], errors="coerce").astype("float64")
            out[name] = {str(k): float(v) for k, v in values.items() if pd.notna(v)}
    return out


def _email_expected(frame: pd.DataFrame) -> bool:
    if S.EMAIL_COMMUNE_COLUMN not in frame.columns:
        return False
    return bool(frame[S.EMAIL_COMMUNE_COLUMN].isin(["true", "false"]).any())


# --------------------------------------------------------------------------------------------- GX


def _quiet_gx():
    """Import GX with analytics and chatter off (seconds of import: never at module import time)."""
    settings.quiet_great_expectations()
    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    import great_expectations as gx

    # Some GX modules pin their own logger to INFO at import (e.g. "Created temporary directory ...
    # for ephemeral docs site" on every context): let them inherit WARNING instead.
    for name, logger in list(logging.Logger.manager.loggerDict.items()):
        if name.startswith("great_expectations.") and isinstance(logger, logging.Logger):
            if logger.level and logger.level < logging.WARNING:
                logger.setLevel(logging.NOTSET)
    return gx


def _context(gx: Any, site_dir: Path) -> Any:
    """An ephemeral context whose Data Docs and validation results live in ``site_dir``.

    The results store is on disk so that the site's index lists the period's earlier runs too
    (an in-memory store would only know this one); each run's pages are kept beside the others.
    """
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    context.add_store(
        "cchc_validation_results",
        {
            "class_name": "ValidationResultsStore",
            "store_backend": {
                "class_name": "TupleFilesystemStoreBackend",
                "base_directory": str(site_dir / GX_RESULTS_DIR),
            },
        },
    )
    context.validation_results_store_name = "cchc_validation_results"
    context.add_data_docs_site(
        SITE_NAME,
        {
            "class_name": "SiteBuilder",
            "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(site_dir)},
            "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
        },
    )
    return context


def _run_checkpoint(
    gx: Any,
    context: Any,
    suites: dict[str, Any],
    frame: pd.DataFrame,
    authority_id: str,
    period: str,
    source: str,
    run_id: str,
) -> tuple[Any, list[str]]:
    source_ds = context.data_sources.add_pandas(authority_id)
    asset = source_ds.add_dataframe_asset(period)
    batch_definition = asset.add_batch_definition_whole_dataframe(f"extracted_{source}")
    definitions = []
    for level in (CRITICAL, WARNING):
        suite = context.suites.add(suites[level])
        definitions.append(
            context.validation_definitions.add(
                gx.ValidationDefinition(name=f"{suite.name}_{period}", data=batch_definition, suite=suite)
            )
        )
    checkpoint = context.checkpoints.add(
        gx.Checkpoint(
            name=f"cchc_validate_{authority_id}_{period}",
            validation_definitions=definitions,
            actions=[gx.checkpoint.UpdateDataDocsAction(name="update_data_docs", site_names=[SITE_NAME])],
            result_format={
                "result_format": "COMPLETE",
                "unexpected_index_column_names": [c for c in S.INDEX_COLUMNS if c in frame.columns],
            },
        )
    )
    result = checkpoint.run(
        batch_parameters={"dataframe": frame},
        run_id=gx.RunIdentifier(run_name=run_id, run_time=datetime.now(UTC)),
    )
    pages = []
    for key in result.run_results:
        for site in context.get_docs_sites_urls(resource_identifier=key, site_name=SITE_NAME):
            if site.get("site_url"):
                pages.append(site["site_url"])
    return result, pages


# -------------------------------------------------------------------------------------- failures


class _Interpreter:
    """Turns failed GX results into ``Failure``s with Vietnamese messages naming units and fields."""

    def __init__(
        self,
        authority: Authority,
        period: str,
        frame: pd.DataFrame,
        previous_counts: dict[str, dict[str, float]],
    ):
        self.authority = authority
        self.period = period
        self.frame = frame
        self.previous = previous_counts

    def failures(self, checkpoint_result: Any) -> list[Failure]:
        out: list[Failure] = []
        for suite_result in checkpoint_result.run_results.values():
            for result in suite_result.results:
                if result.success:
                    continue
                config = result.expectation_config
                meta = dict(config.meta or {})
                expectation = config.type
                raised = _exception_message(result.exception_info)
                if raised is not None:
                    out.append(
                        Failure(
                            meta.get("level", CRITICAL),
                            meta.get("check", "?"),
                            f"Không chạy được kiểm tra {expectation} trên trường "
                            f"{', '.join(meta.get('fields') or []) or '(cả bảng)'}: {raised}",
                            expectation=expectation,
                            fields=list(meta.get("fields") or []),
                        )
                    )
                    continue
                handler = getattr(self, f"_{meta.get('check')}", None)
                if handler is None:  # an expectation added without a check id: say so, never drop it
                    out.append(
                        Failure(
                            meta.get("level", CRITICAL),
                            "?",
                            f"Kiểm tra {expectation} không đạt",
                            expectation=expectation,
                            fields=[],
                        )
                    )
                    continue
                for failure in handler(result.result or {}, meta):
                    failure.expectation = expectation
                    out.append(failure)
        order = {check: i for i, check in enumerate(S.CHECKS)}
        return sorted(out, key=lambda f: order.get(f.check, len(order)))  # stable: GX row order kept

    # -- helpers

    @staticmethod
    def _rows(result: dict) -> list[dict]:
        return list(result.get("unexpected_index_list") or [])

    def _grouped(
        self, level: str, check: str, fields: list[str], rows: list[tuple[str, int, str]]
    ) -> list[Failure]:
        """One failure per distinct detail, naming every unit it concerns (a blank column across all
        35 units is one line, not 35); ``rows`` are (unit_code, line, detail)."""
        groups: dict[str, list[tuple[str, int]]] = defaultdict(list)
        for unit, line, detail in rows:
            groups[detail].append((unit, line))
        out = []
        for detail, members in groups.items():
            units = [u for u, _ in members]
            labels = [_label(u, line) for u, line in members]
            if len(labels) == 1:
                who = f"Đơn vị {labels[0]}"
            else:
                who = f"Các đơn vị {', '.join(labels)} ({len(labels)} đơn vị)"
            field = f", trường {fields[0]}" if fields else ""
            out.append(
                Failure(
                    level,
                    check,
                    f"{who}, kỳ {self.period}{field}: {detail}",
                    units=[u for u in units if u],
                    fields=list(fields),
                    lines=[line for _, line in members],
                )
            )
        return out

    def _unit_name(self, code: str) -> str:
        for unit in self.authority.units:
            if unit.code == code:
                return unit.name
        return ""

    # -- critical

    def _columns(self, result: dict, meta: dict) -> list[Failure]:
        missing = ((result.get("details") or {}).get("mismatched") or {}).get("missing") or []
        return [
            Failure(CRITICAL, "columns", f"Bảng số liệu kỳ {self.period} thiếu cột '{c}'", fields=[c])
            for c in missing
        ]

    def _unit_known(self, result: dict, meta: dict) -> list[Failure]:
        by_code: dict[str, list[int]] = defaultdict(list)
        for row in self._rows(result):
            by_code[str(row.get("unit_code", ""))].append(int(row.get("line", 0)))
        out = []
        for code, lines in by_code.items():
            where = f"dòng {', '.join(map(str, lines))}"
            if code == "":
                message = f"Bảng số liệu kỳ {self.period}: {where} thiếu mã đơn vị (unit_code trống)"
            else:
                message = (
                    f"Đơn vị lạ {code} không có trong danh mục đơn vị (units.csv) của "
                    f"{self.authority.id} ({where})"
                )
            out.append(
                Failure(
                    CRITICAL,
                    "unit_known",
                    message,
                    units=[code] if code else [],
                    fields=["unit_code"],
                    lines=lines,
                )
            )
        return out

    def _unit_unique(self, result: dict, meta: dict) -> list[Failure]:
        by_code: dict[str, list[int]] = defaultdict(list)
        for row in self._rows(result):
            by_code[str(row.get("unit_code", ""))].append(int(row.get("line", 0)))
        return [
            Failure(
                CRITICAL,
                "unit_unique",
                f"Đơn vị {code} xuất hiện {len(lines)} lần trong số liệu kỳ {self.period} "
                f"(dòng {', '.join(map(str, lines))})",
                units=[code],
                fields=["unit_code"],
                lines=lines,
            )
            for code, lines in by_code.items()
            if code  # a blank code is reported by unit_known
        ]

    def _unit_registry(self, result: dict, meta: dict) -> list[Failure]:
        # GX lists only a sample of the missing values (partial_missing_list); the set difference is
        # exact and keeps the registry's order.
        present = set(self.frame["unit_code"]) if "unit_code" in self.frame.columns else set()
        out = []
        for code in self.authority.unit_codes:
            if code not in present:
                name = self._unit_name(code)
                out.append(
                    Failure(
                        CRITICAL,
                        "unit_registry",
                        f"Thiếu đơn vị {code}{f' ({name})' if name else ''} trong số liệu kỳ {self.period}",
                        units=[code],
                        fields=["unit_code"],
                    )
                )
        return out

    def _same_value(self, result: dict, meta: dict, what: str) -> list[Failure]:
        column = meta["fields"][0]
        rows = [
            (
                str(r.get("unit_code", "")),
                int(r.get("line", 0)),
                f"{what} ghi '{r.get(column, '')}', khác {what} đang kiểm tra {meta.get('expected')}",
            )
            for r in self._rows(result)
        ]
        return self._grouped(CRITICAL, meta["check"], [column], rows)

    def _authority(self, result: dict, meta: dict) -> list[Failure]:
        return self._same_value(result, meta, "cơ quan")

    def _period(self, result: dict, meta: dict) -> list[Failure]:
        return self._same_value(result, meta, "kỳ báo cáo")

    def _source(self, result: dict, meta: dict) -> list[Failure]:
        return self._same_value(result, meta, "nguồn số liệu")

    def _count_integer(self, result: dict, meta: dict) -> list[Failure]:
        name = meta["fields"][0]
        rows = []
        for r in self._rows(result):
            value = r.get(name)
            value = "" if value is None else str(value)
            detail = (
                "thiếu số liệu (ô trống)"
                if value == ""
                else f"giá trị '{value}' không phải số nguyên không âm"
            )
            rows.append((str(r.get("unit_code", "")), int(r.get("line", 0)), detail))
        return self._grouped(CRITICAL, "count_integer", [name], rows)

    def _email_boolean(self, result: dict, meta: dict) -> list[Failure]:
        rows = [
            (
                str(r.get("unit_code", "")),
                int(r.get("line", 0)),
                f"giá trị '{r.get('official_email_regular')}' không phải true/false",
            )
            for r in self._rows(result)
        ]
        return self._grouped(CRITICAL, "email_boolean", ["official_email_regular"], rows)

    def _numerator_le_denominator(self, result: dict, meta: dict) -> list[Failure]:
        numerator, denominator = meta["fields"]
        out = []
        for r in self._rows(result):
            unit, line = str(r.get("unit_code", "")), int(r.get("line", 0))
            top, bottom = r.get(S.int_column(numerator)), r.get(S.int_column(denominator))
            out.append(
                Failure(
                    CRITICAL,
                    "numerator_le_denominator",
                    f"Đơn vị {_label(unit, line)}, kỳ {self.period}, trường {numerator}: {_int(top)} "
                    f"lớn hơn {denominator} {_int(bottom)}",
                    units=[unit] if unit else [],
                    fields=[numerator, denominator],
                    lines=[line],
                )
            )
        return out

    def _parent_total(self, result: dict, meta: dict) -> list[Failure]:
        name, expected = meta["fields"][0], int(meta["expected"])
        observed = result.get("observed_value")
        if observed is None:
            detail = "không tính được tổng các đơn vị"
        else:
            diff = int(observed) - expected
            detail = (
                f"tổng các đơn vị là {_int(observed)}, khác số tổng {expected} của Cổng dịch vụ công "
                f"(chênh {diff:+d})"
            )
        return [
            Failure(
                CRITICAL,
                "parent_total",
                f"{self.authority.id} ({self.authority.name}), kỳ {self.period}, trường {name}: {detail}",
                fields=[name],
            )
        ]

    # -- warnings

    def _jump(self, result: dict, meta: dict) -> list[Failure]:
        name = meta["fields"][0]
        out = []
        for r in self._rows(result):
            unit, line = str(r.get("unit_code", "")), int(r.get("line", 0))
            now = self.frame.loc[self.frame["line"] == line, S.int_column(name)]
            current = _int(now.iloc[0]) if len(now) else "?"
            before = self.previous.get(name, {}).get(unit)
            ratio = r.get(S.jump_column(name))
            out.append(
                Failure(
                    WARNING,
                    "jump",
                    f"Đơn vị {_label(unit, line)}, kỳ {self.period}, trường {name}: {current}, gấp "
                    f"{_ratio(ratio)} lần tháng trước ({_int(before)}), vượt ngưỡng "
                    f"{meta.get('limit', S.JUMP_LIMIT)} lần",
                    units=[unit],
                    fields=[name],
                    lines=[line],
                )
            )
        return out

    def _web_posts_limit(self, result: dict, meta: dict) -> list[Failure]:
        limit = meta.get("limit", S.WEB_POSTS_LIMIT)
        out = []
        for r in self._rows(result):
            unit, line = str(r.get("unit_code", "")), int(r.get("line", 0))
            posts = _int(r.get(S.int_column("web_posts")))
            out.append(
                Failure(
                    WARNING,
                    "web_posts_limit",
                    f"Đơn vị {_label(unit, line)}, kỳ {self.period}, trường web_posts: {posts} tin bài "
                    f"trong tháng, vượt ngưỡng {limit}",
                    units=[unit] if unit else [],
                    fields=["web_posts"],
                    lines=[line],
                )
            )
        return out

    def _email_commune(self, result: dict, meta: dict) -> list[Failure]:
        rows = [
            (
                str(r.get("unit_code", "")),
                int(r.get("line", 0)),
                "để trống trong khi các đơn vị cấp xã khác có số liệu",
            )
            for r in self._rows(result)
        ]
        return self._grouped(WARNING, "email_commune", ["official_email_regular"], rows)


def _label(unit: str, line: int) -> str:
    """A unit as messages name it; a row without a code by its CSV line."""
    return unit or f"[dòng {line}, không có mã]"


def _exception_message(info: Any) -> str | None:
    """GX 1.x gives either one ``{"raised_exception": ...}`` or one such dict per metric."""
    if not info:
        return None
    candidates = [info] if "raised_exception" in info else list(info.values())
    for item in candidates:
        if isinstance(item, dict) and item.get("raised_exception"):
            return str(item.get("exception_message") or "lỗi không rõ")
    return None


def _int(value: Any) -> str:
    try:
        return str(int(value))
    except (TypeError, ValueError):
        return "?"


def _ratio(value: Any) -> str:
    """One decimal, decimal comma, trailing zero dropped: 13,3; 12."""
    try:
        text = f"{float(value):.1f}"
    except (TypeError, ValueError):
        return "?"
    return text.removesuffix(".0").replace(".", ",")


# ----------------------------------------------------------------------------------------- running


def safe_run_id(run_id: str | None) -> str:
    """A run id usable as a folder and file name (Airflow's contain ':' and '+')."""
    if not run_id:
        return f"manual__{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}_{uuid.uuid4().hex[:8]}"
    return file_safe(run_id)


def validate_extract(
    authority: Authority,
    period: Period | str,
    extracted_csv: str | os.PathLike,
    output_dir: str | os.PathLike,
    previous: pd.DataFrame | None = None,
    run_id: str | None = None,
    *,
    source: str | None = None,
) -> ValidationReport:
    """Validate one period's extracted table; never raises for bad data (see ``raise_for_critical``).

    ``previous`` is the previous month's table (same columns, e.g. from the warehouse) for the
    tenfold-jump warnings; ``parent_totals.json`` beside the CSV, when present, gives the portal's
    totals to agree with. ``source`` overrides the table's own ``source`` column in choosing the suite.
    Raises ``ValidationInputError`` only when an input cannot be read at all.
    """
    period = period if isinstance(period, Period) else Period.parse(str(period))
    period_text = str(period)
    csv_path = Path(extracted_csv).resolve()
    # Read once: the hash recorded is the hash of exactly the bytes validated.
    raw = read_raw_bytes(csv_path)
    table = read_raw_table(csv_path, raw)
    sha256 = sha256_bytes(raw)
    totals = read_parent_totals(csv_path.parent / PARENT_TOTALS_NAME)
    source = (source or infer_source(table)).lower()
    if source not in S.SOURCES:
        raise ValidationInputError(f"nguồn số liệu '{source}' không hợp lệ (chỉ nhận {', '.join(S.SOURCES)})")
    frame = prepare_frame(table, authority, previous)
    inputs = S.SuiteInputs(
        authority_id=authority.id,
        period=period_text,
        source=source,
        unit_codes=tuple(authority.unit_codes),
        columns=frozenset(table.columns),
        parent_totals=totals,
        email_expected=_email_expected(frame),
    )
    run_id = safe_run_id(run_id)
    folder = PeriodFolder(Path(output_dir).resolve(), authority.id, period)
    site_dir = folder.validation_dir
    site_dir.mkdir(parents=True, exist_ok=True)

    gx = _quiet_gx()
    context = _context(gx, site_dir)
    suites = S.build_suites(inputs)
    checkpoint_result, pages = _run_checkpoint(
        gx, context, suites, frame, authority.id, period_text, source, run_id
    )
    index = site_dir / "index.html"
    if not index.is_file():
        raise ValidationInputError(f"Data Docs không được tạo: không thấy {index}")
    make_offline(site_dir)  # readable where the committee's network has no internet

    failures = _Interpreter(authority, period_text, frame, _previous_counts(previous)).failures(
        checkpoint_result
    )
    units = table["unit_code"] if "unit_code" in table.columns else []
    report = ValidationReport(
        authority=authority.id,
        period=period_text,
        source=source,
        run_id=run_id,
        extracted_csv=csv_path,
        sha256=sha256,
        rows=len(table),
        units=len({u for u in units if u}),
        critical=[f for f in failures if f.level == CRITICAL],
        warnings=[f for f in failures if f.level == WARNING],
        validation_dir=site_dir,
        data_docs=index,
        result_path=folder.validation_run(run_id),
        suites=[suite.name for suite in suites.values()],
        data_docs_pages=sorted(pages),
        validated_at=datetime.now(UTC).isoformat(timespec="seconds"),
    )
    document = json.dumps(report.to_dict(), ensure_ascii=False, indent=2) + "\n"
    atomic_write(report.result_path, document)
    atomic_write(folder.validation_result, document)

    level = logging.ERROR if report.critical else logging.WARNING if report.warnings else logging.INFO
    log.log(level, "%s", report.message())
    return report


# ------------------------------------------------------------------------------------------ output


def typed_frame(table: pd.DataFrame) -> pd.DataFrame:
    """The validated text table with the extract's dtypes: Int64 counts, nullable boolean email."""
    import pandas as pd

    out = table[list(S.EXTRACT_COLUMNS)].copy()
    for column in TEXT_COLUMNS:
        out[column] = out[column].astype(str)
    for name in COUNT_FIELDS:
        out[name] = pd.array([int(v) for v in out[name]], dtype="Int64")
    email = [
        None if v is None or v == "" else str(v).lower() == "true" for v in out["official_email_regular"]
    ]
    out["official_email_regular"] = pd.array(email, dtype="boolean")
    return out.reset_index(drop=True)


def validated_frame(report_or_path: ValidationReport | str | os.PathLike) -> pd.DataFrame:
    """The table the warehouse loads, typed; only for a successful validation of that very file.

    Takes a report, a result JSON (``validation/runs/<run_id>.json`` or ``validation/result.json``),
    the validation folder (its latest ``result.json``) or the ``extracted.csv`` (its period's latest
    result). Raises ``ValidationFailed`` after a critical failure, ``ValidationInputError`` when the
    CSV changed since it was validated (a later extract overwrote it) or cannot be found.
    """
    if isinstance(report_or_path, ValidationReport):
        report = report_or_path
    else:
        path = Path(report_or_path)
        if path.is_dir():
            path = path / VALIDATION_RESULT_NAME
        elif path.suffix.lower() == ".csv":
            path = path.parent.parent / VALIDATION_DIR / VALIDATION_RESULT_NAME
        report = ValidationReport.load(path)
    if not report.success:
        raise ValidationFailed(report)
    csv_path = report.extracted_csv
    if not csv_path.is_file():
        # The output folder may be mounted elsewhere by the loading worker: look beside the result.
        folder = report.result_path.parent
        folder = folder.parent if folder.name == VALIDATION_RUNS_DIR else folder  # .../<period>/validation
        fallback = folder.parent / EXTRACTED_DIR / EXTRACTED_NAME
        if not fallback.is_file():
            raise ValidationInputError(f"không tìm thấy bảng số liệu đã kiểm tra: {csv_path}")
        csv_path = fallback
    raw = read_raw_bytes(csv_path)
    if sha256_bytes(raw) != report.sha256:
        raise ValidationInputError(
            f"{csv_path}: bảng số liệu {report.authority} kỳ {report.period} đã thay đổi sau lần kiểm tra "
            f"{report.run_id}; cần kiểm tra lại trước khi nạp vào kho dữ liệu"
        )
    return typed_frame(read_raw_table(csv_path, raw))

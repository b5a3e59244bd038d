"""What a validation run found: failures by level, a JSON-able summary and a Vietnamese text.

Nothing here imports pandas or Great Expectations, so the report can be read back (for the load task,
the failure alert or the UI) at no import cost.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from cchc.core.errors import CchcError

CRITICAL = "critical"
WARNING = "warning"
LEVELS = (CRITICAL, WARNING)


class ValidationInputError(CchcError):
    """The extracted table, the portal totals or a stored result cannot be read or used as asked."""


class ValidationFailed(CchcError):
    """A critical expectation failed: nothing of this period may be loaded.

    ``str()`` is the report's Vietnamese message (every failure, by unit and field), so the task log
    and the failure alert say the same thing; the report itself rides along for callers.
    """

    def __init__(self, report: ValidationReport):
        super().__init__(report.message())
        self.report = report


@dataclass
class Failure:
    """One failed check, on one or more units (or on the table as a whole when ``units`` is empty)."""

    level: str  # critical | warning
    check: str  # the check's id in the suite (e.g. "numerator_le_denominator")
    message: str  # Vietnamese, names the unit(s) and the field(s)
    units: list[str] = field(default_factory=list)
    fields: list[str] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)  # CSV lines (header = line 1), when known
    # The GX expectation type (e.g. "expect_column_pair_values_a_to_be_greater_than_b"), where one failed.
    expectation: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Failure:
        return cls(
            **{k: data[k] for k in ("level", "check", "expectation", "message") if k in data},
            units=list(data.get("units") or []),
            fields=list(data.get("fields") or []),
            lines=[int(x) for x in data.get("lines") or []],
        )


@dataclass
class ValidationReport:
    authority: str
    period: str
    source: str
    run_id: str
    extracted_csv: Path
    sha256: str  # of extracted_csv as validated: the load refuses a table changed since
    rows: int
    units: int
    critical: list[Failure]
    warnings: list[Failure]
    validation_dir: Path
    data_docs: Path | None  # the Data Docs site's index.html (every run of the period)
    result_path: Path  # this run's result JSON (validation/runs/<run_id>.json)
    suites: list[str] = field(default_factory=list)
    data_docs_pages: list[str] = field(default_factory=list)  # this run's pages (file:// URLs)
    validated_at: str = ""

    @property
    def success(self) -> bool:
        """No critical failure: warnings alone never stop a run."""
        return not self.critical

    def summary(self) -> dict[str, Any]:
        """Small values only (XCom, task log): the table itself travels by path."""
        return {
            "authority": self.authority,
            "period": self.period,
            "source": self.source,
            "run_id": self.run_id,
            "success": self.success,
            "rows": self.rows,
            "units": self.units,
            "critical": len(self.critical),
            "warnings": len(self.warnings),
            "data_docs": str(self.data_docs) if self.data_docs else None,
            "result": str(self.result_path),
            "extracted": str(self.extracted_csv),
        }

    def message(self) -> str:
        """Every failure, numbered, critical first: for the task log and the failure alert."""
        head = f"Kiểm tra số liệu {self.authority} kỳ {self.period} (nguồn {self.source})"
        counts = f"{self.rows} dòng, {self.units} đơn vị"
        if self.success and not self.warnings:
            lines = [f"{head}: ĐẠT — {counts}, không có lỗi hay cảnh báo."]
        else:
            verdict = "ĐẠT" if self.success else "KHÔNG ĐẠT"
            lines = [
                f"{head}: {verdict} — {counts}; {len(self.critical)} lỗi nghiêm trọng, "
                f"{len(self.warnings)} cảnh báo."
            ]
        if self.critical:
            lines.append("Lỗi nghiêm trọng (dừng lần chạy, không nạp số liệu vào kho):")
            lines += [f"  {i}. {f.message}" for i, f in enumerate(self.critical, start=1)]
        if self.warnings:
            lines.append("Cảnh báo (lần chạy vẫn tiếp tục, đề nghị kiểm tra lại):")
            lines += [f"  {i}. {f.message}" for i, f in enumerate(self.warnings, start=1)]
        if self.data_docs:
            lines.append(f"Báo cáo chi tiết (Data Docs): {self.data_docs}")
        return "\n".join(lines)

    def raise_for_critical(self) -> None:
        if not self.success:
            raise ValidationFailed(self)

    def to_dict(self) -> dict[str, Any]:
        return {
            "summary": self.summary(),
            "sha256": self.sha256,
            "validation_dir": str(self.validation_dir),
            "suites": list(self.suites),
            "data_docs_pages": list(self.data_docs_pages),
            "validated_at": self.validated_at,
            "message": self.message(),
            "critical": [f.to_dict() for f in self.critical],
            "warnings": [f.to_dict() for f in self.warnings],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], result_path: Path | None = None) -> ValidationReport:
        summary = data["summary"]
        return cls(
            authority=summary["authority"],
            period=summary["period"],
            source=summary["source"],
            run_id=summary["run_id"],
            extracted_csv=Path(summary["extracted"]),
            sha256=data["sha256"],
            rows=int(summary["rows"]),
            units=int(summary["units"]),
            critical=[Failure.from_dict(f) for f in data.get("critical") or []],
            warnings=[Failure.from_dict(f) for f in data.get("warnings") or []],
            validation_dir=Path(data["validation_dir"]),
            data_docs=Path(summary["data_docs"]) if summary.get("data_docs") else None,
            result_path=result_path or Path(summary["result"]),
            suites=list(data.get("suites") or []),
            data_docs_pages=list(data.get("data_docs_pages") or []),
            validated_at=data.get("validated_at", ""),
        )

    @classmethod
    def load(cls, path: str | Path) -> ValidationReport:
        path = Path(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise ValidationInputError(f"không tìm thấy kết quả kiểm tra số liệu: {path}") from exc
        except (OSError, ValueError) as exc:
            raise ValidationInputError(f"{path}: không đọc được kết quả kiểm tra số liệu ({exc})") from exc
        try:
            return cls.from_dict(data, result_path=path)
        except (KeyError, TypeError, ValueError) as exc:
            raise ValidationInputError(f"{path}: kết quả kiểm tra số liệu thiếu trường {exc}") from exc

"""What each task of the two DAGs receives and returns, one definition each.

Tasks pass keys and small summaries through XCom, never data: the data travels by path under
``CCHC_OUTPUT_DIR`` or stays in the warehouse. Each payload is a frozen dataclass, serialised to XCom
as a small dict of its fields (``to_xcom``) and read back strictly (``from_xcom``): a task wired to
the wrong upstream fails at once, naming the fields that do not fit.

    cchc_monthly   plan → Job ─┬─ per authority (a mapped task group, each on its own):
                               │  hold → plan_loads → Loads → wait_for_period_closed → extract
                               │  → Extracted → validate → Validated → load → Loaded → compute_rates
                               │  → Rated → decide → Decided → letters_conf → LettersRequest
                               │  → trigger_letters → release
                               └─ summary (every authority's outcome)
    cchc_letters   plan → Job ─┬─ per authority: hold → render → Rendered → approve → issue → Issued
                               │  → distribute → Distributed → report → Reported → release
                               └─ summary
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import MISSING, asdict, dataclass, field, fields
from typing import Any, Self, TypedDict

from cchc.core.errors import CchcError


class PayloadError(CchcError):
    """A task received an XCom that is not the payload it expects (a DAG wired wrongly)."""


@dataclass(frozen=True, kw_only=True)
class Payload:
    """One authority's period: what every payload starts with."""

    authority: str
    period: str

    def to_xcom(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_xcom(cls, data: Mapping[str, Any]) -> Self:
        names = {f.name for f in fields(cls)}
        required = {f.name for f in fields(cls) if f.default is MISSING and f.default_factory is MISSING}
        unknown = sorted(set(data) - names)
        missing = sorted(required - set(data))
        if unknown or missing:
            detail = "; ".join(
                part
                for part in (
                    f"thừa trường {', '.join(unknown)}" if unknown else "",
                    f"thiếu trường {', '.join(missing)}" if missing else "",
                )
                if part
            )
            raise PayloadError(f"dữ liệu chuyển giữa các tác vụ không đúng dạng {cls.__name__}: {detail}")
        return cls(**dict(data))

    @property
    def key(self) -> dict[str, str]:
        return {"authority": self.authority, "period": self.period}


@dataclass(frozen=True, kw_only=True)
class Job(Payload):
    """An authority's period to work on (what ``plan`` gives each authority's task group)."""


@dataclass(frozen=True, kw_only=True)
class Loads(Payload):
    """``plan_loads``: the months to load, oldest first: the earlier months of the year the warehouse
    lacks (``backfilled``, for the year-to-date rates), then the period itself."""

    months: list[str]
    backfilled: list[str] = field(default_factory=list)


class MonthExtract(TypedDict):
    period: str
    path: str
    rows: int
    units: int
    source: str
    landing: str


@dataclass(frozen=True, kw_only=True)
class Extracted(Payload):
    """``extract``: per month, the tidy table's path and its raw landing."""

    months: list[MonthExtract]


class MonthValidation(TypedDict):
    period: str
    source: str
    run_id: str
    success: bool
    rows: int
    units: int
    critical: int
    warnings: int
    data_docs: str | None
    result: str  # the validation result JSON, which ``load`` reads
    extracted: str


@dataclass(frozen=True, kw_only=True)
class Validated(Payload):
    """``validate``: per month, the validation result (every month passed, or the task failed)."""

    months: list[MonthValidation]


class MonthLoad(TypedDict):
    period: str
    units: dict[str, Any]
    load_id: int
    version: int
    rows: int
    changed: bool
    content_hash: str


@dataclass(frozen=True, kw_only=True)
class Loaded(Payload):
    """``load``: per month, what the registry sync and the load of the facts did."""

    months: list[MonthLoad]


@dataclass(frozen=True, kw_only=True)
class Rated(Payload):
    """``compute_rates``: the authority-wide figures as lines, and the rates' summary."""

    totals: list[str]
    summary: dict[str, Any]


@dataclass(frozen=True, kw_only=True)
class Decided(Payload):
    """``decide``: where decisions.json is and what it decided (counts per kind and section)."""

    run_id: str
    rulebook_version: str
    path: str
    decisions_hash: str
    changed: bool
    decisions: dict[str, int]
    sections: list[dict[str, Any]]
    recounted: list[str] = field(default_factory=list)
    history: dict[str, Any] | None = None
    conflicts: list[str] = field(default_factory=list)


@dataclass(frozen=True, kw_only=True)
class LettersRequest:
    """``letters_conf``: the conf with which ``cchc_monthly`` triggers ``cchc_letters``."""

    period: str
    authorities: list[str]
    issued_at: str | None = None  # the monthly run's param, passed on; absent from the conf when unset

    def to_xcom(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}


@dataclass(frozen=True, kw_only=True)
class Rendered(Payload):
    """``render``: the letter the run works on. ``outcome``: ``draft`` (to approve and issue),
    ``reused`` (went out with the same content: send only to whom has not got it), ``revision`` (went
    out, the content changed: nothing is done, ``revision`` is the report)."""

    outcome: str
    letter_id: int
    content_hash: str
    status: str | None = None
    docx: str | None = None
    pdf: str | None = None
    pdf_sha256: str | None = None
    document_number: int | None = None
    replaces: int | None = None
    revision: str | None = None
    changes: list[str] = field(default_factory=list)


@dataclass(frozen=True, kw_only=True)
class Issued(Payload):
    """``issue``: the letter with its document number and its numbered files."""

    letter_id: int
    document_number: int
    docx: str
    pdf: str


@dataclass(frozen=True, kw_only=True)
class Distributed(Payload):
    """``distribute``: what this run sent (``DistributionResult.as_dict``)."""

    letter_id: int
    distribution: dict[str, Any]


@dataclass(frozen=True, kw_only=True)
class Reported(Payload):
    """``report``: the ledger's counts after the operators' summary went out."""

    counts: dict[str, int]

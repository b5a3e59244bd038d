"""What each task of the two DAGs receives and returns, one definition each.

Tasks pass keys and small summaries through XCom, never data: the data travels by path under
``CCHC_OUTPUT_DIR`` or stays in the warehouse. Each payload is a frozen dataclass, serialised to XCom
as a small dict of its fields (``to_xcom``) and read back strictly (``from_xcom``): a task wired to
the wrong upstream fails at once, naming the fields that do not fit.

    cchc_monthly:  plan → Job → plan_loads → Job → wait_for_period_closed → Job → extract → Extracted
                   → validate → Validated → load → Loaded;  plan → Job → compute_rates → Rated
                   → decide → Decided → letters_conf → LettersRequest (the conf of cchc_letters)
    cchc_letters:  plan → Job → render → Rendered → (approve) → issue → Issued → distribute
                   → Distributed → report → Reported
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import MISSING, asdict, dataclass, field, fields
from typing import Any, Self

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
    """A period to work on; ``backfill`` marks an earlier month loaded only for the year-to-date rates."""

    backfill: bool = False


@dataclass(frozen=True, kw_only=True)
class Extracted(Job):
    """``extract``: the tidy table's path and its raw landing."""

    path: str
    rows: int
    units: int
    source: str
    landing: str


@dataclass(frozen=True, kw_only=True)
class Validated(Payload):
    """``validate``: the validation result (``result`` is its JSON, which ``load`` reads)."""

    source: str
    run_id: str
    success: bool
    rows: int
    units: int
    critical: int
    warnings: int
    data_docs: str | None
    result: str
    extracted: str


@dataclass(frozen=True, kw_only=True)
class Loaded(Payload):
    """``load``: what the registry sync and the load of the facts did."""

    units: dict[str, Any]
    load_id: int
    version: int
    rows: int
    changed: bool
    content_hash: str


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


@dataclass(frozen=True, kw_only=True)
class LettersRequest:
    """``letters_conf``: the conf with which ``cchc_monthly`` triggers ``cchc_letters``."""

    period: str
    authorities: list[str]

    def to_xcom(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, kw_only=True)
class Rendered(Payload):
    """``render``: the period's current letter (its warehouse id and files)."""

    letter_id: int
    docx: str
    pdf: str


@dataclass(frozen=True, kw_only=True)
class Issued(Rendered):
    """``issue``: the letter with its document number."""

    document_number: int


@dataclass(frozen=True, kw_only=True)
class Distributed(Issued):
    """``distribute``: what this run sent (``DistributionResult.as_dict``)."""

    distribution: dict[str, Any]


@dataclass(frozen=True, kw_only=True)
class Reported(Payload):
    """``report``: the ledger's counts after the operators' summary went out."""

    counts: dict[str, int]

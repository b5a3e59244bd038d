"""Test data for the decisions tests: units, figures at exact shown rates, small authorities, loading."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from cchc.core.authorities import Authority, Signer, Unit, load_monthly
from cchc.core.periods import Period
from cchc.rules.decide import Figure, UnitInfo
from cchc.rules.rulebook import Rules, campaign_starts_for, load_rulebook
from cchc.warehouse.load import load_facts, sync_units
from cchc.warehouse.rates import compute_rates
from cchc.warehouse.schema import criticism_history, decision_runs, decisions

ROOT = Path(__file__).resolve().parents[2]
SEED = ROOT / "scenarios" / "seed" / "tu-ky"
COUNTS = (
    "received",
    "received_digitized",
    "resolved",
    "resolved_digitized",
    "fee_dossiers",
    "paid_online",
    "web_posts",
)


def rules_at(period: str = "2023-08", **overrides: Any) -> Rules:
    """The default rules in force in ``period``, with plain overrides."""
    return load_rulebook(overrides=overrides).rules_for(period)


def unit(
    code: str,
    kind: str = "commune",
    position: int = 1,
    name: str | None = None,
    head_title: str | None = None,
    official_email_regular: bool | None = None,
) -> UnitInfo:
    defaults = {
        "department": (f"Phòng {code} huyện", "Trưởng phòng"),
        "vertical_agency": (f"Chi cục Thuế {code}", "Chi cục trưởng"),
        "commune": (f"UBND xã {code}", "Chủ tịch UBND xã"),
        "township": (f"UBND thị trấn {code}", "Chủ tịch UBND thị trấn"),
    }[kind]
    return UnitInfo(
        code,
        name or defaults[0],
        kind,
        head_title or defaults[1],
        f"{code.lower()}@example.vn",
        position,
        official_email_regular,
    )


def figures(
    receipt=(100, 100),
    result=(100, 100),
    payment=(50, 100),
    receipt_ytd=None,
    result_ytd=None,
    payment_ytd=None,
    payment_campaign=None,
    receipt_campaign=None,
    result_campaign=None,
    posts: int = 6,
) -> dict[tuple[str, str], Figure]:
    """One unit's figures; windows default to the month's counts (a unit as good all year as in the month)."""
    out = {
        ("receipt", "month"): Figure(*receipt),
        ("result", "month"): Figure(*result),
        ("payment", "month"): Figure(*payment),
        ("receipt", "ytd"): Figure(*(receipt_ytd or receipt)),
        ("result", "ytd"): Figure(*(result_ytd or result)),
        ("payment", "ytd"): Figure(*(payment_ytd or payment)),
        ("receipt", "campaign"): Figure(*(receipt_campaign or receipt_ytd or receipt)),
        ("result", "campaign"): Figure(*(result_campaign or result_ytd or result)),
        ("payment", "campaign"): Figure(*(payment_campaign or payment)),
        ("posts", "month"): Figure(posts, None),
    }
    return out


def pct(hundredths_of_hundredths: int) -> tuple[int, int]:
    """(n, d) with d = 1 000 000 whose exact rate is the given value in 1/10000 of a percent.

    pct(984950) is exactly 98,495% (shown 98,5%); pct(984949) is 98,4949% (shown 98,49%).
    """
    return hundredths_of_hundredths, 1_000_000


# ------------------------------------------------------------------------------ warehouse scenarios


def fresh_url(backend: str, request, directory) -> str:
    """An empty warehouse on ``backend``: a new SQLite file, or the module's PostgreSQL database emptied."""
    if backend == "sqlite":
        return f"sqlite:///{directory / f'warehouse-{uuid.uuid4().hex[:8]}.db'}"
    url = request.getfixturevalue("pg_database")
    engine = sa.create_engine(url, poolclass=NullPool)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql("DROP SCHEMA public CASCADE")
            conn.exec_driver_sql("CREATE SCHEMA public")
    finally:
        engine.dispose()
    return url


UNITS = [
    Unit("P-A", "Phòng Tài chính - Kế hoạch huyện", "department", "Trưởng phòng", "taichinh@example.vn"),
    Unit("V-T", "Chi cục Thuế khu vực Tứ Kỳ", "vertical_agency", "Chi cục trưởng", "thue@example.vn"),
    Unit("X-B", "UBND xã Hà Kỳ", "commune", "Chủ tịch UBND xã", "haky@example.vn"),
    Unit("X-C", "UBND xã Tân Kỳ", "commune", "Chủ tịch UBND xã", "tanky@example.vn"),
]


def make_authority(
    folder: Path,
    rules: dict | None = None,
    history: list[tuple[str, str, int]] | None = None,
    authority_id: str = "demo",
) -> Authority:
    """A four-unit authority (a department, a vertical agency, two communes) in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    if history is not None:
        lines = ["period,unit_code,count", *(f"{p},{u},{c}" for p, u, c in history)]
        (folder / "history.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return Authority(
        id=authority_id,
        level="district",
        name="huyện Thử",
        issuing_body=["ỦY BAN NHÂN DÂN", "HUYỆN THỬ"],
        place="Thử",
        document_symbol="UBND-NV",
        signer=Signer(name="Nguyễn Văn A"),
        recipients=["Thủ trưởng các cơ quan chuyên môn thuộc UBND huyện"],
        copies=["Như trên", "Lưu: VT, NV"],
        root_department_id="HD-DEMO",
        units=list(UNITS),
        folder=folder,
        rules=dict(rules or {}),
    )


GOOD = (200, 200, 200, 200, 100, 90, 6)  # commended: 100%, 100%, 90%
PLAIN = (200, 195, 200, 200, 100, 60, 6)  # no section: 97,5%, 100%, 60%
LOW_PAYMENT = (
    200,
    195,
    200,
    200,
    100,
    10,
    6,
)  # payment 10%: criticised (or requested) once the target is in force


def load_period(engine, authority: Authority, period: str, rows: dict[str, tuple]) -> None:
    """Load one period's counts (``rows``: unit code → 7 counts) and compute its rates under the rulebook."""
    frame = pd.DataFrame(
        [
            {
                "authority": authority.id,
                "period": period,
                "unit_code": code,
                **dict(zip(COUNTS, counts, strict=True)),
                "official_email_regular": None,
                "source": "api",
            }
            for code, counts in rows.items()
        ]
    )
    sync_units(engine, authority, period)
    load_facts(engine, authority.id, period, frame, f"test-{period}", "api")
    compute_rates(engine, authority.id, period, campaign_starts_for(authority, period))


def load_seed(engine, authority: Authority, rates_for: range = range(4, 9)) -> None:
    """All of the seed's monthly.csv (January–August 2023), and the rates of the months ``rates_for``."""
    rows = load_monthly(authority)
    for month in range(1, 9):
        period = f"2023-{month:02d}"
        frame = pd.DataFrame(
            [{**r, "authority": authority.id, "source": "api"} for r in rows if r["period"] == period]
        )
        sync_units(engine, authority, period)
        load_facts(engine, authority.id, period, frame, f"seed-{period}", "api")
    for month in rates_for:
        period = Period(2023, month)
        compute_rates(engine, authority.id, period, campaign_starts_for(authority, period))


def stored_rows(engine, authority_id: str, period: str | None = None) -> list[dict]:
    query = sa.select(decisions).where(decisions.c.authority_id == authority_id)
    if period:
        query = query.where(decisions.c.period == period)
    with engine.connect() as conn:
        return [
            dict(r) for r in conn.execute(query.order_by(decisions.c.period, decisions.c.position)).mappings()
        ]


def runs(engine, authority_id: str, period: str | None = None) -> list[dict]:
    query = sa.select(decision_runs).where(decision_runs.c.authority_id == authority_id)
    if period:
        query = query.where(decision_runs.c.period == period)
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(query.order_by(decision_runs.c.run_key)).mappings()]


def history_rows(engine, authority_id: str) -> list[tuple]:
    with engine.connect() as conn:
        return [
            tuple(r)
            for r in conn.execute(
                sa.select(
                    criticism_history.c.period, criticism_history.c.unit_code, criticism_history.c.count
                )
                .where(criticism_history.c.authority_id == authority_id)
                .order_by(criticism_history.c.period, criticism_history.c.unit_code)
            )
        ]


def counts_by_unit(result) -> dict[str, int]:
    """unit → criticism count of a DecisionResult (or of a list of decisions)."""
    items = result.decisions if hasattr(result, "decisions") else result
    return {d.unit_code: d.count for d in items if d.kind == "criticise"}

"""Decisions in tests: the rules in force, units and figures at exact shown rates, what was stored.

``figures``/``unit``/``pct`` feed ``decide`` directly; ``GOOD``/``PLAIN``/``LOW_PAYMENT`` are a unit's
seven counts for support.warehouse.load_period; ``stored_rows``/``runs``/``history_rows`` read back what
the rules stage wrote.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from cchc.rules.decide import Figure, UnitInfo
from cchc.rules.rulebook import Rules, load_rulebook
from cchc.warehouse.schema import criticism_history, decision_runs, decisions


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


GOOD = (200, 200, 200, 200, 100, 90, 6)  # commended: 100%, 100%, 90%
PLAIN = (200, 195, 200, 200, 100, 60, 6)  # no section: 97,5%, 100%, 60%
# payment 10%: criticised (or requested) once the target is in force
LOW_PAYMENT = (200, 195, 200, 200, 100, 10, 6)


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


def issue_period(engine, authority_id: str, period: str, status: str = "issued") -> int:
    """The period's letter went out: a letter row made from the period's current decision run, numbered
    (escalation counts only what was issued, issue 10). ``status="rejected"`` records a draft the
    approver rejected instead (never numbered, never counted)."""
    from datetime import UTC, datetime

    import sqlalchemy as sa

    from cchc.warehouse.schema import decision_runs, letters

    stamp = datetime(2023, 9, 5, tzinfo=UTC)
    with engine.begin() as conn:
        run_key = conn.execute(
            sa.select(decision_runs.c.run_key).where(
                decision_runs.c.authority_id == authority_id,
                decision_runs.c.period == period,
                decision_runs.c.is_current.is_(True),
            )
        ).scalar_one()
        numbered = status != "rejected"
        number = None
        if numbered:
            number = 1 + (
                conn.execute(
                    sa.select(sa.func.max(letters.c.document_number)).where(
                        letters.c.authority_id == authority_id
                    )
                ).scalar()
                or 0
            )
        conn.execute(
            letters.update()
            .where(letters.c.authority_id == authority_id, letters.c.period == period)
            .values(is_current=False)
        )
        return conn.execute(
            letters.insert().values(
                authority_id=authority_id,
                period=period,
                status=status,
                document_number=number,
                issued_at=stamp if numbered else None,
                decisions_hash="0" * 64,
                rulebook_version="test",
                docx_path="letter.docx",
                docx_sha256="0" * 64,
                signed=False,
                run_id="test",
                is_current=True,
                created_at=stamp,
                decision_run_key=run_key,
            )
        ).inserted_primary_key[0]

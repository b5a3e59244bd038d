"""One run at a time per authority and period: two runs of the same DAG, authority and period exclude
each other; runs of other periods or authorities go side by side.

A lock names its holder (``<dag_id>/<run_id>``) and an expiry. A run that finds the lock held waits
(the DAG's first task is a sensor), unless the holder is gone: its run is not running any more (the
caller says so, from Airflow), or its lock expired. Released by the run's last task, whatever the
outcome.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from cchc.core.db import advisory_lock, guarded
from cchc.warehouse.migrate import require_head
from cchc.warehouse.schema import run_locks

log = logging.getLogger(__name__)

# Longer than any run lasts (a sensor may wait five days for a period to close).
DEFAULT_TTL = timedelta(days=7)


def _key(scope: str, authority_id: str, period: str) -> sa.ColumnElement[bool]:
    return sa.and_(
        run_locks.c.scope == scope, run_locks.c.authority_id == authority_id, run_locks.c.period == period
    )


def _aware(stamp: datetime) -> datetime:
    return stamp if stamp.tzinfo is not None else stamp.replace(tzinfo=UTC)


@guarded("giữ khóa lần chạy")
def acquire(
    engine: Engine,
    scope: str,
    authority_id: str,
    period: str,
    holder: str,
    *,
    holder_alive: Callable[[str], bool] = lambda holder: True,
    ttl: timedelta = DEFAULT_TTL,
    now: datetime | None = None,
) -> str | None:
    """Take the lock for ``holder`` (or renew it); returns None when taken, else who holds it."""
    stamp = now or datetime.now(UTC)
    with engine.begin() as conn:
        require_head(conn)
        advisory_lock(conn, "cchc.run_locks", scope, authority_id, period)
        row = conn.execute(sa.select(run_locks).where(_key(scope, authority_id, period))).first()
        if row is not None and row.holder != holder:
            if _aware(row.expires_at) > stamp and holder_alive(row.holder):
                return str(row.holder)
            log.warning(
                "%s kỳ %s: khóa của %s bỏ lại (lần chạy đã kết thúc hoặc quá hạn), %s nhận khóa",
                authority_id,
                period,
                row.holder,
                holder,
            )
        values = {"holder": holder, "acquired_at": stamp, "expires_at": stamp + ttl}
        if row is None:
            conn.execute(
                run_locks.insert().values(scope=scope, authority_id=authority_id, period=period, **values)
            )
        else:
            conn.execute(run_locks.update().where(_key(scope, authority_id, period)).values(**values))
    return None


@guarded("trả khóa lần chạy")
def release(engine: Engine, scope: str, authority_id: str, period: str, holder: str) -> bool:
    """Give the lock back; True when this holder had it."""
    with engine.begin() as conn:
        return (
            conn.execute(
                run_locks.delete().where(_key(scope, authority_id, period), run_locks.c.holder == holder)
            ).rowcount
            == 1
        )

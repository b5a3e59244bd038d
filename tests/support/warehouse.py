"""Warehouses for tests, on SQLite and on PostgreSQL, and what tests put in them or read back.

Warehouse tests run on both backends: the ``backend`` fixture is parametrised with ``BACKENDS`` (the
PostgreSQL half carries the ``postgres`` marker). On SQLite each warehouse is a new file; on PostgreSQL
it is the test module's database (support.postgres), emptied before each test.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from cchc.core.authorities import Authority, load_monthly
from cchc.core.fields import COUNT_FIELDS
from cchc.warehouse.schema import campaign_windows, loads, monthly_facts, rates, units

from .postgres import reset_schema

BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


def sqlite_url(directory: Path) -> str:
    """A new SQLite file in a folder that does not exist yet (upgrade() must create it)."""
    return f"sqlite:///{directory / 'nested' / f'warehouse-{uuid.uuid4().hex[:8]}.db'}"


def fresh_url(backend: str, request, directory: Path) -> str:
    """An empty warehouse (no tables at all) on ``backend``: a new SQLite file in ``directory``, or
    the test module's PostgreSQL database emptied (``request`` is the test's, to reach ``pg_database``)."""
    if backend == "sqlite":
        return sqlite_url(directory)
    url = request.getfixturevalue("pg_database")
    reset_schema(url)
    return url


def migrated(url: str) -> sa.Engine:
    """An Engine on the warehouse at ``url``, migrated to head."""
    from cchc.core.db import engine_for
    from cchc.warehouse.migrate import upgrade

    upgrade(url)
    return engine_for(url)


@contextmanager
def warehouse_of_run(output_dir: Path) -> Iterator[sa.Engine]:
    """An Engine on the warehouse a run wrote with no warehouse connection (the default SQLite file
    in its output folder), disposed afterwards."""
    from cchc.core.db import default_url, engine_for

    engine = engine_for(default_url(output_dir))
    try:
        yield engine
    finally:
        engine.dispose()


def make_frame(authority_id: str, period: str, rows: dict[str, tuple], source: str = "api"):
    """The extract stage's tidy table: ``rows`` maps a unit code to its 7 counts (+ optional email flag)."""
    import pandas as pd

    records: list[dict[str, Any]] = []
    for code, values in rows.items():
        counts, flag = (values[:7], values[7]) if len(values) == 8 else (values, None)
        records.append(
            {
                "authority": authority_id,
                "period": period,
                "unit_code": code,
                **dict(zip(COUNT_FIELDS, counts, strict=True)),
                "official_email_regular": flag,
                "source": source,
            }
        )
    frame = pd.DataFrame(records)
    for column in COUNT_FIELDS:
        frame[column] = frame[column].astype("Int64")
    frame["official_email_regular"] = pd.array(frame["official_email_regular"].tolist(), dtype="boolean")
    return frame


def dump(engine) -> dict[str, list[tuple]]:
    """Every row of every warehouse table, in a stable order: 'the warehouse as it was'."""
    out = {}
    with engine.connect() as conn:
        for table in (units, loads, monthly_facts, campaign_windows, rates):
            order = list(table.primary_key.columns)
            out[table.name] = [tuple(r) for r in conn.execute(sa.select(table).order_by(*order))]
    return out


def load_period(engine, authority: Authority, period: str, rows: dict[str, tuple]) -> None:
    """Load one period's counts (``rows``: unit code → 7 counts) and compute its rates under the rulebook."""
    from cchc.rules.rulebook import campaign_starts_for
    from cchc.warehouse.load import load_facts, sync_units
    from cchc.warehouse.rates import compute_rates

    sync_units(engine, authority, period)
    load_facts(engine, authority.id, period, make_frame(authority.id, period, rows), f"test-{period}", "api")
    # One month loaded on its own: its year-to-date windows are partial on purpose (these tests are
    # about the month; the DAG refuses such windows).
    compute_rates(engine, authority.id, period, campaign_starts_for(authority, period), partial=True)


def load_seed_months(engine, authority: Authority, months: range = range(1, 9)) -> list:
    """The authority's monthly.csv (by default all of the seed's January–August 2023), month by month;
    the load results."""
    import pandas as pd

    from cchc.warehouse.load import load_facts, sync_units

    rows = load_monthly(authority)
    results = []
    for month in months:
        period = f"2023-{month:02d}"
        frame = pd.DataFrame(
            [{**r, "authority": authority.id, "source": "api"} for r in rows if r["period"] == period]
        )
        sync_units(engine, authority, period)
        results.append(load_facts(engine, authority.id, period, frame, f"seed-{period}", "api"))
    return results


def load_seed(engine, authority: Authority, rates_for: range = range(4, 9)) -> None:
    """The seed's months loaded, and the rates of the months ``rates_for`` computed under the rulebook."""
    from cchc.core.periods import Period
    from cchc.rules.rulebook import campaign_starts_for
    from cchc.warehouse.rates import compute_rates

    load_seed_months(engine, authority)
    for month in rates_for:
        period = Period(2023, month)
        compute_rates(engine, authority.id, period, campaign_starts_for(authority, period))

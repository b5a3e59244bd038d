"""The warehouse: unit registry with history, versioned monthly facts, and rates computed in SQL.

SQLAlchemy Core over SQLite (the embedded default, ``<output>/warehouse.db``) or PostgreSQL, with the
schema under Alembic migrations shipped in this package. Typical use in a task::

    engine = engine_for(url)
    upgrade(engine)
    sync_units(engine, authority, period)
    load_facts(engine, authority.id, period, frame, run_id, source)
    compute_rates(engine, authority.id, period, {"payment": "2023-04"})
    rates_summary(engine, authority.id, period)
"""

from cchc.warehouse.engine import (
    default_url,
    engine_for,
    mask_text,
    mask_url,
    url_from_env,
    warehouse_url_from_connection,
)
from cchc.warehouse.errors import LoadRefused, WarehouseError
from cchc.warehouse.load import (
    FRAME_COLUMNS,
    LoadResult,
    SyncResult,
    list_loads,
    load_facts,
    read_facts,
    read_units,
    sync_units,
)
from cchc.warehouse.migrate import current_revision, downgrade, head_revision, upgrade
from cchc.warehouse.rates import (
    RatesResult,
    authority_totals,
    campaign_starts,
    compute_rates,
    default_campaign_starts,
    display_lines,
    index_rates,
    month_change,
    rates_summary,
    read_rates,
)
from cchc.warehouse.schema import AUTHORITY_TOTAL

__all__ = [
    "AUTHORITY_TOTAL",
    "FRAME_COLUMNS",
    "LoadRefused",
    "LoadResult",
    "RatesResult",
    "SyncResult",
    "WarehouseError",
    "authority_totals",
    "campaign_starts",
    "compute_rates",
    "current_revision",
    "default_campaign_starts",
    "default_url",
    "display_lines",
    "downgrade",
    "engine_for",
    "head_revision",
    "index_rates",
    "list_loads",
    "load_facts",
    "mask_text",
    "mask_url",
    "month_change",
    "rates_summary",
    "read_facts",
    "read_rates",
    "read_units",
    "sync_units",
    "upgrade",
    "url_from_env",
    "warehouse_url_from_connection",
]

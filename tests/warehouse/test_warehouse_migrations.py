"""Schema under migrations, on both backends; URLs from connections; passwords never shown."""

from __future__ import annotations

import logging
from pathlib import Path
from types import SimpleNamespace

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import make_url

from cchc.core.db import default_url, engine_for, mask_url, url_from_env, warehouse_url_from_connection
from cchc.core.errors import WarehouseError
from cchc.warehouse.migrate import current_revision, downgrade, head_revision, upgrade
from cchc.warehouse.schema import VERSION_TABLE, metadata

TABLES = {"units", "loads", "monthly_facts", "campaign_windows", "rates"}


def test_upgrade_from_empty_then_again(empty_url):
    assert current_revision(empty_url) is None
    assert upgrade(empty_url) == head_revision()
    assert current_revision(empty_url) == head_revision()
    engine = engine_for(empty_url)
    try:
        inspector = sa.inspect(engine)
        assert TABLES | {VERSION_TABLE} <= set(inspector.get_table_names())
        assert "current_facts" in inspector.get_view_names()
        # Airflow's own alembic_version is never touched.
        assert "alembic_version" not in inspector.get_table_names()
    finally:
        engine.dispose()
    assert upgrade(empty_url) == head_revision()  # idempotent


# Each process waits for the same moment, then upgrades: the processes of runs that start side by side.
CONCURRENT_UPGRADE = """
import sys, time
from cchc.warehouse.migrate import upgrade
time.sleep(max(0.0, float(sys.argv[2]) - time.time()))
print(upgrade(sys.argv[1]))
"""


def test_upgrades_started_side_by_side_all_succeed(empty_url):
    """Two monthly runs starting together each upgrade a fresh warehouse: neither creates it twice."""
    import subprocess
    import sys
    import time

    at = str(time.time() + 3)  # after every interpreter has imported the package
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", CONCURRENT_UPGRADE, empty_url, at],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    results = [(*p.communicate(timeout=120), p.returncode) for p in procs]
    assert [(code, out.strip()) for out, _, code in results] == [(0, head_revision())] * 3, [
        err[-1500:] for _, err, _ in results
    ]


def test_sqlite_folder_is_created(tmp_path):
    url = f"sqlite:///{tmp_path / 'a' / 'b' / 'warehouse.db'}"
    upgrade(url)
    assert (tmp_path / "a" / "b" / "warehouse.db").is_file()


def test_downgrade_to_empty_and_up_again(empty_url):
    upgrade(empty_url)
    assert downgrade(empty_url) is None
    engine = engine_for(empty_url)
    try:
        assert not TABLES & set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()
    assert upgrade(empty_url) == head_revision()


def test_migrations_match_the_schema_module(engine):
    """What the migrations build is what cchc.warehouse.schema describes (no drift)."""
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diffs = compare_metadata(context, metadata)
    # The current_facts view and the version table are not in the metadata on purpose.
    diffs = [d for d in diffs if not (d[0] == "remove_table" and d[1].name == VERSION_TABLE)]
    assert diffs == []


def test_loading_before_upgrade_says_so(empty_url, authority):
    from cchc.warehouse.load import sync_units

    engine = engine_for(empty_url)
    try:
        with pytest.raises(WarehouseError, match="cchc warehouse upgrade"):
            sync_units(engine, authority, "2024-01")
    finally:
        engine.dispose()


# ----------------------------------------------------------------------- URLs (backend-agnostic)


def test_default_url_and_env(tmp_path, monkeypatch):
    assert default_url(tmp_path) == f"sqlite:///{tmp_path.resolve() / 'warehouse.db'}"
    monkeypatch.delenv("CCHC_WAREHOUSE_URL", raising=False)
    monkeypatch.setenv("CCHC_OUTPUT_DIR", str(tmp_path / "out"))
    assert url_from_env() == default_url(tmp_path / "out")
    monkeypatch.setenv("CCHC_WAREHOUSE_URL", "postgresql+psycopg://u:p@db/wh")
    assert url_from_env() == "postgresql+psycopg://u:p@db/wh"


def test_url_from_connection_extra_url_wins():
    conn = SimpleNamespace(
        conn_type="postgres",
        host="ignored",
        port=None,
        login=None,
        password=None,
        schema=None,
        extra_dejson={"url": "sqlite:////data/wh.db"},
    )
    assert warehouse_url_from_connection(conn) == "sqlite:////data/wh.db"


def test_url_from_postgres_connection_with_awkward_password():
    conn = SimpleNamespace(
        conn_type="postgres",
        host="db.internal",
        port=5433,
        login="cchc",
        password="p@ss:w/rd%",
        schema="warehouse",
        extra_dejson={"sslmode": "require", "cursor": "dictcursor"},
    )
    url = make_url(warehouse_url_from_connection(conn))
    assert url.drivername == "postgresql+psycopg"
    assert (url.host, url.port, url.username, url.password, url.database) == (
        "db.internal",
        5433,
        "cchc",
        "p@ss:w/rd%",
        "warehouse",
    )
    assert dict(url.query) == {"sslmode": "require"}  # Airflow-only extras are not passed to libpq
    assert "p@ss" not in mask_url(url) and "***" in mask_url(url)


def test_url_from_sqlite_connection_and_unsupported_type():
    conn = SimpleNamespace(
        conn_type="sqlite",
        host="/data/wh.db",
        port=None,
        login=None,
        password=None,
        schema=None,
        extra_dejson={},
    )
    assert warehouse_url_from_connection(conn) == "sqlite:////data/wh.db"
    with pytest.raises(WarehouseError, match="mysql"):
        warehouse_url_from_connection(SimpleNamespace(conn_type="mysql", host="h", extra_dejson={}))


def test_password_never_in_errors_or_logs(caplog):
    caplog.set_level(logging.DEBUG)
    url = "postgresql+psycopg://cchc:TopSecret42@127.0.0.1:1/warehouse?connect_timeout=2"
    with pytest.raises(WarehouseError) as info:
        upgrade(url)
    assert "TopSecret42" not in str(info.value)
    assert "cchc:***@127.0.0.1:1" in str(info.value)
    assert "TopSecret42" not in caplog.text


def test_migrations_ship_inside_the_package():
    from cchc.warehouse.migrate import MIGRATIONS_DIR

    assert (MIGRATIONS_DIR / "env.py").is_file()
    assert any(Path(MIGRATIONS_DIR / "versions").glob("0001_*.py"))

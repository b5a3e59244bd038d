"""Applying the warehouse's Alembic migrations from code (a task, ``cchc warehouse upgrade``).

There is no alembic.ini: the script location is this package's ``migrations`` folder and the
connection is handed to ``env.py`` directly, so the URL's password never reaches a config file or a
log line.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import URL, Engine

from cchc.core.db import advisory_lock, engine_for, mask_text, mask_url
from cchc.core.errors import WarehouseError
from cchc.warehouse.schema import VERSION_TABLE

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def head_revision() -> str:
    """The newest revision shipped with the package."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def _with_engine(target: str | URL | Engine):
    if isinstance(target, Engine):
        return target, False
    return engine_for(target), True


def _run(target: str | URL | Engine, action: str, revision: str) -> str | None:
    engine, owned = _with_engine(target)
    where = mask_url(engine.url)
    config = alembic_config()
    try:
        with engine.begin() as connection:
            # Runs of different periods start side by side, each with upgrade_warehouse: on PostgreSQL
            # the second waits here and then finds the schema at head, instead of creating it twice.
            advisory_lock(connection, "cchc-warehouse-migrations")
            config.attributes["connection"] = connection
            getattr(command, action)(config, revision)
        return current_revision(engine)
    except WarehouseError:
        raise
    except Exception as exc:
        raise WarehouseError(
            f"kho dữ liệu {where}: không áp dụng được migration ({action} {revision}): "
            f"{mask_text(str(exc), engine.url)}"
        ) from exc
    finally:
        if owned:
            engine.dispose()


def upgrade(url: str | URL | Engine, revision: str = "head") -> str | None:
    """Apply every migration up to ``revision`` (default: head) in one transaction; returns the revision.

    A SQLite file and its folder are created when missing. Running it again is a no-op.
    """
    revision_now = _run(url, "upgrade", revision)
    log.info(
        "kho dữ liệu %s: lược đồ ở phiên bản %s",
        mask_url(url if not isinstance(url, Engine) else url.url),
        revision_now,
    )
    return revision_now


def downgrade(url: str | URL | Engine, revision: str = "base") -> str | None:
    """Undo migrations down to ``revision`` (default: an empty warehouse). For tests and repairs only."""
    return _run(url, "downgrade", revision)


def revision_of(connection: sa.Connection) -> str | None:
    """The revision seen through an open connection (inside the caller's transaction)."""
    context = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
    return context.get_current_revision()


def current_revision(url: str | URL | Engine) -> str | None:
    """The revision the warehouse is at; None for an empty database."""
    engine, owned = _with_engine(url)
    try:
        with engine.connect() as connection:
            return revision_of(connection)
    except sa.exc.SQLAlchemyError as exc:
        raise WarehouseError(
            f"kho dữ liệu {mask_url(engine.url)}: không đọc được phiên bản lược đồ: {mask_text(str(exc), engine.url)}"
        ) from exc
    finally:
        if owned:
            engine.dispose()


_HEAD: str | None = None


def require_head(connection: sa.Connection) -> None:
    """Refuse to work on a warehouse whose schema is not the one this code was written for.

    Checked inside the caller's transaction, so a missing migration is reported as such instead of
    as "no such table" halfway through a load.
    """
    global _HEAD
    if _HEAD is None:
        _HEAD = head_revision()
    current = revision_of(connection)
    if current != _HEAD:
        raise WarehouseError(
            f"kho dữ liệu {mask_url(connection.engine.url)}: lược đồ ở phiên bản {current or '(trống)'}, "
            f"cần {_HEAD}; chạy 'cchc warehouse upgrade' (hoặc tác vụ nâng cấp kho) trước"
        )


@contextmanager
def upgraded_engine(url: str | URL) -> Iterator[Engine]:
    """An Engine on the warehouse at ``url``, migrated to head first (idempotent), disposed afterwards."""
    upgrade(url)
    engine = engine_for(url)
    try:
        yield engine
    finally:
        engine.dispose()

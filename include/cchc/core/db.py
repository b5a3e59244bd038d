"""The database helpers: where the warehouse is, how to connect, and never showing a password.

The embedded default is a SQLite file under the output folder; production points the
``cchc_warehouse`` Airflow connection (or ``CCHC_WAREHOUSE_URL``) at PostgreSQL. Both behave the same:
on SQLite the driver's own transaction handling is replaced by explicit ``BEGIN`` so that every
``engine.begin()`` block, DDL included, commits or rolls back as one unit, exactly as on PostgreSQL.

Functions that may run inside a caller's transaction take a ``Bind`` (an Engine or a Connection):
``begin(bind)`` and ``connect(bind)`` give a connection either way.
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import URL, Connection, Engine, make_url

from cchc.core import settings
from cchc.core.errors import WarehouseError
from cchc.core.paths import warehouse_file

Bind = Engine | Connection
F = TypeVar("F", bound=Callable[..., Any])
# Airflow connection extras that mean something to libpq; anything else in the extra (Airflow's own
# options such as "cursor") would make psycopg refuse to connect.
_PG_QUERY_KEYS = (
    "sslmode",
    "sslrootcert",
    "sslcert",
    "sslkey",
    "connect_timeout",
    "application_name",
    "options",
    "target_session_attrs",
)
_DRIVERS = {
    "postgres": "postgresql+psycopg",
    "postgresql": "postgresql+psycopg",
    "postgresql+psycopg": "postgresql+psycopg",
    "sqlite": "sqlite",
}


def default_url(output_dir: str | os.PathLike) -> str:
    """The embedded warehouse: ``sqlite:///<output_dir>/warehouse.db`` (an absolute path)."""
    return f"sqlite:///{warehouse_file(output_dir).resolve()}"


def url_from_env(output_dir: str | os.PathLike | None = None) -> str:
    """``CCHC_WAREHOUSE_URL`` if set, else the SQLite file under ``output_dir``/``CCHC_OUTPUT_DIR``/output."""
    current = settings.current()
    if current.warehouse_url:
        return current.warehouse_url
    return default_url(output_dir if output_dir is not None else current.output_dir)


def _parse(url: str | URL) -> URL:
    if isinstance(url, URL):
        return url
    try:
        return make_url(str(url))
    except Exception as exc:  # noqa: BLE001 - the text may carry a password: never echo it raw
        raise WarehouseError(f"địa chỉ kho dữ liệu không hợp lệ: {mask_text(str(url))}") from exc


def mask_url(url: str | URL) -> str:
    """The URL as it may be logged: the password, if any, replaced by ``***``."""
    try:
        return _parse(url).render_as_string(hide_password=True)
    except WarehouseError:
        return mask_text(str(url))


_USERINFO = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.\-]*://)(?P<user>[^:/@\s]*):(?P<password>[^@\s]*)@")


def mask_text(text: str, url: str | URL | None = None) -> str:
    """Remove passwords from any text (an error message, a log line) before it is shown.

    Both ``scheme://user:secret@host`` forms and, when the URL is known, the literal password
    (raw and URL-encoded) are hidden.
    """
    masked = _USERINFO.sub(lambda m: f"{m.group('scheme')}{m.group('user')}:***@", text)
    if url is not None:
        try:
            password = _parse(url).password
        except WarehouseError:
            password = None
        if password:
            from urllib.parse import quote_plus

            for secret in {str(password), quote_plus(str(password))}:
                if secret:
                    masked = masked.replace(secret, "***")
    return masked


def warehouse_url_from_connection(conn: Any) -> str:
    """The warehouse URL of an Airflow Connection (or anything with the same attributes).

    ``extra_dejson["url"]`` wins when present; otherwise the URL is built from ``conn_type``
    (postgres → ``postgresql+psycopg``; sqlite with the file path in ``host``), ``host``, ``port``,
    ``login``, ``password`` and ``schema`` (the database name), with libpq options from the extra.
    Airflow is not imported: the caller hands the connection in.
    """
    extra = getattr(conn, "extra_dejson", None) or {}
    if not isinstance(extra, dict):
        raise WarehouseError("kết nối kho dữ liệu: trường extra phải là JSON dạng đối tượng")
    if extra.get("url"):
        return str(extra["url"])
    conn_type = (getattr(conn, "conn_type", None) or "").strip().lower()
    driver = _DRIVERS.get(conn_type)
    if driver is None:
        raise WarehouseError(
            f"kết nối kho dữ liệu: loại kết nối '{conn_type or '(trống)'}' không được hỗ trợ "
            '(chỉ nhận postgres, sqlite, hoặc extra {"url": ...})'
        )
    host = (getattr(conn, "host", None) or "").strip()
    if driver == "sqlite":
        path = host or (getattr(conn, "schema", None) or "").strip()
        if not path:
            raise WarehouseError("kết nối kho dữ liệu SQLite: chưa có đường dẫn tệp (trường host)")
        return f"sqlite:///{path}"
    if not host:
        raise WarehouseError("kết nối kho dữ liệu PostgreSQL: chưa có host")
    port = getattr(conn, "port", None)
    query = {k: str(extra[k]) for k in _PG_QUERY_KEYS if extra.get(k) not in (None, "")}
    url = URL.create(
        driver,
        username=getattr(conn, "login", None) or None,
        password=getattr(conn, "password", None) or None,
        host=host,
        port=int(port) if port else None,
        database=(getattr(conn, "schema", None) or "").strip() or None,
        query=query,
    )
    return url.render_as_string(hide_password=False)


def _sqlite_file(url: URL) -> Path | None:
    database = url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database)


def engine_for(url: str | URL, **kwargs: Any) -> Engine:
    """An Engine for the warehouse at ``url``; a SQLite file's folder is created when missing."""
    parsed = _parse(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        path = _sqlite_file(parsed)
        if path is not None:
            path.expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(parsed, **kwargs)
        _make_sqlite_transactional(engine)
        return engine
    if backend == "postgresql":
        if parsed.drivername == "postgresql":
            # psycopg 3 is what the project installs; the bare name would ask for psycopg2.
            parsed = parsed.set(drivername="postgresql+psycopg")
        kwargs.setdefault("pool_pre_ping", True)
        return sa.create_engine(parsed, **kwargs)
    raise WarehouseError(
        f"kho dữ liệu {mask_url(parsed)}: hệ quản trị '{backend}' không được hỗ trợ (chỉ SQLite và PostgreSQL)"
    )


READ_ONLY = "cchc_read_only"  # execution option of a connection that only reads (``connect``)


def _make_sqlite_transactional(engine: Engine) -> None:
    """Let SQLAlchemy, not pysqlite, decide where transactions start (SQLAlchemy's documented recipe).

    pysqlite commits on its own before DDL and never begins a transaction for SELECT, so a failed
    migration or load could leave half its work behind. Foreign keys are off by default in SQLite and
    are switched on so that facts can only point at a recorded load.
    """

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):  # pragma: no cover - trivial
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        # Write-ahead log: readers never block the writer nor wait for it, and a commit is one
        # append and one fsync of the log (the rollback journal took three): the ledger commits once
        # per message. FULL keeps every commit durable across a power cut, as before.
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(connection):  # pragma: no cover - trivial
        if connection.get_execution_options().get(READ_ONLY):
            # A reader's snapshot: under WAL it takes no lock a writer waits for.
            connection.exec_driver_sql("BEGIN")
            return
        # IMMEDIATE takes the write lock at once: two loads running side by side (one per authority)
        # then wait for each other (busy_timeout) instead of failing when a read upgrades to a write.
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def describe(engine: Engine) -> str:
    """The engine's URL for a log line, password hidden."""
    return mask_url(engine.url)


def guarded(action: str) -> Callable[[F], F]:
    """Turn a database failure of a public warehouse function into a WarehouseError an operator can read.

    ``action`` says what was being done ("nạp số liệu"). The first argument of the function must be
    the Engine. Refusals (WarehouseError) pass through unchanged; the message of anything else is
    stripped of passwords before it is shown.
    """

    def decorate(function: F) -> F:
        @functools.wraps(function)
        def wrapper(engine: Engine, *args: Any, **kwargs: Any) -> Any:
            try:
                return function(engine, *args, **kwargs)
            except sa.exc.DBAPIError as exc:
                reason = exc.orig if exc.orig is not None else exc
                raise WarehouseError(
                    f"kho dữ liệu {mask_url(engine.url)}: lỗi cơ sở dữ liệu khi {action}"
                    f" (mọi thay đổi của lần này đã được hoàn tác): {mask_text(str(reason), engine.url).strip()}"
                ) from exc

        return wrapper  # type: ignore[return-value]

    return decorate


def begin(bind: Bind) -> AbstractContextManager[Connection]:
    """Inside the caller's transaction when given a Connection; else one transaction of our own."""
    return nullcontext(bind) if isinstance(bind, Connection) else bind.begin()


def connect(bind: Bind) -> AbstractContextManager[Connection]:
    """The caller's connection, or a new one on the engine for reading only (on SQLite its
    transaction then takes no write lock)."""
    return (
        nullcontext(bind)
        if isinstance(bind, Connection)
        else bind.connect().execution_options(**{READ_ONLY: True})
    )


def new_key(result: sa.CursorResult[Any]) -> int:
    """The primary key an INSERT gave its row."""
    key = result.inserted_primary_key
    if key is None:  # pragma: no cover - every insert of ours has an autoincrement key
        raise WarehouseError("kho dữ liệu không trả về khóa của dòng vừa ghi")
    return int(key[0])


def engine_of(bind: Bind) -> Engine:
    return bind if isinstance(bind, Engine) else bind.engine


def lock_key(*parts: object) -> int:
    """A signed 64-bit key for ``pg_advisory_xact_lock``, the same in every process."""
    digest = hashlib.sha256("|".join(str(p) for p in parts).encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def advisory_lock(conn: Connection, *parts: object) -> None:
    """Serialise writers of the same key until the transaction ends.

    PostgreSQL takes a transaction-scoped advisory lock; SQLite already admits one writer at a time
    (every transaction of the warehouse engine starts with ``BEGIN IMMEDIATE``).
    """
    if conn.dialect.name == "postgresql":
        conn.execute(sa.select(sa.func.pg_advisory_xact_lock(lock_key(*parts))))


_DATABASE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def _database_name(name: str) -> str:
    # Interpolated into DDL (a database name cannot be a bound parameter): only plain identifiers.
    if not _DATABASE_NAME.match(name):
        raise WarehouseError(
            f"tên cơ sở dữ liệu '{name}' không hợp lệ (chữ thường, số, '_'; tối đa 63 ký tự)"
        )
    return name


def create_database(admin: Engine, name: str) -> str:
    """A new PostgreSQL database on ``admin``'s server (an AUTOCOMMIT engine); returns its URL."""
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{_database_name(name)}"')
    return admin.url.set(database=name).render_as_string(hide_password=False)


def drop_database(admin: Engine, name: str) -> None:
    """Drops the database if it exists, even with sessions still open."""
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{_database_name(name)}" WITH (FORCE)')


@contextmanager
def scratch_database(admin: Engine, name: str) -> Iterator[str]:
    """A new PostgreSQL database on ``admin``'s server (an AUTOCOMMIT engine): yields its URL, drops
    it afterwards even with sessions still open (the tests' and the bench's throwaway warehouses)."""
    url = create_database(admin, name)
    try:
        yield url
    finally:
        drop_database(admin, name)

"""Alembic environment of the warehouse, driven by ``cchc.warehouse.migrate`` (no alembic.ini).

The caller passes an open SQLAlchemy connection in ``config.attributes["connection"]``, so the URL,
and its password, never goes through Alembic's ini-style configuration or its log lines.
"""

from __future__ import annotations

from alembic import context

from cchc.warehouse.schema import VERSION_TABLE, metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("cchc.warehouse: chạy migration qua 'cchc warehouse upgrade', không qua alembic.ini")

context.configure(
    connection=connection,
    target_metadata=metadata,
    version_table=VERSION_TABLE,
    # SQLite cannot ALTER most things in place; batch mode copies the table when a later revision needs to.
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()

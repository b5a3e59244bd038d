"""The embedded SQLite warehouse: a reader never holds the writer up (write-ahead log, reads deferred)."""

from __future__ import annotations

import sqlalchemy as sa

from cchc.core.db import connect, engine_for
from cchc.warehouse.migrate import upgrade

PROBE = sa.table("probe", sa.column("x"))


def test_a_reader_in_its_transaction_does_not_block_a_writer(tmp_path):
    url = f"sqlite:///{tmp_path / 'warehouse.db'}"
    reader_engine, writer_engine = engine_for(url), engine_for(url)
    upgrade(writer_engine)
    with writer_engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE probe (x INTEGER)")
    try:
        with connect(reader_engine) as reader:
            assert reader.execute(sa.select(sa.func.count()).select_from(PROBE)).scalar() == 0
            assert reader.in_transaction()  # its snapshot is open while the writer commits
            with writer_engine.connect() as writer:
                writer.exec_driver_sql("PRAGMA busy_timeout=200")  # fail fast instead of waiting 30 s
                writer.commit()
                with writer.begin():  # BEGIN IMMEDIATE: the write lock
                    writer.exec_driver_sql("INSERT INTO probe (x) VALUES (1)")
            # The reader still sees its snapshot; a new read sees the write.
            assert reader.execute(sa.select(sa.func.count()).select_from(PROBE)).scalar() == 0
        with connect(reader_engine) as again:
            assert again.execute(sa.select(sa.func.count()).select_from(PROBE)).scalar() == 1
        with reader_engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    finally:
        reader_engine.dispose()
        writer_engine.dispose()

"""Test data for the warehouse tests: a three-unit authority, tidy tables, table dumps."""

from __future__ import annotations

from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from cchc.core.authorities import Authority, Signer, Unit
from cchc.warehouse.schema import campaign_windows, loads, monthly_facts, rates, units


def reset_postgres(url: str) -> None:
    """Empty the module's database: drop and recreate its public schema."""
    engine = sa.create_engine(url, poolclass=NullPool)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql("DROP SCHEMA public CASCADE")
            conn.exec_driver_sql("CREATE SCHEMA public")
    finally:
        engine.dispose()


def fresh_url(backend: str, request, directory) -> str:
    """An empty warehouse on ``backend``: a new SQLite path, or the module's PostgreSQL database emptied."""
    if backend == "sqlite":
        # A folder that does not exist yet: upgrade() must create it.
        return f"sqlite:///{directory / 'nested' / 'warehouse.db'}"
    url = request.getfixturevalue("pg_database")
    reset_postgres(url)
    return url


UNITS = [
    Unit("P-A", "Phòng Tài chính - Kế hoạch huyện", "department", "Trưởng phòng", "taichinh@example.vn"),
    Unit("X-B", "UBND xã Hà Kỳ", "commune", "Chủ tịch UBND xã", "haky@example.vn"),
    Unit("X-C", "UBND xã Tân Kỳ", "commune", "Chủ tịch UBND xã", "tanky@example.vn"),
]


def make_authority(units_list: list[Unit] | None = None, authority_id: str = "demo") -> Authority:
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
        units=list(units_list if units_list is not None else UNITS),
        folder=None,  # type: ignore[arg-type]  # not read by the warehouse
    )


COUNTS = (
    "received",
    "received_digitized",
    "resolved",
    "resolved_digitized",
    "fee_dossiers",
    "paid_online",
    "web_posts",
)


def make_frame(authority_id: str, period: str, rows: dict[str, tuple], source: str = "api") -> pd.DataFrame:
    """The extract stage's tidy table: ``rows`` maps a unit code to its 7 counts (+ optional email flag)."""
    records: list[dict[str, Any]] = []
    for code, values in rows.items():
        counts, flag = (values[:7], values[7]) if len(values) == 8 else (values, None)
        records.append(
            {
                "authority": authority_id,
                "period": period,
                "unit_code": code,
                **dict(zip(COUNTS, counts, strict=True)),
                "official_email_regular": flag,
                "source": source,
            }
        )
    frame = pd.DataFrame(records)
    for column in COUNTS:
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

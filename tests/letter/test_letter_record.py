"""The letter's record (migration 0003) on SQLite and PostgreSQL: tables, current letter, constraints."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from cchc.core.db import engine_for
from cchc.core.errors import WarehouseError
from cchc.letter.records import read_letters, record_letter
from cchc.warehouse.migrate import downgrade, upgrade
from cchc.warehouse.schema import document_numbers, letters, metadata

TABLES = {"letters", "document_numbers"}


def test_0003_builds_what_the_tables_module_describes(engine):
    with engine.connect() as conn:
        assert TABLES <= set(sa.inspect(conn).get_table_names())
        diffs = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), metadata)

    def table_of(diff) -> str | None:
        item = diff[0] if isinstance(diff, list) else diff  # modify_* diffs come as lists
        op = item[0]
        if op in ("add_table", "remove_table"):
            return item[1].name
        if op in ("add_column", "remove_column") or op.startswith("modify_"):
            return item[2]
        return getattr(getattr(item[1], "table", None), "name", None)  # indexes, constraints

    assert [d for d in diffs if table_of(d) in TABLES] == []


def test_downgrade_below_0003_drops_the_tables(empty_url):
    upgrade(empty_url)
    assert downgrade(empty_url, "0002") == "0002"
    eng = engine_for(empty_url)
    try:
        assert not TABLES & set(sa.inspect(eng).get_table_names())
    finally:
        eng.dispose()
    upgrade(empty_url)


def test_a_new_letter_becomes_the_current_one(engine, seed_letter):
    first = record_letter(engine, seed_letter, created_at=datetime(2023, 9, 1, tzinfo=UTC))
    second = record_letter(engine, dataclasses.replace(seed_letter, run_id="manual__again"))
    assert second > first
    rows = read_letters(engine, "tu-ky", "2023-08")
    assert [r["letter_id"] for r in rows] == [second, first]
    assert [r["is_current"] for r in rows] == [True, False]
    row = rows[0]
    assert row["status"] == "draft" and row["document_number"] is None
    # Stored relative to CCHC_OUTPUT_DIR, so any worker can find the files under its own mount.
    assert row["docx_path"] == "tu-ky/2023-08/letter.docx" and row["pdf_path"] == "tu-ky/2023-08/letter.pdf"
    assert row["docx_sha256"] == seed_letter.docx_sha256 and row["pdf_sha256"] == seed_letter.pdf_sha256
    assert row["decisions_hash"] == seed_letter.decisions_sha256
    assert row["rulebook_version"] == "default@2023-04-01" and row["run_id"] == "manual__again"
    assert row["signed"] is False


def test_issued_letter_refreshes_its_record(engine, seed_letter):
    letter_id = record_letter(engine, seed_letter)
    with engine.begin() as conn:  # what the distribution stage does when it issues the letter
        conn.execute(
            document_numbers.insert().values(
                authority_id="tu-ky",
                year=2023,
                number=7,
                letter_id=letter_id,
                issued_at=datetime(2023, 9, 5, tzinfo=UTC),
            )
        )
        conn.execute(
            letters.update()
            .where(letters.c.letter_id == letter_id)
            .values(status="issued", document_number=7)
        )
    issued = dataclasses.replace(seed_letter, document_number="7", docx_sha256="a" * 64)
    assert record_letter(engine, issued, letter_id=letter_id) == letter_id
    (row,) = read_letters(engine, "tu-ky", "2023-08")
    assert (row["status"], row["document_number"], row["docx_sha256"]) == ("issued", 7, "a" * 64)
    other = dataclasses.replace(seed_letter, period="2023-07")
    with pytest.raises(Exception, match="2023-08"):
        record_letter(engine, other, letter_id=letter_id)


def test_constraints_keep_the_register_honest(engine, seed_letter):
    a = record_letter(engine, seed_letter)
    b = record_letter(engine, dataclasses.replace(seed_letter, period="2023-09"))
    stamp = datetime(2023, 10, 1, tzinfo=UTC)
    with engine.begin() as conn:
        conn.execute(
            document_numbers.insert().values(
                authority_id="tu-ky", year=2023, number=1, letter_id=a, issued_at=stamp
            )
        )
    for values in (
        {"authority_id": "tu-ky", "year": 2023, "number": 1, "letter_id": b},  # a number is given once a year
        {"authority_id": "tu-ky", "year": 2023, "number": 2, "letter_id": a},  # a letter has one number
        {"authority_id": "tu-ky", "year": 2023, "number": 0, "letter_id": b},  # numbers start at 1
    ):
        with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
            conn.execute(document_numbers.insert().values(issued_at=stamp, **values))
    with engine.begin() as conn:  # the same number in another year or for another authority is fine
        conn.execute(
            document_numbers.insert().values(
                authority_id="tu-ky", year=2024, number=1, letter_id=b, issued_at=stamp
            )
        )
    # Issued means numbered, and a draft has no number.
    for values in ({"status": "issued"}, {"document_number": 3}, {"status": "sent"}):
        with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
            conn.execute(letters.update().where(letters.c.letter_id == b).values(**values))
    # One current letter per period.
    with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
        conn.execute(letters.update().where(letters.c.letter_id == b).values(period="2023-08"))


def test_recording_before_the_upgrade_says_so(empty_url, seed_letter):
    eng = engine_for(empty_url)
    try:
        with pytest.raises(WarehouseError, match="cchc warehouse upgrade"):
            record_letter(eng, seed_letter)
    finally:
        eng.dispose()


def test_command_line_renders_and_records(tmp_path, capsys):
    import argparse
    import json
    import shutil

    from support.paths import SEED_AUTHORITY, SEED_DECISIONS

    from cchc.letter import cli

    folder = tmp_path / "out" / "tu-ky" / "2023-08"
    folder.mkdir(parents=True)
    shutil.copy(SEED_DECISIONS, folder / "decisions.json")
    parser = argparse.ArgumentParser()
    cli.add_arguments(parser)
    args = parser.parse_args(
        [
            "--period",
            "2023-08",
            "--authority",
            "tu-ky",
            "--output-dir",
            str(tmp_path / "out"),
            "--config-dir",
            str(SEED_AUTHORITY.parent),
            "--no-pdf",
            "--json",
        ]
    )
    assert cli.run_from_args(args) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["docx"] == str(folder / "letter.docx") and summary["pdf"] is None
    assert summary["letter_id"] == 1 and (tmp_path / "out" / "warehouse.db").is_file()

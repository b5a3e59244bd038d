"""Issuing: gap-free per-year numbers, the same number on a retry, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from datetime import datetime

import pytest
import sqlalchemy as sa
from support.delivery import insert_letter

from cchc.core.periods import TIMEZONE
from cchc.core.wording import document_number_text
from cchc.delivery.errors import DeliveryError
from cchc.delivery.issue import issue_letter
from cchc.letter.records import find_letter
from cchc.warehouse.schema import document_numbers, letters

SEPT = datetime(2023, 9, 5, 10, 0, tzinfo=TIMEZONE)


def _register(engine):
    with engine.connect() as conn:
        return conn.execute(
            sa.select(
                document_numbers.c.year, document_numbers.c.number, document_numbers.c.letter_id
            ).order_by(document_numbers.c.year, document_numbers.c.number)
        ).all()


def test_numbers_are_gap_free_and_a_retry_reuses_the_number(engine, tmp_path):
    august = insert_letter(engine, tmp_path, period="2023-08")
    september = insert_letter(engine, tmp_path, period="2023-09")
    assert issue_letter(engine, august, issued_at=SEPT) == 1
    assert issue_letter(engine, august, issued_at=SEPT) == 1  # retry
    assert issue_letter(engine, ("demo", "2023-08"), issued_at=SEPT) == 1  # rerun, by period
    assert issue_letter(engine, ("demo", "2023-09"), issued_at=SEPT) == 2
    assert _register(engine) == [(2023, 1, august), (2023, 2, september)]
    ref = find_letter(engine, august)
    assert ref.status == "issued" and ref.document_number == 1 and ref.issued_at is not None
    assert ref.number_text("UBND-NV") == document_number_text(1, "UBND-NV") == "01/UBND-NV"


def test_each_year_has_its_own_register_and_authorities_their_own(engine, tmp_path):
    december = insert_letter(engine, tmp_path, period="2023-12")
    other = insert_letter(engine, tmp_path, period="2023-12", authority_id="other")
    november = insert_letter(engine, tmp_path, period="2023-11")
    assert issue_letter(engine, november, issued_at=SEPT) == 1
    # December's letter is issued in January: number 1 of the new year's register.
    assert issue_letter(engine, december, issued_at=datetime(2024, 1, 3, 8, 0, tzinfo=TIMEZONE)) == 1
    assert issue_letter(engine, other, issued_at=datetime(2024, 1, 3, 8, 0, tzinfo=TIMEZONE)) == 1
    assert _register(engine) == [(2023, 1, november), (2024, 1, december), (2024, 1, other)]


def test_a_failed_issue_leaves_no_gap(engine, tmp_path):
    first = insert_letter(engine, tmp_path, period="2023-08")
    with pytest.raises(DeliveryError, match="không tìm thấy"):
        issue_letter(engine, 999_999, issued_at=SEPT)
    assert issue_letter(engine, first, issued_at=SEPT) == 1


def test_an_outdated_draft_is_not_issued(engine, tmp_path):
    old = insert_letter(engine, tmp_path, period="2023-08")
    new = insert_letter(engine, tmp_path, period="2023-08")  # rendered again: the old one is not current
    with pytest.raises(DeliveryError, match="không còn là bản hiện hành"):
        issue_letter(engine, old, issued_at=SEPT)
    assert issue_letter(engine, new, issued_at=SEPT) == 1
    assert _register(engine) == [(2023, 1, new)]


def test_a_half_done_issue_is_repaired(engine, tmp_path):
    letter_id = insert_letter(engine, tmp_path, period="2023-08", number=4)
    with engine.begin() as conn:
        # e.g. the letter stage re-recorded the row from a draft render after the number was taken
        conn.execute(
            letters.update()
            .where(letters.c.letter_id == letter_id)
            .values(status="draft", document_number=None)
        )
    assert issue_letter(engine, letter_id, issued_at=SEPT) == 4
    assert find_letter(engine, letter_id).status == "issued"


def test_two_threads_issuing_two_letters_get_1_and_2(engine, tmp_path):
    ids = [insert_letter(engine, tmp_path, period=p) for p in ("2023-08", "2023-09")]
    results: dict[int, int] = {}
    errors: list[BaseException] = []
    barrier = threading.Barrier(2)

    def issue(letter_id: int) -> None:
        try:
            barrier.wait()
            results[letter_id] = issue_letter(engine, letter_id, issued_at=SEPT)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=issue, args=(i,)) for i in ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == []
    assert sorted(results.values()) == [1, 2]
    assert [n for _, n, _ in _register(engine)] == [1, 2]


def test_two_threads_issuing_the_same_letter_get_the_same_number(engine, tmp_path):
    letter_id = insert_letter(engine, tmp_path, period="2023-08")
    results: list[int] = []
    barrier = threading.Barrier(2)

    def issue() -> None:
        barrier.wait()
        results.append(issue_letter(engine, letter_id, issued_at=SEPT))

    threads = [threading.Thread(target=issue) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert results == [1, 1]
    assert len(_register(engine)) == 1

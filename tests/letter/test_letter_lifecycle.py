"""A letter's life (issue 10) on SQLite and PostgreSQL: every allowed step is one ``letter_events`` row,
every other step is refused without writing anything, and the diagram's labels cover every state."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from support.delivery import insert_letter

from cchc.letter.errors import LetterError
from cchc.letter.lifecycle import (
    PIPELINE,
    STATE_LABELS,
    TRANSITIONS,
    LetterStateError,
    events,
    is_numbered,
    move,
    state_of,
)
from cchc.warehouse.schema import LETTER_STATES, NUMBERED_STATES, letter_events, letters

STAMP = datetime(2023, 9, 5, 9, 30, tzinfo=UTC)
ALLOWED = sorted((before, after) for before, targets in TRANSITIONS.items() for after in targets)
REFUSED = {
    before: sorted(s for s in LETTER_STATES if s != before and s not in TRANSITIONS[before])
    for before in LETTER_STATES
}


def aware(stamp: datetime) -> datetime:
    # SQLite hands back the naive wall time it was given (UTC here); PostgreSQL an aware datetime.
    return stamp if stamp.tzinfo is not None else stamp.replace(tzinfo=UTC)


def letter_in(engine, folder, state: str, authority_id: str) -> int:
    """A letter row already in ``state`` (numbered exactly when the state is), with no event yet.

    Each letter belongs to its own authority, so every one is current and number 1 of its register.
    """
    letter_id = insert_letter(
        engine, folder, number=1 if is_numbered(state) else None, authority_id=authority_id
    )
    with engine.begin() as conn:
        conn.execute(letters.update().where(letters.c.letter_id == letter_id).values(status=state))
    return letter_id


def row_of(engine, letter_id: int) -> dict:
    with engine.connect() as conn:
        return dict(conn.execute(sa.select(letters).where(letters.c.letter_id == letter_id)).mappings().one())


def all_events(engine) -> list[tuple]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.select(letter_events).order_by(letter_events.c.event_id))]


# --------------------------------------------------------------------------- the diagram itself


def test_every_state_has_a_label_and_transitions_and_nothing_else_does():
    assert set(STATE_LABELS) == set(LETTER_STATES)
    assert all(label.strip() for label in STATE_LABELS.values())
    assert len(set(STATE_LABELS.values())) == len(STATE_LABELS)  # an operator can tell them apart
    assert set(TRANSITIONS) == set(LETTER_STATES)
    assert set().union(*TRANSITIONS.values()) <= set(LETTER_STATES)


def test_a_number_once_taken_is_never_given_back():
    """From a numbered state every step leads to a numbered state: an issued letter stays a record."""
    assert {s for s in LETTER_STATES if is_numbered(s)} == set(NUMBERED_STATES)
    for state in NUMBERED_STATES:
        assert TRANSITIONS[state] <= set(NUMBERED_STATES), state
    for terminal in ("rejected", "discarded", "superseded"):
        assert TRANSITIONS[terminal] == frozenset(), terminal


def test_every_state_is_reachable_from_a_draft():
    seen, todo = {"draft"}, ["draft"]
    while todo:
        for after in TRANSITIONS[todo.pop()] - seen:
            seen.add(after)
            todo.append(after)
    assert seen == set(LETTER_STATES)


# --------------------------------------------------------------------------- steps in the warehouse


def test_every_allowed_step_moves_the_letter_and_writes_one_event(engine, tmp_path):
    for index, (before, after) in enumerate(ALLOWED):
        letter_id = letter_in(engine, tmp_path, before, authority_id=f"a{index}")
        assert events(engine, letter_id) == []
        # Into a numbered state the number comes with the step (the register's CHECK wants both).
        values = (
            {"document_number": 1, "issued_at": STAMP} if after == "issued" and before != "issued" else None
        )
        previous = move(
            engine,
            letter_id,
            after,
            actor="chanhvp",
            reason=f"lý do {before}→{after}",
            run_id=f"run-{index}",
            details={"step": index},
            values=values,
            at=STAMP,
        )
        assert previous == before, (before, after)
        assert state_of(engine, letter_id) == after
        (event,) = events(engine, letter_id)
        assert (
            event["state"],
            event["previous_state"],
            event["actor"],
            event["reason"],
            event["run_id"],
            event["details"],
        ) == (after, before, "chanhvp", f"lý do {before}→{after}", f"run-{index}", {"step": index})
        assert aware(event["at"]) == STAMP
        if values:
            assert row_of(engine, letter_id)["document_number"] == 1
    assert len(all_events(engine)) == len(ALLOWED)


def test_the_pipeline_is_the_default_actor(engine, tmp_path):
    letter_id = letter_in(engine, tmp_path, "issued", authority_id="demo")
    move(engine, letter_id, "sending")
    (event,) = events(engine, letter_id)
    assert (event["actor"], event["reason"], event["run_id"], event["details"]) == (
        PIPELINE,
        None,
        None,
        None,
    )
    assert event["at"] is not None


def test_a_step_the_diagram_does_not_allow_is_refused_and_writes_nothing(engine, tmp_path):
    for index, before in enumerate(LETTER_STATES):
        authority_id = f"refuse{index}"
        letter_id = letter_in(engine, tmp_path, before, authority_id=authority_id)
        row = row_of(engine, letter_id)
        for after in [*REFUSED[before], "no-such-state"]:
            with pytest.raises(LetterStateError) as caught:
                move(engine, letter_id, after, actor="someone", reason="thử", values={"reason": "đổi"})
            message = str(caught.value)
            # The operator reads which letter, where it stands and where it was asked to go.
            assert authority_id in message and "2023-08" in message and str(letter_id) in message
            assert f"'{STATE_LABELS[before]}'" in message, message
            assert f"'{STATE_LABELS.get(after, after)}'" in message, message
        assert row_of(engine, letter_id) == row, before  # neither the state nor ``values`` were written
    assert all_events(engine) == []


@pytest.mark.parametrize(
    ("before", "after"),
    [("rejected", "issued"), ("superseded", "issued"), ("superseded", "sending"), ("discarded", "approved")],
)
def test_the_named_refusals(sqlite_engine, tmp_path, before, after):
    letter_id = letter_in(sqlite_engine, tmp_path, before, authority_id="demo")
    with pytest.raises(LetterStateError, match=f"không thể chuyển sang '{STATE_LABELS[after]}'"):
        move(sqlite_engine, letter_id, after, values={"document_number": 9} if after == "issued" else None)
    assert state_of(sqlite_engine, letter_id) == before and events(sqlite_engine, letter_id) == []


def test_superseded_cannot_go_anywhere(sqlite_engine, tmp_path):
    letter_id = letter_in(sqlite_engine, tmp_path, "superseded", authority_id="demo")
    for after in LETTER_STATES:
        if after == "superseded":
            continue
        with pytest.raises(LetterStateError):
            move(sqlite_engine, letter_id, after)
    assert state_of(sqlite_engine, letter_id) == "superseded" and events(sqlite_engine, letter_id) == []


def test_a_step_the_database_refuses_leaves_no_event(engine, tmp_path):
    """Issuing without a number breaks the register's CHECK: the step and its event go together."""
    letter_id = letter_in(engine, tmp_path, "draft", authority_id="demo")
    with pytest.raises(sa.exc.IntegrityError):
        move(engine, letter_id, "issued")
    assert state_of(engine, letter_id) == "draft"
    assert events(engine, letter_id) == []


def test_staying_in_the_same_state_records_nothing(engine, tmp_path):
    letter_id = letter_in(engine, tmp_path, "sent", authority_id="demo")
    assert move(engine, letter_id, "sent", reason="lần chạy lại") == "sent"
    assert events(engine, letter_id) == []


def test_a_missing_letter_is_named(engine):
    with pytest.raises(LetterError, match="bản ghi 424242") as caught:
        move(engine, 424242, "approved")
    assert not isinstance(caught.value, LetterStateError)
    with pytest.raises(LetterError, match="bản ghi 424242"):
        state_of(engine, 424242)
    assert all_events(engine) == []


def test_steps_inside_a_callers_transaction_roll_back_with_it(engine, tmp_path):
    """``move`` on a Connection joins the caller's transaction (as the issue step uses it)."""
    letter_id = letter_in(engine, tmp_path, "draft", authority_id="demo")
    with pytest.raises(RuntimeError), engine.begin() as conn:
        move(conn, letter_id, "approved", actor="chanhvp")
        assert state_of(conn, letter_id) == "approved" and len(events(conn, letter_id)) == 1
        raise RuntimeError("the rest of the caller's work failed")
    assert state_of(engine, letter_id) == "draft" and events(engine, letter_id) == []

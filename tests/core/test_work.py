"""The durable-work primitive on a real database (SQLite and PostgreSQL), with a clock the
tests move instead of editing rows or sleeping."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Row

from meetbridge.core.clock import ManualClock
from meetbridge.core.db import Database
from meetbridge.core.models import DomainEvent, new_id
from meetbridge.core.work import Done, Failed, Later, Outcome, Retry, WorkTable

LEASE = dt.timedelta(minutes=5)


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:

    database = Database(database_url)
    yield database
    database.dispose()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(dt.datetime(2027, 3, 1, 9, 0, tzinfo=dt.UTC))


def _table(max_attempts: int | None = 3) -> WorkTable:
    return WorkTable(
        DomainEvent,
        pending=["pending"],
        failed="failed",
        retry=Retry(base=10, cap=60, max_attempts=max_attempts),
        lease=LEASE,
    )


def _item(db: Database, clock: ManualClock) -> str:
    item_id = new_id()
    with db.write() as s:
        s.add(
            DomainEvent(
                id=item_id,
                name="thing.happened",
                subject_type="thing",
                subject_id="1",
                data={},
                status="pending",
                attempts=0,
                next_attempt_at=clock.now(),
                occurred_at=clock.now(),
                delivered=[],
            )
        )
    return item_id


def _row(db: Database, item_id: str) -> DomainEvent:
    with db.read() as s:
        row = s.get(DomainEvent, item_id)
    assert row is not None
    return row


def test_two_attempts_at_once_one_runs(db: Database, clock: ManualClock) -> None:
    work, item = _table(), _item(db, clock)
    first = work.claim(db, item, clock.now())
    assert first is not None and first.attempts == 1
    assert work.claim(db, item, clock.now()) is None  # held by the first
    assert work.attempt(db, clock, item, lambda r: Done("done")).ran is False


def test_a_claim_whose_worker_died_is_taken_back_when_its_lease_runs_out(
    db: Database, clock: ManualClock
) -> None:
    work, item = _table(), _item(db, clock)
    dead = work.claim(db, item, clock.now())
    assert dead is not None
    clock.advance(minutes=4)
    assert work.due_ids(db, clock.now()) == []  # its lease still runs
    clock.advance(minutes=2)
    assert work.due_ids(db, clock.now()) == [item]
    assert work.attempt(db, clock, item, lambda r: Done("done")).status == "done"
    # The dead attempt's late settle changes nothing: the claim is no longer its own.
    assert work.settle(db, dead, Failed("late"), clock.now()) is None
    row = _row(db, item)
    assert row.status == "done" and row.attempts == 2 and row.claimed_until is None


def test_failures_back_off_up_to_the_cap_then_fail_for_good(
    db: Database, clock: ManualClock
) -> None:
    work, item = _table(max_attempts=4), _item(db, clock)
    waits = []
    for _ in range(3):
        result = work.attempt(db, clock, item, lambda r: Later("Zoom is down"))
        assert result.status == "pending"
        row = _row(db, item)
        waits.append((row.next_attempt_at - clock.now()).total_seconds())
        assert work.attempt(db, clock, item, lambda r: Done("done")).ran is False  # not due
        clock.set(row.next_attempt_at)
    assert waits == [10, 20, 40]
    assert work.attempt(db, clock, item, lambda r: Later("still down")).status == "failed"
    row = _row(db, item)
    assert row.status == "failed" and row.last_error == "still down" and row.attempts == 4
    assert work.due_ids(db, clock.now() + dt.timedelta(days=1), grace=dt.timedelta(0)) == []


def test_the_cap_bounds_every_wait() -> None:
    retry = Retry(base=30, cap=3600)
    assert [retry.delay(n).total_seconds() for n in (1, 2, 7, 8, 500)] == [
        30,
        60,
        1920,
        3600,
        3600,
    ]
    assert not retry.exhausted(10_000)


def test_a_wait_the_work_was_told_to_take_is_not_a_failed_attempt(
    db: Database, clock: ManualClock
) -> None:
    work, item = _table(max_attempts=1), _item(db, clock)
    at = clock.now() + dt.timedelta(hours=3)
    assert (
        work.attempt(db, clock, item, lambda r: Later("rate limited", at=at, free=True)).status
        == "pending"
    )
    row = _row(db, item)
    assert row.next_attempt_at == at and row.attempts == 0


def test_a_handler_that_raises_is_retried_and_its_error_kept(
    db: Database, clock: ManualClock
) -> None:
    work, item = _table(), _item(db, clock)

    def boom(row: Row[Any]) -> Outcome:
        raise RuntimeError("template exploded")

    result = work.attempt(db, clock, item, boom)
    assert result.ran and result.status == "pending"
    row = _row(db, item)
    assert row.last_error == "RuntimeError: template exploded" and row.claimed_until is None


def test_the_reconciler_leaves_fresh_work_to_its_job(db: Database, clock: ManualClock) -> None:
    work, item = _table(), _item(db, clock)
    assert work.due_ids(db, clock.now()) == []  # due just now: its job is on its way
    clock.advance(seconds=31)
    assert work.due_ids(db, clock.now()) == [item]
    with db.read() as s:
        assert s.scalar(select(DomainEvent.status).where(DomainEvent.id == item)) == "pending"

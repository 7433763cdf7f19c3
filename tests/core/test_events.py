"""Domain events: written with the change or not at all, delivered to every subscriber at
least once, each subscriber retried on its own."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select

from meetbridge.container import Container, build_container
from meetbridge.core.clock import ManualClock
from meetbridge.core.events import Event, EventBus
from meetbridge.core.models import DomainEvent
from meetbridge.core.settings import Settings


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(dt.datetime(2027, 3, 1, 9, 0, tzinfo=dt.UTC))


@pytest.fixture
def c(settings: Settings, clock: ManualClock) -> Iterator[Container]:
    container = build_container(settings, clock=clock)  # the real (SQLite or Redis) queue
    yield container
    container.close()


def _count(c: Container) -> int:
    with c.db.read() as s:
        return int(s.scalar(select(func.count()).select_from(DomainEvent)) or 0)


def _record(bus: EventBus, c: Container, name: str = "thing.happened") -> str | None:
    with c.db.write() as s:
        return bus.record(
            s, name, org_id=None, subject_type="thing", subject_id="t1", data={"n": 1}
        )


def test_an_event_is_written_with_its_change_or_not_at_all(c: Container) -> None:
    c.events.subscribe("thing.happened", "tests.seen", lambda e: None)
    with pytest.raises(RuntimeError), c.db.write() as s:
        c.events.record(s, "thing.happened", org_id=None, subject_type="thing", subject_id="t1")
        raise RuntimeError("the change failed")
    assert _count(c) == 0
    assert _record(c.events, c) is not None
    assert _count(c) == 1


def test_an_event_nobody_listens_to_is_not_written(c: Container) -> None:
    assert _record(c.events, c, "nobody.cares") is None
    assert _count(c) == 0


def test_each_subscriber_gets_the_event_and_a_failing_one_is_retried_alone(
    c: Container, clock: ManualClock
) -> None:
    seen: list[tuple[str, str]] = []
    failures = [RuntimeError("report store down")]

    def flaky(e: Event) -> None:
        if failures:
            raise failures.pop()
        seen.append(("reports", e.id))

    c.events.subscribe("thing.happened", "tests.workflows", lambda e: seen.append(("wf", e.id)))
    c.events.subscribe("thing.happened", "tests.reports", flaky)
    event_id = _record(c.events, c)
    assert event_id is not None
    assert c.events.dispatch(event_id) == "pending"
    assert seen == [("wf", event_id)]
    with c.db.read() as s:
        row = s.get(DomainEvent, event_id)
        assert row is not None and "report store down" in (row.last_error or "")
        retry_at = row.next_attempt_at
    assert c.events.dispatch(event_id) == "pending"  # not due yet: nothing runs
    clock.set(retry_at)
    assert c.events.dispatch(event_id) == "done"
    assert seen == [("wf", event_id), ("reports", event_id)]  # workflows ran once
    assert c.events.dispatch(event_id) == "done"  # a second job finds it done


def test_a_published_event_reaches_its_subscriber_through_the_real_queue(
    c: Container,
) -> None:
    got: list[Event] = []
    arrived = threading.Event()

    def subscriber(e: Event) -> None:
        got.append(e)
        arrived.set()

    c.events.subscribe("thing.happened", "tests.got", subscriber)
    event_id = _record(c.events, c)
    c.events.publish([event_id])
    assert not got  # queued, not run inline
    consumer = c.jobs.huey.create_consumer(workers=1, worker_type="thread", periodic=False)
    consumer.start()
    try:
        assert arrived.wait(20)
    finally:
        consumer.stop(graceful=True)
    assert [e.id for e in got] == [event_id]
    assert got[0].data == {"n": 1} and got[0].subject_id == "t1"


def test_the_reconciler_delivers_an_event_whose_doorbell_was_lost(
    c: Container, clock: ManualClock
) -> None:
    got: list[str] = []
    c.events.subscribe("thing.happened", "tests.got", lambda e: got.append(e.id))
    event_id = _record(c.events, c)  # never published
    assert c.events.reconcile() == 0  # too fresh: its job may be on its way
    clock.advance(seconds=31)
    assert c.events.reconcile() == 1
    assert c.events.dispatch(str(event_id)) == "done" and got == [event_id]

"""Domain events: "this happened" (`meeting.scheduled`, `member.created`, …), written in the
same transaction as the change, then dispatched by a job to the subscribers the composition
root registered. This is what workflows, reports and round-robin reassignment hang on.

Delivery is at least once per subscriber: each event row remembers which subscribers have
handled it, so a retry after one subscriber failed runs only the ones still due. A subscriber
must therefore be idempotent for one event id. An event nobody subscribes to is not written:
the hot paths pay only for what someone listens to.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, cast

from sqlalchemy import Connection, Table, insert, update
from sqlalchemy.engine import Row
from sqlalchemy.orm import Session

from meetbridge.core.clock import Clock
from meetbridge.core.db import Database
from meetbridge.core.jobs import JobQueue
from meetbridge.core.logging import get_logger
from meetbridge.core.models import DomainEvent, new_id
from meetbridge.core.work import Done, Later, Outcome, Retry, WorkTable

log = get_logger("meetbridge.events")

DISPATCH_TASK = "events.dispatch"
RECONCILE_TASK = "events.reconcile"
TABLE = cast(Table, DomainEvent.__table__)
_INSERT = insert(TABLE)


class EventStatus(StrEnum):
    PENDING = "pending"  # some subscriber has yet to handle it
    DONE = "done"
    FAILED = "failed"  # a subscriber kept failing; `last_error` says which and why


@dataclass(frozen=True)
class Event:
    """What a subscriber receives."""

    id: str
    name: str
    org_id: str | None
    subject_type: str
    subject_id: str
    data: dict[str, Any]
    occurred_at: dt.datetime


Subscriber = Callable[[Event], None]


@dataclass
class _Subscription:
    name: str
    handler: Subscriber


@dataclass
class EventBus:
    db: Database
    jobs: JobQueue
    clock: Clock
    retry: Retry = field(default_factory=lambda: Retry(base=5, cap=3600, max_attempts=10))
    _subscribers: dict[str, list[_Subscription]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.work = WorkTable(
            DomainEvent,
            pending=[EventStatus.PENDING],
            failed=EventStatus.FAILED,
            retry=self.retry,
            lease=dt.timedelta(minutes=5),
        )

    # ---- the composition root ---------------------------------------------------------------

    def subscribe(self, event: str, name: str, handler: Subscriber) -> None:
        """Registers `handler` (known as `name`, stable across releases: the event row records
        which names have handled it) for `event`. Called by the composition root only."""
        subs = self._subscribers.setdefault(event, [])
        if any(s.name == name for s in subs):
            raise ValueError(f"{name} already subscribes to {event}")
        subs.append(_Subscription(name, handler))

    def wants(self, event: str) -> bool:
        return event in self._subscribers

    # ---- writing ---------------------------------------------------------------------------

    def row(
        self,
        event: str,
        *,
        org_id: str | None,
        subject_type: str,
        subject_id: str,
        data: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """The values of an event row (for `record`, or a statement that writes it itself)."""
        now = self.clock.now()
        return {
            "id": new_id(),
            "name": event,
            "org_id": org_id,
            "subject_type": subject_type,
            "subject_id": subject_id,
            "data": data or {},
            "occurred_at": now,
            "status": EventStatus.PENDING.value,
            "attempts": 0,
            "next_attempt_at": now,
            "claimed_until": None,
            "last_error": None,
            "delivered": [],
        }

    def record(
        self,
        session: Session | Connection,
        event: str,
        *,
        org_id: str | None,
        subject_type: str,
        subject_id: str,
        data: dict[str, Any] | None = None,
    ) -> str | None:
        """Writes the event in the caller's transaction if anyone subscribes to it; returns
        its id, to hand to `publish` after the commit (None: nobody listens)."""
        if not self.wants(event):
            return None
        values = self.row(
            event, org_id=org_id, subject_type=subject_type, subject_id=subject_id, data=data
        )
        if isinstance(session, Session):
            session.flush()  # after the rows it refers to
        session.execute(_INSERT, values)
        return str(values["id"])

    def publish(self, event_ids: Iterable[str | None]) -> None:
        """After the commit: rings the doorbell for each event (a lost ring is found by the
        reconciler)."""
        for event_id in event_ids:
            if event_id is not None:
                self.jobs.enqueue(DISPATCH_TASK, event_id)

    # ---- the jobs ---------------------------------------------------------------------------

    def dispatch(self, event_id: str) -> str:
        """The job: runs each subscriber that has not handled the event yet."""
        return self.work.attempt(self.db, self.clock, event_id, self._deliver).status

    def _deliver(self, row: Row[Any]) -> Outcome:
        event = Event(
            id=row.id,
            name=row.name,
            org_id=row.org_id,
            subject_type=row.subject_type,
            subject_id=row.subject_id,
            data=dict(row.data or {}),
            occurred_at=row.occurred_at,
        )
        delivered = list(row.delivered or [])
        for sub in self._subscribers.get(row.name, []):
            if sub.name in delivered:
                continue
            try:
                sub.handler(event)
            except Exception as exc:
                log.exception("events.subscriber_failed", subscriber=sub.name, event_id=row.id)
                return Later(
                    f"{sub.name}: {type(exc).__name__}: {exc}", values={"delivered": delivered}
                )
            delivered.append(sub.name)
            self._mark(row.id, delivered)
        return Done(EventStatus.DONE, {"delivered": delivered})

    def _mark(self, event_id: str, delivered: list[str]) -> None:
        # Recorded as each subscriber finishes, so a worker that dies between two subscribers
        # does not run the first one again.
        with self.db.single() as conn:
            conn.execute(
                update(TABLE).where(TABLE.c.id == event_id).values(delivered=list(delivered))
            )

    def reconcile(self) -> int:
        ids = self.work.due_ids(self.db, self.clock.now())
        self.publish(ids)
        return len(ids)

"""Durable work: the one way meetbridge does retried background work.

A domain row is the truth about one piece of work (an e-mail to send, a webhook event to
handle, a token to revoke, a domain event to dispatch, a meeting to make true at Zoom). huey
only rings the doorbell: a job names the row, and whoever runs it first *claims* the row for a
lease (`claimed_until`), does the work, and *settles* it (done, later with back-off, or failed
for good). A job that finds the row claimed, settled or not yet due does nothing, so a job
delivered twice, or a reconciler's extra enqueue, is harmless. A worker that dies mid-work
leaves its claim to run out; the reconciler finds the row due again (`WorkTable.due_ids`).

Every work table has the columns `status`, `attempts`, `next_attempt_at`, `claimed_until` and
`last_error`; `WorkTable` names them and builds the statements once. Tables whose hot path is
hand-tuned (meetings) use the expressions (`due`, `Retry`) and write their own statements;
the others run `WorkTable.attempt`, which does claim → handler → settle.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import ColumnElement, Table, bindparam, or_, select, update
from sqlalchemy.engine import Row

from meetbridge.core.clock import Clock
from meetbridge.core.db import Database
from meetbridge.core.jobs import RECONCILE_GRACE
from meetbridge.core.logging import get_logger

log = get_logger("meetbridge.work")


@dataclass(frozen=True)
class Retry:
    """Back-off with a cap and a maximum of attempts: attempt n (1-based) that fails waits
    `base * 2**(n-1)` seconds, at most `cap`; after `max_attempts` the work has failed."""

    base: float
    cap: float
    max_attempts: int | None = None

    def delay(self, attempts: int) -> dt.timedelta:
        exponent = min(max(attempts - 1, 0), 30)  # 2**30 s is far beyond any cap
        return dt.timedelta(seconds=min(self.base * 2**exponent, self.cap))

    def exhausted(self, attempts: int) -> bool:
        return self.max_attempts is not None and attempts >= self.max_attempts


@dataclass(frozen=True)
class Done:
    """The work is done: the row takes `status` and `values`."""

    status: str
    values: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Later:
    """Not done yet, try again: at `at`, or after the row's back-off. Counts as a failed
    attempt (so the maximum of attempts applies) unless `free` (e.g. a rate limit's wait)."""

    error: str
    at: dt.datetime | None = None
    free: bool = False
    values: dict[str, Any] = field(default_factory=dict)


def waited_wait(waited: dt.timedelta, least: dt.timedelta, most: dt.timedelta) -> dt.timedelta:
    """For free waits (`Later(free=True)`) on something that is not failing, only not done yet
    (a meeting Zoom has still to make): wait as long as the work has waited, so the looks
    double (5 s, 5 s, 10 s, 20 s …), from `least` to `most`. Read from the work's age, not
    its attempts, since free looks are not counted."""
    return min(max(waited, least), most)


@dataclass(frozen=True)
class Failed:
    """Failed for good: the row takes the table's failed status and shows `error`."""

    error: str
    values: dict[str, Any] = field(default_factory=dict)


Outcome = Done | Later | Failed


@dataclass(frozen=True)
class Attempt:
    """What `WorkTable.attempt` did: `status` the row's status afterwards ("missing" if there
    is no such row), `ran` whether the handler ran (False: not due, claimed, or settled)."""

    status: str
    ran: bool
    outcome: Outcome | None = None


class WorkTable:
    """A table whose rows are work. `pending`: the statuses in which a row still has work to
    do; `failed`: the status of work that will not be tried again."""

    def __init__(
        self,
        table: Any,
        *,
        pending: Sequence[str],
        failed: str,
        retry: Retry,
        lease: dt.timedelta,
    ) -> None:
        self.table = cast(Table, getattr(table, "__table__", table))
        c = self.table.c
        self.id, self.status, self.attempts = c.id, c.status, c.attempts
        self.next_attempt_at, self.claimed_until, self.last_error = (
            c.next_attempt_at,
            c.claimed_until,
            c.last_error,
        )
        self.pending = tuple(pending)
        self.failed = failed
        self.retry = retry
        self.lease = lease
        self._claim = (
            update(self.table)
            .where(self.id == bindparam("work_id"), self.due(bindparam("work_now")))
            .values(attempts=self.attempts + 1, claimed_until=bindparam("work_lease"))
            .returning(*self.table.c)
        )
        # A settle applies only while the attempt still holds its claim: a claim that ran out
        # and was taken by another attempt is that attempt's to settle.
        self._settle = update(self.table).where(
            self.id == bindparam("work_id"), self.claimed_until == bindparam("work_held")
        )

    def due(self, now: Any) -> ColumnElement[bool]:
        """Pending, its next attempt due, and no attempt holding it (or its lease ran out)."""
        return cast(
            ColumnElement[bool],
            self.status.in_(self.pending)
            & (self.next_attempt_at <= now)
            & or_(self.claimed_until.is_(None), self.claimed_until <= now),
        )

    def due_ids(
        self,
        db: Database,
        now: dt.datetime,
        *,
        grace: dt.timedelta = RECONCILE_GRACE,
        limit: int = 500,
    ) -> list[str]:
        """For reconcilers: rows due for longer than `grace` (their job is most likely lost)
        and rows whose claim ran out (their worker died), oldest first."""
        with db.read() as s:
            return list(
                s.scalars(
                    select(self.id)
                    .where(
                        self.status.in_(self.pending),
                        or_(self.claimed_until.is_(None), self.claimed_until <= now),
                        or_(
                            self.next_attempt_at <= now - grace,
                            self.claimed_until.is_not(None),
                        ),
                    )
                    .order_by(self.next_attempt_at)
                    .limit(limit)
                ).all()
            )

    def claim(self, db: Database, item_id: str, now: dt.datetime) -> Row[Any] | None:
        """Claims a due row for one attempt (attempts + 1, a lease); None if it is not due,
        held by another attempt, settled, or missing."""
        with db.single() as conn:
            return conn.execute(
                self._claim, {"work_id": item_id, "work_now": now, "work_lease": now + self.lease}
            ).first()

    def settle(self, db: Database, row: Row[Any], outcome: Outcome, now: dt.datetime) -> str | None:
        """Ends the attempt that claimed `row`. Returns the row's new status, or None when the
        claim was no longer the attempt's (nothing written)."""
        values: dict[str, Any] = {"claimed_until": None}
        if isinstance(outcome, Done):
            values |= {"status": outcome.status, "last_error": None, **outcome.values}
        elif isinstance(outcome, Later) and (
            outcome.free or not self.retry.exhausted(row.attempts)
        ):
            at = outcome.at or now + self.retry.delay(row.attempts)
            attempts = row.attempts - 1 if outcome.free else row.attempts
            values |= {
                "status": row.status,
                "attempts": attempts,
                "next_attempt_at": at,
                "last_error": outcome.error[:1000],
                **outcome.values,
            }
        else:
            values |= {
                "status": self.failed,
                "last_error": outcome.error[:1000],
                **outcome.values,
            }
        with db.single() as conn:
            result = conn.execute(
                self._settle.values(**values),
                {"work_id": row.id, "work_held": row.claimed_until},
            )
        return str(values["status"]) if result.rowcount == 1 else None

    def attempt(
        self,
        db: Database,
        clock: Clock,
        item_id: str,
        handler: Callable[[Row[Any]], Outcome],
    ) -> Attempt:
        """Claim → `handler(row)` → settle. The handler does the work outside any transaction
        and says how it went; an exception from it counts as `Later` (with back-off, until the
        maximum of attempts) and is logged."""
        now = clock.now()
        row = self.claim(db, item_id, now)
        if row is None:
            with db.read() as s:
                status = s.scalar(select(self.status).where(self.id == item_id))
            return Attempt(status or "missing", ran=False)
        try:
            outcome: Outcome = handler(row)
        except Exception as exc:
            log.exception("work.handler_failed", table=self.table.name, item_id=item_id)
            outcome = Later(f"{type(exc).__name__}: {exc}")
        status = self.settle(db, row, outcome, clock.now())
        return Attempt(status or "claimed_elsewhere", ran=True, outcome=outcome)

"""The lifecycle: one attempt makes the platform match a meeting's row (create, update or
delete), exactly once (decisions/0004-no-duplicate-meetings.md). An attempt claims the row
(a lease), calls the platform through the `VideoPlatform` port, and settles: done, later
(back-off), or failed. A change the user makes meanwhile is noticed when the attempt settles,
and the meeting is worked on again at once."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select, update

from meetbridge.core.db import Database, utcnow
from meetbridge.core.events import EventBus
from meetbridge.core.jobs import JobQueue
from meetbridge.core.logging import get_logger
from meetbridge.core.models import Meeting
from meetbridge.core.platform import (
    NOTHING_RESERVED,
    Ambiguous,
    HostRef,
    MeetingSpec,
    NeedsReconnect,
    PlatformError,
    PlatformMeeting,
    RateLimited,
    Refused,
    Reservation,
    Unavailable,
    VideoPlatform,
)
from meetbridge.core.settings import Settings
from meetbridge.core.work import Retry
from meetbridge.meetings import statements as q
from meetbridge.meetings.detached import remains_note
from meetbridge.meetings.events import publish, record
from meetbridge.meetings.invites import Method, queue_invites
from meetbridge.meetings.payload import FirstAttempt
from meetbridge.meetings.status import MeetingEvent, Outcome, Status, move
from meetbridge.notify.outbox import MailDelivery

log = get_logger("meetbridge.meetings")

WORK_TASK = "meetings.work"


def spec_of(m: Meeting) -> MeetingSpec:
    """What the platform is to hold for this meeting."""
    return MeetingSpec(
        title=m.title,
        start_at=m.start_at,
        timezone=m.timezone,
        duration_min=m.duration_min,
        agenda=m.agenda,
        passcode=m.passcode,
        waiting_room=m.waiting_room,
        join_before_host=m.join_before_host,
        registration=m.registration,
    )


class LostClaim(Exception):
    """Another attempt holds the meeting now (this one's lease ran out meanwhile)."""


class _Lease:
    """The attempt's claim, renewed before each platform call when less of it is left than
    the longest call can take: an ambiguous create lists the host's meetings (a call per
    page) and then creates, and every one of those calls must end inside the lease."""

    def __init__(self, engine: Lifecycle, meeting_id: str, held: dt.datetime) -> None:
        self.engine = engine
        self.meeting_id = meeting_id
        self.held = held
        self.calls = 0

    def keep(self) -> None:
        self.calls += 1
        if self.calls == 1:
            # The claim (or its renewal in `work`) left a longest call for the first one:
            # no round trip for the attempts that make only one call.
            return
        e = self.engine
        now = utcnow()
        if self.held - now >= e.longest_call:
            return
        lease = now + dt.timedelta(seconds=e.settings.effective_meetings_lease)
        with e.db.single() as conn:
            params = {"mid": self.meeting_id, "held": self.held, "lease": lease}
            if conn.execute(q.EXTEND, params).rowcount != 1:
                raise LostClaim(self.meeting_id)
        self.held = lease


class Lifecycle:
    def __init__(
        self,
        db: Database,
        settings: Settings,
        platform: VideoPlatform,
        jobs: JobQueue,
        mail: MailDelivery,
        events: EventBus | None = None,
    ) -> None:
        self.db = db
        self.settings = settings
        self.platform = platform
        self.jobs = jobs
        self.mail = mail
        self.events = events
        self.retry = Retry(
            base=settings.meetings_retry_base_seconds, cap=settings.meetings_retry_max_seconds
        )
        self.longest_call = dt.timedelta(seconds=settings.zoom_longest_call)

    def work(
        self, meeting_id: str, claim: FirstAttempt | dict[str, Any] | None = None
    ) -> Outcome | Status:
        """The job: one attempt. Idempotent. `claim`: the first attempt as the request that
        scheduled it wrote and claimed it (`FirstAttempt`, or its JSON), which saves a round
        trip. It is used while enough of its lease is left for a whole platform call; after
        that it is renewed only if it is still the row's claim. Returns how the attempt
        ended, or the row's status when it could not claim it."""
        now = utcnow()
        lease = now + dt.timedelta(seconds=self.settings.effective_meetings_lease)
        first = FirstAttempt.from_json(claim) if isinstance(claim, dict) else claim
        reservation = first.reservation if first is not None else NOTHING_RESERVED
        seen: tuple[str, int] | None
        if first is not None and first.claimed_until - now >= self.longest_call:
            values, seen = dict(first.row), first.seen
        else:
            with self.db.single() as conn:
                if first is None:
                    params = {"mid": meeting_id, "now": now, "lease": lease}
                    row = conn.execute(q.CLAIM, params).first()
                else:
                    params = {"mid": meeting_id, "held": first.claimed_until, "lease": lease}
                    row = conn.execute(q.RENEW, params).first()
                if row is None:
                    status = conn.scalar(select(Meeting.status).where(Meeting.id == meeting_id))
                    return Status(status) if status else Outcome.MISSING
            values = row._asdict()
            state, version = values.pop("conn__status"), values.pop("conn__v")
            seen = (state, version) if state else None
        m = Meeting(**values)
        try:
            return self._attempt(m, seen, reservation)
        except LostClaim:
            log.info("meetings.claim_lost", meeting_id=m.id)
            with self.db.read() as s:
                now_status = s.scalar(select(Meeting.status).where(Meeting.id == m.id))
            return Status(now_status) if now_status else Outcome.MISSING

    def _attempt(
        self, m: Meeting, seen: tuple[str, int] | None, reservation: Reservation
    ) -> Outcome:
        # `ambiguous` now says whether a create may already have reached the platform: an
        # earlier answer was unclear, or an earlier attempt never settled (its process died).
        was_ambiguous = m.ambiguous
        status = Status(m.status)
        if m.connection_id is None:
            if status is Status.CANCELLING:
                return self.cancelled_here(m)
            return self.fail(m, "Zoom is not connected for the host; connect Zoom, then retry")
        assert m.claimed_until is not None
        keep = _Lease(self, m.id, m.claimed_until).keep
        host = HostRef(m.connection_id, seen, m.zoom_host_id)
        p = self.platform
        try:
            if status is Status.CREATING:
                found = self._find_copy(m, host, keep) if was_ambiguous else None
                if found is not None:
                    log.info(
                        "meetings.recovered_ambiguous_create", meeting_id=m.id, zoom_id=found.id
                    )
                else:
                    found = p.create(host, spec_of(m), reservation, keep)
                return self.settle(m, link=(found.id, found.join_url), event=MeetingEvent.CREATED)
            if status is Status.UPDATING:
                p.update(host, m.zoom_meeting_id or 0, spec_of(m), keep)
                return self.settle(m)
            zoom_id = m.zoom_meeting_id
            if zoom_id is None and was_ambiguous:  # cancelled while a create was unclear
                copy = self._find_copy(m, host, keep)
                zoom_id = copy.id if copy is not None else None
            if zoom_id is not None:
                p.delete(host, zoom_id, keep)
            return self.settle(m, "CANCEL", status=Status.CANCELLED)
        except Ambiguous as exc:
            return self.later(m, exc.message, ambiguous=status is Status.CREATING)
        except RateLimited as exc:
            return self.later(m, exc.message, at=exc.retry_at)
        except Unavailable as exc:
            return self.later(m, exc.message)
        except NeedsReconnect as exc:
            if status is Status.CANCELLING:
                # Nobody can delete it at the platform now: a cancel that waited for a
                # reconnect would wedge; it ends here and says what may remain there.
                return self.cancelled_here(m)
            return self.fail(m, exc.message)
        except Refused as exc:
            return self.fail(m, exc.message)
        except PlatformError as exc:
            return self.fail(m, exc.message)

    def _find_copy(self, m: Meeting, host: HostRef, keep: Any) -> PlatformMeeting | None:
        """After an ambiguous create: the host's meeting made from this one's body that no
        other row owns."""

        def owned_elsewhere(zoom_id: int) -> bool:
            with self.db.read() as s:
                owner = s.scalar(select(Meeting.id).where(Meeting.zoom_meeting_id == zoom_id))
            return owner is not None and owner != m.id

        return self.platform.find_copy(host, spec_of(m), owned_elsewhere, keep)

    def settle(
        self,
        m: Meeting,
        method: Method = "REQUEST",
        *,
        values: dict[str, Any] | None = None,
        status: Status = Status.SCHEDULED,
        link: tuple[int, str] | None = None,
        event: MeetingEvent | None = None,
    ) -> Outcome:
        """Ends an attempt in one statement or transaction. If the row is as the attempt
        claimed it (same status and sequence), it takes `status` and the invites (`method`)
        go out, or, for an attempt that did not reach its goal, it takes `values` and nobody
        is told; if the user changed it meanwhile, what the platform told us is kept (`link`)
        and the row is due again at once. Either way the claim is released."""
        now = utcnow()
        if values is None:
            move(m.status, status)
        zoom_id, join_url = link or (None, None)
        if link is not None:
            m.zoom_meeting_id, m.join_url = link
        claimed = {"mid": m.id, "old_status": m.status, "old_sequence": m.sequence}
        done = {
            "status": status,
            "now": now,
            "zoom_id": zoom_id,
            "join_url": join_url,
            "created_now": now if link is not None else None,
        }
        wanted = event is not None and self.events is not None and self.events.wants(event)
        if values is None and m.invitee_count == 0 and not wanted:
            # Nobody to invite (checked in the statement itself) and nobody waiting for the
            # event: one statement, no transaction.
            with self.db.single() as conn:
                if conn.execute(q.SETTLE_ALONE, {**claimed, **done}).rowcount == 1:
                    m.status = status
                    return Outcome.DONE
        queued: list[str] = []
        announced: str | None = None
        with self.db.write() as s:
            if values is None:
                result = s.execute(q.SETTLE_DONE, {**claimed, **done})
            else:
                result = s.execute(q.AS_CLAIMED.values(claimed_until=None, **values), claimed)
            settled = result.rowcount == 1  # type: ignore[attr-defined]
            if settled and event is not None:
                error = values.get("last_error") if values else None
                announced = record(self.events, s, event, m, {"error": error})
            if settled and values is None:
                m.status = status
                queued = queue_invites(s, m, method)
            elif not settled:
                kept: dict[str, Any] = {"claimed_until": None, "next_attempt_at": now}
                if link is not None:
                    kept.update(
                        zoom_meeting_id=zoom_id,
                        join_url=join_url,
                        ambiguous=False,
                        last_create_at=now,
                    )
                s.execute(update(Meeting).where(Meeting.id == m.id).values(**kept))
        for mid in queued:
            self.mail.enqueue(mid)
        publish(self.events, announced)
        if not settled:
            self.jobs.enqueue(WORK_TASK, m.id)
            return Outcome.CHANGED
        return Outcome.DONE

    def later(
        self, m: Meeting, error: str, at: dt.datetime | None = None, ambiguous: bool = False
    ) -> Outcome:
        """Not now: the next attempt at `at`, or after a back-off that doubles per attempt."""
        # Attempt n waits base * 2**n (the n + 1st step of core/work's back-off), at most the cap.
        backoff = self.retry.delay(m.attempts + 1)
        log.info("meetings.retry_later", meeting_id=m.id, error=error)
        at = at or utcnow() + backoff
        outcome = self.settle(
            m,
            values={
                "status": m.status,
                "last_error": error,
                "last_error_at": utcnow(),
                "next_attempt_at": at,
                "ambiguous": Meeting.ambiguous | ambiguous,
                "had_ambiguity": Meeting.had_ambiguity | ambiguous,
                **({"last_create_at": utcnow()} if ambiguous else {}),
            },
        )
        if outcome is Outcome.DONE:  # else the row changed meanwhile and is queued again
            # The next attempt is queued for its time; the reconciler only covers a lost one.
            self.jobs.enqueue_in((at - utcnow()).total_seconds(), WORK_TASK, m.id)
        return Outcome.LATER

    def cancelled_here(self, m: Meeting) -> Outcome:
        """A cancel the platform cannot be asked for (the host has no connection): cancelled
        here, the invitees told, and the row says what may remain at the platform."""
        outcome = self.settle(m, "CANCEL", status=Status.CANCELLED)
        note = remains_note(m)
        if outcome is Outcome.DONE and note:
            with self.db.single() as conn:
                conn.execute(
                    update(Meeting)
                    .where(Meeting.id == m.id, Meeting.status == Status.CANCELLED)
                    .values(last_error=note, last_error_at=utcnow())
                )
        return outcome

    def fail(self, m: Meeting, error: str) -> Outcome:
        """Refused: a create or an update becomes FAILED, which a person sees with its error
        and may retry (or edit, or cancel). A cancel stays "cancelling" (retry sends it
        again): the meeting is still at the platform."""
        log.warning("meetings.failed", meeting_id=m.id, error=error)
        status = Status(m.status)
        if status in (Status.CREATING, Status.UPDATING):
            status = move(status, Status.FAILED)
        self.settle(
            m,
            values={
                "status": status,
                "last_error": error,
                "last_error_at": utcnow(),
                "next_attempt_at": utcnow() + dt.timedelta(days=3650),
            },
            event=MeetingEvent.FAILED,
        )
        return Outcome.FAILED

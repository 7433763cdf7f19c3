"""A booking's durable work (`BookingNotice` rows, written in the booking's own transaction;
core/work.py claims, retries and settles them):

- "sync": make the booking's meeting match the booking through the meetings service —
  schedule it on the host's Zoom (its id chosen by the booking, so a retry never makes two),
  move it, cancel it;
- "drop": cancel a meeting the booking no longer uses (it moved to another host);
- "confirm": tell the booker and the members, with the join link read from the meeting as
  created — never before it exists. Zoom slow (outage, daily limit): after the configured wait
  the booker is told plainly that the link follows, and gets it when it exists. The meeting
  refused: the fallback location applies and every message says it truthfully, and the host
  and the admins are alerted;
- "reminder": `minutes` before the start, with the link;
- "calendar": the booking written to (or removed from) the members' CalDAV calendars.

Each handler reads the booking as it is now, so any number of them, in any order, leave the
meeting and the messages as the booking says."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from sqlalchemy import or_, select, update
from sqlalchemy.engine import Row
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from meetbridge.booking.attention import Undelivered, Work
from meetbridge.booking.availability import Availabilities, MemberHours
from meetbridge.booking.tables import (
    Availability,
    Booking,
    BookingNotice,
    BookingStatus,
    Fallback,
    LinkState,
    MeetingType,
    NoticeStatus,
)
from meetbridge.core.audit import Origin
from meetbridge.core.calendars import CalendarError, Calendars
from meetbridge.core.clock import Clock
from meetbridge.core.db import Database
from meetbridge.core.errors import Conflict, DomainError
from meetbridge.core.events import Event
from meetbridge.core.jobs import JobQueue
from meetbridge.core.logging import get_logger
from meetbridge.core.models import EmailMessage, Organization, User, new_id
from meetbridge.core.security import LinkSigner
from meetbridge.core.settings import Settings
from meetbridge.core.work import Done, Failed, Later, Outcome, Retry, WorkTable, waited_wait
from meetbridge.meetings.inputs import MeetingChanges, MeetingInput
from meetbridge.meetings.service import Meetings
from meetbridge.meetings.source import Source, SourceKind
from meetbridge.meetings.status import Status
from meetbridge.notify.ics import InviteEvent, booking_uid, build_invite
from meetbridge.notify.outbox import MailDelivery, MailStatus, queue_email

log = get_logger("meetbridge.booking")

NOTICE_TASK = "booking.notice"
RECONCILE_TASK = "booking.reconcile"
ORIGIN = Origin(via="booking")
# A meeting still being made when a change comes is asked again this soon at first, then
# ever less often (see `waiting`): Zoom's daily limit can keep it being made for hours.
BUSY_RETRY = dt.timedelta(seconds=5)
# After "the link follows", the confirmation is looked at again at least this often (the
# meeting's own events ring sooner); also the longest wait between two looks at a meeting
# still being made.
FOLLOW_UP = dt.timedelta(minutes=5)
# A meeting in these has its join link at Zoom.
LIVE = (Status.SCHEDULED, Status.UPDATING)
# Work due within this is queued for its time; later work is found by the reconciler.
SOON = dt.timedelta(minutes=10)


class Pending(NamedTuple):
    """A notice to run or queue once its booking's change has committed."""

    id: str
    kind: str
    at: dt.datetime


@dataclass(frozen=True)
class Known:
    """What the booking that just wrote a notice already holds, so its first "sync" does
    not read it all back: the booking as committed, its type, organisation, host, and the
    host's time zone."""

    booking: Booking
    type: MeetingType
    org: Organization
    host: User
    host_timezone: str


@dataclass(frozen=True)
class Settled:
    """A handler that settled its own notice in the transaction of its work (`status` the
    notice's status after it)."""

    status: str


LOCATION_LABELS = {
    "zoom": "Zoom",
    "none": "No meeting place yet",
    Fallback.JITSI.value: "Jitsi Meet",
    Fallback.LINK.value: "Online meeting link",
    Fallback.PHONE.value: "Phone",
    Fallback.IN_PERSON.value: "In person",
}


class Notices:
    def __init__(
        self,
        db: Database,
        settings: Settings,
        meetings: Meetings,
        availability: Availabilities,
        calendars: Calendars,
        mail: MailDelivery,
        jobs: JobQueue,
        clock: Clock,
    ) -> None:
        self.db = db
        self.settings = settings
        self.meetings = meetings
        self.availability = availability
        self.calendars = calendars
        self.mail = mail
        self.jobs = jobs
        self.clock = clock
        self.wait = dt.timedelta(seconds=settings.booking_link_wait_seconds)
        self.work = WorkTable(
            BookingNotice,
            pending=[NoticeStatus.PENDING],
            failed=NoticeStatus.FAILED,
            retry=Retry(base=5, cap=900, max_attempts=30),
            lease=dt.timedelta(seconds=max(60.0, 3 * settings.zoom_timeout)),
        )
        self.manage_url: Any = None  # booking id -> its manage link; set by Bookings' owner
        self._rooms = LinkSigner(settings.secret_key.get_secret_value(), "booking-room")

    # ---- writing, in the booking's transaction -------------------------------------------------

    def _add(
        self, s: Session, booking: Booking, kind: str, at: dt.datetime, **more: Any
    ) -> BookingNotice:
        n = BookingNotice(
            id=new_id(),
            booking_id=booking.id,
            kind=kind,
            sequence=booking.sequence,
            status=NoticeStatus.PENDING,
            attempts=0,
            next_attempt_at=at,
            # On the service's clock, as `at` is: the work's waits are read from its age.
            created_at=self.clock.now(),
            **more,
        )
        s.add(n)
        return n

    def for_new(self, s: Session, b: Booking, t: MeetingType, now: dt.datetime) -> list[Pending]:
        """The work of a new booking; returns the notices to run or queue after the commit."""
        added = []
        if b.meeting_id is not None:
            added.append(self._add(s, b, "sync", now))
            added.append(self._add(s, b, "confirm", now + self.wait))
        else:
            added.append(self._add(s, b, "confirm", now))
        self._reminders(s, b, t, now)
        if self.availability.caldav_accounts(b.member_ids):
            added.append(self._add(s, b, "calendar", now))
        return [Pending(n.id, n.kind, n.next_attempt_at) for n in added]

    def _reminders(self, s: Session, b: Booking, t: MeetingType, now: dt.datetime) -> None:
        for minutes in t.reminders_min or []:
            at = b.start_at - dt.timedelta(minutes=minutes)
            if at > now:
                self._add(s, b, "reminder", at, minutes=minutes)

    def _end_pending(self, s: Session, booking_id: str, kinds: Sequence[str]) -> None:
        s.execute(
            update(BookingNotice)
            .where(
                BookingNotice.booking_id == booking_id,
                BookingNotice.status == NoticeStatus.PENDING,
                BookingNotice.kind.in_(kinds),
            )
            .values(status=NoticeStatus.DONE, last_error="superseded")
        )

    def moved(
        self,
        s: Session,
        row: Booking,
        b: Any,
        start: dt.datetime,
        end: dt.datetime,
        host: str,
        members: list[str],
        reason: str | None,
        now: dt.datetime,
    ) -> None:
        """A booking rescheduled (or given to another host): the row changes, its meeting is
        moved (or made on the new host and the old one dropped), everyone told."""
        told = row.link_state in (LinkState.SENT, LinkState.FALLBACK, LinkState.FOLLOWS)
        old_host, old_meeting = row.host_user_id, row.meeting_id
        row.start_at, row.end_at = start, end
        row.sequence += 1
        row.updated_at = now
        if host != old_host:
            row.host_user_id, row.member_ids = host, members
            row.assignment_reason = reason or row.assignment_reason
            if old_meeting is not None:
                self._add(s, row, "drop", now, meeting_id=old_meeting)
            if host in b.on_zoom:
                row.meeting_id, row.location, row.location_value = new_id(), "zoom", ""
            else:
                row.meeting_id = None
                row.location, row.location_value = self.fallback_location(
                    b.type, b.hours.get(host), b.org.slug, row.id
                )
        row.attention = row.attention_at = None  # a time chosen from the slots: free
        self._end_pending(s, row.id, ("confirm", "reminder"))
        if row.meeting_id is not None:
            self._add(s, row, "sync", now)
        if row.meeting_id is not None and (host != old_host or row.link_state != LinkState.SENT):
            # A new meeting's link is not known yet: the confirmation waits for it.
            row.link_state = LinkState.FOLLOWS if told else LinkState.WAITING
            self._add(s, row, "confirm", now + self.wait)
        else:
            self._add(s, row, "confirm", now)
        self._retold(s, row, b.type, now, old_host)

    def _retold(
        self, s: Session, row: Booking, t: MeetingType, now: dt.datetime, old_host: str
    ) -> None:
        """A moved booking's reminders for its new time, and its calendars' copies."""
        self._reminders(s, row, t, now)
        if self.availability.caldav_accounts([*row.member_ids, old_host]):
            self._add(s, row, "calendar", now)

    def followed(
        self,
        s: Session,
        row: Booking,
        t: MeetingType,
        start: dt.datetime,
        end: dt.datetime,
        attention: str | None,
        now: dt.datetime,
    ) -> None:
        """The booking takes the time its meeting was moved to (on the Meetings page or at
        Zoom): the same meeting and link, an updated invite (SEQUENCE raised) to everyone, and
        the calendars' copies moved. No "sync": the meeting is already there, and asking it
        to move would be the loop. `attention`: why the new time is not free for a member
        (kept on the booking for a person to look at), or None."""
        row.start_at, row.end_at = start, end
        row.sequence += 1
        row.updated_at = now
        if attention != row.attention:
            row.attention, row.attention_at = attention, now if attention else None
        self._end_pending(s, row.id, ("confirm", "reminder"))
        self._add(s, row, "confirm", now)
        self._retold(s, row, t, now, row.host_user_id)

    def cancelled(self, s: Session, row: Booking, who: str, now: dt.datetime) -> None:
        row.status = BookingStatus.CANCELLED
        row.cancelled_by = who
        row.updated_at = now
        self._end_pending(s, row.id, ("confirm", "reminder"))
        if row.meeting_id is not None:
            self._add(s, row, "sync", now)
        # The cancellation is sent as a notice too: it reads the meeting's link for the
        # calendar's CANCEL (same UID, a higher SEQUENCE).
        self._add(s, row, "confirm", now)
        if self.availability.caldav_accounts(row.member_ids):
            self._add(s, row, "calendar", now)

    def syncing(self, booking_id: str) -> bool:
        """Whether a change of the booking is still on its way to its meeting."""
        with self.db.read() as s:
            return (
                s.scalar(
                    select(BookingNotice.id).where(
                        BookingNotice.booking_id == booking_id,
                        BookingNotice.kind == "sync",
                        BookingNotice.status == NoticeStatus.PENDING,
                    )
                )
                is not None
            )

    def note(self, booking_id: str, attention: str) -> None:
        """Keeps `attention` on the booking for a person to look at (booking/attention.py)."""
        with self.db.write() as s:
            s.execute(
                update(Booking)
                .where(Booking.id == booking_id)
                .values(attention=attention, attention_at=self.clock.now())
            )

    def work_of(self, booking_ids: Sequence[str]) -> dict[str, list[Work]]:
        """The bookings' notices that say something about them now: pending, failed, and
        the "sync" ones that ended with the reason their meeting was refused."""
        out: dict[str, list[Work]] = {b: [] for b in booking_ids}
        if not booking_ids:
            return out
        n = BookingNotice
        with self.db.read() as s:
            rows = s.execute(
                select(
                    n.booking_id,
                    n.kind,
                    n.status,
                    n.attempts,
                    n.created_at,
                    n.next_attempt_at,
                    n.last_error,
                ).where(
                    n.booking_id.in_(list(booking_ids)),
                    or_(
                        n.status != NoticeStatus.DONE,
                        (n.kind == "sync") & n.last_error.is_not(None),
                    ),
                )
            ).all()
        for r in rows:
            out[r.booking_id].append(Work(*r[1:]))
        return out

    def undelivered(self, org_id: str, rows: Sequence[Booking]) -> dict[str, list[Undelivered]]:
        """The e-mails about each booking's current version that failed for good (their
        dedupe key names the booking and its version: see `_send`)."""
        wanted = {f"booking:{b.id}:{b.sequence}:": b.id for b in rows}
        out: dict[str, list[Undelivered]] = {}
        if not wanted:
            return out
        with self.db.read() as s:
            failed = s.execute(
                select(
                    EmailMessage.dedupe_key,
                    EmailMessage.to_addr,
                    EmailMessage.last_error,
                    EmailMessage.next_attempt_at,
                ).where(
                    EmailMessage.org_id == org_id,
                    EmailMessage.template == "booking",
                    EmailMessage.status == MailStatus.FAILED,
                )
            ).all()
        for key, to, error, at in failed:
            prefix = ":".join(key.split(":", 3)[:3]) + ":"
            if prefix in wanted:
                out.setdefault(wanted[prefix], []).append(
                    Undelivered(to, error or "the mail server refused it", at)
                )
        return out

    def due_now(self, s: Session, booking_id: str) -> list[Pending]:
        """The booking's pending work due now or soon (later work waits for the reconciler)."""
        s.flush()
        rows = s.execute(
            select(BookingNotice.id, BookingNotice.kind, BookingNotice.next_attempt_at).where(
                BookingNotice.booking_id == booking_id,
                BookingNotice.status == NoticeStatus.PENDING,
                BookingNotice.next_attempt_at <= self.clock.now() + SOON,
            )
        ).all()
        return [Pending(*r) for r in rows]

    def run_now(self, pending: Iterable[Pending], known: Known | None = None) -> None:
        """After the booking's commit: the "sync" work runs at once in this process (the
        meeting is on its way before the booker's page answers), the rest is queued for its
        time. A lost run is found by the reconciler. `known`: the booking as just written
        (its first "sync" needs no reads)."""
        for n in pending:
            if n.kind == "sync":
                self.run(n.id, known)
            else:
                self._ring(n.id, n.at)

    def _ring(self, notice_id: str, at: dt.datetime | None) -> None:
        delay = (at - self.clock.now()).total_seconds() if at is not None else 0.0
        if delay > 0:
            self.jobs.enqueue_in(delay, NOTICE_TASK, notice_id)
        else:
            self.jobs.enqueue(NOTICE_TASK, notice_id)

    # ---- the job ----------------------------------------------------------------------------

    def run(self, notice_id: str, known: Known | None = None) -> str:
        """The job: claim → handle → settle (core/work.py's `attempt`, but a handler may
        settle its notice in the transaction of its own writes: one commit less on the
        confirmation's path). Returns the notice's status afterwards."""
        row = self.work.claim(self.db, notice_id, self.clock.now())
        if row is None:
            with self.db.read() as s:
                status = s.scalar(select(BookingNotice.status).where(BookingNotice.id == notice_id))
            return status or "missing"
        outcome: Outcome | Settled
        try:
            outcome = self._handle(row, known)
        except Exception as exc:
            log.exception("work.handler_failed", table="booking_notices", item_id=notice_id)
            outcome = Later(f"{type(exc).__name__}: {exc}")
        if isinstance(outcome, Settled):
            return outcome.status
        status = self.work.settle(self.db, row, outcome, self.clock.now()) or "claimed_elsewhere"
        if isinstance(outcome, Later) and outcome.at is not None and status == "pending":
            self._ring(notice_id, outcome.at)  # soon: not a minute later by the reconciler
        if status == NoticeStatus.FAILED and row.kind == "sync":
            error = outcome.error if isinstance(outcome, Later | Failed) else "failed"
            self._sync_failed(row.booking_id, error)
        return status

    def _sync_failed(self, booking_id: str, error: str) -> None:
        """A "sync" that ran out of attempts: the meeting is not as the booking says and
        nothing will try again, so it must not end silently. A cancelled booking's meeting
        that could not be cancelled is brought to the host and the admins; any other booking
        takes its fallback (or "no link"), which the booking and the bookings list then show
        and the booker is told, and the host and the admins are alerted, as when Zoom
        refuses it."""
        found = self._load_booking(booking_id)
        if found is None:
            return
        bk, t, org, host = found
        if bk.status == BookingStatus.CANCELLED:
            self._alert(
                bk,
                t,
                host,
                f"its Zoom meeting could not be cancelled ({error}); delete it in Zoom",
            )
            return
        if bk.meeting_id is None:
            return
        why = f"meetbridge could not make its Zoom meeting match the booking ({error})"
        self._refused(bk, t, org, why)
        with self.db.write() as s:
            waiting = s.scalar(
                select(BookingNotice.id).where(
                    BookingNotice.booking_id == bk.id,
                    BookingNotice.kind == "confirm",
                    BookingNotice.status == NoticeStatus.PENDING,
                )
            )
            added = None
            if waiting is None:
                # Already told (the confirmation `_refused` rang is not there): an update says
                # the new place, and alerts with `why`.
                row = s.get(Booking, bk.id, with_for_update=True)
                assert row is not None
                row.sequence += 1
                row.updated_at = self.clock.now()
                added = self._add(s, row, "confirm", self.clock.now(), last_error=why[:1000]).id
        if added is not None:
            self._ring(added, None)

    def reconcile(self) -> int:
        ids = self.work.due_ids(self.db, self.clock.now())
        for nid in ids:
            self.jobs.enqueue(NOTICE_TASK, nid)
        return len(ids)

    def _handle(self, n: Row[Any], known: Known | None = None) -> Outcome | Settled:
        if known is not None and known.booking.id == n.booking_id and n.kind == "sync":
            return self._sync(n, known.booking, known.type, known.org, known.host, known)
        found = self._load_booking(n.booking_id)
        if found is None:
            return Done(NoticeStatus.DONE)
        bk, t, org, host = found
        handler: Any = {
            "sync": self._sync,
            "drop": self._drop,
            "confirm": self._confirm,
            "reminder": self._reminder,
            "calendar": self._calendar,
        }[n.kind]
        result: Outcome | Settled = handler(n, bk, t, org, host)
        return result

    def _load_booking(
        self, booking_id: str
    ) -> tuple[Booking, MeetingType, Organization, User] | None:
        """The booking and what it belongs to, in one statement (a booking's type, org and
        host are never deleted while it exists: RESTRICT); None if it is gone."""
        with self.db.read() as s:
            found = s.execute(
                select(Booking, MeetingType, Organization, User)
                .join(MeetingType, MeetingType.id == Booking.type_id)
                .join(Organization, Organization.id == Booking.org_id)
                .join(User, User.id == Booking.host_user_id)
                .where(Booking.id == booking_id)
            ).first()
            if found is None:
                return None
            s.expunge_all()
            return found[0], found[1], found[2], found[3]

    def _meeting(self, bk: Booking, meeting_id: str | None = None) -> Any:
        wanted = meeting_id or bk.meeting_id
        if wanted is None:
            return None
        for m in self.meetings.list_by_source(bk.org_id, Source(SourceKind.BOOKING, bk.id)):
            if m.id == wanted:
                return m
        return None

    def _sync(
        self,
        n: Row[Any],
        bk: Booking,
        t: MeetingType,
        org: Organization,
        host: User,
        known: Known | None = None,
    ) -> Outcome:
        # A booking just written has no meeting yet (and if an earlier attempt did make it,
        # the meeting's id, the booking's choice, says so below).
        m = None if known is not None else self._meeting(bk)
        if bk.status == BookingStatus.CANCELLED:
            if m is not None and not Status(m.status).gone:
                self._cancel_meeting(m)
            return Done(NoticeStatus.DONE)
        if bk.meeting_id is None:
            return Done(NoticeStatus.DONE)
        if m is None:
            if known is not None:
                timezone = known.host_timezone
            else:
                hours = self.availability.hours_of([host.id]).get(host.id)
                timezone = hours.timezone if hours else "UTC"
            data = MeetingInput(
                title=f"{t.name} with {bk.booker_name}"[:200],
                start=bk.start_at,
                timezone=timezone,
                duration=t.duration_min,
                agenda=_agenda(bk),
                source=Source(SourceKind.BOOKING, bk.id),
            )
            try:
                self.meetings.schedule(host, data, ORIGIN, meeting_id=bk.meeting_id)
            except IntegrityError:
                pass  # an earlier attempt made it: the id is the booking's choice
            except DomainError as exc:
                # Refused here (the host deactivated, limits): the fallback decides.
                return self._refused(bk, t, org, exc.message)
            return Done(NoticeStatus.DONE)
        status = Status(m.status)
        if status.gone:
            return Done(NoticeStatus.DONE)
        length = int((bk.end_at - bk.start_at).total_seconds() // 60)
        if m.start_at != bk.start_at or m.duration_min != length:
            try:
                self.meetings.update(
                    host, m.id, MeetingChanges(start=bk.start_at, duration=length), ORIGIN
                )
            except Conflict as exc:
                if status is Status.CREATING:
                    now = self.clock.now()
                    return Later(exc.message, at=now + waiting(now - n.created_at), free=True)
                return self._refused(bk, t, org, exc.message)
        return Done(NoticeStatus.DONE)

    def _cancel_meeting(self, m: Any) -> None:
        with self.db.read() as s:
            owner = s.get(User, m.host_user_id)
        if owner is not None:
            self.meetings.cancel(owner, m.id, ORIGIN)

    def _drop(
        self, n: Row[Any], bk: Booking, t: MeetingType, org: Organization, host: User
    ) -> Outcome:
        m = self._meeting(bk, n.meeting_id)
        if m is not None and not Status(m.status).gone:
            self._cancel_meeting(m)
        return Done(NoticeStatus.DONE)

    def _refused(self, bk: Booking, t: MeetingType, org: Organization, why: str) -> Outcome:
        """From "sync": the meeting cannot be made or changed; a meeting it made is deleted
        (none is left alive for a booking that no longer uses it), the booking takes the
        fallback, and its confirmation, due now, says so."""
        m = self._meeting(bk)
        self._take_fallback(bk, t, org, why)  # first: the cancel's event must not find it ours
        if m is not None and not Status(m.status).gone:
            self._cancel_meeting(m)
        with self.db.read() as s:
            ids = list(
                s.scalars(
                    select(BookingNotice.id).where(
                        BookingNotice.booking_id == bk.id,
                        BookingNotice.kind == "confirm",
                        BookingNotice.status == NoticeStatus.PENDING,
                    )
                ).all()
            )
        for nid in ids:
            self._ring(nid, None)
        return Done(NoticeStatus.DONE, {"last_error": why[:1000]})

    def _take_fallback(self, bk: Booking, t: MeetingType, org: Organization, why: str) -> None:
        """The booking (row and `bk`) moves to the type's fallback location, or to none."""
        hours = self.availability.hours_of([bk.host_user_id]).get(bk.host_user_id)
        if t.fallback == Fallback.NONE:
            location, value = "none", ""
        else:
            location, value = self.fallback_location(t, hours, org.slug, bk.id)
        with self.db.write() as s:
            s.execute(
                update(Booking)
                .where(Booking.id == bk.id, Booking.meeting_id == bk.meeting_id)
                .values(
                    meeting_id=None,
                    location=location,
                    location_value=value,
                    updated_at=self.clock.now(),  # since when it meets elsewhere
                )
            )
            s.execute(
                update(BookingNotice)
                .where(
                    BookingNotice.booking_id == bk.id,
                    BookingNotice.kind == "confirm",
                    BookingNotice.status == NoticeStatus.PENDING,
                )
                .values(next_attempt_at=self.clock.now(), last_error=why[:1000])
            )
        bk.meeting_id, bk.location, bk.location_value = None, location, value

    def _confirm(
        self, n: Row[Any], bk: Booking, t: MeetingType, org: Organization, host: User
    ) -> Outcome | Settled:
        now = self.clock.now()
        if bk.status == BookingStatus.CANCELLED:
            m = self._meeting(bk)
            told = bk.link_state != LinkState.WAITING
            self._send(bk, t, host, "cancelled", m, method="CANCEL" if told else None)
            return Done(NoticeStatus.DONE)
        kind = "updated" if bk.sequence > 0 else "confirmed"
        why = n.last_error
        if bk.location == "zoom":
            m = self._meeting(bk)
            if m is not None and m.join_url and Status(m.status) in LIVE:
                if bk.link_state == LinkState.FOLLOWS and kind == "confirmed":
                    kind = "link_ready"
                # The state, the e-mails and the notice's settle in one transaction; the
                # booker's e-mail is then sent here, not a queue hop later.
                status = self._send(bk, t, host, kind, m, method="REQUEST", settle=n)
                return Settled(status or "claimed_elsewhere")
            if m is not None and (Status(m.status) is Status.FAILED or Status(m.status).gone):
                why = m.last_error or (
                    "its Zoom meeting was cancelled" if Status(m.status).gone else "Zoom refused it"
                )
                self._take_fallback(bk, t, org, why)
                if Status(m.status) is Status.FAILED:
                    self._cancel_meeting(m)  # ends here, or is deleted at Zoom if made there
            else:
                # Not made yet: after the wait, the booker hears that the link follows (once).
                if now >= bk.updated_at + self.wait and bk.link_state == LinkState.WAITING:
                    self._set_state(bk, LinkState.FOLLOWS)
                    self._send(bk, t, host, "follows", None)
                if now >= bk.start_at - FOLLOW_UP:
                    # Zoom never made it in time: people, not a loop, take it from here.
                    self._alert(bk, t, host, "Zoom had not made the meeting by its start")
                    return Failed("Zoom had not made the meeting by its start")
                return Later(
                    "waiting for Zoom to make the meeting",
                    at=now + waiting(now - n.created_at),
                    free=True,
                )
        if bk.location == "none":
            self._set_state(bk, LinkState.NONE)
            self._send(bk, t, host, "no_link", None)
            self._alert(bk, t, host, why or "Zoom could not make the meeting; no fallback is set")
            return Done(NoticeStatus.DONE)
        self._set_state(bk, LinkState.FALLBACK)
        self._send(bk, t, host, kind, None, method="REQUEST")
        if bk.sequence == 0 or why:
            self._alert(bk, t, host, why or "nobody free had a working Zoom")
        return Done(NoticeStatus.DONE)

    def _reminder(
        self, n: Row[Any], bk: Booking, t: MeetingType, org: Organization, host: User
    ) -> Outcome:
        if bk.status != BookingStatus.CONFIRMED:
            return Done(NoticeStatus.DONE)
        self._send(bk, t, host, "reminder", self._meeting(bk), minutes=n.minutes)
        return Done(NoticeStatus.DONE)

    def _calendar(
        self, n: Row[Any], bk: Booking, t: MeetingType, org: Organization, host: User
    ) -> Outcome:
        accounts = self.availability.caldav_accounts(bk.member_ids)
        uid = booking_uid(bk.id)
        m = self._meeting(bk)
        errors = []
        for uid_member, accs in accounts.items():
            for acc in accs:
                try:
                    if bk.status == BookingStatus.CANCELLED:
                        self.calendars.delete_event(acc, uid)
                    else:
                        ics = self._ics(bk, t, host, m, None, self._people(bk))
                        self.calendars.put_event(acc, uid, ics)
                except CalendarError as exc:
                    errors.append(f"{uid_member}: {exc.message}")
        if errors:
            return Later("; ".join(errors))
        return Done(NoticeStatus.DONE)

    # ---- events -----------------------------------------------------------------------------

    def on_meeting_event(self, event: Event) -> None:
        """A booking's meeting was made, refused or deleted at Zoom: its confirmation looks
        again now. A meeting lost after the confirmation went out (deleted in Zoom, cancelled
        on the Meetings page, a change Zoom refused) gets a new one (the fallback, or "no
        link", said plainly, and the host and admins alerted): a booking never keeps a dead
        or wrong link silently."""
        source = event.data.get("source") or {}
        if source.get("kind") != SourceKind.BOOKING or not source.get("id"):
            return
        # Cancelled or refused while the booking still counts on it: at Zoom, by a person on
        # the Meetings page, or a reschedule Zoom refused. (A booking's own cancel or host
        # change has moved the booking off that meeting first.)
        lost = event.name in ("meeting.cancelled", "meeting.failed")
        with self.db.write() as s:
            found = s.execute(
                update(BookingNotice)
                .where(
                    BookingNotice.booking_id == source["id"],
                    BookingNotice.kind == "confirm",
                    BookingNotice.status == NoticeStatus.PENDING,
                )
                .values(next_attempt_at=self.clock.now())
            ).rowcount  # type: ignore[attr-defined]
            bk = s.get(Booking, source["id"]) if lost and not found else None
            if (
                lost
                and not found
                and bk is not None
                and bk.status == BookingStatus.CONFIRMED
                and bk.meeting_id == event.subject_id
            ):
                bk.sequence += 1  # the invite changes: its place is no longer that link
                self._add(s, bk, "confirm", self.clock.now())
            ids = self.due_now(s, source["id"])
        # Run here, in the event's own job: one queue hop less between Zoom making the
        # meeting and the booker's confirmation (a failure is retried as any notice is).
        for n in ids:
            self.run(n.id)

    # ---- messages ---------------------------------------------------------------------------

    def fallback_location(
        self, t: MeetingType, hours: MemberHours | None, org_slug: str, booking_id: str
    ) -> tuple[str, str]:
        """Where a booking without Zoom meets, from the type's fallback. A Jitsi room's name
        comes from the booking (keyed with the server's secret: not guessable), so any
        number of handlers name the same room."""
        if t.fallback == Fallback.JITSI:
            server = (t.fallback_value or self.settings.booking_jitsi_server).rstrip("/")
            room = self._rooms.sign(booking_id)[:16]
            return Fallback.JITSI, f"{server}/{org_slug}-{room}"
        if t.fallback == Fallback.LINK and hours is not None and hours.location == "link":
            return Fallback.LINK, hours.location_value  # the member's own room
        return str(t.fallback), t.fallback_value

    def where(self, bk: Booking) -> tuple[str, str]:
        """(label, link or place) of a booking as it is now."""
        if bk.status != BookingStatus.CONFIRMED:
            return self._where(bk, None)[0], ""
        return self._where(bk, self._meeting(bk))

    def _set_state(self, bk: Booking, state: LinkState) -> None:
        with self.db.single() as conn:
            conn.execute(update(Booking).where(Booking.id == bk.id).values(link_state=state))
        bk.link_state = state

    def _people(self, bk: Booking) -> list[tuple[str, str, str, bool]]:
        """(address, name, time zone, is the booker) of everyone told about the booking."""
        with self.db.read() as s:
            users = s.execute(
                select(User.email, User.name, User.timezone, Availability.timezone)
                .outerjoin(Availability, Availability.user_id == User.id)
                .where(User.id.in_(bk.member_ids))
            ).all()
        out = [(bk.booker_email, bk.booker_name, bk.timezone, True)]
        for email, name, own_zone, hours_zone in users:
            out.append((email, name, hours_zone or own_zone or "UTC", False))
        return out

    def _where(self, bk: Booking, m: Any) -> tuple[str, str]:
        """(label, link or place) — the truth: Zoom only with a Zoom meeting's own link."""
        if bk.location == "zoom":
            live = m is not None and m.join_url and not Status(m.status).gone
            return "Zoom", (m.join_url if live else "")
        return LOCATION_LABELS.get(bk.location, bk.location), bk.location_value

    def _ics(
        self,
        bk: Booking,
        t: MeetingType,
        host: User,
        m: Any,
        method: str | None,
        people: list[tuple[str, str, str, bool]],
    ) -> str:
        """The booking's invite for `method`, or (None) the event a calendar stores."""
        label, where = self._where(bk, m)
        link = where.startswith("https://") or where.startswith("http://")
        lines = [f"{label}: {where}" if where else f"Location: {label}"]
        if m is not None and m.zoom_meeting_id:
            lines.append(f"Meeting ID: {m.zoom_meeting_id}")
            if m.passcode:
                lines.append(f"Passcode: {m.passcode}")
        if bk.notes:
            lines.append("")
            lines.append(bk.notes)
        # The event is in the host's zone (the host is one of the members in `people`).
        zone = next((p[2] for p in people if not p[3] and p[0] == host.email), "UTC")
        return build_invite(
            InviteEvent(
                uid=booking_uid(bk.id),
                sequence=bk.sequence + (1 if method == "CANCEL" else 0),
                title=f"{t.name}: {bk.booker_name} and {host.name}"[:200],
                description="\n".join(lines),
                start=bk.start_at,
                duration=bk.end_at - bk.start_at,
                timezone=zone,
                location=where or label,
                location_is_link=link,
                organizer_email=host.email,
                organizer_name=host.name,
                attendees=tuple((p[0], p[1]) for p in people),
                stamp=self.clock.now(),
            ),
            method,
        )

    def _send(
        self,
        bk: Booking,
        t: MeetingType,
        host: User,
        kind: str,
        m: Any,
        method: str | None = None,
        minutes: int = 0,
        settle: Row[Any] | None = None,
    ) -> str | None:
        """Queues the message to everyone. With `settle` (the confirmation's notice, as
        claimed): the booking's link state becomes SENT and the notice is settled done in the
        same transaction, and the booker's message is sent at once (it is committed first,
        so a slow mail server delays nothing but itself, and a failure is retried as any
        message is). Returns the notice's status then (None: its claim was lost)."""
        label, where = self._where(bk, m)
        people = self._people(bk)
        ics = self._ics(bk, t, host, m, method, people) if method else None
        queued = []
        status: str | None = None
        with self.db.write() as s:
            if settle is not None:
                s.execute(
                    update(Booking).where(Booking.id == bk.id).values(link_state=LinkState.SENT)
                )
                status = self._settle_done(s, settle)
            for email, name, tz, is_booker in people:
                local = bk.start_at.astimezone(_zone(tz))
                msg = queue_email(
                    s,
                    org_id=bk.org_id,
                    dedupe_key=f"booking:{bk.id}:{bk.sequence}:{kind}:{minutes}:{email}",
                    to=email,
                    template="booking",
                    ics=ics,
                    ics_method=method,
                    context={
                        "kind": kind,
                        "booking_id": bk.id,
                        "for_booker": is_booker,
                        "name": name,
                        "type_name": t.name,
                        "booker_name": bk.booker_name,
                        "booker_email": bk.booker_email,
                        "host": host.name,
                        "when": local.strftime("%A %d %B %Y, %H:%M"),
                        "timezone": tz,
                        "duration": t.duration_min,
                        "location": label,
                        "where": where,
                        "meeting_id": m.zoom_meeting_id if m is not None else None,
                        "passcode": m.passcode if m is not None else None,
                        "notes": bk.notes,
                        "minutes": minutes,
                    },
                )
                if msg:
                    queued.append(msg.id)
        if settle is not None:
            bk.link_state = LinkState.SENT
            if queued:
                # The booker is first in `people`: their message goes now, the rest queued.
                first, *queued = queued
                self.mail.deliver(first)
        for mid in queued:
            self.mail.enqueue(mid)
        return status

    def _settle_done(self, s: Session, n: Row[Any]) -> str | None:
        """Settles the claimed notice `n` done in `s` (only while the claim is still its own,
        as core/work.py's settle does)."""
        done = s.execute(
            update(BookingNotice)
            .where(BookingNotice.id == n.id, BookingNotice.claimed_until == n.claimed_until)
            .values(status=NoticeStatus.DONE, claimed_until=None, last_error=None)
        )
        return NoticeStatus.DONE.value if done.rowcount == 1 else None  # type: ignore[attr-defined]

    def _alert(self, bk: Booking, t: MeetingType, host: User, why: str) -> None:
        """The host and the admins hear that a booking is not on Zoom, and why."""
        label, where = self._where(bk, None)
        with self.db.read() as s:
            admins = s.scalars(
                select(User).where(
                    User.org_id == bk.org_id,
                    User.status == "active",
                    User.role.in_(("owner", "admin")),
                )
            ).all()
            to = {a.email: a.name for a in admins}
            if host.status == "active":
                to = {host.email: host.name} | to
        queued = []
        base = self.settings.effective_base_url
        with self.db.write() as s:
            for email, name in to.items():
                msg = queue_email(
                    s,
                    org_id=bk.org_id,
                    dedupe_key=f"booking-alert:{bk.id}:{bk.sequence}:{email}",
                    to=email,
                    template="booking_alert",
                    context={
                        "name": name,
                        "type_name": t.name,
                        "booker_name": bk.booker_name,
                        "host": host.name,
                        "when": bk.start_at.strftime("%Y-%m-%d %H:%M UTC"),
                        "why": why,
                        "location": label,
                        "where": where,
                        "link": f"{base}/booking/bookings",
                    },
                )
                if msg:
                    queued.append(msg.id)
        for mid in queued:
            self.mail.enqueue(mid)

    def host_gone(self, bk: Booking, t: MeetingType, member_id: str | None = None) -> None:
        """The admins hear of a booking whose host (or, `member_id`, a member invited to it)
        was deactivated."""
        with self.db.read() as s:
            host = s.get(User, bk.host_user_id)
            gone = s.get(User, member_id) if member_id else host
        assert host is not None and gone is not None
        who = "host" if gone.id == host.id else "invited member"
        self._alert(bk, t, host, f"its {who} {gone.name} was deactivated; reassign or cancel it")

    def link_for_mail(self, context: dict[str, Any]) -> dict[str, str]:
        """The outbox's secret maker: the booker's manage link, made at sending."""
        if not context.get("for_booker") or self.manage_url is None:
            return {"manage_url": ""}
        return {"manage_url": self.manage_url(str(context["booking_id"]))}


def waiting(waited: dt.timedelta) -> dt.timedelta:
    """How long work that has waited `waited` for Zoom to make a meeting waits before it looks
    again: as long as it has waited (so the waits double: 5 s, 5 s, 10 s, 20 s …), from
    BUSY_RETRY to FOLLOW_UP. Its looks are free (not failed attempts: nothing failed), so the
    wait is read from the work's age, not its attempts; a wait this long is shown on the
    booking after booking/attention.py's STALE."""
    return waited_wait(waited, BUSY_RETRY, FOLLOW_UP)


def _agenda(bk: Booking) -> str:
    text = f"Booked by {bk.booker_name} <{bk.booker_email}>"
    if bk.notes:
        text += f"\n\n{bk.notes}"
    return text[:2000]


def _zone(name: str) -> Any:
    from meetbridge.scheduling.timezones import BadZone, zone

    try:
        return zone(name)
    except BadZone:
        return dt.UTC

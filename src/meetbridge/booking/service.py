"""Bookings: the public slots of a meeting type, booking one, and managing it (reschedule,
cancel, reassign) by the booker's secret link or by a member or admin.

A booking never talks to Zoom. In one transaction it writes its row and its durable work
(booking/notices.py): "sync" asks the meetings service for the meeting (source: this
booking) on the assigned host's Zoom and keeps it matching; "confirm" sends the confirmation
only from the meeting as created (its join link), or the fallback, truthfully. Two bookers
never get one member for overlapping times: a booking locks the members' availability rows
and checks again under the lock (both databases, any number of processes), with a unique
index on (host, start) beneath.

Each change is a domain event too (booking/events.py: created, rescheduled, reassigned,
cancelled), written in the change's transaction and published after its commit."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Protocol

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from meetbridge.booking import events as booking_events
from meetbridge.booking.attention import Attention
from meetbridge.booking.attention import attention as attention_of
from meetbridge.booking.availability import (
    Availabilities,
    MemberHours,
    can_host,
    default_availability,
    member_hours,
)
from meetbridge.booking.events import BookingEvent, booking_data, iso
from meetbridge.booking.inputs import (
    SLOTS_SPAN_MAX_DAYS,
    BookingInput,
    CheckedBooking,
    checked_booking,
    instant,
)
from meetbridge.booking.notices import Known, Notices
from meetbridge.booking.tables import (
    Assignment,
    Availability,
    Booking,
    BookingStatus,
    Fallback,
    LinkState,
    MeetingType,
    MeetingTypeMember,
)
from meetbridge.core import audit
from meetbridge.core.audit import Origin
from meetbridge.core.busy import BusyTimes
from meetbridge.core.clock import Clock
from meetbridge.core.db import Database
from meetbridge.core.errors import (
    Conflict,
    NotFound,
    PermissionDenied,
    Throttled,
    ValidationFailed,
)
from meetbridge.core.events import Event, EventBus
from meetbridge.core.models import Organization, User, new_id
from meetbridge.core.security import LinkSigner, spreadsheet_cell
from meetbridge.core.settings import Settings
from meetbridge.meetings.service import Meetings
from meetbridge.meetings.source import SourceKind
from meetbridge.meetings.status import Status
from meetbridge.scheduling import assign
from meetbridge.scheduling.availability import MemberAvailability
from meetbridge.scheduling.intervals import Interval
from meetbridge.scheduling.slots import Assignment as SlotAssignment
from meetbridge.scheduling.slots import Clash, Slot, SlotRules, clash, free_members, slots
from meetbridge.scheduling.timezones import zone

MANAGE_PURPOSE = "booking-manage"
SYSTEM = Origin(via="system")
# Public booking attempts are counted per hour; slot listings per minute, as many per minute
# as SLOTS_PER_ATTEMPT times the booking attempts an address has per hour (30 → 120 a minute: a
# person paging through days never meets it, a scraper does).
ATTEMPTS_WINDOW = 3600
SLOTS_WINDOW = 60
SLOTS_PER_ATTEMPT = 4


class Hit(NamedTuple):
    """One attempt counted against `limit` per `window` seconds under `key` (the shape the
    shared rate limiter counts)."""

    key: str
    limit: int
    window: int


class Limiter(Protocol):
    """The shared fixed-window counters (the database's, or Redis at scale): every hit is
    counted, refused or not; the answer is, per hit, the seconds to wait (0: within the
    limit)."""

    def hit_all(self, hits: Sequence[Any]) -> list[float]: ...


@dataclass
class Bookable:
    """A published meeting type and everything its slots are computed from."""

    org: Organization
    type: MeetingType
    members: list[MeetingTypeMember]
    users: dict[str, User]
    on_zoom: list[str]  # the members whose Zoom works now, in the type's order
    candidates: list[str]  # the members a booking may go to (see `_candidates`)
    hours: dict[str, MemberHours] = field(default_factory=dict)

    @property
    def rules(self) -> SlotRules:
        t = self.type
        return SlotRules(
            duration=dt.timedelta(minutes=t.duration_min),
            interval=dt.timedelta(minutes=t.interval_min),
            buffer_before=dt.timedelta(minutes=t.buffer_before_min),
            buffer_after=dt.timedelta(minutes=t.buffer_after_min),
            min_notice=dt.timedelta(minutes=t.min_notice_min),
            horizon=dt.timedelta(days=t.horizon_days),
            daily_cap=t.daily_cap,
        )

    @property
    def assignment(self) -> SlotAssignment:
        return SlotAssignment(self.type.assignment)


class Bookings:
    def __init__(
        self,
        db: Database,
        settings: Settings,
        meetings: Meetings,
        availability: Availabilities,
        notices: Notices,
        clock: Clock,
        limiter: Limiter,
        events: EventBus | None = None,
        elsewhere: BusyTimes | None = None,
    ) -> None:
        self.db = db
        # Members' busy times other modules hold (their service requests): core/busy.py.
        self.elsewhere = elsewhere if elsewhere is not None else BusyTimes()
        # The domain events' bus: the meetings service's unless given (one bus per process).
        self.events = events if events is not None else meetings.events
        self.limiter = limiter
        self.slots_per_minute = SLOTS_PER_ATTEMPT * settings.booking_attempts_per_address
        self.settings = settings
        self.meetings = meetings
        self.availability = availability
        self.notices = notices
        self.clock = clock
        self.signer = LinkSigner(settings.secret_key.get_secret_value(), MANAGE_PURPOSE)
        # member id -> (what their availability was built from, the availability): see
        # `_availability`. Bounded by the number of members.
        self._members: dict[str, tuple[Any, MemberAvailability, Any]] = {}

    # ---- the public page ------------------------------------------------------------------

    def bookable(self, org_slug: str, type_slug: str) -> Bookable:
        """A published type of an organisation, by their slugs (NotFound otherwise: the
        public page says nothing about what exists unpublished)."""
        with self.db.read() as s:
            org = s.scalar(select(Organization).where(Organization.slug == org_slug))
            t = None
            if org is not None:
                t = s.scalar(
                    select(MeetingType).where(
                        MeetingType.org_id == org.id,
                        MeetingType.slug == type_slug,
                        MeetingType.published.is_(True),
                    )
                )
            if org is None or t is None:
                raise NotFound("no such booking page")
            return self._load(s, org, t)

    def _load(self, s: Session, org: Organization, t: MeetingType) -> Bookable:
        members = list(
            s.scalars(
                select(MeetingTypeMember)
                .where(MeetingTypeMember.type_id == t.id)
                .order_by(MeetingTypeMember.position)
            ).all()
        )
        ids = [m.user_id for m in members]
        users = {
            u.id: u
            for u in s.scalars(select(User).where(User.id.in_(ids), User.status == "active"))
        }
        members = [m for m in members if m.user_id in users]
        ids = [m.user_id for m in members]
        states = self.meetings.zoom_of_hosts(ids)
        hours = self.availability.hours_of(ids)
        for uid in ids:
            if uid not in hours:
                hours[uid] = _default_hours(users[uid])
        on_zoom = [u for u in ids if can_host(states.get(u), hours[u].location)]
        b = Bookable(org, t, members, users, on_zoom, [], hours)
        b.candidates = _candidates(b)
        return b

    def slots(
        self,
        b: Bookable,
        start: dt.datetime,
        end: dt.datetime,
        exclude_booking: str | None = None,
        client: str | None = None,
    ) -> list[Slot]:
        """The free slots of `b` in [start, end). `client`: the address of a public caller,
        whose listings are limited (Throttled); None for the server's own reads."""
        if client is not None:
            self._limit(
                [Hit(f"booking-slots:ip:{client[:64]}", self.slots_per_minute, SLOTS_WINDOW)],
                "too many slot listings from this address; wait a minute and try again",
            )
        if end <= start:
            raise ValidationFailed("to", "must be after from")
        if end - start > dt.timedelta(days=SLOTS_SPAN_MAX_DAYS):
            raise ValidationFailed("to", f"ask for at most {SLOTS_SPAN_MAX_DAYS} days at once")
        now = self.clock.now()
        start = max(start, now)
        end = min(end, now + dt.timedelta(days=b.type.horizon_days))
        if end <= start or not b.candidates:
            return []
        members = self._availability(b, start, end, exclude_booking)
        return slots(b.assignment, members, b.rules, Interval(start, end), now)

    def _availability(
        self,
        b: Bookable,
        start: dt.datetime,
        end: dt.datetime,
        exclude_booking: str | None = None,
        booked: Sequence[Booking] | None = None,
        calendars: dict[str, tuple[tuple[Interval, ...], ...]] | None = None,
    ) -> list[MemberAvailability]:
        """Each candidate's hours and busy times around [start, end) (widened by a day on each
        side: a booking's buffers and a member-local day reach beyond it). Calendar busy times
        are whole (the slot code looks up what it needs); meetings and bookings, a few, are
        read for the window. A member whose inputs are the same as last time gets the same
        object back, with the busy index the slot code built on it."""
        lo, hi = start - dt.timedelta(days=1), end + dt.timedelta(days=1)
        ids = b.candidates
        own: dict[str, list[tuple[dt.datetime, dt.datetime]]] = {u: [] for u in ids}
        skip_meeting = None
        if booked is None:
            booked = self._bookings_between(b.org.id, lo, hi)
        for bk in booked:
            if bk.id == exclude_booking:
                skip_meeting = bk.meeting_id
                continue
            for uid in bk.member_ids:
                if uid in own:
                    own[uid].append((bk.start_at, bk.end_at))
        for mid, host, at, until in self.meetings.busy(b.org.id, ids, lo, hi):
            if mid != skip_meeting and host in own:
                own[host].append((at, until))
        for uid, at, until in self.elsewhere.of(b.org.id, ids, lo, hi):
            if uid in own:
                own[uid].append((at, until))
        if calendars is None:
            calendars = self.availability.busy(ids)
        per_day = self._per_day(b, booked, exclude_booking)
        out = []
        for uid in ids:
            h = b.hours[uid]
            mine = tuple(sorted(set(own[uid])))
            days = per_day.get(uid, {})
            cals = calendars.get(uid, ())
            key = (h.version, h.timezone, tuple(map(id, cals)), mine, tuple(sorted(days.items())))
            cached = self._members.get(uid)
            if cached is not None and cached[0] == key:
                out.append(cached[1])
                continue
            busy = [Interval(a, z) for a, z in mine]
            for cal in cals:
                busy.extend(cal)
            member = MemberAvailability(
                member_id=uid,
                timezone=h.timezone,
                weekly=h.weekly,
                overrides=h.overrides,
                busy=tuple(busy),
                booked_per_day=days,
            )
            # `cals` is kept with the key: the ids in it stay those tuples' while cached.
            self._members[uid] = (key, member, cals)
            out.append(member)
        return out

    def _per_day(
        self, b: Bookable, booked: Sequence[Booking], exclude: str | None
    ) -> dict[str, dict[dt.date, int]]:
        if b.type.daily_cap is None:
            return {}
        out: dict[str, dict[dt.date, int]] = {}
        for bk in booked:
            if bk.type_id != b.type.id or bk.id == exclude:
                continue
            for uid in bk.member_ids:
                if uid in b.hours:
                    day = bk.start_at.astimezone(zone(b.hours[uid].timezone)).date()
                    counts = out.setdefault(uid, {})
                    counts[day] = counts.get(day, 0) + 1
        return out

    def _bookings_between(
        self, org_id: str, lo: dt.datetime, hi: dt.datetime, s: Session | None = None
    ) -> list[Booking]:
        query = select(Booking).where(
            Booking.org_id == org_id,
            Booking.status == BookingStatus.CONFIRMED,
            Booking.start_at < hi,
            Booking.end_at > lo,
        )
        if s is not None:
            return list(s.scalars(query).all())
        with self.db.read() as r:
            return list(r.scalars(query).all())

    # ---- booking --------------------------------------------------------------------------

    def book(self, org_slug: str, type_slug: str, data: BookingInput, origin: Origin) -> Booking:
        return self.book_on(self.bookable(org_slug, type_slug), data, origin)

    def book_on(self, b: Bookable, data: BookingInput, origin: Origin) -> Booking:
        """`book` for a type the caller has just read (`bookable`)."""
        # Every attempt counts, refused ones too (bad input, a time not offered, the trap): a
        # robot trying times is held back as one that books.
        self._throttle(b.org.id, data.email, origin.ip)
        if data.honeypot:
            # Only robots fill in the field people never see: refused, nothing written.
            raise ValidationFailed("form", "could not be sent; reload the page and try again")
        ok = checked_booking(data)
        return self._place(b, ok, origin)

    def _place(self, b: Bookable, ok: CheckedBooking, origin: Origin) -> Booking:
        now = self.clock.now()
        duration = dt.timedelta(minutes=b.type.duration_min)
        end = ok.start + duration
        # Calendar busy times are read once: the lock below does not cover them (a calendar
        # changes when it is read in the background), only what meetbridge books.
        calendars = self.availability.busy(b.candidates) if b.candidates else {}
        offered = self._free_for(b, ok.start, None, calendars=calendars)
        if not offered:
            raise Conflict("start", "this time is not available (any more); pick another")
        try:
            with self.db.write() as s:
                self._lock(s, b, offered)
                # Under the lock: what others booked meanwhile.
                lo, hi = ok.start - dt.timedelta(days=1), end + dt.timedelta(days=1)
                booked = self._bookings_between(b.org.id, lo, hi, s)
                # Only members locked above: one found free only now was not locked.
                free = tuple(
                    u for u in self._free_for(b, ok.start, None, booked, calendars) if u in offered
                )
                if not free:
                    raise Conflict("start", "this time was just taken; pick another")
                host, members, reason = self._assign(s, b, free, now)
                booking = self._new_booking(b, ok, host, members, reason, origin, now)
                s.add(booking)
                s.flush()
                notices = self.notices.for_new(s, booking, b.type, now)
                event = self._record(s, BookingEvent.CREATED, booking, b.type.name, b.users)
                audit.write(
                    s,
                    audit.row(
                        org_id=b.org.id,
                        actor_id=None,
                        actor_label=ok.email,
                        action="booking.created",
                        origin=origin,
                        target_type="booking",
                        target_id=booking.id,
                        details={"type": b.type.slug, "host": host, "reason": reason},
                    ),
                )
                s.expunge(booking)
        except IntegrityError:
            raise Conflict("start", "this time was just taken; pick another") from None
        self._publish(event)
        known = Known(booking, b.type, b.org, b.users[host], b.hours[host].timezone)
        self.notices.run_now(notices, known)
        return booking

    def _free_for(
        self,
        b: Bookable,
        start: dt.datetime,
        exclude: str | None,
        booked: Sequence[Booking] | None = None,
        calendars: dict[str, tuple[tuple[Interval, ...], ...]] | None = None,
    ) -> tuple[str, ...]:
        if not b.candidates:
            return ()
        end = start + dt.timedelta(minutes=b.type.duration_min)
        members = self._availability(b, start, end, exclude, booked, calendars)
        return free_members(b.assignment, members, b.rules, start, self.clock.now())

    def _lock(self, s: Session, b: Bookable, members: Sequence[str]) -> None:
        """Locks the members' availability rows (in id order: two bookings never wait on each
        other crosswise); a member without one gets it first."""
        ids = sorted(members)
        have = set(
            s.scalars(
                select(Availability.user_id)
                .where(Availability.user_id.in_(ids))
                .order_by(Availability.user_id)
                .with_for_update()
            ).all()
        )
        for uid in ids:
            if uid not in have and uid in b.users:
                self.availability.ensure(s, b.users[uid])

    def _assign(
        self, s: Session, b: Bookable, free: Sequence[str], now: dt.datetime
    ) -> tuple[str, list[str], str]:
        """(host, everyone in it, why): the host is always the one whose Zoom makes it."""
        kind = b.type.assignment
        if kind == Assignment.COLLECTIVE:
            everyone = [m.user_id for m in b.members if m.user_id in b.candidates]
            hosts = [u for u in everyone if u in b.on_zoom]
            if hosts:
                return (
                    hosts[0],
                    everyone,
                    (
                        f"collective: all {len(everyone)} members invited; hosted on "
                        f"{b.users[hosts[0]].name}'s Zoom (the first assigned member with Zoom)"
                    ),
                )
            return (
                everyone[0],
                everyone,
                (
                    f"collective: all {len(everyone)} members invited; nobody has a working Zoom, "
                    "so the fallback location applies"
                ),
            )
        if kind == Assignment.ONE:
            uid = free[0]
            return uid, [uid], "one person: the type's member"
        zoom_free = [u for u in free if u in b.on_zoom]
        pool = zoom_free or list(free)
        weights = {m.user_id: m for m in b.members}
        month = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        counts = dict(
            s.execute(
                select(Booking.host_user_id, func.count())
                .where(
                    Booking.type_id == b.type.id,
                    Booking.status == BookingStatus.CONFIRMED,
                    Booking.created_at >= month,
                    Booking.host_user_id.in_(pool),
                )
                .group_by(Booking.host_user_id)
            ).all()
        )
        last = dict(
            s.execute(
                select(Booking.host_user_id, func.max(Booking.created_at))
                .where(Booking.type_id == b.type.id, Booking.host_user_id.in_(pool))
                .group_by(Booking.host_user_id)
            ).all()
        )
        pick = assign.pick(
            [
                assign.Candidate(
                    member_id=u,
                    weight=weights[u].weight,
                    priority=weights[u].priority,
                    booked_this_month=int(counts.get(u, 0)),
                    last_booked_at=last.get(u),
                )
                for u in pool
            ]
        )
        reason = pick.reason
        if not zoom_free:
            reason += "; no free member has a working Zoom, so the fallback location applies"
        return pick.member_id, [pick.member_id], reason

    def _new_booking(
        self,
        b: Bookable,
        ok: CheckedBooking,
        host: str,
        members: list[str],
        reason: str,
        origin: Origin,
        now: dt.datetime,
    ) -> Booking:
        on_zoom = host in b.on_zoom
        booking_id = new_id()
        location, value = ("zoom", "") if on_zoom else self._fallback(b, host, booking_id)
        return Booking(
            id=booking_id,
            org_id=b.org.id,
            type_id=b.type.id,
            host_user_id=host,
            member_ids=members,
            start_at=ok.start,
            end_at=ok.start + dt.timedelta(minutes=b.type.duration_min),
            timezone=ok.timezone,
            booker_name=ok.name,
            booker_email=ok.email,
            notes=ok.notes,
            origin_ip=(origin.ip or "")[:64] or None,
            status=BookingStatus.CONFIRMED,
            meeting_id=new_id() if on_zoom else None,
            location=location,
            location_value=value,
            link_state=LinkState.WAITING,
            assignment_reason=reason,
            sequence=0,
            created_at=now,
            updated_at=now,
        )

    def _fallback(self, b: Bookable, host: str, booking_id: str) -> tuple[str, str]:
        t = b.type
        if t.fallback == Fallback.NONE:
            # Slots are offered only for members who can host on Zoom (`_candidates`).
            raise Conflict("start", "nobody can host this on Zoom now; pick another time")
        return self.notices.fallback_location(t, b.hours.get(host), b.org.slug, booking_id)

    def _throttle(self, org_id: str, email: str, ip: str | None) -> None:
        """Counts a booking attempt against its address (any organisation) and its e-mail
        (in this organisation, as written: a malformed one is counted as sent)."""
        hits = [
            Hit(
                f"booking:email:{org_id}:{email.strip().lower()[:254]}",
                self.settings.booking_attempts_per_email,
                ATTEMPTS_WINDOW,
            )
        ]
        if ip:
            hits.append(
                Hit(
                    f"booking:ip:{ip[:64]}",
                    self.settings.booking_attempts_per_address,
                    ATTEMPTS_WINDOW,
                )
            )
        waits = self.limiter.hit_all(hits)
        if len(waits) > 1 and waits[1] > 0:
            raise Throttled(
                "too many booking attempts from this address in the last hour; try again later",
                int(waits[1]) + 1,
            )
        if waits[0] > 0:
            raise Throttled(
                "too many booking attempts with this e-mail address in the last hour; "
                "try again later",
                int(waits[0]) + 1,
            )

    def _limit(self, hits: list[Hit], message: str) -> None:
        wait = max(self.limiter.hit_all(hits), default=0.0)
        if wait > 0:
            raise Throttled(message, int(wait) + 1)

    # ---- managing -------------------------------------------------------------------------

    def manage_token(self, booking_id: str) -> str:
        return self.signer.sign(booking_id)

    def manage_url(self, booking_id: str) -> str:
        base = self.settings.effective_base_url
        return f"{base}/book/manage/{booking_id}/{self.manage_token(booking_id)}"

    def by_token(self, booking_id: str, token: str) -> Booking:
        """The booking a manage link names, as it is now (a rescheduled booking keeps its
        link: old e-mails lead to the current time)."""
        if len(booking_id) > 36 or not self.signer.valid(booking_id, token):
            raise NotFound("this link is not valid")
        with self.db.read() as s:
            bk = s.get(Booking, booking_id)
        if bk is None:
            raise NotFound("this link is not valid")
        return bk

    def type_of(self, bk: Booking) -> Bookable:
        with self.db.read() as s:
            org = s.get(Organization, bk.org_id)
            t = s.get(MeetingType, bk.type_id)
            assert org is not None and t is not None
            return self._load(s, org, t)

    def changeable_by_booker(self, bk: Booking, t: MeetingType) -> str | None:
        """Why the booker cannot change it now, or None."""
        if bk.status != BookingStatus.CONFIRMED:
            return "this booking is cancelled"
        now = self.clock.now()
        if bk.start_at <= now:
            return "this booking has started or is over"
        if bk.start_at - dt.timedelta(minutes=t.cutoff_min) <= now:
            return (
                f"changes close {t.cutoff_min} minutes before the start; "
                "reply to the confirmation e-mail to reach your host"
            )
        return None

    def reschedule_by_token(
        self, booking_id: str, token: str, new_start: str, origin: Origin
    ) -> Booking:
        bk = self.by_token(booking_id, token)
        b = self.type_of(bk)
        why = self.changeable_by_booker(bk, b.type)
        if why:
            raise Conflict("booking", why)
        return self._reschedule(
            b, bk, instant("start", new_start), origin, "booker", bk.booker_email
        )

    def cancel_by_token(self, booking_id: str, token: str, origin: Origin) -> Booking:
        bk = self.by_token(booking_id, token)
        b = self.type_of(bk)
        why = self.changeable_by_booker(bk, b.type)
        if why:
            raise Conflict("booking", why)
        return self._cancel(bk, origin, "booker", bk.booker_email)

    def get(self, actor: User, booking_id: str) -> Booking:
        with self.db.read() as s:
            bk = s.get(Booking, booking_id)
        if bk is None or bk.org_id != actor.org_id:
            raise NotFound("no such booking")
        if not actor.is_admin and actor.id not in bk.member_ids:
            raise NotFound("no such booking")
        return bk

    def reschedule(
        self, actor: User, booking_id: str, new_start: dt.datetime, origin: Origin
    ) -> Booking:
        bk = self.get(actor, booking_id)
        if bk.status != BookingStatus.CONFIRMED:
            raise Conflict("booking", "this booking is cancelled")
        return self._reschedule(self.type_of(bk), bk, new_start, origin, "member", actor.email)

    def cancel(self, actor: User, booking_id: str, origin: Origin) -> Booking:
        bk = self.get(actor, booking_id)
        return self._cancel(bk, origin, "member", actor.email)

    def attention_seen(self, actor: User, booking_id: str, origin: Origin) -> Booking:
        """A person looked at what the booking needed attention for (e.g. a fallback, or a
        time outside the member's hours, accepted as it is): it is no longer shown, until
        something new needs attention."""
        self.get(actor, booking_id)
        with self.db.write() as s:
            row = s.get(Booking, booking_id, with_for_update=True)
            assert row is not None
            row.attention = row.attention_at = None
            row.attention_seen_at = self.clock.now()
            audit.write(s, audit.by(actor, "booking.attention_seen", origin, "booking", row.id))
            s.flush()
            s.expunge(row)
        return row

    def reassign(self, actor: User, booking_id: str, origin: Origin) -> Booking:
        """Moves a booking to another free member (round-robin), e.g. when its host can no
        longer host it: the meeting is made on the new host's Zoom and the old one deleted."""
        if not actor.is_admin:
            raise PermissionDenied("only admins reassign bookings")
        bk = self.get(actor, booking_id)
        b = self.type_of(bk)
        if b.type.assignment != Assignment.ROUND_ROBIN:
            raise Conflict("booking", "only round-robin bookings can go to another member")
        return self._reschedule(b, bk, bk.start_at, origin, "member", actor.email, move_host=True)

    def _reschedule(
        self,
        b: Bookable,
        bk: Booking,
        new_start: dt.datetime,
        origin: Origin,
        who: str,
        by: str,
        move_host: bool = False,
    ) -> Booking:
        """`who` moved it: "booker", "member" (an admin too), as a cancel's `cancelled_by`, or
        "meetbridge" (its host is gone); `by` their address, for the audit log."""
        now = self.clock.now()
        if bk.status != BookingStatus.CONFIRMED:
            raise Conflict("booking", "this booking is cancelled")
        free = self._free_for(b, new_start, bk.id)
        if move_host:
            free = tuple(u for u in free if u != bk.host_user_id)
        if not free:
            raise Conflict("start", "this time is not available; pick another")
        end = new_start + dt.timedelta(minutes=b.type.duration_min)
        zoom_link = self._zoom_link(bk)
        with self.db.write() as s:
            row = s.get(Booking, bk.id, with_for_update=True)
            assert row is not None
            if row.status != BookingStatus.CONFIRMED:
                raise Conflict("booking", "this booking is cancelled")
            self._lock(s, b, sorted(set(free) | {row.host_user_id}))
            lo, hi = new_start - dt.timedelta(days=1), end + dt.timedelta(days=1)
            booked = self._bookings_between(b.org.id, lo, hi, s)
            locked = set(free) | {row.host_user_id}
            free = tuple(u for u in self._free_for(b, new_start, row.id, booked) if u in locked)
            if move_host:
                free = tuple(u for u in free if u != row.host_user_id)
            if not free:
                raise Conflict("start", "this time was just taken; pick another")
            before = row.start_at
            previous = (row.start_at, row.end_at, row.host_user_id, row.meeting_id)
            new_host, members, reason = row.host_user_id, list(row.member_ids), None
            if row.host_user_id not in free or move_host:
                if b.type.assignment == Assignment.ROUND_ROBIN:
                    new_host, members, reason = self._assign(s, b, free, now)
                else:
                    raise Conflict("start", "the host is not free then; pick another time")
            self.notices.moved(s, row, b, new_start, end, new_host, members, reason, now)
            event = self._record_move(s, row, b.type.name, previous, move_host, zoom_link, who)
            audit.write(
                s,
                audit.row(
                    org_id=row.org_id,
                    actor_id=None,
                    actor_label=by,
                    action="booking.rescheduled" if not move_host else "booking.reassigned",
                    origin=origin,
                    target_type="booking",
                    target_id=row.id,
                    details={
                        "from": before.isoformat(),
                        "to": new_start.isoformat(),
                        "host": new_host,
                    },
                ),
            )
            notices = self.notices.due_now(s, row.id)
            s.flush()
            s.expunge(row)
        self._publish(event)
        self.notices.run_now(notices)
        return row

    def _cancel(self, bk: Booking, origin: Origin, who: str, by: str) -> Booking:
        with self.db.write() as s:
            row = s.get(Booking, bk.id, with_for_update=True)
            assert row is not None
            if row.status == BookingStatus.CANCELLED:
                s.expunge(row)
                return row
            self.notices.cancelled(s, row, who, self.clock.now())
            event = None
            if self._wanted(BookingEvent.CANCELLED):
                t = s.get(MeetingType, row.type_id)
                event = self._record(
                    s, BookingEvent.CANCELLED, row, t.name if t else "", cancelled_by=who
                )
            audit.write(
                s,
                audit.row(
                    org_id=row.org_id,
                    actor_id=None,
                    actor_label=by,
                    action="booking.cancelled",
                    origin=origin,
                    target_type="booking",
                    target_id=row.id,
                    details={"by": who},
                ),
            )
            notices = self.notices.due_now(s, row.id)
            s.flush()
            s.expunge(row)
        self._publish(event)
        self.notices.run_now(notices)
        return row

    # ---- domain events --------------------------------------------------------------------

    def _wanted(self, name: BookingEvent) -> bool:
        return self.events is not None and self.events.wants(name)

    def _record(
        self,
        s: Session,
        name: BookingEvent,
        bk: Booking,
        type_name: str,
        users: dict[str, User] | None = None,
        *,
        zoom_join_url: str | None = None,
        **more: Any,
    ) -> str | None:
        """Writes `name` about `bk` (as it is now) in `s`'s transaction when anyone listens;
        its id for `_publish` after the commit. `users`: the people it names, when the caller
        has them (else read here, only when someone listens)."""
        if self.events is None or not self.events.wants(name):
            return None
        ids = booking_events.people(bk)
        if users is None or any(u not in users for u in ids):
            users = {u.id: u for u in s.scalars(select(User).where(User.id.in_(ids)))}
        return self.events.record(
            s,
            name,
            org_id=bk.org_id,
            subject_type=booking_events.SUBJECT,
            subject_id=bk.id,
            data=booking_data(bk, type_name, users, zoom_join_url=zoom_join_url, **more),
        )

    def _record_move(
        self,
        s: Session,
        row: Booking,
        type_name: str,
        previous: tuple[dt.datetime, dt.datetime, str, str | None],
        move_host: bool,
        zoom_link: tuple[str, str] | None,
        moved_by: str,
    ) -> str | None:
        """A reschedule's or a reassignment's event, with where the booking was before and who
        moved it (`moved_by`: "booker", "member", "meetbridge" when its host is gone, or
        "meeting" when the booking followed its meeting, moved on the Meetings page or at
        Zoom)."""
        name = BookingEvent.REASSIGNED if move_host else BookingEvent.RESCHEDULED
        if not self._wanted(name):
            return None
        start, end, host_id, meeting_id = previous
        old = s.get(User, host_id)
        # The Zoom link stays the meeting's while the booking keeps its meeting (a move is a
        # change of the same meeting); a new host's meeting is made after the commit.
        link = zoom_link[1] if zoom_link and zoom_link[0] == row.meeting_id else None
        return self._record(
            s,
            name,
            row,
            type_name,
            zoom_join_url=link,
            moved_by=moved_by,
            previous={
                "start_at": iso(start),
                "end_at": iso(end),
                "host_user_id": host_id,
                "host_email": old.email if old is not None else None,
                "host_name": old.name if old is not None else None,
                "meeting_id": meeting_id,
            },
        )

    def _zoom_link(self, bk: Booking) -> tuple[str, str] | None:
        """(meeting id, join link) of the booking's live Zoom meeting, read only when a move's
        event is wanted (it is read before the move's transaction: the meetings service's)."""
        if bk.meeting_id is None or not (
            self._wanted(BookingEvent.RESCHEDULED) or self._wanted(BookingEvent.REASSIGNED)
        ):
            return None
        for m in self.meetings.list_by_source_ids(bk.org_id, SourceKind.BOOKING, [bk.id]):
            if m.id == bk.meeting_id and m.join_url and not Status(m.status).gone:
                return m.id, m.join_url
        return None

    def _publish(self, event_id: str | None) -> None:
        if self.events is not None and event_id is not None:
            self.events.publish([event_id])

    def on_member_gone(self, event: Event) -> None:
        """A deactivated member's bookings to come: a round-robin one goes to another free
        member (the meeting is made on their Zoom and the old one deleted); any other, or one
        nobody else is free for, is brought to the admins (an e-mail naming it): a booking
        never waits silently for a host who is gone."""
        now = self.clock.now()
        with self.db.read() as s:
            rows = list(
                s.scalars(
                    select(Booking).where(
                        Booking.org_id == event.org_id,
                        Booking.status == BookingStatus.CONFIRMED,
                        Booking.start_at > now,
                    )
                ).all()
            )
        for bk in rows:
            if bk.host_user_id != event.subject_id:
                if event.subject_id in bk.member_ids:  # invited to a collective booking
                    self.notices.host_gone(bk, self.type_of(bk).type, event.subject_id)
                continue
            b = self.type_of(bk)
            if b.type.assignment == Assignment.ROUND_ROBIN:
                try:
                    self._reschedule(
                        b, bk, bk.start_at, SYSTEM, "meetbridge", "meetbridge", move_host=True
                    )
                    continue
                except Conflict:
                    pass
            self.notices.host_gone(bk, b.type)

    def on_meeting_moved(self, event: Event) -> None:
        """A booking's meeting was moved elsewhere — on the Meetings page or API, or at Zoom
        (its meeting.updated webhook, applied by the engine): what happened to the meeting is
        the truth, so the booking takes its time (the slot is then busy at the new time, free
        at the old), and everyone gets the updated invite with the same link. A time its
        member is not free for is still taken, and kept on the booking for a person to look
        at. The booking's own changes end here: a reschedule has moved the booking first (the
        times are equal), and while its "sync" is on its way the booking is the newer word."""
        source = event.data.get("source") or {}
        if source.get("kind") != SourceKind.BOOKING or not source.get("id"):
            return
        with self.db.read() as s:
            bk = s.get(Booking, source["id"])
        if bk is None or bk.status != BookingStatus.CONFIRMED or bk.meeting_id != event.subject_id:
            return
        m = next(
            (
                x
                for x in self.meetings.list_by_source_ids(bk.org_id, SourceKind.BOOKING, [bk.id])
                if x.id == bk.meeting_id
            ),
            None,
        )
        if m is None or Status(m.status).gone or m.start_at is None:
            return
        start, end = m.start_at, m.start_at + dt.timedelta(minutes=m.duration_min)
        if (start, end) == (bk.start_at, bk.end_at) or self.notices.syncing(bk.id):
            return
        b = self.type_of(bk)
        attention = self._not_free(b, bk, start, end)
        now = self.clock.now()
        try:
            with self.db.write() as s:
                row = s.get(Booking, bk.id, with_for_update=True)
                if (
                    row is None
                    or row.status != BookingStatus.CONFIRMED
                    or row.meeting_id != m.id
                    or (row.start_at, row.end_at) != (bk.start_at, bk.end_at)
                ):
                    return  # changed meanwhile: its own change (or event) decides
                previous = (row.start_at, row.end_at, row.host_user_id, row.meeting_id)
                self.notices.followed(s, row, b.type, start, end, attention, now)
                link = (m.id, m.join_url) if m.join_url else None
                event_id = self._record_move(s, row, b.type.name, previous, False, link, "meeting")
                audit.write(
                    s,
                    audit.row(
                        org_id=row.org_id,
                        actor_id=None,
                        actor_label="meetbridge",
                        action="booking.rescheduled",
                        origin=SYSTEM,
                        target_type="booking",
                        target_id=row.id,
                        details={
                            "from": previous[0].isoformat(),
                            "to": start.isoformat(),
                            "by": "its meeting",
                            "attention": attention,
                        },
                    ),
                )
                notices = self.notices.due_now(s, row.id)
        except IntegrityError:
            # Moved onto the start of another confirmed booking of the same host: the two
            # cannot both hold it (uq_bookings_host_start), so this one keeps its time and
            # says so.
            self.notices.note(
                bk.id,
                f"its Zoom meeting was moved to {self._local(b, bk.host_user_id, start)}, "
                "the start of another of the host's bookings; the booking kept its time",
            )
            return
        self._publish(event_id)
        self.notices.run_now(notices)

    def _not_free(
        self, b: Bookable, bk: Booking, start: dt.datetime, end: dt.datetime
    ) -> str | None:
        """Why [start, end) is not free for a member of `bk` (their hours, their other
        meetings, bookings and calendars, with the type's buffers), in plain words; None."""
        lo, hi = start - dt.timedelta(days=1), end + dt.timedelta(days=1)
        # The booking itself (its meeting is at the new time already) is not in the way.
        booked = [x for x in self._bookings_between(b.org.id, lo, hi) if x.id != bk.id]
        members = self._availability(b, start, end, bk.id, [*booked, bk])
        for member in members:
            if member.member_id not in bk.member_ids:
                continue
            why = clash(member, b.rules, start, end)
            if why is None:
                continue
            user = b.users.get(member.member_id)
            name = user.name if user is not None else "a member"
            what = (
                f"outside {name}'s hours"
                if why is Clash.HOURS
                else f"when {name} has another meeting, booking, service request or calendar event"
            )
            when = self._local(b, member.member_id, start)
            return f"its Zoom meeting was moved to {when}, {what}"
        return None

    @staticmethod
    def _local(b: Bookable, user_id: str, at: dt.datetime) -> str:
        hours = b.hours.get(user_id)
        tz = hours.timezone if hours is not None else "UTC"
        return f"{at.astimezone(zone(tz)):%a %d %b %Y %H:%M} ({tz})"

    # ---- the record -----------------------------------------------------------------------

    def find(
        self,
        actor: User,
        *,
        member_id: str | None = None,
        type_id: str | None = None,
        status: str | None = None,
        start: dt.datetime | None = None,
        end: dt.datetime | None = None,
        attention: bool | None = None,
        limit: int = 500,
    ) -> list[Booking]:
        """`attention`: only those that need a person's attention (True), or none of them."""
        with self.db.read() as s:
            query = select(Booking).where(Booking.org_id == actor.org_id)
            if member_id:
                query = query.where(Booking.host_user_id == member_id)
            if type_id:
                query = query.where(Booking.type_id == type_id)
            if status:
                query = query.where(Booking.status == status)
            if start:
                query = query.where(Booking.start_at >= start)
            if end:
                query = query.where(Booking.start_at < end)
            rows = s.scalars(query.order_by(Booking.start_at.desc())).all()
        # A member sees the bookings they are in: hosting, or invited to a collective one
        # (the members are a JSON list, read here rather than in each database's JSON dialect).
        if not actor.is_admin:
            rows = [r for r in rows if actor.id in r.member_ids or r.host_user_id == actor.id]
        if attention is not None:
            flagged = self.attention(actor.org_id, rows)
            rows = [r for r in rows if (flagged[r.id] is not None) == attention]
        return list(rows[:limit])

    def attention(
        self, org_id: str, rows: Sequence[Booking], meetings: dict[str, Any] | None = None
    ) -> dict[str, Attention | None]:
        """Why each booking needs a person's attention (booking/attention.py), or None."""
        if meetings is None:
            meetings = {
                mt.id: mt
                for mt in self.meetings.list_by_source_ids(
                    org_id, SourceKind.BOOKING, [r.id for r in rows]
                )
            }
        work = self.notices.work_of([r.id for r in rows])
        mails = self.notices.undelivered(org_id, rows)
        now = self.clock.now()
        return {
            r.id: attention_of(
                r, meetings.get(r.meeting_id or ""), work[r.id], mails.get(r.id, []), now
            )
            for r in rows
        }

    def details(self, actor: User, rows: Sequence[Booking]) -> list[dict[str, Any]]:
        """What the bookings list and its CSV show of each booking: type, host, Zoom ID,
        join link (from the meeting), fallback used, why it went to its host."""
        meetings = {
            mt.id: mt
            for mt in self.meetings.list_by_source_ids(
                actor.org_id, SourceKind.BOOKING, [r.id for r in rows]
            )
        }
        with self.db.read() as s:
            types = dict(
                s.execute(
                    select(MeetingType.id, MeetingType.name).where(
                        MeetingType.org_id == actor.org_id
                    )
                ).all()
            )
            users = dict(
                s.execute(select(User.id, User.name).where(User.org_id == actor.org_id)).all()
            )
        flagged = self.attention(actor.org_id, rows, meetings)
        out = []
        for r in rows:
            m = meetings.get(r.meeting_id or "")
            why = flagged[r.id]
            out.append(
                {
                    "id": r.id,
                    "type": types.get(r.type_id, ""),
                    "type_id": r.type_id,
                    "start": r.start_at.isoformat(),
                    "end": r.end_at.isoformat(),
                    "timezone": r.timezone,
                    "status": r.status,
                    "host_id": r.host_user_id,
                    "host": users.get(r.host_user_id, ""),
                    "members": [users.get(u, u) for u in r.member_ids],
                    "booker_name": r.booker_name,
                    "booker_email": r.booker_email,
                    "location": r.location,
                    "fallback_used": r.location != "zoom",
                    "location_value": r.location_value,
                    "zoom_meeting_id": m.zoom_meeting_id if m is not None else None,
                    "join_url": m.join_url
                    if m is not None and r.status == BookingStatus.CONFIRMED
                    else None,
                    "meeting_status": m.status if m is not None else None,
                    "link_state": r.link_state,
                    "assignment_reason": r.assignment_reason,
                    "attention": why.out() if why is not None else None,
                    "created_at": r.created_at.isoformat(),
                }
            )
        return out

    def csv(self, actor: User, rows: Sequence[Booking]) -> str:
        cols = [
            "id",
            "type",
            "start",
            "end",
            "timezone",
            "status",
            "host",
            "booker_name",
            "booker_email",
            "location",
            "fallback_used",
            "zoom_meeting_id",
            "join_url",
            "assignment_reason",
            "attention",
            "created_at",
        ]
        buf = io.StringIO()
        w = csv.writer(buf)
        w.writerow(cols)
        for d in self.details(actor, rows):
            d["attention"] = d["attention"]["reason"] if d["attention"] else ""
            # A cell a spreadsheet would run as a formula is written as text.
            w.writerow([spreadsheet_cell(d[c]) for c in cols])
        return buf.getvalue()

    def public_details(self, bk: Booking) -> dict[str, Any]:
        """What the booker's pages show of where it meets: the Zoom link only once the
        meeting exists (from the meeting itself), or the fallback, said as what it is."""
        label, where = self.notices.where(bk)
        return {"location": label, "join_url": where or None}


def _default_hours(user: User) -> MemberHours:
    """The hours of a member who has no row yet; the same each time (no version)."""
    return dataclasses.replace(member_hours(default_availability(user)), version=None)


def _candidates(b: Bookable) -> list[str]:
    """Who a booking may go to. Without a fallback only members who can host on Zoom (a
    collective type needs one of them, and then everyone); with one, every member."""
    ids = [m.user_id for m in b.members]
    if b.type.fallback != Fallback.NONE:
        return ids
    if b.type.assignment == Assignment.COLLECTIVE:
        return ids if b.on_zoom else []
    return [u for u in ids if u in b.on_zoom]

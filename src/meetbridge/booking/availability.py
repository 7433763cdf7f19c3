"""Each member's availability: weekly hours in their time zone, date overrides, meeting
location, and the calendars their busy times are read from (an iCalendar feed, a CalDAV
calendar). A calendar is durable work (core/work.py): each read is an attempt, refreshed in the
background; a failing one keeps its last busy times and shows its error on the member's card."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.engine import Row
from sqlalchemy.orm import Session

from meetbridge.booking.inputs import (
    AvailabilityInput,
    CheckedAvailability,
    checked_availability,
    hours_to_json,
)
from meetbridge.booking.tables import (
    Availability,
    Booking,
    CalendarBusy,
    CalendarKind,
    MemberCalendar,
)
from meetbridge.core import audit
from meetbridge.core.audit import Origin
from meetbridge.core.calendars import Busy, CalDavAccount, CalendarError, Calendars
from meetbridge.core.clock import Clock
from meetbridge.core.crypto import Crypto
from meetbridge.core.db import Database, utcnow
from meetbridge.core.errors import NotFound, PermissionDenied, ValidationFailed
from meetbridge.core.jobs import JobQueue
from meetbridge.core.logging import get_logger
from meetbridge.core.models import User
from meetbridge.core.work import Later, Outcome, Retry, WorkTable
from meetbridge.meetings.service import Meetings
from meetbridge.notify.ics import own_uid
from meetbridge.scheduling.availability import Hours
from meetbridge.scheduling.intervals import Interval
from meetbridge.scheduling.timezones import is_zone

log = get_logger("meetbridge.booking")

REFRESH_TASK = "booking.calendar_refresh"
RECONCILE_TASK = "booking.calendars_reconcile"
# Busy times are read this far ahead (the longest booking horizon), and this far back.
READ_AHEAD = dt.timedelta(days=366)
READ_BEHIND = dt.timedelta(days=1)
URL_MAX = 2000
# Monday to Friday, 09:00-17:00: what a member has before they set their own hours.
BUSY_CACHE_MAX = 20_000  # calendars; past it the cache starts again
DEFAULT_WEEKLY = {str(d): [[9 * 60, 17 * 60]] for d in range(5)}


@dataclass(frozen=True)
class MemberHours:
    user_id: str
    version: Any  # changes with every change of the hours
    timezone: str
    weekly: dict[int, tuple[Hours, ...]]
    overrides: dict[dt.date, tuple[Hours, ...]]
    location: str
    location_value: str


def default_availability(user: User) -> Availability:
    """What a member has before they set their own: weekdays 09:00-17:00 in their zone (UTC
    if theirs is not one people meet in)."""
    return Availability(
        user_id=user.id,
        org_id=user.org_id,
        timezone=user.timezone if is_zone(user.timezone or "") else "UTC",
        weekly=dict(DEFAULT_WEEKLY),
        overrides={},
        location="zoom",
        location_value="",
        updated_at=utcnow(),
    )


def can_host(zoom_state: object, location: str) -> bool:
    """Whether a member can host a booking on Zoom: their Zoom works and their meeting
    location is Zoom (the one rule for the booking page and for publishing)."""
    return str(zoom_state) == "connected" and location == "zoom"


def _hours(raw: dict[str, Any]) -> dict[Any, tuple[Hours, ...]]:
    return {k: tuple(Hours(int(a), int(b)) for a, b in v) for k, v in (raw or {}).items()}


def member_hours(row: Availability) -> MemberHours:
    weekly = {int(k): v for k, v in _hours(row.weekly).items()}
    overrides = {dt.date.fromisoformat(k): v for k, v in _hours(row.overrides).items()}
    return MemberHours(
        row.user_id,
        row.updated_at,
        row.timezone,
        weekly,
        overrides,
        row.location,
        row.location_value,
    )


class Availabilities:
    def __init__(
        self,
        db: Database,
        crypto: Crypto,
        calendars: Calendars,
        jobs: JobQueue,
        clock: Clock,
        meetings: Meetings,
        refresh_minutes: int = 15,
    ) -> None:
        self.db = db
        self.meetings = meetings
        self.crypto = crypto
        self.calendars = calendars
        self.jobs = jobs
        self.clock = clock
        self.refresh = dt.timedelta(minutes=refresh_minutes)
        # calendar id -> (the read they came from, its busy intervals by start); see `busy`.
        self._busy_cache: dict[str, tuple[Any, tuple[Interval, ...]]] = {}
        self.work = WorkTable(
            MemberCalendar,
            pending=["active"],
            failed="failed",
            # A calendar that keeps failing is still read, less often: a feed that is down
            # today may be back tomorrow. The card shows the error meanwhile.
            retry=Retry(base=60, cap=6 * 3600),
            lease=dt.timedelta(minutes=2),
        )

    # ---- hours ----------------------------------------------------------------------------

    def ensure(self, s: Session, user: User) -> Availability:
        row = s.get(Availability, user.id)
        if row is None:
            row = default_availability(user)
            s.add(row)
            s.flush()
        return row

    def get(self, actor: User, user_id: str) -> Availability:
        with self.db.write() as s:
            user = _member(s, actor, user_id)
            row = self.ensure(s, user)
            s.expunge(row)
            return row

    def hours_of(self, user_ids: Sequence[str]) -> dict[str, MemberHours]:
        with self.db.read() as s:
            rows = s.scalars(select(Availability).where(Availability.user_id.in_(user_ids)))
            return {r.user_id: member_hours(r) for r in rows}

    def set(
        self, actor: User, user_id: str, data: AvailabilityInput, origin: Origin
    ) -> Availability:
        ok: CheckedAvailability = checked_availability(data)
        with self.db.write() as s:
            user = _member(s, actor, user_id)
            row = self.ensure(s, user)
            row.timezone = ok.timezone
            row.weekly = hours_to_json(ok.weekly)
            row.overrides = hours_to_json({d.isoformat(): h for d, h in ok.overrides.items()})
            row.location, row.location_value = ok.location, ok.location_value
            row.updated_at = utcnow()
            audit.write(
                s,
                audit.by(
                    actor,
                    "availability.updated",
                    origin,
                    "user",
                    user.id,
                    {"timezone": ok.timezone, "location": ok.location},
                ),
            )
            s.flush()
            s.expunge(row)
            return row

    # ---- calendars ------------------------------------------------------------------------

    def list_calendars(self, actor: User, user_id: str) -> list[MemberCalendar]:
        with self.db.read() as s:
            _member(s, actor, user_id)
            return list(
                s.scalars(
                    select(MemberCalendar)
                    .where(MemberCalendar.user_id == user_id)
                    .order_by(MemberCalendar.created_at)
                ).all()
            )

    def add_calendar(
        self,
        actor: User,
        user_id: str,
        kind: str,
        url: str,
        origin: Origin,
        username: str = "",
        password: str = "",
    ) -> MemberCalendar:
        url = (url or "").strip()
        problems = []
        if kind not in (CalendarKind.FEED, CalendarKind.CALDAV):
            problems.append(("kind", "must be feed or caldav"))
        if not url or len(url) > URL_MAX:
            problems.append(("url", f"give the calendar's address (at most {URL_MAX} characters)"))
        elif not url.lower().startswith(("https://", "http://", "webcal://")):
            problems.append(("url", "must start with https://, http:// or webcal://"))
        if kind == CalendarKind.CALDAV and not username:
            problems.append(("username", "CalDAV needs the user name"))
        if problems:
            raise _many(problems)
        if kind == CalendarKind.CALDAV:
            try:
                self.calendars.check_caldav(CalDavAccount(url, username, password))
            except CalendarError as exc:
                raise ValidationFailed("url", exc.message) from None
        with self.db.write() as s:
            user = _member(s, actor, user_id)
            cal = MemberCalendar(
                org_id=user.org_id,
                user_id=user.id,
                kind=kind,
                url=url,
                username=username,
                password_enc=self.crypto.encrypt(password) if password else None,
                status="active",
                attempts=0,
                next_attempt_at=utcnow(),
            )
            s.add(cal)
            s.flush()
            audit.write(
                s, audit.by(actor, "calendar.added", origin, "calendar", cal.id, {"kind": kind})
            )
            s.expunge(cal)
        self.jobs.enqueue(REFRESH_TASK, cal.id)
        return cal

    def remove_calendar(self, actor: User, calendar_id: str, origin: Origin) -> None:
        with self.db.write() as s:
            cal = s.get(MemberCalendar, calendar_id)
            if cal is None:
                raise NotFound("no such calendar")
            _member(s, actor, cal.user_id)
            s.execute(delete(CalendarBusy).where(CalendarBusy.calendar_id == cal.id))
            s.delete(cal)
            audit.write(s, audit.by(actor, "calendar.removed", origin, "calendar", calendar_id))

    def caldav_accounts(self, user_ids: Sequence[str]) -> dict[str, list[CalDavAccount]]:
        """The CalDAV calendars bookings are written to, by member."""
        with self.db.read() as s:
            rows = s.scalars(
                select(MemberCalendar).where(
                    MemberCalendar.user_id.in_(list(user_ids)),
                    MemberCalendar.kind == CalendarKind.CALDAV,
                )
            ).all()
        out: dict[str, list[CalDavAccount]] = {}
        for r in rows:
            out.setdefault(r.user_id, []).append(self._account(r))
        return out

    def _account(self, r: Any) -> CalDavAccount:
        password = self.crypto.decrypt(r.password_enc) if r.password_enc else ""
        return CalDavAccount(r.url, r.username, password)

    # ---- the refresh job ------------------------------------------------------------------

    def refresh_one(self, calendar_id: str) -> str:
        return self.work.attempt(self.db, self.clock, calendar_id, self._read).status

    def _read(self, row: Row[Any]) -> Outcome:
        with self.db.read() as s:
            tz = s.scalar(select(Availability.timezone).where(Availability.user_id == row.user_id))
        tz = tz or "UTC"
        now = self.clock.now()
        start, end = now - READ_BEHIND, now + READ_AHEAD
        try:
            if row.kind == CalendarKind.CALDAV:
                got = self.calendars.read_caldav(self._account(row), start, end, tz)
            else:
                got = self.calendars.read_feed(row.url, row.etag, start, end, tz)
        except CalendarError as exc:
            log.info("booking.calendar_failed", calendar_id=row.id, error=exc.message)
            return Later(exc.message)
        if not got.not_modified:
            # Read before the write: on SQLite the writer's turn is held by one at a time.
            mine = _copies_of_ours(self.db, self.meetings, row, got.busy)
            # One row per time, as before UIDs were read: the rest is plain busy time.
            kept = {(b.start, b.end) for b in got.busy if b.uid not in mine}
            with self.db.write() as s:
                s.execute(delete(CalendarBusy).where(CalendarBusy.calendar_id == row.id))
                if kept:
                    s.execute(
                        insert(CalendarBusy),
                        [
                            {
                                "calendar_id": row.id,
                                "user_id": row.user_id,
                                "start_at": at,
                                "end_at": until,
                            }
                            for at, until in kept
                        ],
                    )
        # Read again after the refresh period: a success is "later" without counting.
        return Later(
            "",
            at=now + self.refresh,
            free=True,
            values={
                "etag": got.etag,
                "last_read_at": now,
                "last_error": None,
                "attempts": 0,
            },
        )

    def reconcile(self) -> int:
        ids = self.work.due_ids(self.db, self.clock.now())
        for cid in ids:
            self.jobs.enqueue(REFRESH_TASK, cid)
        return len(ids)

    def busy(self, user_ids: Sequence[str]) -> dict[str, tuple[tuple[Interval, ...], ...]]:
        """The members' calendar busy times, by member: one tuple per calendar, sorted by
        start, the same tuple object for as long as the calendar was not read again.

        A calendar's busy times change only when it is read, so each process keeps them per
        calendar, keyed by the time of that read (`last_read_at`): one small query finds the
        calendars read since, and only those are loaded again. Reading 15,000 rows and making
        them into intervals on every slot request cost ~300 ms at 50 members."""
        with self.db.read() as s:
            cals = s.execute(
                select(MemberCalendar.id, MemberCalendar.user_id, MemberCalendar.last_read_at)
                .where(MemberCalendar.user_id.in_(list(user_ids)))
                .order_by(MemberCalendar.id)
            ).all()
            cache = self._busy_cache  # this answer is built from this one dict
            if len(cache) > BUSY_CACHE_MAX:
                cache = self._busy_cache = {}
            stale = [c.id for c in cals if cache.get(c.id, (0,))[0] != c.last_read_at]
            if stale:
                loaded: dict[str, list[Interval]] = {cid: [] for cid in stale}
                rows = s.execute(
                    select(
                        CalendarBusy.calendar_id, CalendarBusy.start_at, CalendarBusy.end_at
                    ).where(CalendarBusy.calendar_id.in_(stale))
                ).all()
                for cid, at, until in rows:
                    loaded[cid].append(Interval(at, until))
                read_at = {c.id: c.last_read_at for c in cals}
                for cid, found in loaded.items():
                    found.sort()
                    cache[cid] = (read_at[cid], tuple(found))
        out: dict[str, tuple[tuple[Interval, ...], ...]] = {}
        for c in cals:
            cached = cache.get(c.id)
            if cached is not None:
                out[c.user_id] = (*out.get(c.user_id, ()), cached[1])
        return out


def _copies_of_ours(
    db: Database, meetings: Meetings, cal: Row[Any], busy: Sequence[Busy]
) -> set[str]:
    """The UIDs in `busy` of this database's own rows: a booking of the calendar owner's
    organisation (its CalDAV copy, notices.py; any status, a cancelled one's copy may not be
    removed yet) or a meeting the owner hosts (an invite they accepted). Those are busy from
    meetbridge's own tables already, at their current time: the copy, perhaps at an old time
    until the calendar is read again, would keep the old slot busy and count the new one twice.
    Another installation's UIDs look the same but name no row here: those stay busy."""
    bookings: dict[str, str] = {}
    hosted: dict[str, str] = {}
    for b in busy:
        parsed = own_uid(b.uid)
        if parsed is not None:
            kind, row_id = parsed
            if kind == "booking":
                bookings[row_id] = b.uid
            elif kind == "meeting":
                hosted[row_id] = b.uid
            # A request's feed entry (the member subscribed to their own feed) stays busy:
            # requests are not among the busy times booking reads from meetbridge's tables.
    found: set[str] = set()
    if bookings:
        with db.read() as s:
            ids = s.scalars(
                select(Booking.id).where(
                    Booking.id.in_(list(bookings)), Booking.org_id == cal.org_id
                )
            ).all()
        found.update(bookings[i] for i in ids)
    if hosted:
        found.update(hosted[i] for i in meetings.hosted_by(cal.user_id, list(hosted)))
    return found


def _member(s: Session, actor: User, user_id: str) -> User:
    """The member `actor` may manage the availability of: themselves, or anyone for an admin."""
    user = s.get(User, user_id)
    if user is None or user.org_id != actor.org_id:
        raise NotFound("no such member")
    if user.id != actor.id and not actor.is_admin:
        raise PermissionDenied("only admins change another member's availability")
    return user


def _many(problems: list[tuple[str, str]]) -> ValidationFailed:
    from meetbridge.core.errors import FieldError

    return ValidationFailed.many([FieldError(f, r) for f, r in problems])

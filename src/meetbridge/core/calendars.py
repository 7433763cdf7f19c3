"""The port to members' own calendars: when a member is busy, read from an iCalendar feed or a
CalDAV calendar, and bookings written into that CalDAV calendar.

Types only, no I/O: the modules that need calendars (booking) depend on this protocol, the
implementation lives in `meetbridge.integrations.calendars`, and the composition root hands one
to the other."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True)
class CalDavAccount:
    url: str  # the calendar collection's URL (e.g. http://host:port/user/calendar/)
    username: str
    password: str = field(repr=False)  # kept out of logs and tracebacks


@dataclass(frozen=True)
class Busy:
    start: dt.datetime  # aware, UTC
    end: dt.datetime
    # Set only for an event whose UID looks like one meetbridge makes (notify/ics.py): it may
    # be a copy of a booking or meeting already counted from meetbridge's own tables, which
    # the reader drops (booking/availability.py). Other events keep "", so those at the same
    # time are one busy time.
    uid: str = ""


@dataclass(frozen=True)
class BusyRead:
    busy: tuple[Busy, ...]  # empty when not_modified
    etag: str | None
    # The feed answered 304 to If-None-Match: the caller keeps the busy times it had.
    not_modified: bool = False


class CalendarError(Exception):
    """A calendar could not be read or written. `message` is shown to the member on their
    card as it is, so it is plain words ('the feed answered 404', 'CalDAV refused the
    password', 'not an iCalendar file', 'the address is on a private network')."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Calendars(Protocol):
    """`timezone` is the member's IANA zone: all-day (DATE) and floating times are read in it.
    `start`/`end` are aware; busy times come back in UTC, clipped to [start, end), sorted."""

    def read_feed(
        self, url: str, etag: str | None, start: dt.datetime, end: dt.datetime, timezone: str
    ) -> BusyRead: ...

    def read_caldav(
        self, account: CalDavAccount, start: dt.datetime, end: dt.datetime, timezone: str
    ) -> BusyRead: ...

    def put_event(self, account: CalDavAccount, uid: str, ics: str) -> None:
        """Create or replace the event with this UID (idempotent)."""
        ...

    def delete_event(self, account: CalDavAccount, uid: str) -> None:
        """Remove the event with this UID; no error if it is already gone."""
        ...

    def check_caldav(self, account: CalDavAccount) -> None:
        """Raise CalendarError if the calendar can't be reached or refuses the credentials
        (used when the member saves it)."""
        ...

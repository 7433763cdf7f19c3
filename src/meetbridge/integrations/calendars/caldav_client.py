"""A member's CalDAV calendar, through the `caldav` library: busy times read with the same
rules as feeds (`busy.busy_between`), bookings written and removed by UID.

The calendar's URL is typed in by a member too, so its host passes the same private-network
guard as a feed's, and redirects are refused (the library would follow them unchecked)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar
from urllib.parse import urlsplit

import icalendar
from caldav.davclient import DAVClient
from caldav.elements import dav
from caldav.lib import error as dav_error

from meetbridge.core.calendars import BusyRead, CalDavAccount, CalendarError
from meetbridge.integrations.calendars.addresses import resolve
from meetbridge.integrations.calendars.busy import busy_between, parse_calendar

T = TypeVar("T")
_MARGIN = dt.timedelta(days=2)  # floating and all-day events: see busy._MARGIN
_DEFAULT_PORTS = {"http": 80, "https": 443}
_CALDAV_CALENDAR = "{urn:ietf:params:xml:ns:caldav}calendar"


class CalDav:
    def __init__(
        self, *, timeout: float = 15.0, allow_private: bool = False, tls_verify: str | bool = True
    ) -> None:
        self.timeout = timeout
        self.allow_private = allow_private
        self.tls_verify = tls_verify  # True, or a CA bundle's path

    # The five operations -------------------------------------------------------------------

    def read(
        self, account: CalDavAccount, start: dt.datetime, end: dt.datetime, timezone: str
    ) -> BusyRead:
        with self._calendar(account) as calendar:
            objects = self._call(
                lambda: calendar.search(
                    start=start - _MARGIN, end=end + _MARGIN, event=True, expand=False
                )
            )
            cals = [self._parsed(obj) for obj in objects]
        # The server's time-range match is only a first cut: the expansion and the rules
        # (transparent, cancelled, all-day in the member's zone) are ours, as for feeds.
        return BusyRead(
            busy_between([c for c in cals if c is not None], start, end, timezone), None
        )

    def put(self, account: CalDavAccount, uid: str, ics: str) -> None:
        _check_uid(uid, ics)
        with self._calendar(account) as calendar:
            existing = self._find(calendar, uid)
            if existing is None:
                self._call(lambda: calendar.add_event(ics, increase_seqno=False))
            else:
                # Replaced where it is, whatever name another client gave the resource.
                existing.data = ics
                self._call(lambda: existing.save(increase_seqno=False, only_this_recurrence=False))

    def delete(self, account: CalDavAccount, uid: str) -> None:
        with self._calendar(account) as calendar:
            existing = self._find(calendar, uid)
            if existing is not None:
                try:
                    self._call(existing.delete)
                except CalendarError:
                    if self._find(calendar, uid) is not None:  # gone meanwhile is fine
                        raise

    def check(self, account: CalDavAccount) -> None:
        with self._calendar(account) as calendar:
            props = self._call(lambda: calendar.get_properties([dav.ResourceType()]))
            kinds = self._call(calendar.get_supported_components)
        # A principal or the server's root answers too, but reading it would find no events.
        if _CALDAV_CALENDAR not in (props.get("{DAV:}resourcetype") or []):
            raise CalendarError(
                "this address is not a calendar; enter the address of the calendar itself"
            )
        if "VEVENT" not in [str(k).upper() for k in kinds]:
            raise CalendarError("this CalDAV collection does not hold events")

    # The library, behind plain messages -------------------------------------------------------

    @contextmanager
    def _calendar(self, account: CalDavAccount) -> Iterator[Any]:
        parts = urlsplit(account.url.strip())
        if parts.scheme not in _DEFAULT_PORTS or not parts.hostname:
            raise CalendarError("the CalDAV address must start with https:// or http://")
        try:
            port = parts.port or _DEFAULT_PORTS[parts.scheme]
        except ValueError as exc:
            raise CalendarError("the CalDAV address is not a valid URL") from exc
        resolve(parts.hostname, port, allow_private=self.allow_private)
        client = DAVClient(
            url=account.url.strip(),
            username=account.username,
            password=account.password,
            timeout=self.timeout,  # type: ignore[arg-type]  # the HTTP library takes a float
            enable_rfc6764=False,  # the member gave the collection's URL: no DNS discovery
            rate_limit_handle=False,
            ssl_verify_cert=self.tls_verify,  # a 429 is an error now, not a sleep inside a request
        )
        try:
            client.session.max_redirects = 0
            yield client.calendar(url=account.url.strip())  # type: ignore[no-untyped-call]
        finally:
            client.close()

    def _call(self, fn: Callable[[], T]) -> T:
        try:
            return fn()
        except CalendarError:
            raise
        except dav_error.AuthorizationError as exc:
            if exc.status == 403:  # signed in, but this calendar is not theirs to use
                raise CalendarError("CalDAV refused access to this calendar") from exc
            raise CalendarError("CalDAV refused the password") from exc
        except dav_error.NotFoundError as exc:
            raise CalendarError("no CalDAV calendar at this address") from exc
        except dav_error.DAVError as exc:
            said = f"answered {exc.status}" if exc.status else f"refused it ({exc.reason[:80]})"
            raise CalendarError(f"the CalDAV server {said}") from exc
        except Exception as exc:  # the HTTP library's connection, TLS and redirect errors
            name = type(exc).__name__
            if "Redirect" in name:
                raise CalendarError(
                    "the CalDAV address redirects elsewhere; enter the calendar's own address"
                ) from exc
            if "Timeout" in name:
                raise CalendarError("the CalDAV server did not answer in time") from exc
            if "SSL" in name or "Certificate" in name:
                raise CalendarError("the CalDAV server's certificate is not valid") from exc
            raise CalendarError("the CalDAV server could not be reached") from exc

    def _find(self, calendar: Any, uid: str) -> Any | None:
        try:
            return self._call(lambda: calendar.event_by_uid(uid))
        except CalendarError as exc:
            if isinstance(exc.__cause__, dav_error.NotFoundError):
                return None
            raise

    @staticmethod
    def _parsed(obj: Any) -> icalendar.Calendar | None:
        try:
            return parse_calendar(obj.data)
        except CalendarError:
            return None  # one unreadable object in the collection does not hide the rest


def _check_uid(uid: str, ics: str) -> None:
    """The event written must be the one named: a mismatch would leave the old one behind."""
    cal = parse_calendar(ics)
    uids = {str(c.get("UID", "")) for c in cal.walk("VEVENT")}
    if uids != {uid}:
        raise ValueError(f"the iCalendar text holds events {sorted(uids)}, not only {uid!r}")

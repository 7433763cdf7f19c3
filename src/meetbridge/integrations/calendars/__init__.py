"""Members' own calendars: iCalendar feeds read over HTTP and CalDAV calendars read and
written. `CalendarClient` implements `meetbridge.core.calendars.Calendars`; the composition
root builds one and hands it to the modules that need busy times."""

from __future__ import annotations

import datetime as dt

from meetbridge.core.calendars import BusyRead, CalDavAccount, Calendars
from meetbridge.integrations.calendars.caldav_client import CalDav
from meetbridge.integrations.calendars.feeds import FeedReader

__all__ = ["CalendarClient"]


class CalendarClient(Calendars):
    """`allow_private=True` lets feeds and CalDAV servers live on loopback or a private
    network: for tests and for a deployment whose calendar server is on its own network. Off,
    such addresses are refused, since members type them in and our server fetches them.
    `tls_verify` is what HTTPS certificates are checked against: True for the system's CAs, or
    a CA bundle's path for a deployment with its own CA (False turns the check off: tests
    only)."""

    def __init__(
        self,
        *,
        connect_timeout: float = 5.0,
        read_timeout: float = 10.0,
        feed_total_timeout: float = 30.0,
        feed_max_bytes: int = 5 * 1024 * 1024,
        max_redirects: int = 3,
        caldav_timeout: float = 15.0,
        allow_private: bool = False,
        tls_verify: str | bool = True,
    ) -> None:
        self.feeds = FeedReader(
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            total_timeout=feed_total_timeout,
            max_bytes=feed_max_bytes,
            max_redirects=max_redirects,
            allow_private=allow_private,
            tls_verify=tls_verify,
        )
        self.caldav = CalDav(
            timeout=caldav_timeout, allow_private=allow_private, tls_verify=tls_verify
        )

    def read_feed(
        self, url: str, etag: str | None, start: dt.datetime, end: dt.datetime, timezone: str
    ) -> BusyRead:
        return self.feeds.read(url, etag, start, end, timezone)

    def read_caldav(
        self, account: CalDavAccount, start: dt.datetime, end: dt.datetime, timezone: str
    ) -> BusyRead:
        return self.caldav.read(account, start, end, timezone)

    def put_event(self, account: CalDavAccount, uid: str, ics: str) -> None:
        self.caldav.put(account, uid, ics)

    def delete_event(self, account: CalDavAccount, uid: str) -> None:
        self.caldav.delete(account, uid)

    def check_caldav(self, account: CalDavAccount) -> None:
        self.caldav.check(account)

"""A person's iCalendar feed: a secret URL (`/feeds/<token>.ics`) their calendar subscribes
to, showing every service request they take part in and every meeting they host or are
invited to, with the Zoom join link.

The token is shown once and kept only as its SHA-256 digest (as API tokens are): a feed is
found by one indexed lookup of the digest, and a revoked or unknown token gets the same 404
from that same lookup. A person has at most one live feed; making a new one replaces (revokes)
the old.

The feed is bounded: events starting from `PAST` before now to `AHEAD` after (90 days back,
a year ahead), so a long-time user's calendar does not grow without end. Each event keeps its
UID for life (a meeting's is the one its e-mailed invites carry), its SEQUENCE is the row's,
and cancelled ones stay in the feed as STATUS:CANCELLED so a subscribed calendar shows them
struck through instead of silently dropping them. The ETag is a digest of counts the
database makes over the rows the feed is written from (how many, their last change, their
sequences, …: `CalendarFeeds._etag`), so it changes whenever what the calendar would see
changes, and a 304 reads no row; DTSTAMP is the row's last change, not the time of the
read, or every read would be a new body.

The text is written here rather than through the `icalendar` package: a user with thousands
of events is read every 15 minutes by every device they own, and the package's component
model costs several times more than these few lines (the tests parse the output with two
independent parsers)."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, NamedTuple

from sqlalchemy import Row, select, update
from sqlalchemy.orm import Session

from meetbridge import __version__
from meetbridge.core import audit
from meetbridge.core.audit import Origin
from meetbridge.core.clock import Clock, SystemClock
from meetbridge.core.db import Database
from meetbridge.core.errors import NotFound
from meetbridge.core.models import User
from meetbridge.core.security import digest, new_token
from meetbridge.meetings.service import Meetings
from meetbridge.meetings.source import SourceKind
from meetbridge.meetings.status import Status
from meetbridge.notify.ics import meeting_uid, request_uid
from meetbridge.requests import reads
from meetbridge.requests.tables import CalendarFeed, RequestKind, RequestStatus

FEED_TOKEN_PREFIX = "mbf_"  # noqa: S105  (a prefix, not a secret)
PAST = dt.timedelta(days=90)
AHEAD = dt.timedelta(days=366)
# How often a calendar should read again (RFC 7986 REFRESH-INTERVAL, and Outlook's and
# Apple's X-PUBLISHED-TTL): a moved request reaches the person's phone within this.
REFRESH = "PT15M"
# The last-read stamp is written at most this often: a feed read is a GET from many devices.
TOUCH_INTERVAL = dt.timedelta(minutes=5)
# In the ETag with the entries: a release that writes the same entries differently changes it.
_FORMAT = f"meetbridge-feed-1/{__version__}"
_GONE = frozenset(st.value for st in Status if st.gone)
_STATUS_OF_REQUEST = {
    RequestStatus.REQUESTED.value: "TENTATIVE",  # asked for, not yet confirmed
    RequestStatus.CONFIRMED.value: "CONFIRMED",
    RequestStatus.COMPLETED.value: "CONFIRMED",
    RequestStatus.CANCELED.value: "CANCELLED",
}


@dataclass(frozen=True)
class CreatedFeed:
    feed: CalendarFeed
    token: str  # shown once, never stored


@dataclass(frozen=True)
class FeedOwner:
    feed_id: str
    org_id: str
    user_id: str
    email: str
    name: str
    last_read_at: dt.datetime | None


@dataclass(frozen=True)
class FeedBody:
    body: bytes  # empty when not_modified
    etag: str  # quoted, as it goes in the ETag header
    events: int  # 0 when not_modified (nothing was read)
    owner: FeedOwner
    not_modified: bool = False


class Entry(NamedTuple):
    """Everything one VEVENT's text is made of (and nothing else: the ETag is their digest)."""

    uid: str
    sequence: int
    stamp: dt.datetime
    start: dt.datetime
    end: dt.datetime
    summary: str
    location: str
    url: str | None
    description: str
    status: str


# Core, not the ORM: the one read every feed fetch makes before anything else, by digest.
_FEED_OWNER = (
    select(
        CalendarFeed.id,
        CalendarFeed.org_id,
        CalendarFeed.user_id,
        CalendarFeed.last_read_at,
        User.email,
        User.name,
    )
    .join(User, User.id == CalendarFeed.user_id)
    .where(
        CalendarFeed.revoked_at.is_(None),
        User.status == "active",
        # The feed's organisation is the user's: a user moved or restored elsewhere does not
        # carry an old organisation's feed along.
        User.org_id == CalendarFeed.org_id,
    )
)


class CalendarFeeds:
    def __init__(self, db: Database, meetings: Meetings, clock: Clock | None = None) -> None:
        self.db = db
        self.meetings = meetings
        self.clock = clock or SystemClock()

    # The person's own feed: the page and the API.

    def current(self, actor: User) -> CalendarFeed | None:
        """The person's live feed, or None."""
        with self.db.read() as s:
            return s.scalar(
                select(CalendarFeed)
                .where(CalendarFeed.user_id == actor.id, CalendarFeed.revoked_at.is_(None))
                .order_by(CalendarFeed.created_at.desc())
            )

    def create(self, actor: User, origin: Origin) -> CreatedFeed:
        """A new secret feed; the live one, if any, is revoked in the same transaction (a
        person replaces a URL they think has leaked)."""
        token = new_token(FEED_TOKEN_PREFIX)
        now = self.clock.now()
        with self.db.write() as s:
            # The user's row is the lock: two creates at once leave one live feed, not two.
            s.execute(select(User.id).where(User.id == actor.id).with_for_update())
            replaced = self._revoke_live(s, actor, now, origin)
            feed = CalendarFeed(
                org_id=actor.org_id, user_id=actor.id, token_digest=digest(token), created_at=now
            )
            s.add(feed)
            s.flush()
            details = {"replaced": replaced} if replaced else {}
            audit.write(
                s,
                audit.by(actor, "calendar_feed.created", origin, "calendar_feed", feed.id, details),
            )
        return CreatedFeed(feed, token)

    def revoke(self, actor: User, origin: Origin) -> None:
        """Revokes the person's live feed: its URL answers 404 from now on."""
        with self.db.write() as s:
            s.execute(select(User.id).where(User.id == actor.id).with_for_update())
            if not self._revoke_live(s, actor, self.clock.now(), origin):
                raise NotFound("you have no calendar feed")

    def _revoke_live(self, s: Session, actor: User, now: dt.datetime, origin: Origin) -> list[str]:
        live = s.scalars(
            select(CalendarFeed).where(
                CalendarFeed.user_id == actor.id, CalendarFeed.revoked_at.is_(None)
            )
        ).all()
        for feed in live:
            feed.revoked_at = now
            audit.write(
                s, audit.by(actor, "calendar_feed.revoked", origin, "calendar_feed", feed.id)
            )
        return [f.id for f in live]

    # The feed itself: read by calendars, without sign-in.

    def owner(self, token: str) -> FeedOwner | None:
        """Whose live feed `token` opens, or None (unknown, revoked, or its user deactivated):
        one indexed lookup of the token's digest, the same for every kind of refusal."""
        if not token.startswith(FEED_TOKEN_PREFIX) or len(token) > 100:
            return None
        with self.db.connect() as conn:
            row = conn.execute(
                _FEED_OWNER.where(CalendarFeed.token_digest == digest(token))
            ).first()
        if row is None:
            return None
        return FeedOwner(row.id, row.org_id, row.user_id, row.email, row.name, row.last_read_at)

    def read(self, token: str, if_none_match: str | None = None) -> FeedBody | None:
        """The feed's text and ETag, or None for a token that opens no feed. When
        `if_none_match` names the ETag, no row is read and no text written (`not_modified`)."""
        who = self.owner(token)
        if who is None:
            return None
        now = self.clock.now()
        start, end = now - PAST, now + AHEAD
        # Before the rows: a change between the two gives a body newer than its ETag (the
        # next read sends it again), never an old body under a new ETag.
        etag = self._etag(who, start, end)
        if matches(if_none_match, etag):
            return FeedBody(b"", etag, 0, who, not_modified=True)
        requests = reads.of_person(self.db, who.org_id, who.user_id, who.email, start, end)
        entries: list[Entry] = []
        shown: set[str] = set()
        for r in requests:
            m = None
            if r.held_id is not None:
                shown.add(r.held_id)
                m = Held(r.held_status, r.held_join_url)
            entries.append(_request_entry(r, m))
        request_ids = {r.id for r in requests}
        for row in self.meetings.of_person(who.org_id, who.user_id, who.email, start, end):
            # A request's meeting is shown once, as the request (with its link).
            if row.id in shown or (
                row.source_kind == SourceKind.REQUEST and row.source_id in request_ids
            ):
                continue
            entries.append(_meeting_entry(row))
        body = _calendar(who.name, map(_event, entries)).encode()
        return FeedBody(body, etag, len(entries), who)

    def _etag(self, who: FeedOwner, start: dt.datetime, end: dt.datetime) -> str:
        """A digest of what the feed is written from, counted by the database without reading
        the rows (a calendar asks every 15 minutes and mostly nothing changed): the release,
        the feed (a new token is a new feed), the person's name, and the aggregates of their
        requests, the meetings those hold (`reads.version_of_person`) and the meetings they
        host or are invited to (`Meetings.version_of_person`). Each entry's text comes from a
        row whose every change stamps `updated_at`, raises `sequence`, or moves a count."""
        facts = (
            _FORMAT,
            who.feed_id,
            who.name,
            reads.version_of_person(self.db, who.org_id, who.user_id, who.email, start, end),
            self.meetings.version_of_person(who.org_id, who.user_id, who.email, start, end),
        )
        return '"' + hashlib.sha256(repr(facts).encode()).hexdigest()[:32] + '"'

    def touch(self, owner: FeedOwner) -> None:
        """Stamps the feed's last read (shown on the person's page), at most every
        TOUCH_INTERVAL."""
        now = self.clock.now()
        if owner.last_read_at is not None and now - owner.last_read_at < TOUCH_INTERVAL:
            return
        with self.db.single() as conn:
            conn.execute(
                update(CalendarFeed)
                .where(CalendarFeed.id == owner.feed_id)
                .values(last_read_at=now)
            )


def matches(if_none_match: str | None, etag: str) -> bool:
    """Whether an If-None-Match header names `etag` (RFC 9110 §13.1.2: a list, weak
    comparison, or `*`)."""
    if not if_none_match:
        return False
    for tag in if_none_match.split(","):
        tag = tag.strip()
        if tag == "*" or tag.removeprefix("W/") == etag:
            return True
    return False


# The text (RFC 5545).


class Held(NamedTuple):
    """What a request's entry shows of the meeting it holds."""

    status: str
    join_url: str | None


def _request_entry(r: Row[Any], m: Held | None) -> Entry:
    link = _live_link(m) if r.kind == RequestKind.ZOOM else None
    lines = [f"Service: {r.service}", f"Client: {r.client}"]
    if r.requester:
        lines.append(f"Requested by: {r.requester}")
    if link:
        where = link
        lines.insert(0, f"Join Zoom meeting: {link}")
    elif r.kind == RequestKind.ZOOM and r.status != RequestStatus.CANCELED:
        where = ""
        lines.insert(0, "Zoom meeting: the join link shows here once Zoom has made it.")
    else:
        where = r.location
        if r.location:
            lines.insert(0, f"Location: {r.location}")
    if r.notes:
        lines += ["", r.notes]
    return Entry(
        uid=request_uid(r.id),
        sequence=r.sequence,
        stamp=r.updated_at,
        start=r.start_at,
        end=r.end_at,
        summary=f"{r.service} · {r.client}",
        location=where,
        url=link,
        description="\n".join(lines),
        status=_STATUS_OF_REQUEST.get(r.status, "CONFIRMED"),
    )


def _meeting_entry(m: Row[Any]) -> Entry:
    gone = m.status in _GONE
    link = _live_link(m)
    if link:
        description = f"Join Zoom meeting: {link}"
    elif gone:
        description = "This meeting is cancelled."
    else:
        description = "Zoom meeting: the join link shows here once Zoom has made it."
    if m.agenda:
        description += "\n\n" + m.agenda
    if m.status == Status.CREATING or (m.status == Status.FAILED and m.zoom_meeting_id is None):
        status = "TENTATIVE"  # not (yet) at Zoom
    else:
        status = "CANCELLED" if gone else "CONFIRMED"
    return Entry(
        # The UID its e-mailed invites carry (meetings/invites.py): one event, not two.
        uid=meeting_uid(m.id),
        # As its CANCEL invite does: a cancellation outranks the last REQUEST.
        sequence=m.sequence + 1 if gone else m.sequence,
        stamp=m.updated_at,
        start=m.start_at,
        end=m.start_at + dt.timedelta(minutes=m.duration_min),
        summary=m.title,
        location=link or "",
        url=link,
        description=description,
        status=status,
    )


def _live_link(m: Held | Row[Any] | None) -> str | None:
    """The meeting's join link while it can still be joined; a dead link is never shown."""
    if m is None or m.status in _GONE or not m.join_url:
        return None
    return m.join_url


def _calendar(name: str, events: Iterable[str]) -> str:
    head = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//meetbridge//Calendar feed//EN",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        _prop("NAME", f"meetbridge · {name}"),
        _prop("X-WR-CALNAME", f"meetbridge · {name}"),
        _prop(
            "X-WR-CALDESC",
            "Your service requests and meetings, from 90 days ago to a year ahead.",
        ),
        f"REFRESH-INTERVAL;VALUE=DURATION:{REFRESH}",
        f"X-PUBLISHED-TTL:{REFRESH}",
    ]
    return "\r\n".join(head) + "\r\n" + "".join(events) + "END:VCALENDAR\r\n"


def _event(e: Entry) -> str:
    stamp = _utc(e.stamp)
    lines = [
        "BEGIN:VEVENT",
        f"UID:{e.uid}",
        f"DTSTAMP:{stamp}",
        f"LAST-MODIFIED:{stamp}",
        f"SEQUENCE:{e.sequence}",
        f"DTSTART:{_utc(e.start)}",
        f"DTEND:{_utc(e.end)}",
        _prop("SUMMARY", e.summary),
        f"STATUS:{e.status}",
        # A cancelled event no longer blocks the person's time.
        "TRANSP:TRANSPARENT" if e.status == "CANCELLED" else "TRANSP:OPAQUE",
    ]
    if e.location:
        lines.append(_prop("LOCATION", e.location))
    if e.url:
        lines.append(_fold("URL:" + _uri(e.url)))
    lines.append(_prop("DESCRIPTION", e.description))
    lines.append("END:VEVENT")
    return "\r\n".join(lines) + "\r\n"


def _utc(at: dt.datetime) -> str:
    if at.tzinfo is None:  # the database's UTC type hands back aware values; be sure
        at = at.replace(tzinfo=dt.UTC)
    u = at if at.tzinfo is dt.UTC else at.astimezone(dt.UTC)
    # %-formatting: a third of strftime's cost, three times per event.
    parts = (u.year, u.month, u.day, u.hour, u.minute, u.second)
    return "%04d%02d%02dT%02d%02d%02dZ" % parts  # noqa: UP031


def _prop(name: str, text: str) -> str:
    return _fold(f"{name}:{_escape(text)}")


def _escape(text: str) -> str:
    """TEXT value escaping (RFC 5545 §3.3.11); other control characters are dropped, as a
    line break inside a value would end the property."""
    if not _SPECIAL.search(text):  # most summaries and locations: nothing to do
        return text
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if _CONTROL.search(text):
        text = _CONTROL.sub("", text)
    return text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def _uri(url: str) -> str:
    # A URI is not escaped as TEXT (a comma in it stays a comma); it only must not break
    # the line.
    return _NOT_IN_URI.sub("", url)


_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f]")  # all but tab and line feed
_SPECIAL = re.compile("[\\\\;,\n\r\x00-\x08\x0b-\x1f\x7f]")  # what _escape changes
_NOT_IN_URI = re.compile("[\x00-\x20\x7f]")


def _fold(line: str) -> str:
    """Lines of at most 75 octets (RFC 5545 §3.1), never splitting a UTF-8 character."""
    if len(line) <= 75 and line.isascii():
        return line
    raw = line.encode()
    if len(raw) <= 75:
        return line
    parts, start, limit = [], 0, 75
    while start < len(raw):
        end = min(start + limit, len(raw))
        while end < len(raw) and (raw[end] & 0xC0) == 0x80:  # inside a character
            end -= 1
        parts.append(raw[start:end].decode())
        start, limit = end, 74  # continuation lines begin with a space
    return "\r\n ".join(parts)


def feed_urls(base_url: str, token: str) -> tuple[str, str]:
    """The feed's https (or, on a plain-http install, http) address and its webcal://
    twin: the scheme calendar apps open as a subscription when the link is clicked."""
    https = f"{base_url.rstrip('/')}/feeds/{token}.ics"
    return https, "webcal://" + https.split("://", 1)[1]

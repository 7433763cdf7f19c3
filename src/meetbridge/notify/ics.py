"""Calendar invites (RFC 5545 / iTIP): METHOD:REQUEST with a stable UID and a SEQUENCE raised on
every change, the event's time zone as a VTIMEZONE, METHOD:CANCEL when the meeting is
cancelled. Calendar clients update one event in place because the UID never changes."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass

from icalendar import Calendar, Event, Timezone, vCalAddress, vText

# The UIDs of the events meetbridge puts in calendars: a booking's copy in its member's CalDAV
# calendar, a meeting's invites (and its entry in the calendar feed), a service request's entry
# in the feed. Made and read here only, so a calendar read can tell its own events from the
# member's.
_DOMAIN = "@meetbridge"
_BOOKING = "booking-"
_REQUEST = "request-"


def booking_uid(booking_id: str) -> str:
    return f"{_BOOKING}{booking_id}{_DOMAIN}"


def meeting_uid(meeting_id: str) -> str:
    return f"{meeting_id}{_DOMAIN}"


def request_uid(request_id: str) -> str:
    return f"{_REQUEST}{request_id}{_DOMAIN}"


def own_uid(uid: str) -> tuple[str, str] | None:
    """("booking", id), ("request", id) or ("meeting", id) for a UID shaped like one of ours,
    else None. Every meetbridge installation makes the same shapes: whether the id is a row
    of this database is for the caller to check."""
    if not uid.endswith(_DOMAIN) or len(uid) == len(_DOMAIN):
        return None
    local = uid[: -len(_DOMAIN)]
    for kind, prefix in (("booking", _BOOKING), ("request", _REQUEST)):
        if local.startswith(prefix):
            return (kind, local[len(prefix) :]) if len(local) > len(prefix) else None
    return ("meeting", local)


@dataclass(frozen=True)
class InviteEvent:
    uid: str
    sequence: int
    title: str
    description: str
    start: dt.datetime  # aware
    duration: dt.timedelta
    timezone: str
    location: str
    organizer_email: str
    organizer_name: str
    attendees: tuple[tuple[str, str], ...]  # (email, name)
    stamp: dt.datetime
    # Whether `location` is a link (then it is the event's URL too); a phone number or an
    # address is not.
    location_is_link: bool = True


def build_invite(ev: InviteEvent, method: str | None = "REQUEST") -> str:
    """The invite for `method` (iTIP), or, with None, the event as a calendar stores it (a
    CalDAV object must not carry METHOD, RFC 4791 §4.1)."""
    if method not in ("REQUEST", "CANCEL", None):
        raise ValueError("method must be REQUEST, CANCEL or None")
    tz = zoneinfo.ZoneInfo(ev.timezone)
    start = ev.start.astimezone(tz)
    cal = Calendar()
    cal.add("prodid", "-//meetbridge//Zoom meetings//EN")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    if method is not None:
        cal.add("method", method)
    if ev.timezone != "UTC":
        first = (start - dt.timedelta(days=366)).date()
        last = (start + ev.duration + dt.timedelta(days=366)).date()
        cal.add_component(Timezone.from_tzinfo(tz, ev.timezone, first_date=first, last_date=last))
    event = Event()
    event.add("uid", ev.uid)
    event.add("sequence", ev.sequence)
    event.add("dtstamp", ev.stamp.astimezone(dt.UTC))
    event.add("dtstart", start)
    event.add("dtend", start + ev.duration)
    event.add("summary", ev.title)
    event.add("description", ev.description)
    event.add("location", ev.location)
    if ev.location_is_link:
        event.add("url", ev.location)
    event.add("status", "CANCELLED" if method == "CANCEL" else "CONFIRMED")
    organizer = vCalAddress(f"mailto:{ev.organizer_email}")
    organizer.params["cn"] = vText(ev.organizer_name)
    event.add("organizer", organizer)
    for email, name in ev.attendees:
        attendee = vCalAddress(f"mailto:{email}")
        attendee.params["cn"] = vText(name or email)
        attendee.params["role"] = vText("REQ-PARTICIPANT")
        attendee.params["rsvp"] = vText("TRUE")
        event.add("attendee", attendee, encode=False)
    cal.add_component(event)
    return str(cal.to_ical().decode())

"""What a caller gives to schedule or change a meeting, and the rules it must meet. Nothing is
written and nothing reaches the platform when one is broken."""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from dataclasses import dataclass, field

from meetbridge.accounts.inputs import normalize_email
from meetbridge.core.errors import ValidationFailed
from meetbridge.meetings.source import OWN, Source
from meetbridge.scheduling.timezones import BadWallTime, BadZone, wall_to_utc, zone

PASSCODE = re.compile(r"^[A-Za-z0-9@\-_*]{1,10}$")
MAX_DURATION = 24 * 60
MAX_INVITEES = 300


@dataclass
class MeetingInput:
    title: str
    start: dt.datetime  # wall-clock time in `timezone` (naive), or aware
    timezone: str
    duration: int
    agenda: str = ""
    passcode: str | None = None
    waiting_room: bool = True
    join_before_host: bool = False
    project_id: str | None = None
    invitees: list[str] = field(default_factory=list)
    source: Source = OWN
    # A user of the organisation's Zoom account to host it (id or e-mail; meetings/hosts.py);
    # None: the actor's own Zoom.
    host: str | None = None


@dataclass
class MeetingChanges:
    title: str | None = None
    start: dt.datetime | None = None
    timezone: str | None = None
    duration: int | None = None
    agenda: str | None = None


def title(value: str) -> str:
    value = " ".join(value.split())
    if not value:
        raise ValidationFailed("title", "must not be empty")
    if len(value) > 200:
        raise ValidationFailed("title", "must be at most 200 characters (Zoom's limit)")
    return value


def tz(value: str) -> zoneinfo.ZoneInfo:
    try:
        return zone(value)
    except BadZone:
        raise ValidationFailed("timezone", f"unknown time zone {value!r}") from None


def start(value: dt.datetime, zone_: zoneinfo.ZoneInfo, now: dt.datetime) -> dt.datetime:
    """The UTC start of a wall-clock time in `zone_` (or of an aware time). A wall-clock time
    that does not exist (spring forward) or exists twice (fall back) is refused rather than
    guessed: either guess puts the meeting an hour off for someone."""
    try:
        utc = wall_to_utc(value, zone_)
    except BadWallTime as exc:
        why = "does not exist" if exc.kind == "missing" else "happens twice"
        raise ValidationFailed("start", f"{why} in this time zone (clocks change)") from None
    if utc <= now:
        raise ValidationFailed("start", "is in the past")
    if utc > now + dt.timedelta(days=366 * 5):
        raise ValidationFailed("start", "is more than five years ahead")
    return utc


def duration(value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValidationFailed("duration", "must be a whole number of minutes, at least 1")
    if value > MAX_DURATION:
        raise ValidationFailed("duration", f"must be at most {MAX_DURATION} minutes")
    return value


def agenda(value: str) -> str:
    if len(value) > 2000:
        raise ValidationFailed("agenda", "must be at most 2000 characters (Zoom's limit)")
    return value


def passcode(value: str | None) -> str | None:
    value = value or None
    if value is not None and not PASSCODE.match(value):
        raise ValidationFailed("passcode", "use at most 10 letters, digits or @ - _ *")
    return value


def invitees(values: list[str]) -> list[str]:
    found = list(dict.fromkeys(normalize_email(e, "invitees") for e in values if e.strip()))
    if len(found) > MAX_INVITEES:
        raise ValidationFailed("invitees", f"at most {MAX_INVITEES} people per meeting")
    return found

"""What a caller gives to schedule or change a meeting, and the rules it must meet. Nothing is
written and nothing reaches the platform when one is broken.

The limits below are the one source of truth: the API's schema (api/meetings.py) is built from
them, so a generated client refuses what the server refuses (tests/api/test_limits.py)."""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from dataclasses import dataclass, field

from meetbridge.accounts.inputs import normalize_email
from meetbridge.core.errors import Problems, ValidationFailed
from meetbridge.meetings.source import OWN, Source
from meetbridge.scheduling.timezones import BadWallTime, BadZone, wall_to_utc, zone

# Zoom's limits (POST /users/{userId}/meetings): topic 200, agenda 2000, passcode at most 10
# of letters, digits and @ - _ *; a duration in whole minutes.
TITLE_MAX = 200
# A title must hold something besides spaces (the API schema carries the same pattern).
TITLE_PATTERN = r"[^\s\x1c-\x1f]"
AGENDA_MAX = 2000
PASSCODE_MAX = 10
# An empty passcode means "none" (what an empty form field sends).
PASSCODE_PATTERN = r"^[A-Za-z0-9@\-_*]{0,10}$"
PASSCODE = re.compile(PASSCODE_PATTERN)
MIN_DURATION = 1
MAX_DURATION = 24 * 60
MAX_INVITEES = 300
EMAIL_MAX = 254
TIMEZONE_MAX = 64
ID_MAX = 36


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
    registration: bool = False
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


@dataclass
class Checked:
    """A MeetingInput that met every rule: the UTC start, the cleaned values."""

    title: str
    start: dt.datetime
    duration: int
    agenda: str
    passcode: str | None
    invitees: list[str]


def checked(data: MeetingInput, now: dt.datetime) -> Checked:
    """Every rule checked, and every broken one reported at once (ValidationFailed.many)."""
    found = Problems()
    title_ = found.check(title, data.title)
    zone_ = found.check(tz, data.timezone)
    start_ = found.check(start, data.start, zone_, now) if zone_ is not None else None
    duration_ = found.check(duration, data.duration)
    agenda_ = found.check(agenda, data.agenda)
    passcode_ = found.check(passcode, data.passcode)
    invitees_ = found.check(invitees, data.invitees)
    found.raise_any()
    assert start_ is not None
    return Checked(title_, start_, duration_, agenda_, passcode_, invitees_)


@dataclass
class CheckedChanges:
    """MeetingChanges that met every rule (None: unchanged); `timezone` is the one in force."""

    title: str | None
    start: dt.datetime | None
    timezone: str
    duration: int | None
    agenda: str | None


def checked_changes(changes: MeetingChanges, timezone: str, now: dt.datetime) -> CheckedChanges:
    """The changes to a meeting now in `timezone`, every broken one reported at once."""
    found = Problems()
    name = changes.timezone or timezone
    zone_ = found.check(tz, name)
    result = CheckedChanges(
        title=None if changes.title is None else found.check(title, changes.title),
        start=None
        if changes.start is None or zone_ is None
        else found.check(start, changes.start, zone_, now),
        timezone=name,
        duration=None if changes.duration is None else found.check(duration, changes.duration),
        agenda=None if changes.agenda is None else found.check(agenda, changes.agenda),
    )
    found.raise_any()
    return result


def title(value: str) -> str:
    if len(value) > TITLE_MAX:
        raise ValidationFailed("title", f"must be at most {TITLE_MAX} characters (Zoom's limit)")
    if not re.search(TITLE_PATTERN, value):
        raise ValidationFailed("title", "must not be empty")
    return " ".join(value.split())


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
        if exc.kind == "out_of_range":
            raise ValidationFailed("start", "is too far from now") from None
        why = "does not exist" if exc.kind == "missing" else "happens twice"
        raise ValidationFailed("start", f"{why} in this time zone (clocks change)") from None
    if utc <= now:
        raise ValidationFailed("start", "is in the past")
    if utc > now + dt.timedelta(days=366 * 5):
        raise ValidationFailed("start", "is more than five years ahead")
    return utc


def duration(value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < MIN_DURATION:
        raise ValidationFailed(
            "duration", f"must be a whole number of minutes, at least {MIN_DURATION}"
        )
    if value > MAX_DURATION:
        raise ValidationFailed("duration", f"must be at most {MAX_DURATION} minutes")
    return value


def agenda(value: str) -> str:
    if len(value) > AGENDA_MAX:
        raise ValidationFailed("agenda", f"must be at most {AGENDA_MAX} characters (Zoom's limit)")
    return value


def passcode(value: str | None) -> str | None:
    value = value or None
    if value is not None and not PASSCODE.match(value):
        raise ValidationFailed("passcode", f"use at most {PASSCODE_MAX} letters, digits or @ - _ *")
    return value


def invitees(values: list[str]) -> list[str]:
    if len(values) > MAX_INVITEES:
        raise ValidationFailed("invitees", f"at most {MAX_INVITEES} people per meeting")
    found = Problems()
    emails = [found.check(normalize_email, e, "invitees") for e in values if e.strip()]
    found.raise_any()
    return list(dict.fromkeys(emails))

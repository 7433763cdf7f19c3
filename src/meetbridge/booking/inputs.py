"""What an admin gives for a meeting type, a member for their availability, and a booker on the
public page, with the rules each must meet. Every broken field is reported at once
(core.errors.Problems); nothing is written when one is broken.

The limits below are the one source of truth: the API's schemas (api/booking.py) are built
from them."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from email_validator import EmailNotValidError, validate_email

from meetbridge.booking.tables import Assignment, Fallback
from meetbridge.core.errors import Problems, ValidationFailed
from meetbridge.scheduling.availability import Hours, validate_hours
from meetbridge.scheduling.timezones import BadZone, zone

NAME_MAX = 200
SLUG_MAX = 63
SLUG_PATTERN = r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$"
DESCRIPTION_MAX = 2000
# Zoom's meetings last whole minutes, at most a day (meetings/inputs.py).
DURATION_MIN, DURATION_MAX = 5, 1440
INTERVAL_MIN, INTERVAL_MAX = 5, 1440
BUFFER_MAX = 720
NOTICE_MAX = 60 * 24 * 60  # 60 days
HORIZON_MIN, HORIZON_MAX = 1, 365
CAP_MAX = 100
REMINDERS_MAX = 3
REMINDER_MIN, REMINDER_MAX = 5, 7 * 24 * 60
CUTOFF_MAX = 7 * 24 * 60
FALLBACK_VALUE_MAX = 500
MEMBERS_MAX = 100
WEIGHT_MAX = 100
PRIORITY_MAX = 2
NOTES_MAX = 2000
EMAIL_MAX = 254
OVERRIDES_MAX = 366
RANGES_PER_DAY_MAX = 12
# The years a booking's times may fall in.
INSTANT_MIN, INSTANT_MAX = 2000, 2999
# The public slot query's longest span.
SLOTS_SPAN_MAX_DAYS = 62


@dataclass
class TypeMember:
    user_id: str
    weight: int = 1
    priority: int = 1


@dataclass
class MeetingTypeInput:
    name: str
    slug: str
    duration: int
    assignment: str = Assignment.ONE
    members: list[TypeMember] = field(default_factory=list)
    description: str = ""
    buffer_before: int = 0
    buffer_after: int = 0
    min_notice: int = 0
    horizon_days: int = 60
    interval: int | None = None  # None: the duration
    daily_cap: int | None = None
    reminders: list[int] = field(default_factory=list)
    cutoff: int = 0
    fallback: str = Fallback.NONE
    fallback_value: str = ""
    show_members: bool = False


def checked_type(data: MeetingTypeInput) -> MeetingTypeInput:
    found = Problems()
    name = found.check(_text, "name", data.name, NAME_MAX, True)
    slug = found.check(_slug, data.slug)
    description = found.check(_text, "description", data.description, DESCRIPTION_MAX, False)
    duration = found.check(_minutes, "duration", data.duration, DURATION_MIN, DURATION_MAX)
    assignment = found.check(_choice, "assignment", data.assignment, Assignment)
    interval = data.interval if data.interval is not None else data.duration
    interval = found.check(_minutes, "interval", interval, INTERVAL_MIN, INTERVAL_MAX)
    before = found.check(_minutes, "buffer_before", data.buffer_before, 0, BUFFER_MAX)
    after = found.check(_minutes, "buffer_after", data.buffer_after, 0, BUFFER_MAX)
    notice = found.check(_minutes, "min_notice", data.min_notice, 0, NOTICE_MAX)
    horizon = found.check(_minutes, "horizon_days", data.horizon_days, HORIZON_MIN, HORIZON_MAX)
    cap = None
    if data.daily_cap is not None:
        cap = found.check(_minutes, "daily_cap", data.daily_cap, 1, CAP_MAX)
    reminders = found.check(_reminders, data.reminders)
    cutoff = found.check(_minutes, "cutoff", data.cutoff, 0, CUTOFF_MAX)
    fallback = found.check(_choice, "fallback", data.fallback, Fallback)
    value = found.check(_fallback_value, fallback, data.fallback_value)
    members = found.check(_members, data.members, assignment)
    found.raise_any()
    return MeetingTypeInput(
        name=name,
        slug=slug,
        duration=duration,
        assignment=assignment,
        members=members,
        description=description,
        buffer_before=before,
        buffer_after=after,
        min_notice=notice,
        horizon_days=horizon,
        interval=interval,
        daily_cap=cap,
        reminders=reminders,
        cutoff=cutoff,
        fallback=fallback,
        fallback_value=value,
        show_members=bool(data.show_members),
    )


def _text(name: str, value: str, limit: int, required: bool) -> str:
    if not isinstance(value, str):
        raise ValidationFailed(name, "must be text")
    value = value.strip()
    if required and not value:
        raise ValidationFailed(name, "must not be empty")
    if len(value) > limit:
        raise ValidationFailed(name, f"must be at most {limit} characters")
    return value


def _slug(value: str) -> str:
    if not isinstance(value, str) or not re.match(SLUG_PATTERN, value):
        raise ValidationFailed(
            "slug", "use 1 to 63 lower-case letters, digits and inner hyphens (e.g. intro-call)"
        )
    return value


def _minutes(name: str, value: int, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValidationFailed(name, f"must be a whole number from {low} to {high}")
    return value


def _choice(name: str, value: str, kind: Any) -> str:
    allowed = [k.value for k in kind]
    if value not in allowed:
        raise ValidationFailed(name, f"must be one of {', '.join(allowed)}")
    return str(value)


def _reminders(values: Sequence[int]) -> list[int]:
    if len(values) > REMINDERS_MAX:
        raise ValidationFailed("reminders", f"at most {REMINDERS_MAX} reminders")
    out = [_minutes("reminders", v, REMINDER_MIN, REMINDER_MAX) for v in values]
    return sorted(set(out), reverse=True)


def _fallback_value(fallback: str | None, value: str) -> str:
    value = (value or "").strip()
    if len(value) > FALLBACK_VALUE_MAX:
        raise ValidationFailed("fallback_value", f"must be at most {FALLBACK_VALUE_MAX} characters")
    if fallback in (Fallback.JITSI, Fallback.LINK) and value:
        parts = urlsplit(value)
        if parts.scheme != "https" or not parts.netloc:
            what = "the Jitsi Meet server" if fallback == Fallback.JITSI else "the meeting link"
            raise ValidationFailed("fallback_value", f"{what} must be an https:// address")
    if fallback in (Fallback.PHONE, Fallback.IN_PERSON) and not value:
        what = "a phone number" if fallback == Fallback.PHONE else "an address"
        raise ValidationFailed("fallback_value", f"give {what} for this fallback")
    return value


def _members(values: Sequence[TypeMember], assignment: str | None) -> list[TypeMember]:
    if len(values) > MEMBERS_MAX:
        raise ValidationFailed("members", f"at most {MEMBERS_MAX} members")
    ids = [m.user_id for m in values]
    if len(set(ids)) != len(ids):
        raise ValidationFailed("members", "a member is listed twice")
    if assignment == Assignment.ONE and len(values) > 1:
        raise ValidationFailed("members", "a one-person type has exactly one member")
    for m in values:
        _minutes("members.weight", m.weight, 1, WEIGHT_MAX)
        _minutes("members.priority", m.priority, 0, PRIORITY_MAX)
    return list(values)


# ---- availability -------------------------------------------------------------------------------


@dataclass
class AvailabilityInput:
    timezone: str
    weekly: Mapping[str, Sequence[Sequence[int]]]  # "0" (Monday) … "6" → [[start, end], …]
    overrides: Mapping[str, Sequence[Sequence[int]]] = field(default_factory=dict)
    location: str = "zoom"
    location_value: str = ""


LOCATIONS = ("zoom", "link", "phone", "in_person")


@dataclass
class CheckedAvailability:
    timezone: str
    weekly: dict[int, tuple[Hours, ...]]
    overrides: dict[dt.date, tuple[Hours, ...]]
    location: str
    location_value: str


def checked_availability(data: AvailabilityInput) -> CheckedAvailability:
    found = Problems()
    tz = found.check(_zone, "timezone", data.timezone)
    weekly: dict[int, tuple[Hours, ...]] = {}
    for key, ranges in (data.weekly or {}).items():
        if key not in {str(d) for d in range(7)}:
            found.errors.append(_error("weekly", f"{key!r} is not a weekday (0 = Monday … 6)"))
            continue
        hours = found.check(_ranges, f"weekly.{key}", ranges)
        if hours is not None:
            weekly[int(key)] = hours
    overrides: dict[dt.date, tuple[Hours, ...]] = {}
    if len(data.overrides or {}) > OVERRIDES_MAX:
        found.errors.append(_error("overrides", f"at most {OVERRIDES_MAX} dates"))
    for key, ranges in (data.overrides or {}).items():
        try:
            day = dt.date.fromisoformat(key)
        except (TypeError, ValueError):
            found.errors.append(_error("overrides", f"{key!r} is not a date (YYYY-MM-DD)"))
            continue
        hours = found.check(_ranges, f"overrides.{key}", ranges)
        if hours is not None:
            overrides[day] = hours
    location = found.check(_location, data.location)
    value = found.check(_location_value, location, data.location_value)
    found.raise_any()
    return CheckedAvailability(tz, weekly, overrides, location, value)


def _error(name: str, reason: str) -> Any:
    return ValidationFailed(name, reason).errors[0]


def zone_name(name: str, value: str) -> str:
    """`value` if it is a time zone people meet in (ValidationFailed naming `name` if not)."""
    return _zone(name, value)


def _zone(name: str, value: str) -> str:
    try:
        zone(value)
    except BadZone:
        raise ValidationFailed(name, f"unknown time zone {str(value)[:64]!r}") from None
    return value


def _ranges(name: str, ranges: Sequence[Sequence[int]]) -> tuple[Hours, ...]:
    if len(ranges) > RANGES_PER_DAY_MAX:
        raise ValidationFailed(name, f"at most {RANGES_PER_DAY_MAX} ranges a day")
    pairs: list[tuple[int, int]] = []
    for r in ranges:
        if len(r) != 2 or any(isinstance(v, bool) or not isinstance(v, int) for v in r):
            raise ValidationFailed(name, "each range is [start, end] in minutes after midnight")
        pairs.append((int(r[0]), int(r[1])))
    try:
        return validate_hours(pairs)
    except ValueError as exc:
        raise ValidationFailed(name, str(exc)) from None


def _location(value: str) -> str:
    if value not in LOCATIONS:
        raise ValidationFailed("location", f"must be one of {', '.join(LOCATIONS)}")
    return value


def _location_value(location: str | None, value: str) -> str:
    value = (value or "").strip()
    if len(value) > FALLBACK_VALUE_MAX:
        raise ValidationFailed("location_value", f"must be at most {FALLBACK_VALUE_MAX} characters")
    if location == "link":
        parts = urlsplit(value)
        if parts.scheme != "https" or not parts.netloc:
            raise ValidationFailed("location_value", "the meeting link must be https://…")
    elif location in ("phone", "in_person") and not value:
        raise ValidationFailed("location_value", "give the number or the address")
    return value


def hours_to_json(hours: Mapping[Any, tuple[Hours, ...]]) -> dict[str, list[list[int]]]:
    return {str(k): [[h.start, h.end] for h in v] for k, v in hours.items()}


# ---- a booking ----------------------------------------------------------------------------------


@dataclass
class BookingInput:
    start: str  # ISO 8601 with an offset (what the slot list gives)
    name: str
    email: str
    timezone: str
    notes: str = ""
    honeypot: str = ""  # a field people never see: filled in only by robots


@dataclass
class CheckedBooking:
    start: dt.datetime
    name: str
    email: str
    timezone: str
    notes: str


def checked_booking(data: BookingInput) -> CheckedBooking:
    found = Problems()
    start = found.check(instant, "start", data.start)
    name = found.check(_text, "name", data.name, NAME_MAX, True)
    email = found.check(email_address, data.email)
    tz = found.check(_zone, "timezone", data.timezone)
    notes = found.check(_text, "notes", data.notes or "", NOTES_MAX, False)
    found.raise_any()
    return CheckedBooking(start, name, email, tz, notes)


def instant(name: str, value: str) -> dt.datetime:
    """An ISO 8601 time with its offset, as UTC."""
    try:
        at = dt.datetime.fromisoformat(str(value)[:40])
    except ValueError:
        raise ValidationFailed(name, "must be a time like 2027-03-01T09:30:00+00:00") from None
    if at.tzinfo is None:
        raise ValidationFailed(name, "must carry its offset (e.g. +01:00 or Z)")
    try:
        utc = at.astimezone(dt.UTC)
    except OverflowError:
        raise ValidationFailed(name, "is out of range") from None
    # Bookings live within a few years of now: anything else would only overflow the date
    # arithmetic of the slot search (a year-9999 `from` was a 500).
    if not INSTANT_MIN <= utc.year <= INSTANT_MAX:
        raise ValidationFailed(name, f"must be between the years {INSTANT_MIN} and {INSTANT_MAX}")
    return utc


def email_address(value: str, name: str = "email") -> str:
    if not isinstance(value, str) or len(value) > EMAIL_MAX:
        raise ValidationFailed(name, f"must be an e-mail address of at most {EMAIL_MAX} characters")
    try:
        info = validate_email(value.strip(), check_deliverability=False, test_environment=True)
    except EmailNotValidError as exc:
        raise ValidationFailed(name, str(exc)) from None
    return info.normalized.lower()

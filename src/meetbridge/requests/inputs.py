"""What a service request and the organisation's Zoom settings for requests may hold: every
bad field is named at once (`Problems`), and nothing is written when any is wrong."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from email_validator import EmailNotValidError, validate_email

from meetbridge.core.errors import Problems, ValidationFailed
from meetbridge.requests.tables import HostLinkRole, ParticipantRole, RequestStatus
from meetbridge.scheduling.timezones import BadWallTime, BadZone, wall_to_utc, zone

LEAD_MAX = 120  # minutes before the start the host link opens (the guide's 0-120)
PADDING_MAX = 1440  # minutes blocked after the end (the guide's 0-1440)
POOL_MAX = 500  # hosts in the pool
LONGEST = dt.timedelta(hours=24)  # a request's length (Zoom's meetings are at most a day)
TEXT_MAX = 200
LOCATION_MAX = 500
NOTES_MAX = 5000
TAGS_MAX = 20
TAG_MAX = 64
PARTICIPANTS_MAX = 50
_TAG = re.compile(r"^[\w][\w .&/+-]*$")


@dataclass
class Participant:
    role: str  # provider | client
    email: str
    name: str = ""


@dataclass
class RequestInput:
    client: str
    service: str
    start: dt.datetime  # wall-clock in `timezone` (naive), or aware
    end: dt.datetime
    timezone: str
    requester: str = ""
    location: str = ""
    notes: str = ""
    status: str = RequestStatus.REQUESTED
    tags: list[str] = field(default_factory=list)
    participants: list[Participant] = field(default_factory=list)


@dataclass(frozen=True)
class CheckedRequest:
    client: str
    service: str
    requester: str
    location: str
    notes: str
    status: str
    start: dt.datetime  # UTC
    end: dt.datetime
    timezone: str
    tags: list[str]
    participants: list[Participant]


def _text(name: str, value: str, most: int, required: bool = False) -> str:
    value = (value or "").strip()
    if required and not value:
        raise ValidationFailed(name, "is required")
    if len(value) > most:
        raise ValidationFailed(name, f"must be at most {most} characters")
    return value


def normalize_email(raw: str, name: str) -> str:
    try:
        info = validate_email(raw.strip(), check_deliverability=False, test_environment=True)
    except EmailNotValidError as exc:
        raise ValidationFailed(name, str(exc)) from None
    return info.normalized.lower()


def _zone(name: str) -> str:
    if not name:
        raise ValidationFailed("timezone", "is required")
    try:
        zone(name)
    except BadZone:
        raise ValidationFailed("timezone", f"unknown time zone {name[:64]!r}") from None
    return name


def _utc(name: str, value: dt.datetime, timezone: str) -> dt.datetime:
    try:
        utc = wall_to_utc(value, zone(timezone))
    except BadWallTime as exc:
        if exc.kind == "out_of_range":
            raise ValidationFailed(name, "is out of range") from None
        why = "does not exist" if exc.kind == "missing" else "happens twice"
        raise ValidationFailed(name, f"{why} in this time zone (clocks change)") from None
    if not dt.datetime(2000, 1, 1, tzinfo=dt.UTC) <= utc < dt.datetime(3000, 1, 1, tzinfo=dt.UTC):
        raise ValidationFailed(name, "must be between the years 2000 and 2999")
    return utc


def tags(values: list[str]) -> list[str]:
    out: list[str] = []
    for raw in values:
        tag = raw.strip()
        if not tag:
            continue
        if len(tag) > TAG_MAX or not _TAG.match(tag):
            raise ValidationFailed(
                "tags", f"{tag[:40]!r}: letters, digits, spaces and .&/+- only, at most {TAG_MAX}"
            )
        if tag.lower() not in (t.lower() for t in out):
            out.append(tag)
    if len(out) > TAGS_MAX:
        raise ValidationFailed("tags", f"at most {TAGS_MAX} tags")
    return out


def participants(values: list[Participant]) -> list[Participant]:
    if len(values) > PARTICIPANTS_MAX:
        raise ValidationFailed("participants", f"at most {PARTICIPANTS_MAX} people")
    out: list[Participant] = []
    seen: set[tuple[str, str]] = set()
    for i, p in enumerate(values):
        if p.role not in tuple(ParticipantRole):
            raise ValidationFailed(f"participants[{i}].role", "must be provider or client")
        email = normalize_email(p.email, f"participants[{i}].email")
        name = _text(f"participants[{i}].name", p.name, TEXT_MAX)
        if (p.role, email) not in seen:
            seen.add((p.role, email))
            out.append(Participant(p.role, email, name))
    return out


def checked(data: RequestInput) -> CheckedRequest:
    found = Problems()
    client = found.check(_text, "client", data.client, TEXT_MAX, True)
    service = found.check(_text, "service", data.service, TEXT_MAX, True)
    requester = found.check(_text, "requester", data.requester, TEXT_MAX, False)
    location = found.check(_text, "location", data.location, LOCATION_MAX, False)
    notes = found.check(_text, "notes", data.notes, NOTES_MAX, False)
    status = data.status
    if status not in tuple(RequestStatus):
        found.add("status", f"must be one of {', '.join(RequestStatus)}")
    zone_ok = found.check(_zone, data.timezone)
    start = end = None
    if zone_ok is not None:
        start = found.check(_utc, "start", data.start, data.timezone)
        end = found.check(_utc, "end", data.end, data.timezone)
    if start is not None and end is not None:
        if end <= start:
            found.add("end", "must be after the start")
        elif end - start > LONGEST:
            found.add("end", "a request lasts at most 24 hours")
    tag_list = found.check(tags, data.tags)
    people = found.check(participants, data.participants)
    found.raise_any()
    assert start is not None and end is not None and tag_list is not None and people is not None
    return CheckedRequest(
        client=client or "",
        service=service or "",
        requester=requester or "",
        location=location or "",
        notes=notes or "",
        status=status,
        start=start,
        end=end,
        timezone=data.timezone,
        tags=tag_list,
        participants=people,
    )


@dataclass
class SettingsInput:
    lead_minutes: int
    padding_minutes: int
    host_pool: str  # one e-mail per line
    host_link_roles: list[str] = field(default_factory=lambda: [HostLinkRole.SCHEDULERS.value])


@dataclass(frozen=True)
class CheckedSettings:
    lead_minutes: int
    padding_minutes: int
    host_pool: list[str]
    host_link_roles: list[str]


def _minutes(name: str, value: int, most: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= most:
        raise ValidationFailed(name, f"must be a whole number of minutes from 0 to {most}")
    return value


def pool(text: str) -> list[str]:
    """One e-mail per line (the guide: no commas or spaces); each line is named when wrong."""
    out: list[str] = []
    bad: list[str] = []
    for n, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line:
            continue
        try:
            email = normalize_email(line, "host_pool")
        except ValidationFailed:
            bad.append(f"line {n} ({line[:60]!r})")
            continue
        if email not in out:
            out.append(email)
    if bad:
        raise ValidationFailed(
            "host_pool", "not an e-mail address (one per line, no commas): " + ", ".join(bad)
        )
    if len(out) > POOL_MAX:
        raise ValidationFailed("host_pool", f"at most {POOL_MAX} hosts")
    return out


def roles(values: list[str]) -> list[str]:
    known = [r.value for r in HostLinkRole]
    wrong = [v for v in values if v not in known]
    if wrong:
        raise ValidationFailed(
            "host_link_roles", f"unknown: {', '.join(wrong)} (choose from {', '.join(known)})"
        )
    return [r for r in known if r in values]


def checked_settings(data: SettingsInput) -> CheckedSettings:
    found = Problems()
    lead = found.check(_minutes, "lead_minutes", data.lead_minutes, LEAD_MAX)
    padding = found.check(_minutes, "padding_minutes", data.padding_minutes, PADDING_MAX)
    hosts = found.check(pool, data.host_pool)
    who = found.check(roles, data.host_link_roles)
    found.raise_any()
    assert lead is not None and padding is not None and hosts is not None and who is not None
    return CheckedSettings(lead, padding, hosts, who)

"""What accounts check in what people type: e-mails, names, roles, time zones, start dates,
passwords, slugs; and two rules every accounts service applies (admins only, one active login per
e-mail)."""

from __future__ import annotations

import datetime as dt
import functools
import re
import zoneinfo
from collections.abc import Iterator
from contextlib import contextmanager

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from meetbridge.core.errors import Conflict, PermissionDenied, ValidationFailed
from meetbridge.core.models import ROLES, User
from meetbridge.core.security import password_problem

SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
# Only YYYY-MM-DD: date.fromisoformat alone also takes "20270104" and week dates ("2027-W01-1").
ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
# A start date is a new hire's first day: a recent one is still worth onboarding (entered late),
# one further off is a typo (the wrong year) that would set workflows off at the wrong time.
START_DATE_YEARS_BACK = 2
START_DATE_YEARS_AHEAD = 5


def normalize_email(raw: str, field: str = "email") -> str:
    try:
        info = validate_email(raw.strip(), check_deliverability=False, test_environment=True)
    except EmailNotValidError as exc:
        raise ValidationFailed(field, str(exc)) from None
    return info.normalized.lower()


def valid_name(raw: str, field: str = "name", limit: int = 200) -> str:
    value = " ".join(raw.split())
    if not value:
        raise ValidationFailed(field, "must not be empty")
    if len(value) > limit:
        raise ValidationFailed(field, f"must be at most {limit} characters")
    return value


def valid_role(raw: str) -> str:
    if raw not in ROLES:
        raise ValidationFailed("role", f"must be one of {', '.join(ROLES)}")
    return raw


@functools.cache
def _zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def valid_timezone(raw: str) -> str:
    # Only names the tz database lists: ZoneInfo() opens a file by the name it is given, and a
    # 5,000-character name was an OSError (a 500) instead of a refusal.
    if raw not in _zones():
        shown = raw if len(raw) <= 64 else raw[:61] + "..."
        raise ValidationFailed("timezone", f"unknown time zone {shown!r}")
    return raw


def _years_after(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February into a year without one
        return day.replace(year=day.year + years, day=28)


def start_date_bounds(today: dt.date) -> tuple[dt.date, dt.date]:
    """The earliest and the latest start date accepted on `today` (both included)."""
    return _years_after(today, -START_DATE_YEARS_BACK), _years_after(today, START_DATE_YEARS_AHEAD)


def valid_start_date(raw: str | dt.date | None, today: dt.date) -> dt.date | None:
    """A member's start date, from YYYY-MM-DD (a form or JSON) or a date; empty: none."""
    if raw is None or isinstance(raw, dt.date):
        day = raw
    else:
        text = raw.strip()
        if not text:
            return None
        if not ISO_DATE.fullmatch(text):
            shown = text if len(text) <= 20 else text[:17] + "..."
            raise ValidationFailed("start_date", f"must be a date as YYYY-MM-DD, not {shown!r}")
        try:
            day = dt.date.fromisoformat(text)
        except ValueError:
            raise ValidationFailed("start_date", f"{text} is not a day of the calendar") from None
    if day is None:
        return None
    earliest, latest = start_date_bounds(today)
    if day < earliest:
        raise ValidationFailed(
            "start_date",
            f"is more than {START_DATE_YEARS_BACK} years ago: the earliest is {earliest}",
        )
    if day > latest:
        raise ValidationFailed(
            "start_date",
            f"is more than {START_DATE_YEARS_AHEAD} years ahead: the latest is {latest}",
        )
    return day


def valid_password(raw: str, email: str, field: str = "password", name: str = "") -> str:
    problem = password_problem(raw, email, name)
    if problem:
        raise ValidationFailed(field, problem)
    return raw


def slugify(name: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:50].strip("-")
    return slug or "org"


@contextmanager
def email_race_is_conflict() -> Iterator[None]:
    """Two requests adding the same e-mail at once: the unique index stops the second."""
    try:
        yield
    except IntegrityError as exc:
        if "email" in str(exc.orig):
            raise Conflict("email", "is already used by an active login") from None
        raise


def require_admin(actor: User) -> None:
    if not actor.is_admin:
        raise PermissionDenied("only an owner or admin can do this")


def email_free(s: Session, email: str, field: str = "email") -> None:
    if s.scalar(select(User.id).where(User.email == email, User.status == "active")):
        raise Conflict(field, "is already used by an active login")

"""What accounts check in what people type: e-mails, names, roles, time zones, passwords,
slugs; and two rules every accounts service applies (admins only, one active login per
e-mail)."""

from __future__ import annotations

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

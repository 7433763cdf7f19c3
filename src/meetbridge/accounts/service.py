"""Organisations, users, sign-in, sessions and API tokens: the one service layer behind the
pages, the REST API and the CLI.

Tenancy: every read and write names the acting user, and every lookup by id is filtered by the
actor's organisation, so no one ever sees another organisation's data (a foreign id is simply
"not found").
"""

from __future__ import annotations

import datetime as dt
import re
import time
import zoneinfo
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum
from typing import NamedTuple, cast

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import Table, bindparam, delete, func, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from meetbridge.accounts.passwords import Purpose
from meetbridge.core import audit
from meetbridge.core.audit import Origin
from meetbridge.core.clock import Clock
from meetbridge.core.db import Database, utcnow
from meetbridge.core.errors import (
    Conflict,
    NotAuthenticated,
    NotFound,
    PermissionDenied,
    Throttled,
    ValidationFailed,
)
from meetbridge.core.events import EventBus
from meetbridge.core.models import (
    ROLES,
    ApiToken,
    AuditEvent,
    LoginAttempt,
    Organization,
    User,
    WebSession,
)
from meetbridge.core.security import (
    digest,
    hash_password,
    new_token,
    password_problem,
    verify_password,
)
from meetbridge.core.settings import Settings
from meetbridge.notify.outbox import MailDelivery, queue_email

API_TOKEN_PREFIX = "mbp_"  # noqa: S105  (a prefix, not a secret)
TOKEN_TOUCH_INTERVAL = dt.timedelta(minutes=5)
API_TOKEN_REFUSED = "the API token is unknown, revoked or its user is deactivated"  # noqa: S105
CALLER_REMEMBERED = 60.0  # seconds; see `Accounts.api_caller_to_confirm`


class ApiCaller(NamedTuple):
    user: User
    token_id: str
    # The token's last-used stamp is older than TOKEN_TOUCH_INTERVAL: the caller writes it
    # (`touch_api_token`) from a thread, as the read runs on the event loop.
    touch_due: bool = False


# Built once: every API request runs it. Core, not the ORM: one row in, a User (with its
# organisation) built from it, at a third of the ORM's cost.
_USERS = cast(Table, User.__table__)
_ORGS = cast(Table, Organization.__table__)
_TOKENS = cast(Table, ApiToken.__table__)
# An API token that works: not revoked, and its user active. The one definition: the read
# below and the writes that confirm a remembered caller (`Meetings.schedule`) use it.
TOKEN_USABLE = _TOKENS.c.revoked_at.is_(None) & (_USERS.c.status == "active")
_TOKEN_USER = (
    select(
        *_USERS.c,
        *(c.label(f"org__{c.name}") for c in _ORGS.c),
        _TOKENS.c.id.label("token__id"),
        _TOKENS.c.last_used_at.label("token__last_used_at"),
    )
    .select_from(_USERS.join(_TOKENS, _TOKENS.c.user_id == _USERS.c.id).join(_ORGS))
    .where(_TOKENS.c.token_hash == bindparam("token_hash"), TOKEN_USABLE)
)
_SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")


def normalize_email(raw: str, field: str = "email") -> str:
    try:
        info = validate_email(raw.strip(), check_deliverability=False, test_environment=True)
    except EmailNotValidError as exc:
        raise ValidationFailed(field, str(exc)) from None
    return info.normalized.lower()


def _name(raw: str, field: str = "name", limit: int = 200) -> str:
    value = " ".join(raw.split())
    if not value:
        raise ValidationFailed(field, "must not be empty")
    if len(value) > limit:
        raise ValidationFailed(field, f"must be at most {limit} characters")
    return value


def _role(raw: str) -> str:
    if raw not in ROLES:
        raise ValidationFailed("role", f"must be one of {', '.join(ROLES)}")
    return raw


def _timezone(raw: str) -> str:
    try:
        zoneinfo.ZoneInfo(raw)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValidationFailed("timezone", f"unknown time zone {raw!r}") from None
    return raw


def _password(raw: str, email: str, field: str = "password", name: str = "") -> str:
    problem = password_problem(raw, email, name)
    if problem:
        raise ValidationFailed(field, problem)
    return raw


def slugify(name: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:50].strip("-")
    return slug or "org"


@contextmanager
def _email_race_is_conflict() -> Iterator[None]:
    """Two requests adding the same e-mail at once: the unique index stops the second."""
    try:
        yield
    except IntegrityError as exc:
        if "email" in str(exc.orig):
            raise Conflict("email", "is already used by an active login") from None
        raise


@dataclass(frozen=True)
class CreatedToken:
    token: ApiToken
    secret: str


# PostgreSQL: tries to sign in to one login take turns (a lock held to the transaction's end),
# so each one's count includes every try before it.
_SIGN_IN_TURN = text("SELECT pg_advisory_xact_lock(hashtext(:key))")


class MemberEvent(StrEnum):
    """The domain events of members (core.events)."""

    CREATED = "member.created"
    DEACTIVATED = "member.deactivated"
    RESTORED = "member.restored"


class Accounts:
    def __init__(
        self,
        db: Database,
        settings: Settings,
        mail: MailDelivery,
        events: EventBus,
        clock: Clock,
    ) -> None:
        self.db = db
        self.clock = clock
        self.settings = settings
        self.mail = mail
        self.events = events
        # API callers by token hash, with when they were read (`api_caller_to_confirm`).
        self._callers: dict[str, tuple[float, ApiCaller]] = {}

    # ---- organisations -------------------------------------------------------------------

    def create_organization(
        self,
        *,
        name: str,
        owner_email: str,
        owner_name: str,
        owner_password: str,
        origin: Origin,
        slug: str | None = None,
        parent_id: str | None = None,
        timezone: str = "UTC",
    ) -> tuple[Organization, User]:
        """A new organisation (or sub-account, with `parent_id`) and its first owner."""
        name = _name(name)
        email = normalize_email(owner_email, "owner_email")
        owner_name = _name(owner_name, "owner_name")
        _password(owner_password, email, "owner_password")
        timezone = _timezone(timezone)
        with self.db.write() as s:
            slug = self._free_slug(s, slug, name)
            self._email_free(s, email, "owner_email")
            org = Organization(name=name, slug=slug, parent_id=parent_id, timezone=timezone)
            s.add(org)
            s.flush()
            owner = User(
                org_id=org.id,
                email=email,
                name=owner_name,
                role="owner",
                password_hash=hash_password(owner_password),
                timezone=timezone,
                org=org,
            )
            s.add(owner)
            s.flush()
            audit.record(
                s,
                org_id=org.id,
                actor_id=None,
                actor_label="system",
                action="org.created",
                origin=origin,
                target_type="organization",
                target_id=org.id,
                details={"name": name, "parent_id": parent_id, "owner": email},
            )
        return org, owner

    def _free_slug(self, s: Session, wanted: str | None, name: str) -> str:
        if wanted is not None:
            if not _SLUG.match(wanted):
                raise ValidationFailed("slug", "use 1-63 lowercase letters, digits and hyphens")
            if s.scalar(select(Organization.id).where(Organization.slug == wanted)):
                raise Conflict("slug", "is already taken")
            return wanted
        base = slugify(name)
        taken = set(
            s.scalars(select(Organization.slug).where(Organization.slug.like(f"{base}%"))).all()
        )
        if base not in taken:
            return base
        n = 2
        while f"{base}-{n}" in taken:
            n += 1
        return f"{base}-{n}"

    def create_subaccount(
        self,
        actor: User,
        *,
        name: str,
        owner_email: str,
        owner_name: str,
        owner_password: str,
        origin: Origin,
    ) -> tuple[Organization, User]:
        """An agency's sub-account: only an owner of a top-level organisation."""
        if actor.role != "owner":
            raise PermissionDenied("only an owner can create sub-accounts")
        if actor.org.parent_id is not None:
            raise PermissionDenied("a sub-account cannot have sub-accounts")
        org, owner = self.create_organization(
            name=name,
            owner_email=owner_email,
            owner_name=owner_name,
            owner_password=owner_password,
            origin=origin,
            parent_id=actor.org_id,
            timezone=actor.org.timezone,
        )
        with self.db.write() as s:
            self._audit(
                s,
                actor,
                "org.subaccount_created",
                origin,
                "organization",
                org.id,
                {"name": org.name},
            )
        return org, owner

    def list_subaccounts(self, actor: User) -> Sequence[Organization]:
        self._require_admin(actor)
        with self.db.read() as s:
            return s.scalars(
                select(Organization)
                .where(Organization.parent_id == actor.org_id)
                .order_by(Organization.name)
            ).all()

    def first_owner(self, slug: str) -> User | None:
        """The longest-standing active owner of an organisation (the CLI acts as them)."""
        with self.db.read() as s:
            return s.scalar(
                select(User)
                .join(Organization, Organization.id == User.org_id)
                .where(Organization.slug == slug, User.role == "owner", User.status == "active")
                .order_by(User.created_at)
                .limit(1)
            )

    def active_user_by_email(self, email: str) -> User | None:
        """Operator-level lookup (the CLI acts as a named person)."""
        with self.db.read() as s:
            return s.scalar(
                select(User).where(User.email == email.strip().lower(), User.status == "active")
            )

    def reset_password(self, user_id: str, password: str) -> None:
        """Operator-level reset (the demo seed, the CLI); audited as done by the system."""
        with self.db.write() as s:
            user = s.get(User, user_id)
            if user is None:
                raise NotFound("no such user")
            _password(password, user.email)
            user.password_hash = hash_password(password)
            audit.record(
                s,
                org_id=user.org_id,
                actor_id=None,
                actor_label="system",
                action="member.password_reset",
                origin=Origin(via="cli"),
                target_type="user",
                target_id=user.id,
            )

    # ---- members ---------------------------------------------------------------------------

    def list_members(self, actor: User, include_inactive: bool = False) -> Sequence[User]:
        """The organisation's logins; deactivated ones only for admins (a member has no use
        for who left, and it is an admin's record)."""
        with self.db.read() as s:
            q = select(User).where(User.org_id == actor.org_id)
            if not (include_inactive and actor.is_admin):
                q = q.where(User.status == "active")
            return s.scalars(q.order_by(User.status, func.lower(User.name))).all()

    def get_member(self, actor: User, user_id: str) -> User:
        with self.db.read() as s:
            return self._member(s, actor, user_id)

    def create_member(
        self,
        actor: User,
        *,
        email: str,
        name: str,
        role: str,
        password: str,
        origin: Origin,
        timezone: str | None = None,
    ) -> User:
        self._require_admin(actor)
        email = normalize_email(email)
        name = _name(name)
        role = _role(role)
        _password(password, email)
        timezone = _timezone(timezone or actor.org.timezone)
        self._may_grant(actor, role)
        with _email_race_is_conflict(), self.db.write() as s:
            self._email_free(s, email)
            user = User(
                org_id=actor.org_id,
                email=email,
                name=name,
                role=role,
                password_hash=hash_password(password),
                timezone=timezone,
                org=s.get(Organization, actor.org_id),
            )
            s.add(user)
            s.flush()
            self._audit(
                s, actor, "member.created", origin, "user", user.id, {"email": email, "role": role}
            )
            event = self._event(s, MemberEvent.CREATED, user)
            welcome = self._queue_welcome(s, actor, user)
        if welcome:
            self.mail.enqueue(welcome)
        self.events.publish([event])
        return user

    def update_member(
        self,
        actor: User,
        user_id: str,
        *,
        origin: Origin,
        name: str | None = None,
        email: str | None = None,
        role: str | None = None,
        timezone: str | None = None,
    ) -> User:
        changes: dict[str, object] = {}
        if name is not None:
            changes["name"] = _name(name)
        if email is not None:
            changes["email"] = normalize_email(email)
        if role is not None:
            changes["role"] = _role(role)
        if timezone is not None:
            changes["timezone"] = _timezone(timezone)
        with self.db.write() as s:
            user = self._member(s, actor, user_id)
            if user.id != actor.id or "role" in changes:
                self._require_admin(actor)
            if not user.is_active:
                raise Conflict("status", "a deactivated login cannot be edited; restore it first")
            if user.role == "owner" and actor.role != "owner":
                raise PermissionDenied("only an owner can change an owner")
            if "role" in changes and changes["role"] != user.role:
                self._may_grant(actor, str(changes["role"]))
                if user.role == "owner":
                    self._keep_an_owner(s, user)
            if "email" in changes and changes["email"] != user.email:
                self._email_free(s, str(changes["email"]))
            before = {k: getattr(user, k) for k in changes}
            changed = {k: v for k, v in changes.items() if before[k] != v}
            if changed:
                for k, v in changed.items():
                    setattr(user, k, v)
                user.updated_at = utcnow()
                self._audit(
                    s,
                    actor,
                    "member.updated",
                    origin,
                    "user",
                    user.id,
                    {k: {"from": before[k], "to": v} for k, v in changed.items()},
                )
        return user

    def change_password(
        self,
        actor: User,
        *,
        current: str,
        new: str,
        origin: Origin,
        keep_session: str | None = None,
    ) -> None:
        """Sets a new password and signs the user out everywhere else: every other browser
        session ends (`keep_session`: the cookie of the one making the change, kept)."""
        with self.db.write() as s:
            user = self._member(s, actor, actor.id)
            if not verify_password(user.password_hash, current):
                raise ValidationFailed("current_password", "is not your current password")
            _password(new, user.email, "new_password", name=user.name)
            user.password_hash = hash_password(new)
            user.updated_at = utcnow()
            ended = s.execute(
                delete(WebSession).where(
                    WebSession.user_id == user.id,
                    WebSession.id != (digest(keep_session) if keep_session else ""),
                )
            ).rowcount  # type: ignore[attr-defined]
            self._audit(
                s,
                actor,
                "member.password_changed",
                origin,
                "user",
                user.id,
                {"other_sessions_ended": ended},
            )

    def deactivate_member(self, actor: User, user_id: str, *, origin: Origin) -> User:
        """Ends the login at once: sessions and API tokens stop working. The row and its ID
        stay, for the record (meetings and audit entries still point at it)."""
        self._require_admin(actor)
        with self.db.write() as s:
            user = self._member(s, actor, user_id)
            if user.id == actor.id:
                raise Conflict("user_id", "you cannot deactivate yourself")
            if not user.is_active:
                raise Conflict("status", "is already deactivated")
            if user.role == "owner":
                if actor.role != "owner":
                    raise PermissionDenied("only an owner can deactivate an owner")
                self._keep_an_owner(s, user)
            now = utcnow()
            user.status = "deactivated"
            user.deactivated_at = now
            user.updated_at = now
            s.execute(delete(WebSession).where(WebSession.user_id == user.id))
            s.execute(
                update(ApiToken)
                .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
                .values(revoked_at=now)
            )
            self._audit(
                s, actor, "member.deactivated", origin, "user", user.id, {"email": user.email}
            )
            event = self._event(s, MemberEvent.DEACTIVATED, user)
        self.events.publish([event])
        return user

    def restore_member(self, actor: User, user_id: str, *, password: str, origin: Origin) -> User:
        """Restores a deactivated login as a NEW user with a new ID (the ID is the identity:
        anything bound to the old ID, such as a Zoom connection, stays with the old one)."""
        self._require_admin(actor)
        with self.db.write() as s:
            old = self._member(s, actor, user_id)
            if old.is_active:
                raise Conflict("status", "is active; only a deactivated login can be restored")
            if s.scalar(select(User.id).where(User.restored_from_id == old.id)):
                raise Conflict("user_id", "this login was already restored")
            self._may_grant(actor, old.role)
            _password(password, old.email)
            self._email_free(s, old.email)
            user = User(
                org_id=old.org_id,
                email=old.email,
                name=old.name,
                role=old.role,
                password_hash=hash_password(password),
                timezone=old.timezone,
                restored_from_id=old.id,
                org=old.org,
            )
            s.add(user)
            s.flush()
            self._audit(
                s,
                actor,
                "member.restored",
                origin,
                "user",
                user.id,
                {"email": user.email, "previous_id": old.id},
            )
            event = self._event(s, MemberEvent.RESTORED, user, previous_id=old.id)
            welcome = self._queue_welcome(s, actor, user)
        if welcome:
            self.mail.enqueue(welcome)
        self.events.publish([event])
        return user

    # ---- sign-in and sessions ----------------------------------------------------------------

    def authenticate(self, email: str, password: str, origin: Origin) -> User:
        """Checks a password. A miss never says whether the e-mail exists.

        Guessing is slowed, nobody is locked out. Each try is recorded *before* the password is
        checked, and the counts include it, so tries sent at once cannot slip past a limit.
        - one address guessing one login: after `login_max_failures` misses in the window,
          each further try waits 30 s, doubling, at most 15 minutes (429 with Retry-After);
        - one login guessed from many addresses: after 4x that many misses, one check per
          2 seconds for that login — its owner still gets in, at once from an address it
          signed in from before, after a few seconds from a new one;
        - one address guessing many logins: after 20x misses, that address waits out the
          window (not an address the login signed in from before).
        The address is the client's as the trusted proxies report it (MEETBRIDGE_TRUSTED_PROXIES).
        """
        try:
            email = normalize_email(email)
        except ValidationFailed:
            email = email.strip().lower()[:254]
        ip = (origin.ip or "unknown")[:64]
        now = self.clock.now()
        window = dt.timedelta(minutes=self.settings.login_window_minutes)
        limit = self.settings.login_max_failures
        with self.db.write() as s:  # first the try itself, then the counts that include it
            if not self.db.is_sqlite:  # SQLite's writers take turns already (BEGIN IMMEDIATE)
                s.execute(_SIGN_IN_TURN, {"key": f"signin:{email}"})
            attempt = LoginAttempt(email=email, ip=ip, success=False, created_at=now)
            s.add(attempt)
            s.flush()
            wait = self._sign_in_wait(s, email, ip, now, window, limit)
            user = s.scalar(select(User).where(User.email == email, User.status == "active"))
            if wait > 0:
                s.delete(attempt)  # a refused try was never checked: it is not a miss
        if wait > 0:
            raise Throttled(
                "too many failed sign-ins; wait a little and try again",
                retry_after=int(wait) + 1,
            )
        ok = verify_password(user.password_hash if user else None, password)
        with self.db.write() as s:
            if ok and user:
                # A success clears this address's misses for the login (its owner, back).
                s.execute(
                    delete(LoginAttempt).where(
                        LoginAttempt.email == email,
                        LoginAttempt.ip == ip,
                        LoginAttempt.success.is_(False),
                        LoginAttempt.id != attempt.id,
                    )
                )
                s.execute(
                    update(LoginAttempt).where(LoginAttempt.id == attempt.id).values(success=True)
                )
                self._audit(s, user, "auth.signed_in", origin, "user", user.id)
            else:
                audit.record(
                    s,
                    org_id=user.org_id if user else None,
                    actor_id=None,
                    actor_label=email,
                    action="auth.sign_in_failed",
                    origin=origin,
                )
        if not ok or user is None:
            raise NotAuthenticated("wrong e-mail or password")
        return user

    @staticmethod
    def _sign_in_wait(
        s: Session, email: str, ip: str, now: dt.datetime, window: dt.timedelta, limit: int
    ) -> float:
        """Seconds this try must wait (0: check it). Counts misses in the window, this try and
        any sent at the same moment included."""
        recent = (LoginAttempt.success.is_(False), LoginAttempt.created_at >= now - window)
        pair = s.execute(
            select(func.count(), func.max(LoginAttempt.created_at)).where(
                LoginAttempt.email == email, LoginAttempt.ip == ip, *recent
            )
        ).one()
        if pair[0] > limit:
            # The first tries of a burst are checked; every later one waits its turn.
            previous = s.scalar(
                select(LoginAttempt.created_at)
                .where(LoginAttempt.email == email, LoginAttempt.ip == ip, *recent)
                .order_by(LoginAttempt.created_at.desc())
                .offset(1)
                .limit(1)
            )
            pause = min(30.0 * 2 ** (pair[0] - limit - 1), 900.0)
            left = ((previous or now) + dt.timedelta(seconds=pause) - now).total_seconds()
            if left > 0:
                return left
        known = s.scalar(
            select(LoginAttempt.id)
            .where(
                LoginAttempt.email == email,
                LoginAttempt.ip == ip,
                LoginAttempt.success.is_(True),
                LoginAttempt.created_at >= now - dt.timedelta(days=30),
            )
            .limit(1)
        )
        if known is not None:
            return 0.0
        by_ip = s.scalar(select(func.count()).where(LoginAttempt.ip == ip, *recent)) or 0
        if by_ip > limit * 20:
            return window.total_seconds()
        by_email = s.scalar(select(func.count()).where(LoginAttempt.email == email, *recent)) or 0
        if by_email > limit * 4:
            spaced = s.scalar(
                select(func.count()).where(
                    LoginAttempt.email == email,
                    LoginAttempt.created_at >= now - dt.timedelta(seconds=2),
                )
            )
            if (spaced or 0) > 1:
                return 2.0
        return 0.0

    def start_session(self, user: User, origin: Origin) -> str:
        """Returns the cookie value. Only its digest is stored."""
        raw = new_token("mbs_")
        with self.db.write() as s:
            s.add(
                WebSession(
                    id=digest(raw),
                    user_id=user.id,
                    ip=origin.ip,
                    user_agent=(origin.user_agent or "")[:300] or None,
                    expires_at=utcnow() + dt.timedelta(hours=self.settings.session_hours),
                )
            )
        return raw

    def session_user(self, raw: str) -> User | None:
        with self.db.read() as s:
            row = s.execute(
                select(User, WebSession.expires_at)
                .join(WebSession, WebSession.user_id == User.id)
                .where(WebSession.id == digest(raw), User.status == "active")
            ).first()
        if row is None or row[1] <= utcnow():
            return None
        return row[0]

    def end_session(self, raw: str, origin: Origin) -> None:
        with self.db.write() as s:
            ws = s.get(WebSession, digest(raw))
            if ws is None:
                return
            user = s.get(User, ws.user_id)
            s.delete(ws)
            if user:
                self._audit(s, user, "auth.signed_out", origin, "user", user.id)

    # ---- API tokens ----------------------------------------------------------------------------

    def create_api_token(self, actor: User, *, name: str, origin: Origin) -> CreatedToken:
        name = _name(name, limit=100)
        secret = new_token(API_TOKEN_PREFIX)
        with self.db.write() as s:
            if s.scalar(
                select(ApiToken.id).where(
                    ApiToken.user_id == actor.id,
                    ApiToken.name == name,
                    ApiToken.revoked_at.is_(None),
                )
            ):
                raise Conflict("name", "you already have an active token with this name")
            token = ApiToken(
                user_id=actor.id, name=name, token_hash=digest(secret), prefix=secret[:8]
            )
            s.add(token)
            s.flush()
            self._audit(
                s, actor, "api_token.created", origin, "api_token", token.id, {"name": name}
            )
        return CreatedToken(token, secret)

    def list_api_tokens(self, actor: User) -> Sequence[ApiToken]:
        with self.db.read() as s:
            return s.scalars(
                select(ApiToken)
                .where(ApiToken.user_id == actor.id)
                .order_by(ApiToken.revoked_at.is_not(None), ApiToken.created_at.desc())
            ).all()

    def revoke_api_token(self, actor: User, token_id: str, *, origin: Origin) -> ApiToken:
        with self.db.write() as s:
            token = s.scalar(
                select(ApiToken).where(ApiToken.id == token_id, ApiToken.user_id == actor.id)
            )
            if token is None:
                raise NotFound("no such API token")
            if token.revoked_at is None:
                token.revoked_at = utcnow()
                self._audit(
                    s,
                    actor,
                    "api_token.revoked",
                    origin,
                    "api_token",
                    token.id,
                    {"name": token.name},
                )
        return token

    def api_caller(self, secret: str) -> ApiCaller | None:
        """The active user behind an API token (hot path: one indexed read and no write, so it
        may run on the event loop; when `touch_due`, call `touch_api_token` from a thread)."""
        return self._api_caller(secret, digest(secret))

    def touch_api_token(self, token_id: str) -> None:
        """Stamps the token's last use (at most every TOKEN_TOUCH_INTERVAL, see `touch_due`)."""
        with self.db.single() as conn:
            conn.execute(
                update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=utcnow())
            )

    def api_caller_to_confirm(self, secret: str) -> ApiCaller | None:
        """As `api_caller`, but possibly as the token was up to `CALLER_REMEMBERED` ago:
        only for a request whose write confirms, in the same statement, that the token is
        still live and its user active (see `Meetings.schedule`). Saves the read."""
        token_hash = digest(secret)
        remembered = self._callers.get(token_hash)
        if remembered is not None and time.monotonic() - remembered[0] < CALLER_REMEMBERED:
            return remembered[1]
        return self._api_caller(secret, token_hash)

    def _api_caller(self, secret: str, token_hash: str) -> ApiCaller | None:
        if not secret.startswith(API_TOKEN_PREFIX):
            return None
        with self.db.connect() as conn:
            row = conn.execute(_TOKEN_USER, {"token_hash": token_hash}).first()
        if row is None:
            self._callers.pop(token_hash, None)
            return None
        values = row._asdict()
        token_id, last_used = values.pop("token__id"), values.pop("token__last_used_at")
        org = Organization(**{k[5:]: values.pop(k) for k in list(values) if k[:5] == "org__"})
        caller = ApiCaller(User(**values, org=org), token_id)
        if len(self._callers) >= 10_000:
            self._callers.clear()
        self._callers[token_hash] = (time.monotonic(), caller)
        if last_used is None or utcnow() - last_used > TOKEN_TOUCH_INTERVAL:
            return caller._replace(touch_due=True)
        return caller

    # ---- audit -----------------------------------------------------------------------------

    def list_audit(
        self, actor: User, *, limit: int = 100, before_id: int | None = None
    ) -> Sequence[AuditEvent]:
        self._require_admin(actor)
        with self.db.read() as s:
            q = select(AuditEvent).where(AuditEvent.org_id == actor.org_id)
            if before_id is not None:
                q = q.where(AuditEvent.id < before_id)
            return s.scalars(q.order_by(AuditEvent.id.desc()).limit(min(max(limit, 1), 500))).all()

    def record(self, actor: User, action: str, origin: Origin, **details: object) -> None:
        """An audit entry for a settings change made elsewhere."""
        with self.db.write() as s:
            self._audit(s, actor, action, origin, None, None, dict(details))

    # ---- helpers ---------------------------------------------------------------------------

    def _member(self, s: Session, actor: User, user_id: str) -> User:
        user = s.scalar(select(User).where(User.id == user_id, User.org_id == actor.org_id))
        if user is None:
            raise NotFound("no such member")
        return user

    @staticmethod
    def _require_admin(actor: User) -> None:
        if not actor.is_admin:
            raise PermissionDenied("only an owner or admin can do this")

    @staticmethod
    def _may_grant(actor: User, role: str) -> None:
        if role == "owner" and actor.role != "owner":
            raise PermissionDenied("only an owner can grant the owner role")

    @staticmethod
    def _keep_an_owner(s: Session, user: User) -> None:
        owners = s.scalar(
            select(func.count()).where(
                User.org_id == user.org_id, User.role == "owner", User.status == "active"
            )
        )
        if (owners or 0) <= 1:
            raise Conflict("role", "an organisation must keep at least one active owner")

    @staticmethod
    def _email_free(s: Session, email: str, field: str = "email") -> None:
        if s.scalar(select(User.id).where(User.email == email, User.status == "active")):
            raise Conflict(field, "is already used by an active login")

    def _event(self, s: Session, name: MemberEvent, user: User, **data: str) -> str | None:
        return self.events.record(
            s,
            name,
            org_id=user.org_id,
            subject_type="user",
            subject_id=user.id,
            data={"email": user.email, "role": user.role, **data},
        )

    def _queue_welcome(self, s: Session, actor: User, user: User) -> str | None:
        org = s.get(Organization, user.org_id)
        msg = queue_email(
            s,
            org_id=user.org_id,
            dedupe_key=f"welcome:{user.id}",
            to=user.email,
            template="welcome",
            context={
                "name": user.name,
                "email": user.email,
                "inviter": actor.name,
                "org_name": org.name if org else "",
                "sign_in_url": f"{self.settings.effective_base_url}/signin",
                # The set-password link is made when the e-mail is sent (accounts.passwords).
                "user_id": user.id,
                "purpose": Purpose.SET,
            },
        )
        return msg.id if msg else None

    def _audit(
        self,
        s: Session,
        actor: User,
        action: str,
        origin: Origin,
        target_type: str | None,
        target_id: str | None,
        details: dict[str, object] | None = None,
    ) -> None:
        audit.record(
            s,
            org_id=actor.org_id,
            actor_id=actor.id,
            actor_label=actor.email,
            action=action,
            origin=origin,
            target_type=target_type,
            target_id=target_id,
            details=details,
        )

"""Members of an organisation: add, edit, deactivate, restore, change one's password; and the
audit log. (Organisations: accounts.orgs; sign-in and sessions: accounts.signin; API tokens:
accounts.tokens; password links: accounts.passwords.)

Tenancy: every read and write names the acting user, and every lookup by id is filtered by the
actor's organisation, so no one ever sees another organisation's data (a foreign id is simply
"not found").
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from enum import StrEnum
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from meetbridge.accounts.audit_log import AuditQuery, audit_actions, read_audit
from meetbridge.accounts.inputs import (
    email_free,
    email_race_is_conflict,
    normalize_email,
    require_admin,
    valid_name,
    valid_password,
    valid_role,
    valid_start_date,
    valid_timezone,
)
from meetbridge.accounts.passwords import Purpose
from meetbridge.core import audit
from meetbridge.core.audit import Origin
from meetbridge.core.clock import Clock
from meetbridge.core.db import Database, utcnow
from meetbridge.core.errors import (
    Conflict,
    NotFound,
    PermissionDenied,
    Problems,
    ValidationFailed,
)
from meetbridge.core.events import EventBus
from meetbridge.core.models import (
    ApiToken,
    AuditEvent,
    Organization,
    User,
    WebSession,
    new_id,
)
from meetbridge.core.security import (
    digest,
    hash_password,
    verify_password,
)
from meetbridge.core.settings import Settings
from meetbridge.notify.outbox import MailDelivery, queue_email


class MemberEvent(StrEnum):
    """The domain events of members (core.events). Each one's data is the member as it is
    after the change (`Accounts._event`), enough for a workflow to act without a read."""

    CREATED = "member.created"
    # Created with a start date, or a start date set or moved later (not when cleared): a
    # workflow schedules the new hire's first day from it.
    ONBOARDED = "member.onboarded"
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
            valid_password(password, user.email)
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
        start_date: str | dt.date | None = None,
        user_id: str | None = None,
    ) -> User:
        """`user_id`: the new login's id, when the caller chose it (core/idempotency.py).
        `start_date`: YYYY-MM-DD or a date (empty or None: none); with one, the member is also
        onboarded (MemberEvent.ONBOARDED)."""
        require_admin(actor)
        found = Problems()  # every broken field reported at once
        email = found.check(normalize_email, email)
        name = found.check(valid_name, name)
        role = found.check(valid_role, role)
        found.check(valid_password, password, email or "")
        timezone = found.check(valid_timezone, timezone or actor.org.timezone)
        start = found.check(valid_start_date, start_date, self._today())
        found.raise_any()
        self._may_grant(actor, role)
        with email_race_is_conflict(), self.db.write() as s:
            email_free(s, email)
            user = User(
                id=user_id or new_id(),
                org_id=actor.org_id,
                email=email,
                name=name,
                role=role,
                password_hash=hash_password(password),
                timezone=timezone,
                start_date=start,
                org=s.get(Organization, actor.org_id),
            )
            s.add(user)
            s.flush()
            details: dict[str, Any] = {"email": email, "role": role}
            if start:
                details["start_date"] = start.isoformat()
            audit.write(s, audit.by(actor, "member.created", origin, "user", user.id, details))
            events = [self._event(s, MemberEvent.CREATED, user)]
            if start:
                events.append(self._event(s, MemberEvent.ONBOARDED, user))
            welcome = self._queue_welcome(s, actor, user)
        if welcome:
            self.mail.enqueue(welcome)
        self.events.publish(events)
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
        start_date: str | dt.date | None = None,
    ) -> User:
        """None: that field stays as it is. `start_date`: YYYY-MM-DD or a date, "" to clear
        it; setting or moving it onboards the member (MemberEvent.ONBOARDED)."""
        found = Problems()  # every broken field reported at once
        rules = {
            "name": (valid_name, name),
            "email": (normalize_email, email),
            "role": (valid_role, role),
            "timezone": (valid_timezone, timezone),
        }
        changes: dict[str, object] = {
            k: found.check(rule, value) for k, (rule, value) in rules.items() if value is not None
        }
        if start_date is not None:
            changes["start_date"] = found.check(valid_start_date, start_date, self._today())
        found.raise_any()
        with self.db.write() as s:
            user = self._member(s, actor, user_id)
            # A start date sets onboarding workflows off: an admin's decision, like a role.
            if user.id != actor.id or "role" in changes or "start_date" in changes:
                require_admin(actor)
            if not user.is_active:
                raise Conflict("status", "a deactivated login cannot be edited; restore it first")
            if user.role == "owner" and actor.role != "owner":
                raise PermissionDenied("only an owner can change an owner")
            if "role" in changes and changes["role"] != user.role:
                self._may_grant(actor, str(changes["role"]))
                if user.role == "owner":
                    self._keep_an_owner(s, user)
            if "email" in changes and changes["email"] != user.email:
                # A new address is confirmed from it first (accounts/email_change.py).
                raise ValidationFailed(
                    "email",
                    f"is changed by confirmation from the new address: POST "
                    f"/api/v1/members/{user.id}/email (the Team page does it for you)",
                )
            before = {k: getattr(user, k) for k in changes}
            changed = {k: v for k, v in changes.items() if before[k] != v}
            event = None
            if changed:
                for k, v in changed.items():
                    setattr(user, k, v)
                user.updated_at = utcnow()
                audit.write(
                    s,
                    audit.by(
                        actor,
                        "member.updated",
                        origin,
                        "user",
                        user.id,
                        {k: {"from": _json(before[k]), "to": _json(v)} for k, v in changed.items()},
                    ),
                )
                if changed.get("start_date") is not None:  # set or moved; not cleared
                    event = self._event(s, MemberEvent.ONBOARDED, user)
        self.events.publish([event])
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
            valid_password(new, user.email, "new_password", name=user.name)
            user.password_hash = hash_password(new)
            user.updated_at = utcnow()
            ended = s.execute(
                delete(WebSession).where(
                    WebSession.user_id == user.id,
                    WebSession.id != (digest(keep_session) if keep_session else ""),
                )
            ).rowcount  # type: ignore[attr-defined]
            audit.write(
                s,
                audit.by(
                    actor,
                    "member.password_changed",
                    origin,
                    "user",
                    user.id,
                    {"other_sessions_ended": ended},
                ),
            )

    def deactivate_member(self, actor: User, user_id: str, *, origin: Origin) -> User:
        """Ends the login at once: sessions and API tokens stop working. The row and its ID
        stay, for the record (meetings and audit entries still point at it)."""
        require_admin(actor)
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
            audit.write(
                s,
                audit.by(
                    actor, "member.deactivated", origin, "user", user.id, {"email": user.email}
                ),
            )
            event = self._event(s, MemberEvent.DEACTIVATED, user)
        self.events.publish([event])
        return user

    def restore_member(self, actor: User, user_id: str, *, password: str, origin: Origin) -> User:
        """Restores a deactivated login as a NEW user with a new ID (the ID is the identity:
        anything bound to the old ID, such as a Zoom connection, stays with the old one)."""
        require_admin(actor)
        with self.db.write() as s:
            old = self._member(s, actor, user_id)
            if old.is_active:
                raise Conflict("status", "is active; only a deactivated login can be restored")
            if s.scalar(select(User.id).where(User.restored_from_id == old.id)):
                raise Conflict("user_id", "this login was already restored")
            self._may_grant(actor, old.role)
            valid_password(password, old.email)
            email_free(s, old.email)
            user = User(
                org_id=old.org_id,
                email=old.email,
                name=old.name,
                role=old.role,
                password_hash=hash_password(password),
                timezone=old.timezone,
                start_date=old.start_date,  # the same person: no new onboarding
                restored_from_id=old.id,
                org=old.org,
            )
            s.add(user)
            s.flush()
            audit.write(
                s,
                audit.by(
                    actor,
                    "member.restored",
                    origin,
                    "user",
                    user.id,
                    {"email": user.email, "previous_id": old.id},
                ),
            )
            event = self._event(s, MemberEvent.RESTORED, user, previous_id=old.id)
            welcome = self._queue_welcome(s, actor, user)
        if welcome:
            self.mail.enqueue(welcome)
        self.events.publish([event])
        return user

    # ---- audit -----------------------------------------------------------------------------

    def list_audit(self, actor: User, query: AuditQuery | None = None) -> Sequence[AuditEvent]:
        """Newest first, filtered, a page at a time (accounts/audit_log.py); admins only."""
        require_admin(actor)
        return read_audit(self.db, actor, query or AuditQuery())

    def audit_actions(self, actor: User) -> list[str]:
        require_admin(actor)
        return audit_actions(self.db, actor)

    def record(self, actor: User, action: str, origin: Origin, **details: object) -> None:
        """An audit entry for a settings change made elsewhere."""
        with self.db.write() as s:
            audit.write(s, audit.by(actor, action, origin, None, None, dict(details)))

    # ---- helpers ---------------------------------------------------------------------------

    def _member(self, s: Session, actor: User, user_id: str) -> User:
        user = s.scalar(select(User).where(User.id == user_id, User.org_id == actor.org_id))
        if user is None:
            raise NotFound("no such member")
        return user

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

    def _today(self) -> dt.date:
        # In UTC: the limits on a start date are years wide, a zone's day either way is nothing.
        return self.clock.now().astimezone(dt.UTC).date()

    def _event(self, s: Session, name: MemberEvent, user: User, **data: str) -> str | None:
        """Records `name` for `user`; the data is the member after the change, so a subscriber
        (a workflow: "{{ member.start_date }} 09:00" in the member's zone) needs no read."""
        return self.events.record(
            s,
            name,
            org_id=user.org_id,
            subject_type="user",
            subject_id=user.id,
            data={
                "member_id": user.id,
                "email": user.email,
                "role": user.role,
                "name": user.name,
                "timezone": user.timezone,
                "start_date": user.start_date.isoformat() if user.start_date else None,
                **data,
            },
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


def _json(value: object) -> object:
    """An audit detail's value as JSON holds it (a date as YYYY-MM-DD)."""
    return value.isoformat() if isinstance(value, dt.date) else value

"""One-time links to set or reset a password: in the welcome e-mail (set, 7 days), from
"Forgot password?" (reset, 1 hour), or sent by an admin (reset).

A link's token is stateless: the user's ID, when it expires, and an HMAC (the server's secret
key) over those, its purpose and the user's current password hash. Setting a password changes
the hash, so a link works once; nothing is stored that could be used instead of it. The link is
made when its e-mail is sent (`link_for_mail`) and blanked in the outbox's record afterwards.
Using a link ends every browser session of the user."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from meetbridge.core import audit
from meetbridge.core.audit import Origin
from meetbridge.core.clock import Clock
from meetbridge.core.db import Database
from meetbridge.core.errors import NotFound, PermissionDenied, ValidationFailed
from meetbridge.core.models import AuditEvent, User, WebSession, new_id
from meetbridge.core.security import LinkSigner, b64url, hash_password, password_problem, unb64url
from meetbridge.core.settings import Settings
from meetbridge.notify.outbox import MailDelivery, queue_email


class Purpose(StrEnum):
    SET = "set"  # a new login's first password
    RESET = "reset"


LIFETIME = {Purpose.SET: dt.timedelta(days=7), Purpose.RESET: dt.timedelta(hours=1)}
# "Forgot password?" e-mails per address and per asking address in an hour; more are dropped
# silently (the answer is the same, so the form cannot be used to flood an inbox).
RESETS_PER_EMAIL = 3
RESETS_PER_ADDRESS = 10
BROKEN_LINK = "This link is not valid: it was used already, has expired, or is incomplete."


class PasswordLinks:
    def __init__(self, db: Database, settings: Settings, mail: MailDelivery, clock: Clock) -> None:
        self.db = db
        self.settings = settings
        self.mail = mail
        self.clock = clock
        self._signer = LinkSigner(settings.secret_key.get_secret_value(), "password-links")

    # ---- tokens -----------------------------------------------------------------------------

    @staticmethod
    def _message(user_id: str, purpose: str, expires: int, password_hash: str) -> str:
        return f"{purpose}:{user_id}:{expires}:{password_hash}"

    def token(self, user: User, purpose: Purpose) -> str:
        expires = int((self.clock.now() + LIFETIME[purpose]).timestamp())
        signature = self._signer.sign(self._message(user.id, purpose, expires, user.password_hash))
        return f"{b64url(user.id.encode())}.{expires}.{purpose}.{signature}"

    def link(self, user: User, purpose: Purpose) -> str:
        return f"{self.settings.effective_base_url}/password/set?token={self.token(user, purpose)}"

    def user_for(self, token: str) -> User | None:
        """The active user a token is valid for, or None."""
        try:
            raw_id, raw_expires, purpose, signature = token.split(".")
            user_id, expires = unb64url(raw_id).decode(), int(raw_expires)
        except ValueError:
            return None
        if purpose not in tuple(Purpose) or expires < self.clock.now().timestamp():
            return None
        with self.db.read() as s:
            user = s.scalar(select(User).where(User.id == user_id, User.status == "active"))
        if user is None:
            return None
        message = self._message(user.id, purpose, expires, user.password_hash)
        return user if self._signer.valid(message, signature) else None

    def link_for_mail(self, context: dict[str, Any]) -> dict[str, str]:
        """The outbox's secret maker for e-mails with a link: made at sending, never stored."""
        with self.db.read() as s:
            user = s.get(User, context.get("user_id"))
        if user is None or not user.is_active:
            return {"password_url": f"{self.settings.effective_base_url}/password/forgot"}
        return {"password_url": self.link(user, Purpose(context.get("purpose", "reset")))}

    # ---- asking for and using a link ----------------------------------------------------------

    def request_reset(self, email: str, origin: Origin) -> None:
        """ "Forgot password?": the same answer whether or not the address has a login."""
        email = email.strip().lower()[:254]
        since = self.clock.now() - dt.timedelta(hours=1)
        with self.db.write() as s:
            asked = (AuditEvent.action == "auth.password_reset_requested") & (
                AuditEvent.created_at >= since
            )
            by_email = s.scalar(select(func.count()).where(asked, AuditEvent.actor_label == email))
            by_ip = s.scalar(select(func.count()).where(asked, AuditEvent.ip == origin.ip))
            user = s.scalar(select(User).where(User.email == email, User.status == "active"))
            audit.record(
                s,
                org_id=user.org_id if user else None,
                actor_id=None,
                actor_label=email,
                action="auth.password_reset_requested",
                origin=origin,
                target_type="user" if user else None,
                target_id=user.id if user else None,
            )
            if user is None or (by_email or 0) >= RESETS_PER_EMAIL:
                return
            if (by_ip or 0) >= RESETS_PER_ADDRESS:
                return
            msg = self._queue(s, user, Purpose.RESET)
        self.mail.enqueue(msg)

    def send_reset(self, admin: User, user_id: str, origin: Origin) -> None:
        """An admin sends a member a reset link (the member sets the password, not the admin)."""
        if not admin.is_admin:
            raise PermissionDenied("only an owner or admin can do this")
        with self.db.write() as s:
            user = s.scalar(
                select(User).where(
                    User.id == user_id, User.org_id == admin.org_id, User.status == "active"
                )
            )
            if user is None:
                raise NotFound("no such member")
            msg = self._queue(s, user, Purpose.RESET)
            audit.write(
                s,
                audit.by(
                    admin,
                    "member.password_reset_sent",
                    origin,
                    "user",
                    user.id,
                    {"email": user.email},
                ),
            )
        self.mail.enqueue(msg)

    def use(self, token: str, new_password: str, origin: Origin) -> User:
        """Sets the password a link was sent for; every session of the user ends."""
        user = self.user_for(token)
        if user is None:
            raise ValidationFailed("token", BROKEN_LINK)
        problem = password_problem(new_password, user.email, user.name)
        if problem:
            raise ValidationFailed("new_password", problem)
        with self.db.write() as s:
            row = s.get(User, user.id)
            if row is None or row.password_hash != user.password_hash:  # used meanwhile
                raise ValidationFailed("token", BROKEN_LINK)
            row.password_hash = hash_password(new_password)
            row.updated_at = self.clock.now()
            ended = s.execute(delete(WebSession).where(WebSession.user_id == user.id)).rowcount  # type: ignore[attr-defined]
            audit.write(
                s,
                audit.by(
                    row,
                    "member.password_set_by_link",
                    origin,
                    "user",
                    row.id,
                    {"sessions_ended": ended},
                ),
            )
        return user

    def _queue(self, s: Session, user: User, purpose: Purpose) -> str:
        msg = queue_email(
            s,
            org_id=user.org_id,
            dedupe_key=f"password:{purpose}:{user.id}:{new_id()}",  # each request its own
            to=user.email,
            template="password_reset",
            context={
                "name": user.name,
                "user_id": user.id,
                "purpose": purpose,
                "hours": int(LIFETIME[purpose].total_seconds() // 3600),
            },
        )
        assert msg is not None
        return msg.id

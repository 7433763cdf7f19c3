"""Changing a login's e-mail address: confirmed from the new address, told to the old one.

The address is how a person signs in and where password links go, so a change is only asked
for here: a link goes to the new address, and the change takes effect when it is opened there
(a typo cannot lock anyone out; a stolen session cannot move the login to an attacker's inbox
without the password). The old address is told at once. Changing your own address needs your
password; an admin may ask for a member's.

An address that already has a login somewhere else gets no link, and the one asking is given
the same answer as for a free one: the answer must not tell anyone that an address has a login
in another organisation. Within one's own organisation the members are listed anyway, so that
conflict is said plainly.

A link's token is stateless: the user's id, the new address, its expiry and an HMAC over those
and the current address; the change makes the current address the new one, so a link works
once."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from meetbridge.accounts.inputs import normalize_email, require_admin
from meetbridge.core import audit
from meetbridge.core.audit import Origin
from meetbridge.core.clock import Clock
from meetbridge.core.db import Database
from meetbridge.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from meetbridge.core.models import User, new_id
from meetbridge.core.security import LinkSigner, b64url, unb64url, verify_password
from meetbridge.core.settings import Settings
from meetbridge.notify.outbox import MailDelivery, queue_email

LIFETIME = dt.timedelta(days=2)
BROKEN_LINK = "This link is not valid: it was used already, has expired, or is incomplete."
ASKED = (
    "A link to confirm the change went to {email}. The address changes when the link is opened "
    "there (within 2 days); until then, {old} stays the address to sign in with."
)


class EmailChanges:
    def __init__(self, db: Database, settings: Settings, mail: MailDelivery, clock: Clock) -> None:
        self.db = db
        self.settings = settings
        self.mail = mail
        self.clock = clock
        self._signer = LinkSigner(settings.secret_key.get_secret_value(), "email-change")

    def request(
        self,
        actor: User,
        user_id: str,
        new_email: str,
        origin: Origin,
        *,
        current_password: str | None = None,
    ) -> str:
        """Asks for `user_id`'s address to become `new_email`; returns what to tell the one
        asking (the same words whether or not the address is free elsewhere)."""
        email = normalize_email(new_email)
        queued: list[str] = []
        with self.db.write() as s:
            user = s.scalar(select(User).where(User.id == user_id, User.org_id == actor.org_id))
            if user is None or (user.id != actor.id and not actor.is_admin):
                raise NotFound("no such member")
            if user.id == actor.id:
                if not current_password or not verify_password(
                    user.password_hash, current_password
                ):
                    raise ValidationFailed(
                        "current_password", "is needed to change your address, and must be right"
                    )
            else:
                require_admin(actor)
                if user.role == "owner" and actor.role != "owner":
                    # Else an admin could move an owner's login to their own inbox.
                    raise PermissionDenied("only an owner can change an owner's address")
            if not user.is_active:
                raise Conflict("status", "a deactivated login cannot be edited; restore it first")
            if email == user.email:
                return f"{email} is already the address of this login."
            taken = s.scalar(
                select(User.org_id).where(User.email == email, User.status == "active")
            )
            if taken == actor.org_id:
                raise Conflict("email", "is the address of another member of your organisation")
            audit.write(
                s,
                audit.by(
                    actor,
                    "member.email_change_requested",
                    origin,
                    "user",
                    user.id,
                    {"email": {"from": user.email, "to": email}},
                ),
            )
            context = {
                "name": user.name,
                "user_id": user.id,
                "old_email": user.email,
                "new_email": email,
                "by": actor.name,
                "done": False,
            }
            if taken is None:
                queued.append(self._queue(s, user, email, "email_change", context))
            queued.append(self._queue(s, user, user.email, "email_change_notice", context))
            old = user.email
        for msg in queued:
            self.mail.enqueue(msg)
        return ASKED.format(email=email, old=old)

    def _queue(
        self, s: Session, user: User, to: str, template: str, context: dict[str, Any]
    ) -> str:
        msg = queue_email(
            s,
            org_id=user.org_id,
            dedupe_key=f"{template}:{user.id}:{new_id()}",
            to=to,
            template=template,
            context=context,
        )
        assert msg is not None
        return msg.id

    # ---- the link ---------------------------------------------------------------------------

    @staticmethod
    def _message(user: User, new: str, expires: int) -> str:
        # The login's last change is signed too: once the address changes (even back again),
        # an earlier link is spent.
        return f"{user.id}\n{user.email}\n{user.updated_at.isoformat()}\n{new}\n{expires}"

    def token(self, user: User, new_email: str) -> str:
        expires = int((self.clock.now() + LIFETIME).timestamp())
        signature = self._signer.sign(self._message(user, new_email, expires))
        return f"{b64url(user.id.encode())}.{b64url(new_email.encode())}.{expires}.{signature}"

    def link_for_mail(self, context: dict[str, Any]) -> dict[str, str]:
        """The outbox's secret maker: the link is made at sending, never stored."""
        with self.db.read() as s:
            user = s.get(User, context.get("user_id"))
        if user is None or not user.is_active:
            return {"confirm_url": f"{self.settings.effective_base_url}/signin"}
        token = self.token(user, str(context.get("new_email")))
        return {"confirm_url": f"{self.settings.effective_base_url}/email/confirm?token={token}"}

    def pending(self, token: str) -> tuple[User, str] | None:
        """The active user and new address a token is valid for, or None."""
        try:
            raw_id, raw_email, raw_expires, signature = token.split(".")
            user_id, email = unb64url(raw_id).decode(), unb64url(raw_email).decode()
            expires = int(raw_expires)
        except ValueError:
            return None
        if expires < self.clock.now().timestamp():
            return None
        with self.db.read() as s:
            user = s.scalar(select(User).where(User.id == user_id, User.status == "active"))
        if user is None:
            return None
        # Compared over any characters (a hostile link's are not all ASCII).
        valid = self._signer.valid(self._message(user, email, expires), signature)
        return (user, email) if valid else None

    def confirm(self, token: str, origin: Origin) -> User:
        """Makes the change a link was sent for, and tells the old address it is done."""
        found = self.pending(token)
        if found is None:
            raise ValidationFailed("token", BROKEN_LINK)
        user, email = found
        with self.db.write() as s:
            row = s.get(User, user.id)
            if row is None or row.email != user.email or row.updated_at != user.updated_at:
                raise ValidationFailed("token", BROKEN_LINK)
            if s.scalar(select(User.id).where(User.email == email, User.status == "active")):
                raise ValidationFailed("token", "This address has a meetbridge login already.")
            old, row.email, row.updated_at = row.email, email, self.clock.now()
            audit.write(
                s,
                audit.by(
                    row,
                    "member.email_changed",
                    origin,
                    "user",
                    row.id,
                    {"email": {"from": old, "to": email}},
                ),
            )
            msg = self._queue(
                s,
                row,
                old,
                "email_change_notice",
                {
                    "name": row.name,
                    "user_id": row.id,
                    "old_email": old,
                    "new_email": email,
                    "by": row.name,
                    "done": True,
                },
            )
        self.mail.enqueue(msg)
        return row

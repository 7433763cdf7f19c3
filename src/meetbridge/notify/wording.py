"""Per-organisation wording of the e-mails meetbridge sends: list, save (checked by rendering
against sample data, edge cases included: notify/samples.py), reset to the shipped wording.
Who may change it, and the audit entry that says they did, are decided here, once, for the web
pages and the API alike."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from meetbridge.core import audit
from meetbridge.core.audit import Origin
from meetbridge.core.db import Database, utcnow
from meetbridge.core.errors import NotFound, PermissionDenied, ValidationFailed
from meetbridge.core.models import EmailTemplate, User
from meetbridge.notify import samples
from meetbridge.notify.render import EDITABLE, WITH_JOIN_LINK, default_source


class Templates:
    """Per-organisation wording of the e-mails meetbridge sends."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def list(self, org_id: str) -> list[dict[str, Any]]:
        with self.db.read() as s:
            own = {
                t.name: t
                for t in s.scalars(select(EmailTemplate).where(EmailTemplate.org_id == org_id))
            }
        out = []
        for name, variables in EDITABLE.items():
            subject, text = default_source(name)
            mine = own.get(name)
            out.append(
                {
                    "name": name,
                    "customised": mine is not None,
                    "subject": mine.subject if mine else subject,
                    "body_text": mine.body_text if mine else text,
                    "variables": list(variables),
                    "descriptions": samples.VARIABLES[name],
                    # None: the template carries no meeting link (no switch is offered).
                    "include_join_link": (
                        (mine.include_join_link if mine else True)
                        if name in WITH_JOIN_LINK
                        else None
                    ),
                }
            )
        return out

    def save(
        self,
        actor: User,
        name: str,
        subject: str,
        body_text: str,
        origin: Origin,
        include_join_link: bool = True,
    ) -> None:
        """An owner or admin sets the organisation's wording of one e-mail, and whether it
        carries the Zoom invite link where it has one (audited)."""
        _may_change(actor)
        if name not in EDITABLE:
            raise NotFound("no such template")
        if not subject.strip() or len(subject) > 300:
            raise ValidationFailed("subject", "must be 1 to 300 characters")
        if not body_text.strip() or len(body_text) > 20_000:
            raise ValidationFailed("body_text", "must be 1 to 20,000 characters")
        # A template that cannot render (for any sample: no passcode, the longest title…) is
        # refused now, not when an e-mail is due.
        samples.check(name, subject, body_text)
        with self.db.write() as s:
            row = self._own(s, actor.org_id, name)
            if row is None:
                row = EmailTemplate(org_id=actor.org_id, name=name)
                s.add(row)
            row.subject, row.body_text = subject.strip(), body_text
            row.include_join_link = include_join_link or name not in WITH_JOIN_LINK
            row.updated_by, row.updated_at = actor.id, utcnow()
            _audit(s, actor, "settings.email_template_changed", origin, name)

    def reset(self, actor: User, name: str, origin: Origin) -> None:
        """An owner or admin puts one e-mail back to the shipped wording (audited)."""
        _may_change(actor)
        if name not in EDITABLE:
            raise NotFound("no such template")
        with self.db.write() as s:
            row = self._own(s, actor.org_id, name)
            if row is not None:
                s.delete(row)
            _audit(s, actor, "settings.email_template_reset", origin, name)

    @staticmethod
    def _own(s: Session, org_id: str, name: str) -> EmailTemplate | None:
        return s.scalar(
            select(EmailTemplate).where(EmailTemplate.org_id == org_id, EmailTemplate.name == name)
        )


def _may_change(actor: User) -> None:
    if not actor.is_admin:
        raise PermissionDenied("only an owner or admin can change the e-mail templates")


def _audit(s: Session, actor: User, action: str, origin: Origin, name: str) -> None:
    audit.write(
        s,
        audit.by(actor, action, origin, "email_template", name, {"template": name}),
    )

"""Per-organisation wording of the e-mails meetbridge sends: list, save (checked by rendering
against sample data), reset to the shipped wording."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from meetbridge.core.db import Database, utcnow
from meetbridge.core.errors import NotFound, ValidationFailed
from meetbridge.core.models import EmailTemplate
from meetbridge.notify.render import EDITABLE, default_source, render_custom

SAMPLES: dict[str, dict[str, Any]] = {
    "welcome": {
        "name": "Ada",
        "email": "ada@example.test",
        "inviter": "Grace",
        "org_name": "Example Ltd",
        "sign_in_url": "https://meetbridge.example/signin",
        "password_url": "https://meetbridge.example/password/set?token=…",
    },
    "invite": {
        "title": "Kick-off",
        "when": "Monday 01 March 2027, 09:30",
        "timezone": "Europe/London",
        "duration": 30,
        "join_url": "https://zoom.us/j/12345678901?pwd=abc",
        "meeting_id": 12345678901,
        "passcode": "abc123",
        "agenda": "Plan",
        "host": "Grace",
        "sequence": 0,
        "cancelled": False,
    },
    "zoom_lost": {
        "name": "Ada",
        "what": "Zoom no longer accepts meetbridge's access.",
        "link": "https://meetbridge.example/integrations/zoom",
    },
}


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
                }
            )
        return out

    def save(self, org_id: str, user_id: str, name: str, subject: str, body_text: str) -> None:
        if name not in EDITABLE:
            raise NotFound("no such template")
        if not subject.strip() or len(subject) > 300:
            raise ValidationFailed("subject", "must be 1 to 300 characters")
        if not body_text.strip() or len(body_text) > 20_000:
            raise ValidationFailed("body_text", "must be 1 to 20,000 characters")
        try:  # a template that cannot render is refused now, not when an e-mail is due
            render_custom(subject, body_text, **SAMPLES[name])
        except ValueError as exc:
            raise ValidationFailed("body_text", f"does not render: {exc}") from None
        with self.db.write() as s:
            row = s.scalar(
                select(EmailTemplate).where(
                    EmailTemplate.org_id == org_id, EmailTemplate.name == name
                )
            )
            if row is None:
                row = EmailTemplate(org_id=org_id, name=name)
                s.add(row)
            row.subject, row.body_text = subject.strip(), body_text
            row.updated_by, row.updated_at = user_id, utcnow()

    def reset(self, org_id: str, name: str) -> None:
        with self.db.write() as s:
            row = s.scalar(
                select(EmailTemplate).where(
                    EmailTemplate.org_id == org_id, EmailTemplate.name == name
                )
            )
            if row is not None:
                s.delete(row)

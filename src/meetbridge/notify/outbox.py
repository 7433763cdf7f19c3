"""The e-mail outbox: queue a message inside a business transaction, deliver it in a job.

Delivery claims the row with a conditional UPDATE, so two jobs for one message (the enqueue
after commit and a reconciler pass) send it once. A failure backs off and is tried again; a row
whose worker died mid-send is taken back when its lease runs out.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from meetbridge.core.db import Database, utcnow
from meetbridge.core.jobs import RECONCILE_GRACE, JobQueue
from meetbridge.core.logging import get_logger
from meetbridge.core.models import EmailMessage, EmailTemplate
from meetbridge.notify.email import Attachment, Mailer, Outgoing
from meetbridge.notify.render import render_custom, render_email

log = get_logger("meetbridge.mail")

SEND_TASK = "email.send"
RECONCILE_TASK = "email.reconcile"
MAX_ATTEMPTS = 8
LEASE = dt.timedelta(minutes=5)


def queue_email(
    session: Session,
    *,
    org_id: str | None,
    dedupe_key: str,
    to: str,
    template: str,
    context: dict[str, Any],
    ics: str | None = None,
    ics_method: str | None = None,
) -> EmailMessage | None:
    """Adds a message to the outbox in the caller's transaction. Returns None when a message
    with the same `dedupe_key` is already queued (the caller's change still commits)."""
    if session.scalar(select(EmailMessage.id).where(EmailMessage.dedupe_key == dedupe_key)):
        return None
    subject, text, rendered_html = render_email(template, **context)
    html: str | None = rendered_html
    if org_id is not None:
        own = session.scalar(
            select(EmailTemplate).where(
                EmailTemplate.org_id == org_id, EmailTemplate.name == template
            )
        )
        if own is not None:
            try:
                subject, text = render_custom(own.subject, own.body_text, **context)
                html = None  # the organisation wrote plain text
            except ValueError as exc:  # keep the shipped wording rather than lose the e-mail
                log.warning("mail.custom_template_failed", template=template, error=str(exc))
    msg = EmailMessage(
        org_id=org_id,
        dedupe_key=dedupe_key,
        to_addr=to,
        subject=subject,
        body_text=text,
        body_html=html,
        ics=ics,
        ics_method=ics_method,
    )
    try:
        with session.begin_nested():
            session.add(msg)
    except IntegrityError:
        return None
    return msg


def _invite(msg: EmailMessage) -> tuple[Attachment, ...]:
    if not msg.ics:
        return ()
    method = msg.ics_method or "REQUEST"
    return (
        Attachment(
            "invite.ics",
            msg.ics.encode(),
            "text",
            "calendar",
            {"method": method, "charset": "utf-8"},
        ),
    )


class MailDelivery:
    def __init__(self, db: Database, mailer: Mailer, jobs: JobQueue) -> None:
        self.db = db
        self.mailer = mailer
        self.jobs = jobs

    def enqueue(self, email_id: str) -> None:
        self.jobs.enqueue(SEND_TASK, email_id)

    def deliver(self, email_id: str) -> str:
        """Sends one message if it is still due. Returns its status afterwards."""
        now = utcnow()
        with self.db.write() as s:
            claimed = s.execute(
                update(EmailMessage)
                .where(
                    EmailMessage.id == email_id,
                    EmailMessage.status.in_(("pending", "sending")),
                    EmailMessage.next_attempt_at <= now,
                )
                .values(
                    status="sending",
                    attempts=EmailMessage.attempts + 1,
                    next_attempt_at=now + LEASE,
                )
            )
            msg = s.get(EmailMessage, email_id)
            if msg is None or claimed.rowcount == 0:  # type: ignore[attr-defined]
                return msg.status if msg else "missing"
            out = Outgoing(
                to=msg.to_addr,
                subject=msg.subject,
                text=msg.body_text,
                html=msg.body_html,
                message_id=f"<{msg.id}@meetbridge.local>",
                attachments=_invite(msg),
            )
            attempts = msg.attempts
        try:
            self.mailer.send(out)
        except Exception as exc:
            failed = attempts >= MAX_ATTEMPTS
            backoff = dt.timedelta(seconds=min(30 * 2 ** (attempts - 1), 3600))
            with self.db.write() as s:
                s.execute(
                    update(EmailMessage)
                    .where(EmailMessage.id == email_id)
                    .values(
                        status="failed" if failed else "pending",
                        last_error=f"{type(exc).__name__}: {exc}"[:1000],
                        next_attempt_at=utcnow() + backoff,
                    )
                )
            log.warning("mail.send_failed", email_id=email_id, attempts=attempts, error=str(exc))
            return "failed" if failed else "pending"
        with self.db.write() as s:
            s.execute(
                update(EmailMessage)
                .where(EmailMessage.id == email_id)
                .values(status="sent", sent_at=utcnow(), last_error=None)
            )
        log.info("mail.sent", email_id=email_id, attempts=attempts)
        return "sent"

    def reconcile(self, limit: int = 500) -> int:
        """Re-enqueues messages left pending (lost enqueue, back-off over) or stuck sending."""
        now = utcnow()
        with self.db.read() as s:
            ids = s.scalars(
                select(EmailMessage.id)
                .where(
                    or_(
                        (EmailMessage.status == "pending")
                        & (EmailMessage.next_attempt_at <= now - RECONCILE_GRACE),
                        (EmailMessage.status == "sending") & (EmailMessage.next_attempt_at <= now),
                    )
                )
                .order_by(EmailMessage.next_attempt_at)
                .limit(limit)
            ).all()
        for email_id in ids:
            self.enqueue(email_id)
        if ids:
            log.info("mail.reconciled", count=len(ids))
        return len(ids)

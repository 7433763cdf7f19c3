"""The e-mail outbox: queue a message inside a business transaction, deliver it in a job.

Each message is a work row (core.work): delivery claims it for a lease, so two jobs for one
message (the enqueue after commit and a reconciler pass) send it once. A failure backs off and
is tried again, up to a maximum, then stays "failed" for a person to see; a row whose worker
died mid-send is taken back when its lease runs out.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Row
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from meetbridge.core.clock import Clock
from meetbridge.core.db import Database
from meetbridge.core.jobs import JobQueue
from meetbridge.core.logging import get_logger
from meetbridge.core.models import EmailMessage, EmailTemplate
from meetbridge.core.work import Done, Later, Outcome, Retry, WorkTable
from meetbridge.notify.email import Attachment, Mailer, Outgoing
from meetbridge.notify.render import render_custom, render_email

log = get_logger("meetbridge.mail")

SEND_TASK = "email.send"
RECONCILE_TASK = "email.reconcile"


class MailStatus(StrEnum):
    PENDING = "pending"  # to send (or being sent: then the row is claimed)
    SENT = "sent"
    FAILED = "failed"  # every attempt failed; `last_error` says why


# 30 s, 1, 2, 4 … minutes between attempts, at most an hour, eight attempts in all.
RETRY = Retry(base=30, cap=3600, max_attempts=8)
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


def _invite(ics: str | None, method: str | None) -> tuple[Attachment, ...]:
    if not ics:
        return ()
    method = method or "REQUEST"
    return (
        Attachment(
            "invite.ics",
            ics.encode(),
            "text",
            "calendar",
            {"method": method, "charset": "utf-8"},
        ),
    )


class MailDelivery:
    def __init__(self, db: Database, mailer: Mailer, jobs: JobQueue, clock: Clock) -> None:
        self.db = db
        self.mailer = mailer
        self.jobs = jobs
        self.clock = clock
        self.work = WorkTable(
            EmailMessage,
            pending=[MailStatus.PENDING],
            failed=MailStatus.FAILED,
            retry=RETRY,
            lease=LEASE,
        )

    def enqueue(self, email_id: str) -> None:
        self.jobs.enqueue(SEND_TASK, email_id)

    def deliver(self, email_id: str) -> str:
        """Sends one message if it is still due. Returns its status afterwards."""
        return self.work.attempt(self.db, self.clock, email_id, self._send).status

    def _send(self, msg: Row[Any]) -> Outcome:
        out = Outgoing(
            to=msg.to_addr,
            subject=msg.subject,
            text=msg.body_text,
            html=msg.body_html,
            message_id=f"<{msg.id}@meetbridge.local>",
            attachments=_invite(msg.ics, msg.ics_method),
        )
        try:
            self.mailer.send(out)
        except Exception as exc:
            log.warning("mail.send_failed", email_id=msg.id, attempts=msg.attempts, error=str(exc))
            return Later(f"{type(exc).__name__}: {exc}")
        log.info("mail.sent", email_id=msg.id, attempts=msg.attempts)
        return Done(MailStatus.SENT, {"sent_at": self.clock.now()})

    def reconcile(self, limit: int = 500) -> int:
        """Re-enqueues messages left pending (lost enqueue, back-off over) or whose sender
        died (lease over)."""
        ids = self.work.due_ids(self.db, self.clock.now(), limit=limit)
        for email_id in ids:
            self.enqueue(email_id)
        if ids:
            log.info("mail.reconciled", count=len(ids))
        return len(ids)

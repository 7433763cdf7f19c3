"""The e-mail outbox: queue a message inside a business transaction, deliver it in a job.

Each message is a work row (core.work): delivery claims it for a lease, so two jobs for one
message (the enqueue after commit and a reconciler pass) send it once. A failure backs off and
is tried again, up to a maximum, then stays "failed" for a person to see; a row whose worker
died mid-send is taken back when its lease runs out.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable
from enum import StrEnum
from typing import Any, cast

from sqlalchemy import String, select
from sqlalchemy.engine import Row
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from meetbridge.core.clock import Clock
from meetbridge.core.db import Database
from meetbridge.core.jobs import JobQueue
from meetbridge.core.logging import get_logger
from meetbridge.core.models import EmailMessage, EmailTemplate
from meetbridge.core.work import Done, Failed, Later, Outcome, Retry, WorkTable
from meetbridge.notify.email import Attachment, Mailer, Outgoing, Undeliverable
from meetbridge.notify.render import (
    SHIPPED,
    WITH_JOIN_LINK,
    default_source,
    render_custom,
    render_email,
)

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
DEDUPE_KEY_MAX = cast(String, EmailMessage.__table__.c.dedupe_key.type).length or 200
SUBJECT_MAX = cast(String, EmailMessage.__table__.c.subject.type).length or 300


def _fit(key: str) -> str:
    """A dedupe key that fits its column whatever it is built from (an invitee's address may
    be 254 characters): a long one keeps its start and ends in a digest of the whole."""
    if len(key) <= DEDUPE_KEY_MAX:
        return key
    return key[: DEDUPE_KEY_MAX - 65] + ":" + hashlib.sha256(key.encode()).hexdigest()


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
    with the same `dedupe_key` is already queued (the caller's change still commits).

    Nothing is rendered here: the message keeps its template's name and values and is rendered
    when it is sent, so an organisation's template that fails can never undo the change that
    queued the message (it falls back to the shipped wording then)."""
    if template not in SHIPPED:
        raise ValueError(f"no e-mail template {template!r}")
    dedupe_key = _fit(dedupe_key)
    if session.scalar(select(EmailMessage.id).where(EmailMessage.dedupe_key == dedupe_key)):
        return None
    msg = EmailMessage(
        org_id=org_id,
        dedupe_key=dedupe_key,
        to_addr=to,
        template=template,
        context=context,
        ics=ics,
        ics_method=ics_method,
    )
    try:
        with session.begin_nested():
            session.add(msg)
    except IntegrityError:
        return None
    return msg


def render_message(
    db: Database, org_id: str | None, template: str, context: dict[str, Any]
) -> tuple[str, str, str | None]:
    """(subject, text, html) of a message: the organisation's own wording if it has one and it
    renders, else the shipped wording (a failing template is logged, never fatal)."""
    subject, text, html = render_email(template, **context)
    if org_id is not None:
        with db.read() as s:
            own = s.scalar(
                select(EmailTemplate).where(
                    EmailTemplate.org_id == org_id, EmailTemplate.name == template
                )
            )
        if own is not None:
            if not own.include_join_link and template in WITH_JOIN_LINK:
                context = {**context, "join_url": ""}  # the organisation switched it off
            if (own.subject, own.body_text) == default_source(template):
                # Only the switch is the organisation's: the shipped wording, HTML part too.
                subject, text, html = render_email(template, **context)
                return _subject(subject), text, html
            try:
                subject, text = render_custom(own.subject, own.body_text, **context)
                return _subject(subject), text, None  # the organisation wrote plain text
            except ValueError as exc:
                log.warning("mail.custom_template_failed", template=template, error=str(exc))
    return _subject(subject), text, html


def _blank(part: str | None, secret: dict[str, str]) -> str | None:
    for value in secret.values():
        if part is not None and value:
            part = part.replace(value, NOT_KEPT)
    return part


def _subject(value: str) -> str:
    """One line, at most SUBJECT_MAX characters (what the record keeps is what was sent)."""
    line = " ".join(value.split())
    return line if len(line) <= SUBJECT_MAX else line[: SUBJECT_MAX - 1] + "…"


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


# Values a message needs that must never be stored (a one-time sign-in link): made when the
# message is sent, from what the stored context says, and blanked in the record kept after.
Secrets = Callable[[dict[str, Any]], dict[str, str]]
NOT_KEPT = "[one-time link, not kept]"


class MailDelivery:
    def __init__(self, db: Database, mailer: Mailer, jobs: JobQueue, clock: Clock) -> None:
        self.db = db
        self.mailer = mailer
        self.jobs = jobs
        self.clock = clock
        self.secrets: dict[str, Secrets] = {}  # by template; the composition root fills it
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
        secret: dict[str, str] = {}
        if msg.template is None:  # queued before messages were rendered at sending
            subject, text, html = msg.subject, msg.body_text, msg.body_html
        else:
            context = dict(msg.context or {})
            if msg.template in self.secrets:
                secret = self.secrets[msg.template](context)
            subject, text, html = render_message(
                self.db, msg.org_id, msg.template, context | secret
            )
        out = Outgoing(
            to=msg.to_addr,
            subject=subject,
            text=text,
            html=html,
            message_id=f"<{msg.id}@meetbridge.local>",
            attachments=_invite(msg.ics, msg.ics_method),
        )
        try:
            self.mailer.send(out)
        except Undeliverable as exc:
            log.warning("mail.undeliverable", email_id=msg.id, error=str(exc))
            return Failed(str(exc))
        except Exception as exc:
            log.warning("mail.send_failed", email_id=msg.id, attempts=msg.attempts, error=str(exc))
            return Later(f"{type(exc).__name__}: {exc}")
        log.info("mail.sent", email_id=msg.id, attempts=msg.attempts)
        kept = [_blank(part, secret) for part in (subject, text, html)]
        return Done(
            MailStatus.SENT,
            {
                "sent_at": self.clock.now(),
                "subject": kept[0],
                "body_text": kept[1],
                "body_html": kept[2],
            },
        )

    def reconcile(self, limit: int = 500) -> int:
        """Re-enqueues messages left pending (lost enqueue, back-off over) or whose sender
        died (lease over)."""
        ids = self.work.due_ids(self.db, self.clock.now(), limit=limit)
        for email_id in ids:
            self.enqueue(email_id)
        if ids:
            log.info("mail.reconciled", count=len(ids))
        return len(ids)

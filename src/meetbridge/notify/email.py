"""Sending e-mail: SMTP when configured, otherwise `.eml` files in the outbox folder."""

from __future__ import annotations

import datetime as dt
import smtplib
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Protocol

from meetbridge.core.files import private_dir, write_private
from meetbridge.core.settings import Settings


@dataclass(frozen=True)
class Attachment:
    filename: str
    content: bytes
    maintype: str
    subtype: str
    params: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Outgoing:
    to: str
    subject: str
    text: str
    html: str | None = None
    attachments: tuple[Attachment, ...] = ()
    message_id: str | None = None


class Mailer(Protocol):
    def send(self, message: Outgoing) -> None: ...


def build_message(sender: str, out: Outgoing, now: dt.datetime | None = None) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = out.to
    msg["Subject"] = out.subject
    # RFC 5322 §3.6 requires an origination date; relays may reject or spam-flag mail without.
    msg["Date"] = format_datetime(now or dt.datetime.now(dt.UTC))
    msg["Message-ID"] = out.message_id or make_msgid(domain="meetbridge.local")
    msg.set_content(out.text)
    if out.html:
        msg.add_alternative(out.html, subtype="html")
    for att in out.attachments:
        msg.add_attachment(
            att.content,
            maintype=att.maintype,
            subtype=att.subtype,
            filename=att.filename,
            params=att.params,
        )
    return msg


class SmtpMailer:
    def __init__(self, settings: Settings) -> None:
        assert settings.smtp_host
        self.settings = settings

    def send(self, message: Outgoing) -> None:
        s = self.settings
        msg = build_message(s.mail_from, message)
        with smtplib.SMTP(s.smtp_host or "", s.smtp_port, timeout=s.smtp_timeout) as smtp:
            if s.smtp_starttls:
                smtp.starttls()
            if s.smtp_username and s.smtp_password:
                smtp.login(s.smtp_username, s.smtp_password.get_secret_value())
            smtp.send_message(msg)


class OutboxMailer:
    """Writes each message as an `.eml` file: the embedded default, readable by any mail app."""

    def __init__(self, settings: Settings) -> None:
        self.sender = settings.mail_from
        self.folder: Path = settings.effective_outbox_dir

    def send(self, message: Outgoing) -> None:
        private_dir(self.folder)
        msg = build_message(self.sender, message)
        name = (msg["Message-ID"] or "").strip("<>").replace("@", "_").replace("/", "_")
        write_private(self.folder / f"{name}.eml", bytes(msg))


def make_mailer(settings: Settings) -> Mailer:
    return SmtpMailer(settings) if settings.smtp_host else OutboxMailer(settings)

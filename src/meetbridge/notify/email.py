"""Sending e-mail: SMTP when configured, otherwise `.eml` files in the outbox folder."""

from __future__ import annotations

import datetime as dt
import smtplib
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Protocol

import idna

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


class Undeliverable(Exception):
    """The message cannot be delivered however often it is tried (the outbox ends it failed,
    for a person to see, instead of retrying)."""


def ascii_domain(address: str) -> str:
    """`zoë@bücher.example` → `zoë@xn--bcher-kva.example`: an internationalised domain in its
    ASCII form (IDNA, RFC 5891), which every mail server takes. Only a non-ASCII local part
    still needs a server that speaks SMTPUTF8 (RFC 6531)."""
    local, at, domain = address.rpartition("@")
    if not at or domain.isascii():
        return address
    try:
        return f"{local}@{idna.encode(domain, uts46=True).decode()}"
    except idna.IDNAError:
        return address


def build_message(sender: str, out: Outgoing, now: dt.datetime | None = None) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = ascii_domain(out.to)
    msg["Subject"] = out.subject
    # RFC 5322 §3.6 requires an origination date; relays may reject or spam-flag mail without.
    msg["Date"] = format_datetime(now or dt.datetime.now(dt.UTC))
    msg["Message-ID"] = out.message_id or make_msgid(domain="meetbridge.local")
    # Quoted-printable, not 8bit: a relay without 8BITMIME (RFC 6152) would mangle 8-bit text.
    msg.set_content(out.text, cte=_cte(out.text))
    if out.html:
        msg.add_alternative(out.html, subtype="html", cte=_cte(out.html))
    for att in out.attachments:
        msg.add_attachment(
            att.content,
            maintype=att.maintype,
            subtype=att.subtype,
            filename=att.filename,
            params=att.params,
        )
    return msg


def _cte(text: str) -> str | None:
    # ASCII: the library's choice (7bit, or quoted-printable for lines over 998 characters).
    return None if text.isascii() else "quoted-printable"


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
            try:
                smtp.send_message(msg)
            except smtplib.SMTPNotSupportedError as exc:
                raise Undeliverable(
                    f"{message.to} has a non-ASCII name before the @, and the mail server "
                    f"({s.smtp_host}) does not accept such addresses (no SMTPUTF8)"
                ) from exc
            except smtplib.SMTPRecipientsRefused as exc:
                codes = [code for code, _ in exc.recipients.values()]
                if codes and all(500 <= code < 600 for code in codes):
                    refused = f"the mail server refused {message.to}: {exc.recipients}"
                    raise Undeliverable(refused) from exc
                raise


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

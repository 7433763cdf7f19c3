"""What leaves meetbridge is a well-formed message, after a real SMTP round trip (aiosmtpd)
read back by the standard library's parser: non-ASCII names and subjects encoded, an
internationalised domain sent in its ASCII form, a calendar part a client reads, and an
address no server here can take ending failed, for a person to see, instead of retried."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import icalendar
import pytest

from meetbridge.container import Container, build_container
from meetbridge.core.models import EmailMessage
from meetbridge.notify.email import Outgoing, SmtpMailer, ascii_domain
from meetbridge.notify.ics import InviteEvent, build_invite
from meetbridge.notify.outbox import queue_email
from tests.conftest import make_settings
from tests.support import SmtpServer

SENDER = "Réunions Équipe <noreply@example.test>"


@pytest.fixture
def plain_smtp() -> Iterator[SmtpServer]:
    """A server without SMTPUTF8, as many relays are."""
    server = SmtpServer(smtputf8=False)
    server.start()
    yield server
    server.stop()


def _mailer(tmp_path: Path, smtp: SmtpServer) -> SmtpMailer:
    return SmtpMailer(make_settings(tmp_path, "sqlite://", smtp, mail_from=SENDER))


def test_non_ascii_names_and_subjects_are_encoded_and_read_back(
    tmp_path: Path, plain_smtp: SmtpServer
) -> None:
    _mailer(tmp_path, plain_smtp).send(
        Outgoing(to="zoe@example.test", subject="Réunion : Kick-off — 9:30", text="Bonjour Zoë")
    )
    [mail] = plain_smtp.inbox.wait_for("zoe@example.test")
    [(_rcpt, raw)] = plain_smtp.inbox.raw
    assert raw.isascii()  # RFC 2047 words and a transfer encoding, for any relay
    assert str(mail["From"]) == SENDER and mail["Subject"] == "Réunion : Kick-off — 9:30"
    assert mail["From"].addresses[0].display_name == "Réunions Équipe"
    assert "Bonjour Zoë" in mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert mail["Date"].datetime.tzinfo is not None and mail["Message-ID"]


def test_an_internationalised_domain_goes_in_its_ascii_form(
    tmp_path: Path, plain_smtp: SmtpServer
) -> None:
    assert ascii_domain("anna@bücher.example") == "anna@xn--bcher-kva.example"
    _mailer(tmp_path, plain_smtp).send(Outgoing(to="anna@bücher.example", subject="s", text="t"))
    [(rcpt, raw)] = plain_smtp.inbox.raw
    assert rcpt == ["anna@xn--bcher-kva.example"] and raw.isascii()


def test_a_non_ascii_mailbox_needs_a_server_that_takes_it(
    tmp_path: Path, database_url: str, plain_smtp: SmtpServer, smtp: SmtpServer
) -> None:
    # A server that speaks SMTPUTF8 gets it.
    _mailer(tmp_path, smtp).send(Outgoing(to="zoë@example.test", subject="Réunion", text="t"))
    assert smtp.inbox.wait_for("zoë@example.test")
    # One that does not: the outbox ends it failed at once, saying why, not retried forever.
    c: Container = build_container(
        make_settings(tmp_path, database_url, plain_smtp), immediate_jobs=False
    )
    with c.db.write() as s:
        msg = queue_email(
            s,
            org_id=None,
            dedupe_key="utf8",
            to="zoë@example.test",
            template="zoom_lost",
            context={"name": "Zoë", "what": "w", "link": "http://x"},
        )
        assert msg is not None
    assert c.mail.deliver(msg.id) == "failed"
    with c.db.read() as s:
        row = s.get(EmailMessage, msg.id)
        assert row is not None and "SMTPUTF8" in (row.last_error or "")
        assert row.attempts == 1
    c.close()


def test_the_calendar_part_is_one_a_client_reads(
    tmp_path: Path, database_url: str, plain_smtp: SmtpServer
) -> None:
    ics = build_invite(
        InviteEvent(
            uid="m1@meetbridge",
            sequence=2,
            title="Réunion d'équipe — Zoë",
            description="Ordre du jour : tout",
            start=dt.datetime(2027, 3, 1, 9, 30, tzinfo=dt.UTC),
            duration=dt.timedelta(minutes=30),
            timezone="Europe/Paris",
            location="https://zoom.us/j/1?pwd=x",
            organizer_email="host@example.test",
            organizer_name="Zoë Ünal",
            attendees=(("a@example.test", "Åsa"),),
            stamp=dt.datetime(2027, 2, 1, tzinfo=dt.UTC),
        )
    )
    c = build_container(make_settings(tmp_path, database_url, plain_smtp))
    with c.db.write() as s:
        msg = queue_email(
            s,
            org_id=None,
            dedupe_key="ics",
            to="a@example.test",
            template="zoom_lost",
            context={"name": "Åsa", "what": "w", "link": "http://x"},
            ics=ics,
            ics_method="REQUEST",
        )
        assert msg is not None
    assert c.mail.deliver(msg.id) == "sent"
    c.close()
    [mail] = plain_smtp.inbox.wait_for("a@example.test")
    [part] = [p for p in mail.walk() if p.get_content_type() == "text/calendar"]
    assert part.get_param("method") == "REQUEST" and part.get_content_charset() == "utf-8"
    cal = icalendar.Calendar.from_ical(part.get_content())
    event = cal.walk("VEVENT")[0]
    assert str(event["SUMMARY"]) == "Réunion d'équipe — Zoë" and int(event["SEQUENCE"]) == 2
    assert event["ORGANIZER"].params["CN"] == "Zoë Ünal"
    assert event.decoded("DTSTART").astimezone(dt.UTC) == dt.datetime(
        2027, 3, 1, 9, 30, tzinfo=dt.UTC
    )

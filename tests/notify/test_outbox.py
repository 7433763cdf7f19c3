"""The e-mail outbox: idempotent delivery, back-off when SMTP is down, the reconciler."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from meetbridge.container import Container, build_container
from meetbridge.core.clock import ManualClock
from meetbridge.core.db import utcnow
from meetbridge.core.models import EmailMessage, EmailTemplate
from meetbridge.core.settings import Settings
from meetbridge.notify.outbox import queue_email
from tests.conftest import ORIGIN, PASSWORD, make_org, make_settings
from tests.support import SmtpServer, free_port


def _queue(c: Container, key: str = "k1") -> str:
    with c.db.write() as s:
        msg = queue_email(
            s,
            org_id=None,
            dedupe_key=key,
            to="x@example.test",
            template="welcome",
            context={
                "name": "X",
                "email": "x@example.test",
                "inviter": "Y",
                "org_name": "Z",
                "sign_in_url": "http://s/signin",
            },
        )
        assert msg is not None
        return msg.id


def test_same_dedupe_key_queues_once(container: Container) -> None:
    _queue(container, "same")
    with container.db.write() as s:
        assert (
            queue_email(
                s,
                org_id=None,
                dedupe_key="same",
                to="x@example.test",
                template="welcome",
                context={},
            )
            is None
        )


def test_delivery_is_idempotent(container: Container, smtp: SmtpServer) -> None:
    email_id = _queue(container)
    assert container.mail.deliver(email_id) == "sent"
    assert container.mail.deliver(email_id) == "sent"  # a second job finds it done
    assert len(smtp.inbox.to("x@example.test")) == 1


def test_smtp_down_backs_off_then_the_reconciler_delivers(
    tmp_path: Path, database_url: str, smtp: SmtpServer
) -> None:
    clock = ManualClock(utcnow() + dt.timedelta(seconds=1))  # the worker, a moment after
    down = make_settings(tmp_path, database_url, smtp, smtp_port=free_port())
    c = build_container(down, immediate_jobs=True, clock=clock)
    email_id = _queue(c, "retry-me")
    assert c.mail.deliver(email_id) == "pending"
    with c.db.read() as s:
        row = s.get(EmailMessage, email_id)
        assert row and row.attempts == 1 and row.last_error and "Connection" in row.last_error
        assert row.next_attempt_at == clock.now() + dt.timedelta(seconds=30)
    assert c.mail.deliver(email_id) == "pending"  # not due yet: nothing is attempted
    with c.db.read() as s:
        assert (s.get(EmailMessage, email_id) or EmailMessage()).attempts == 1
    c.close()

    up = build_container(
        make_settings(tmp_path, database_url, smtp), immediate_jobs=True, clock=clock
    )
    assert up.mail.reconcile() == 0  # still backing off
    clock.advance(seconds=61)  # the back-off and the reconciler's grace have run out
    smtp.inbox.clear()
    assert up.mail.reconcile() == 1
    assert len(smtp.inbox.to("x@example.test")) == 1
    with up.db.read() as s:
        row = s.get(EmailMessage, email_id)
        assert row and row.status == "sent" and row.last_error is None
    assert up.mail.reconcile() == 0
    up.close()


def test_a_message_that_never_sends_ends_failed_for_a_person_to_see(
    tmp_path: Path, database_url: str, smtp: SmtpServer
) -> None:
    clock = ManualClock(utcnow() + dt.timedelta(seconds=1))  # the worker, a moment after
    down = make_settings(tmp_path, database_url, smtp, smtp_port=free_port())
    c = build_container(down, immediate_jobs=True, clock=clock)
    email_id = _queue(c, "never")
    statuses = []
    for _ in range(8):
        statuses.append(c.mail.deliver(email_id))
        clock.advance(hours=1)
    assert statuses == ["pending"] * 7 + ["failed"]
    with c.db.read() as s:
        row = s.get(EmailMessage, email_id)
        assert row and row.status == "failed" and "Connection" in (row.last_error or "")
    assert c.mail.reconcile() == 0  # failed for good: no more attempts
    c.close()


def test_a_send_lost_with_its_worker_is_taken_back(
    tmp_path: Path, database_url: str, smtp: SmtpServer
) -> None:
    clock = ManualClock(utcnow() + dt.timedelta(seconds=1))  # the worker, a moment after
    c = build_container(
        make_settings(tmp_path, database_url, smtp), immediate_jobs=True, clock=clock
    )
    email_id = _queue(c)
    assert c.mail.work.claim(c.db, email_id, clock.now()) is not None  # then the worker died
    clock.advance(minutes=4)
    assert c.mail.reconcile() == 0  # its lease is still running
    assert c.mail.deliver(email_id) == "pending"  # and no second sender takes it
    clock.advance(minutes=2)
    assert c.mail.reconcile() == 1
    assert len(smtp.inbox.to("x@example.test")) == 1
    with c.db.read() as s:
        row = s.get(EmailMessage, email_id)
        assert row and row.status == "sent" and row.attempts == 2
    c.close()


def test_a_member_created_while_the_queue_is_down_still_gets_mail(
    tmp_path: Path, database_url: str, smtp: SmtpServer
) -> None:
    dead_queue = make_settings(
        tmp_path, database_url, smtp, redis_url=f"redis://127.0.0.1:{free_port()}/0"
    )
    web = build_container(dead_queue)
    org = make_org(web, "Acme", "owner@acme.test")
    member = web.accounts.create_member(
        org.owner,
        email="late@acme.test",
        name="Late",
        role="member",
        password=PASSWORD,
        origin=ORIGIN,
    )  # the member is created; the failed enqueue is logged, not raised
    assert member.id
    web.close()
    assert smtp.inbox.to("late@acme.test") == []

    later = ManualClock(utcnow() + dt.timedelta(minutes=1))  # the reconciler's grace has passed
    worker = build_container(
        make_settings(tmp_path, database_url, smtp), immediate_jobs=True, clock=later
    )
    assert worker.mail.reconcile() == 1  # the member's welcome (an org's owner gets none)
    assert smtp.inbox.wait_for("late@acme.test")
    with worker.db.read() as s:
        status = s.scalar(
            select(EmailMessage.status).where(EmailMessage.to_addr == "late@acme.test")
        )
    assert status == "sent"
    worker.close()


def test_outbox_mailer_writes_eml_files(tmp_path: Path, database_url: str) -> None:
    settings = Settings(
        _env_file=None,
        data_dir=tmp_path / "var",  # type: ignore[call-arg]
        database_url=database_url,
    )
    c = build_container(settings, immediate_jobs=True)
    assert c.mail.deliver(_queue(c)) == "sent"
    [eml] = list((tmp_path / "var" / "outbox").glob("*.eml"))
    text = eml.read_text()
    assert "To: x@example.test" in text and "Welcome to Z" in text
    c.close()


LONG_ADDRESS = "a" * 64 + "@" + "b" * 63 + "." + "c" * 63 + "." + "d" * 50 + ".test"


def test_a_long_address_and_a_long_subject_fit_their_columns_on_both_databases(
    container: Container, smtp: SmtpServer
) -> None:
    assert len(LONG_ADDRESS) == 248
    with container.db.write() as s:
        msg = queue_email(
            s,
            org_id=None,
            dedupe_key=f"invite:{'m' * 36}:3:REQUEST:{LONG_ADDRESS}",
            to=LONG_ADDRESS,
            template="invite",
            context={**_INVITE, "title": "T" * 400},
        )
        assert msg is not None
        email_id = msg.id
    assert container.mail.deliver(email_id) == "sent"
    [mail] = smtp.inbox.to(LONG_ADDRESS)
    assert mail["Subject"].startswith("TTTT") and mail["Subject"].endswith("…")
    with container.db.read() as s:
        row = s.get(EmailMessage, email_id)
        assert row and row.subject and len(row.subject) == 300 and row.subject.endswith("…")
        assert len(row.dedupe_key) == 200
    with container.db.write() as s:  # the same long key again: still one message
        assert (
            queue_email(
                s,
                org_id=None,
                dedupe_key=f"invite:{'m' * 36}:3:REQUEST:{LONG_ADDRESS}",
                to=LONG_ADDRESS,
                template="invite",
                context=_INVITE,
            )
            is None
        )


_INVITE = {
    "title": "Kick-off",
    "when": "Monday 01 March 2027, 09:30",
    "timezone": "Europe/London",
    "duration": 30,
    "join_url": "https://zoom.us/j/12345678901",
    "meeting_id": 12345678901,
    "passcode": None,
    "agenda": "",
    "host": "Grace",
    "sequence": 0,
    "cancelled": False,
}


@pytest.mark.parametrize(
    "body",
    [
        "{% if passcode|length %}Passcode {{ passcode }}{% endif %}",
        "{{ 1/0 }}",
        "{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}{% endfor %}",
        "{{ 'A' * 5242880 }}",
    ],
)
def test_an_organisation_template_that_fails_falls_back_to_the_shipped_wording(
    container: Container, smtp: SmtpServer, body: str
) -> None:
    """Stored directly (as a template saved before these checks existed would be): queueing
    never fails, and the message goes out with meetbridge's own wording."""
    org = make_org(container, "Acme", "owner@acme.test")
    with container.db.write() as s:
        s.add(EmailTemplate(org_id=org.owner.org_id, name="invite", subject="Hi", body_text=body))
    with container.db.write() as s:
        msg = queue_email(
            s,
            org_id=org.owner.org_id,
            dedupe_key="fails",
            to="guest@example.test",
            template="invite",
            context=_INVITE,
        )
        assert msg is not None
    started = time.monotonic()
    assert container.mail.deliver(msg.id) == "sent"
    assert time.monotonic() - started < 3
    [mail] = smtp.inbox.to("guest@example.test")
    assert mail["Subject"] == "Kick-off (Monday 01 March 2027, 09:30)"
    text = mail.get_body(("plain",))
    assert text is not None and "https://zoom.us/j/12345678901" in text.get_content()


def test_every_message_carries_the_headers_a_relay_expects(
    container: Container, smtp: SmtpServer
) -> None:
    """Parsed by the standard library's strict parser after a real SMTP round trip."""
    assert container.mail.deliver(_queue(container, "headers")) == "sent"
    [mail] = smtp.inbox.to("x@example.test")
    date = mail["Date"]
    assert date is not None and date.datetime.tzinfo is not None
    assert abs((date.datetime - utcnow()).total_seconds()) < 60
    assert mail["Message-ID"].endswith("@meetbridge.local>")
    assert mail["From"] and mail["To"] == "x@example.test"

"""One-time links to set or reset a password, through the real outbox and SMTP server."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from meetbridge.container import Container, build_container
from meetbridge.core.clock import ManualClock
from meetbridge.core.db import utcnow
from meetbridge.core.errors import NotAuthenticated, PermissionDenied, ValidationFailed
from meetbridge.core.models import AuditEvent, EmailMessage
from meetbridge.core.settings import Settings
from tests.conftest import ORIGIN, PASSWORD, Org, make_org
from tests.support import SmtpServer

NEW = "a-fresh-passphrase-42"


@pytest.fixture
def clock() -> ManualClock:
    # Ahead of the wall clock, so what is queued during a test (stamped with the wall clock) is
    # due at once however slow the machine is (argon2 under load takes seconds).
    return ManualClock(utcnow() + dt.timedelta(minutes=5))


@pytest.fixture
def c(settings: Settings, clock: ManualClock) -> Iterator[Container]:
    container = build_container(settings, immediate_jobs=True, clock=clock)
    yield container
    container.close()


@pytest.fixture
def org(c: Container) -> Org:
    return make_org(c, "Acme", "owner@acme.test")


def _link(smtp: SmtpServer, to: str, n: int = 1) -> str:
    mail = smtp.inbox.wait_for(to, n)[-1]
    body = mail.get_body(("plain",))
    assert body is not None
    found = re.search(r"http://testserver/password/set\?token=(\S+)", body.get_content())
    assert found, body.get_content()
    return found.group(1)


def _actions(c: Container) -> list[str]:
    with c.db.read() as s:
        return list(s.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all())


def test_the_welcome_email_sets_the_first_password_once(
    c: Container, org: Org, smtp: SmtpServer
) -> None:
    member = c.accounts.create_member(
        org.owner,
        email="new@acme.test",
        name="New Hire",
        role="member",
        password=PASSWORD,
        origin=ORIGIN,
    )
    token = _link(smtp, "new@acme.test")
    session = c.signin.start_session(member, ORIGIN)
    assert c.passwords.user_for(token) is not None
    c.passwords.use(token, NEW, ORIGIN)
    assert c.signin.authenticate("new@acme.test", NEW, ORIGIN).id == member.id
    with pytest.raises(NotAuthenticated):
        c.signin.authenticate("new@acme.test", PASSWORD, ORIGIN)
    assert c.signin.session_user(session) is None  # using a link ends every session
    with pytest.raises(ValidationFailed, match="used already"):
        c.passwords.use(token, "yet-another-passphrase", ORIGIN)
    assert "member.password_set_by_link" in _actions(c)
    with c.db.read() as s:  # what the outbox keeps is not a usable link
        kept = s.scalar(
            select(EmailMessage.body_text).where(EmailMessage.to_addr == "new@acme.test")
        )
    assert kept and token not in kept and "[one-time link, not kept]" in kept


def test_forgot_password_answers_the_same_and_its_link_lasts_an_hour(
    c: Container, org: Org, smtp: SmtpServer, clock: ManualClock
) -> None:
    c.passwords.request_reset("nobody@acme.test", ORIGIN)  # no error, no e-mail
    c.passwords.request_reset("Owner@Acme.test", ORIGIN)
    token = _link(smtp, "owner@acme.test")
    assert smtp.inbox.to("nobody@acme.test") == []
    clock.advance(minutes=61)
    assert c.passwords.user_for(token) is None
    with pytest.raises(ValidationFailed, match="expired"):
        c.passwords.use(token, NEW, ORIGIN)
    assert _actions(c).count("auth.password_reset_requested") == 2


def test_forgot_password_is_throttled_per_address(c: Container, org: Org, smtp: SmtpServer) -> None:
    for _ in range(5):
        c.passwords.request_reset("owner@acme.test", ORIGIN)
    assert len(smtp.inbox.wait_for("owner@acme.test", 3)) == 3
    assert len(smtp.inbox.to("owner@acme.test")) == 3  # no more than 3 an hour


def test_an_admin_sends_a_reset_a_member_cannot(c: Container, org: Org, smtp: SmtpServer) -> None:
    member = c.accounts.create_member(
        org.owner, email="m@acme.test", name="M", role="member", password=PASSWORD, origin=ORIGIN
    )
    smtp.inbox.wait_for("m@acme.test")
    with pytest.raises(PermissionDenied):
        c.passwords.send_reset(member, org.owner.id, ORIGIN)
    c.passwords.send_reset(org.owner, member.id, ORIGIN)
    token = _link(smtp, "m@acme.test", 2)
    assert (c.passwords.user_for(token) or member).id == member.id
    assert "member.password_reset_sent" in _actions(c)


@pytest.mark.parametrize("token", ["", "x", "a.b.c.d", "bm9ib2R5.9999999999.reset.AAAA"])
def test_a_broken_link_is_refused(c: Container, token: str) -> None:
    assert c.passwords.user_for(token) is None


def test_an_admin_sends_a_reset_over_the_api(
    client: TestClient, acme: Org, smtp: SmtpServer
) -> None:
    member = client.post(
        "/api/v1/members",
        json={"email": "m@acme.test", "name": "M", "role": "member", "password": PASSWORD},
        headers=acme.headers,
    ).json()
    r = client.post(f"/api/v1/members/{member['id']}/password-reset", headers=acme.headers)
    assert r.status_code == 202
    assert len(smtp.inbox.wait_for("m@acme.test", 2)) == 2  # the welcome, then the reset
    r = client.post("/api/v1/members/nope/password-reset", headers=acme.headers)
    assert r.status_code == 404

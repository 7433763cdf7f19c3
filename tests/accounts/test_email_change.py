"""Changing a login's address: confirmed from the new address, told to the old one, your own
needing your password, and never saying that an address has a login elsewhere."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from meetbridge.app import create_app
from meetbridge.container import Container, build_container
from meetbridge.core.errors import Conflict, NotAuthenticated, PermissionDenied, ValidationFailed
from meetbridge.core.security import b64url
from meetbridge.core.settings import Settings
from tests.conftest import ORIGIN, PASSWORD, Org, make_org
from tests.support import SmtpServer


@pytest.fixture
def c(settings: Settings) -> Iterator[Container]:
    container = build_container(settings, immediate_jobs=True)
    yield container
    container.close()


@pytest.fixture
def acme(c: Container) -> Org:
    return make_org(c, "Acme", "owner@acme.test")


def _member(c: Container, org: Org, email: str) -> object:
    return c.accounts.create_member(
        org.owner, email=email, name="Ann", role="member", password=PASSWORD, origin=ORIGIN
    )


def _confirm_token(smtp: SmtpServer, to: str) -> str:
    [mail] = [m for m in smtp.inbox.wait_for(to) if "Confirm" in m["Subject"]]
    text = mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    found = re.search(r"/email/confirm\?token=(\S+)", text)
    assert found, text
    return found.group(1)


def test_a_new_address_changes_once_confirmed_and_the_old_one_is_told(
    c: Container, acme: Org, smtp: SmtpServer
) -> None:
    ann = _member(c, acme, "ann@acme.test")
    said = c.email_changes.request(
        ann,
        ann.id,
        "Ann.New@Example.test",
        ORIGIN,
        current_password=PASSWORD,  # type: ignore[attr-defined]
    )
    assert "ann.new@example.test" in said
    notice = [m for m in smtp.inbox.wait_for("ann@acme.test", 2) if "asked" in m["Subject"]]
    assert notice and "ann.new@example.test" in notice[0].get_body(("plain",)).get_content()  # type: ignore[union-attr]
    # Until the link is opened, nothing changes: the old address still signs in.
    assert c.signin.authenticate("ann@acme.test", PASSWORD, ORIGIN).id == ann.id  # type: ignore[attr-defined]

    token = _confirm_token(smtp, "ann.new@example.test")
    c.email_changes.confirm(token, ORIGIN)
    assert c.signin.authenticate("ann.new@example.test", PASSWORD, ORIGIN).id == ann.id  # type: ignore[attr-defined]
    with pytest.raises(NotAuthenticated):
        c.signin.authenticate("ann@acme.test", PASSWORD, ORIGIN)
    done = smtp.inbox.wait_for("ann@acme.test", 3)[-1]
    assert done["Subject"] == "Your meetbridge address is now ann.new@example.test"
    with pytest.raises(ValidationFailed, match="used already"):  # a link works once
        c.email_changes.confirm(token, ORIGIN)


def test_your_own_address_needs_your_password(c: Container, acme: Org, smtp: SmtpServer) -> None:
    ann = _member(c, acme, "ann@acme.test")
    for wrong in (None, "not-my-password"):
        with pytest.raises(ValidationFailed) as e:
            c.email_changes.request(ann, ann.id, "x@example.test", ORIGIN, current_password=wrong)  # type: ignore[attr-defined]
        assert e.value.errors[0].field == "current_password"
    # An admin may ask for a member's without it.
    c.email_changes.request(acme.owner, ann.id, "x@example.test", ORIGIN)  # type: ignore[attr-defined]
    assert _confirm_token(smtp, "x@example.test")


def test_an_address_with_a_login_elsewhere_is_not_revealed(
    c: Container, acme: Org, smtp: SmtpServer
) -> None:
    make_org(c, "Globex", "owner@globex.test")
    ann = _member(c, acme, "ann@acme.test")
    bob = _member(c, acme, "bob@acme.test")
    free = c.email_changes.request(acme.owner, ann.id, "nobody@example.test", ORIGIN)  # type: ignore[attr-defined]
    taken = c.email_changes.request(acme.owner, bob.id, "owner@globex.test", ORIGIN)  # type: ignore[attr-defined]
    assert taken == free.replace("nobody@example.test", "owner@globex.test").replace(
        "ann@acme.test", "bob@acme.test"
    )
    # No link goes to the other organisation's login; the old address is still told.
    smtp.inbox.wait_for("bob@acme.test", 2)
    assert not [m for m in smtp.inbox.messages if m["To"] == "owner@globex.test"]
    # Within the organisation the members are listed anyway: said plainly.
    with pytest.raises(Conflict, match="another member of your organisation"):
        c.email_changes.request(acme.owner, ann.id, "bob@acme.test", ORIGIN)  # type: ignore[attr-defined]


def test_the_api_and_the_confirm_page(c: Container, acme: Org, smtp: SmtpServer) -> None:
    ann = _member(c, acme, "ann@acme.test")
    client = TestClient(create_app(c))
    r = client.patch(
        f"/api/v1/members/{ann.id}", json={"email": "z@example.test"}, headers=acme.headers
    )  # type: ignore[attr-defined]
    assert r.status_code == 422 and "/email" in r.json()["error"]["fields"][0]["reason"]
    r = client.post(
        f"/api/v1/members/{ann.id}/email", json={"email": "z@example.test"}, headers=acme.headers
    )  # type: ignore[attr-defined]
    assert r.status_code == 202 and "z@example.test" in r.json()["message"]
    token = _confirm_token(smtp, "z@example.test")
    page = client.get(f"/email/confirm?token={token}")
    assert page.status_code == 200 and "z@example.test" in page.text
    assert page.headers["cache-control"] == "no-store"
    assert c.accounts.get_member(acme.owner, ann.id).email == "ann@acme.test"  # opening: no change  # type: ignore[attr-defined]
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert csrf
    done = client.post(
        "/email/confirm", data={"csrf_token": csrf.group(1), "token": token}, follow_redirects=False
    )
    assert done.status_code == 303
    assert c.accounts.get_member(acme.owner, ann.id).email == "z@example.test"  # type: ignore[attr-defined]


def test_an_admin_cannot_move_an_owners_login(c: Container, acme: Org) -> None:
    admin = c.accounts.create_member(
        acme.owner,
        email="adm@acme.test",
        name="Adm",
        role="admin",
        password=PASSWORD,
        origin=ORIGIN,
    )
    with pytest.raises(PermissionDenied):
        c.email_changes.request(admin, acme.owner.id, "mine@evil.test", ORIGIN)


def test_a_link_is_spent_once_the_address_changed_even_back_again(
    c: Container, acme: Org, smtp: SmtpServer
) -> None:
    ann = _member(c, acme, "ann@acme.test")
    c.email_changes.request(acme.owner, ann.id, "b@example.test", ORIGIN)  # type: ignore[attr-defined]
    first = _confirm_token(smtp, "b@example.test")
    c.email_changes.confirm(first, ORIGIN)
    c.email_changes.request(acme.owner, ann.id, "ann@acme.test", ORIGIN)  # type: ignore[attr-defined]
    c.email_changes.confirm(_confirm_token(smtp, "ann@acme.test"), ORIGIN)
    with pytest.raises(ValidationFailed, match="used already"):
        c.email_changes.confirm(first, ORIGIN)


def test_a_hostile_link_is_just_not_valid(c: Container, acme: Org) -> None:
    ann = _member(c, acme, "ann@acme.test")
    client = TestClient(create_app(c))
    # A real login and address, a signature that is not ASCII: reaches the comparison.
    forged = f"{b64url(ann.id.encode())}.{b64url(b'x@example.test')}.9999999999.é"  # type: ignore[attr-defined]
    for token in (forged, "é.é.é.é", "no-dots", ""):
        page = client.get("/email/confirm", params={"token": token})
        assert page.status_code == 200 and "not valid" in page.text

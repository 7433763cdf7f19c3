"""Settings → E-mail templates in the pages: the same rule and audit as the API's."""

from __future__ import annotations

from fastapi.testclient import TestClient

from meetbridge.container import Container
from tests.api.test_email_templates import WORDING, welcome
from tests.conftest import ORIGIN, PASSWORD, Org
from tests.web.test_pages import csrf, sign_in


def test_a_member_cannot_save_or_reset_the_wording_from_the_page(
    client: TestClient, container: Container, acme: Org
) -> None:
    container.accounts.create_member(
        acme.owner,
        email="ann@acme.test",
        name="Ann",
        role="member",
        password=PASSWORD,
        origin=ORIGIN,
    )
    sign_in(client, "ann@acme.test")
    token = csrf(client.get("/settings/templates").text)
    for action in ("save", "reset"):
        r = client.post(
            "/settings/templates/welcome", data={"csrf_token": token, "action": action, **WORDING}
        )
        assert r.status_code == 403, action
        assert "only an owner or admin can change the e-mail templates" in r.text
    assert welcome(client, acme.headers)["customised"] is False
    actions = [e["action"] for e in client.get("/api/v1/audit", headers=acme.headers).json()]
    assert not [a for a in actions if a.startswith("settings.email_template")]


def test_a_reset_from_the_page_is_audited_as_a_reset(client: TestClient, acme: Org) -> None:
    sign_in(client, "owner@acme.test")
    token = csrf(client.get("/settings/templates").text)
    r = client.post(
        "/settings/templates/welcome", data={"csrf_token": token, "action": "save", **WORDING}
    )
    assert r.status_code == 200 and "The welcome e-mail is saved." in r.text
    assert welcome(client, acme.headers)["customised"] is True
    r = client.post("/settings/templates/welcome", data={"csrf_token": token, "action": "reset"})
    assert r.status_code == 200 and "back to meetbridge" in r.text
    assert welcome(client, acme.headers)["customised"] is False
    events = client.get("/api/v1/audit", headers=acme.headers).json()
    assert [(e["action"], e["details"]) for e in events[:2]] == [
        ("settings.email_template_reset", {"via": "web", "template": "welcome"}),
        ("settings.email_template_changed", {"via": "web", "template": "welcome"}),
    ]

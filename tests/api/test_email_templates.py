"""The organisation's e-mail wording over the API: who may change it, and the audit log."""

from __future__ import annotations

from fastapi.testclient import TestClient

from meetbridge.container import Container
from tests.conftest import ORIGIN, PASSWORD, Org

WORDING = {"subject": "Welcome aboard, {{ name }}", "body_text": "Sign in at {{ sign_in_url }}"}


def member_headers(c: Container, org: Org, email: str = "ann@acme.test") -> dict[str, str]:
    ann = c.accounts.create_member(
        org.owner, email=email, name="Ann", role="member", password=PASSWORD, origin=ORIGIN
    )
    secret = c.accounts.create_api_token(ann, name="ann's", origin=ORIGIN).secret
    return {"Authorization": f"Bearer {secret}"}


def welcome(client: TestClient, headers: dict[str, str]) -> dict[str, object]:
    r = client.get("/api/v1/email-templates", headers=headers)
    assert r.status_code == 200
    found: dict[str, object] = next(t for t in r.json() if t["name"] == "welcome")
    return found


def test_a_member_may_read_but_not_change_or_reset_the_wording(
    client: TestClient, container: Container, acme: Org
) -> None:
    ann = member_headers(container, acme)
    assert welcome(client, ann)["customised"] is False
    r = client.put("/api/v1/email-templates/welcome", json=WORDING, headers=ann)
    assert r.status_code == 403, r.text
    assert "owner or admin" in r.json()["error"]["message"]
    assert client.delete("/api/v1/email-templates/welcome", headers=ann).status_code == 403
    assert welcome(client, acme.headers)["customised"] is False
    actions = [e["action"] for e in client.get("/api/v1/audit", headers=acme.headers).json()]
    assert not [a for a in actions if a.startswith("settings.email_template")]


def test_an_admin_saves_and_resets_and_the_audit_log_says_so(client: TestClient, acme: Org) -> None:
    r = client.put("/api/v1/email-templates/welcome", json=WORDING, headers=acme.headers)
    assert r.status_code == 204, r.text
    assert welcome(client, acme.headers)["subject"] == WORDING["subject"]
    assert client.delete("/api/v1/email-templates/welcome", headers=acme.headers).status_code == 204
    assert welcome(client, acme.headers)["customised"] is False
    events = client.get("/api/v1/audit", headers=acme.headers).json()
    assert [(e["action"], e["details"]) for e in events[:2]] == [
        ("settings.email_template_reset", {"via": "api", "template": "welcome"}),
        ("settings.email_template_changed", {"via": "api", "template": "welcome"}),
    ]
    assert events[0]["actor_label"] == "owner@acme.test"


def test_an_unknown_template_is_not_found_and_not_audited(client: TestClient, acme: Org) -> None:
    assert (
        client.put("/api/v1/email-templates/nope", json=WORDING, headers=acme.headers).status_code
        == 404
    )
    assert client.delete("/api/v1/email-templates/nope", headers=acme.headers).status_code == 404
    actions = [e["action"] for e in client.get("/api/v1/audit", headers=acme.headers).json()]
    assert not [a for a in actions if a.startswith("settings.email_template")]

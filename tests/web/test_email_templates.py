"""Settings → E-mail templates in the pages: the same rule and audit as the API's."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from meetbridge.container import Container
from tests.api.test_email_templates import WORDING, welcome
from tests.conftest import Org
from tests.web.test_pages import add_member, csrf, sign_in


def test_a_member_cannot_save_or_reset_the_wording_from_the_page(
    client: TestClient, container: Container, acme: Org
) -> None:
    add_member(container, acme)
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


# Each breaks only on some sample (or on all): refused at save, with the field and the sample
# named, and nothing saved.
BROKEN = [
    ("{% if passcode|length %}P{% endif %}", "body_text", "a meeting without a passcode"),
    ("{{ 1/0 }}", "body_text", "ZeroDivisionError"),
    (
        "{% for a in range(100000) %}{% for b in range(100000) %}"
        "{% for c in range(100000) %}{% endfor %}{% endfor %}{% endfor %}",
        "body_text",
        "takes longer than",
    ),
    ("{{ 'A' * 5242880 }}", "body_text", "longer than 100,000 characters"),
    ("{{ agenda[0] }}", "body_text", "a meeting without an agenda"),
]


@pytest.mark.parametrize(("body", "field", "why"), BROKEN)
def test_a_template_that_breaks_on_a_sample_is_refused_at_save(
    client: TestClient, acme: Org, body: str, field: str, why: str
) -> None:
    r = client.put(
        "/api/v1/email-templates/invite",
        json={"subject": "{{ title }}", "body_text": body},
        headers=acme.headers,
    )
    assert r.status_code == 422, r.text
    [reason] = r.json()["error"]["fields"]
    assert reason["field"] == field and "does not render for" in reason["reason"]
    assert why in reason["reason"]
    saved = client.get("/api/v1/email-templates", headers=acme.headers).json()
    assert next(t for t in saved if t["name"] == "invite")["customised"] is False


def test_a_subject_that_breaks_on_a_long_title_is_refused_naming_the_subject(
    client: TestClient, acme: Org
) -> None:
    sign_in(client, "owner@acme.test")
    token = csrf(client.get("/settings/templates").text)
    r = client.post(
        "/settings/templates/invite",
        data={
            "csrf_token": token,
            "action": "save",
            "subject": "{{ [1][title|length] }}",
            "body_text": "Join {{ join_url }}",
        },
    )
    assert r.status_code == 422
    assert "subject: does not render for" in r.text
    page = client.get("/settings/templates").text
    assert "customised" not in page.split('id="tpl-invite"')[1].split("</section>")[0]


def test_the_preview_renders_what_is_typed_with_sample_data(client: TestClient, acme: Org) -> None:
    sign_in(client, "owner@acme.test")
    page = client.get("/settings/templates").text
    assert 'id="preview-invite"' in page and "Kick-off" in page  # the shipped wording, rendered
    assert "the Zoom join link" in page  # the variables, described
    token = csrf(page)
    r = client.post(
        "/settings/templates/invite/preview",
        data={"csrf_token": token, "subject": "Hi: {{ title }}", "body_text": "By {{ host }}"},
    )
    assert r.status_code == 200
    assert "Hi: Kick-off" in r.text and "By Grace" in r.text
    r = client.post(
        "/settings/templates/invite/preview",
        data={"csrf_token": token, "subject": "x", "body_text": "{{ nope }}"},
    )
    assert r.status_code == 200 and "Does not render" in r.text and "nope" in r.text
    assert (
        next(
            t
            for t in client.get("/api/v1/email-templates", headers=acme.headers).json()
            if t["name"] == "invite"
        )["customised"]
        is False
    )

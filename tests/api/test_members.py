"""The REST API for members, tokens, audit and sub-accounts, over HTTP against the app."""

from __future__ import annotations

import datetime as dt

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from meetbridge.container import Container
from meetbridge.core.models import AuditEvent, EmailMessage, User
from tests.conftest import PASSWORD, Org
from tests.support import SmtpServer

NEW = {"email": "Ann@Acme.test", "name": "Ann Lee", "role": "member", "password": PASSWORD}


def _counts(c: Container) -> tuple[int, int]:
    with c.db.read() as s:
        return (
            s.scalar(select(func.count()).select_from(User)) or 0,
            s.scalar(select(func.count()).select_from(EmailMessage)) or 0,
        )


def test_me_shows_the_token_owner_and_organisation(client: TestClient, acme: Org) -> None:
    r = client.get("/api/v1/me", headers=acme.headers)
    assert r.status_code == 200
    body = r.json()
    assert body["email"] == "owner@acme.test"
    assert body["role"] == "owner"
    assert body["org"]["name"] == "Acme"
    assert r.headers["x-request-id"]


def test_missing_or_bad_token_is_401(client: TestClient, acme: Org) -> None:
    assert client.get("/api/v1/me").status_code == 401
    r = client.get("/api/v1/me", headers={"Authorization": "Bearer mbp_nope"})
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "not_authenticated"


def test_admin_creates_member_who_gets_a_welcome_email(
    client: TestClient, acme: Org, smtp: SmtpServer
) -> None:
    r = client.post("/api/v1/members", json=NEW, headers=acme.headers)
    assert r.status_code == 201, r.text
    member = r.json()
    assert member["email"] == "ann@acme.test"  # normalised
    assert member["org_id"] == acme.owner.org_id
    [mail] = smtp.inbox.wait_for("ann@acme.test")
    assert "Welcome to Acme" in mail["Subject"]
    assert "http://testserver/signin" in mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]


def test_duplicate_email_is_409_and_writes_nothing(
    client: TestClient, container: Container, acme: Org
) -> None:
    assert client.post("/api/v1/members", json=NEW, headers=acme.headers).status_code == 201
    before = _counts(container)
    r = client.post("/api/v1/members", json={**NEW, "email": "ann@ACME.test"}, headers=acme.headers)
    assert r.status_code == 409
    assert r.json()["error"]["fields"] == [
        {"field": "email", "reason": "is already used by an active login"}
    ]
    assert _counts(container) == before


def test_bad_input_gets_a_precise_4xx_naming_the_field(
    client: TestClient, container: Container, acme: Org
) -> None:
    cases = [
        ({**NEW, "password": "short"}, 422, "password"),
        ({**NEW, "password": "aaaaaaaaaaaa"}, 422, "password"),
        ({**NEW, "role": "superuser"}, 422, "role"),
        ({**NEW, "email": "not-an-email"}, 422, "email"),
        ({**NEW, "name": "   "}, 422, "name"),
        ({**NEW, "timezone": "Mars/Olympus"}, 422, "timezone"),
        ({**NEW, "start_date": "2027-02-30"}, 422, "start_date"),
        ({**NEW, "start_date": "04/01/2027"}, 422, "start_date"),
        ({**NEW, "start_date": "1999-01-04"}, 422, "start_date"),
        ({**NEW, "start_date": 20270104}, 422, "start_date"),
        ({**NEW, "unexpected": 1}, 422, "unexpected"),
        ({k: v for k, v in NEW.items() if k != "email"}, 422, "email"),
    ]
    before = _counts(container)
    for body, status, field in cases:
        r = client.post("/api/v1/members", json=body, headers=acme.headers)
        assert r.status_code == status, (body, r.text)
        fields = [f["field"] for f in r.json()["error"]["fields"]]
        assert field in fields, (body, r.json())
        assert all(f["reason"] for f in r.json()["error"]["fields"])
    assert _counts(container) == before


def _days(c: Container, n: int) -> str:
    return (c.clock.now().astimezone(dt.UTC).date() + dt.timedelta(days=n)).isoformat()


def test_a_start_date_round_trip(client: TestClient, container: Container, acme: Org) -> None:
    first_day = _days(container, 30)
    r = client.post("/api/v1/members", json={**NEW, "start_date": first_day}, headers=acme.headers)
    assert r.status_code == 201, r.text
    member = r.json()
    assert member["start_date"] == first_day
    url = f"/api/v1/members/{member['id']}"
    assert client.get(url, headers=acme.headers).json()["start_date"] == first_day
    listed = client.get("/api/v1/members", headers=acme.headers).json()
    assert {m["email"]: m["start_date"] for m in listed} == {
        "owner@acme.test": None,
        "ann@acme.test": first_day,
    }
    moved = _days(container, 37)
    r = client.patch(url, json={"start_date": moved}, headers=acme.headers)
    assert r.status_code == 200 and r.json()["start_date"] == moved, r.text
    # Not sent: left as it is; null: cleared.
    r = client.patch(url, json={"name": "Ann Smith"}, headers=acme.headers)
    assert r.json()["start_date"] == moved
    r = client.patch(url, json={"start_date": None}, headers=acme.headers)
    assert r.status_code == 200 and r.json()["start_date"] is None
    assert client.get(url, headers=acme.headers).json()["start_date"] is None
    [changed, *_] = client.get("/api/v1/audit", headers=acme.headers).json()
    assert changed["details"]["start_date"] == {"from": moved, "to": None}


def test_a_bad_start_date_is_named_with_the_other_bad_fields(
    client: TestClient, container: Container, acme: Org
) -> None:
    before = _counts(container)
    body = {
        **NEW,
        "start_date": "2027-02-30",
        "timezone": "Mars/Olympus",
        "password": "aaaaaaaaaaaa",  # long enough for the schema, refused by the service
    }
    r = client.post("/api/v1/members", json=body, headers=acme.headers)
    assert r.status_code == 422, r.text
    fields = {f["field"]: f["reason"] for f in r.json()["error"]["fields"]}
    assert set(fields) == {"password", "timezone", "start_date"}, fields
    assert fields["start_date"] == "2027-02-30 is not a day of the calendar"
    for years, said in ((-3, "is more than 2 years ago: the earliest is "), (6, "ahead: the ")):
        far = _days(container, years * 366)
        r = client.post("/api/v1/members", json={**NEW, "start_date": far}, headers=acme.headers)
        assert r.status_code == 422, r.text
        [error] = r.json()["error"]["fields"]
        assert error["field"] == "start_date" and said in error["reason"], error
    assert _counts(container) == before

    member = client.post("/api/v1/members", json=NEW, headers=acme.headers).json()
    r = client.patch(
        f"/api/v1/members/{member['id']}",
        json={"start_date": "next monday", "timezone": "Mars/Olympus"},
        headers=acme.headers,
    )
    assert r.status_code == 422
    assert {f["field"] for f in r.json()["error"]["fields"]} == {"timezone", "start_date"}


def test_members_cannot_set_their_own_start_date(
    client: TestClient, container: Container, acme: Org
) -> None:
    me = client.post("/api/v1/members", json=NEW, headers=acme.headers).json()
    theirs = {"Authorization": f"Bearer {_token_for(client, 'ann@acme.test')}"}
    r = client.patch(
        f"/api/v1/members/{me['id']}", json={"start_date": _days(container, 1)}, headers=theirs
    )
    assert r.status_code == 403
    assert client.get("/api/v1/me", headers=theirs).json()["start_date"] is None


def test_malformed_json_and_oversized_bodies(client: TestClient, acme: Org) -> None:
    r = client.post(
        "/api/v1/members",
        content=b'{"email": ',
        headers={**acme.headers, "content-type": "application/json"},
    )
    assert r.status_code == 422
    assert r.json()["error"]["fields"][0]["field"] == "body"
    big = {**NEW, "name": "x" * 2_000_000}
    r = client.post("/api/v1/members", json=big, headers=acme.headers)
    assert r.status_code == 413
    assert r.json()["error"]["fields"][0]["field"] == "body"


def test_another_organisations_ids_are_not_found(
    client: TestClient, acme: Org, globex: Org
) -> None:
    theirs = client.post("/api/v1/members", json=NEW, headers=globex.headers).json()
    for method, path, body in [
        ("GET", f"/api/v1/members/{theirs['id']}", None),
        ("PATCH", f"/api/v1/members/{theirs['id']}", {"name": "Hijacked"}),
        ("POST", f"/api/v1/members/{theirs['id']}/deactivate", None),
        ("POST", f"/api/v1/members/{theirs['id']}/restore", {"password": PASSWORD}),
    ]:
        r = client.request(method, path, json=body, headers=acme.headers)
        assert r.status_code == 404, (method, path, r.text)
    listed = client.get("/api/v1/members", headers=acme.headers).json()
    assert theirs["id"] not in {m["id"] for m in listed}
    assert (
        client.get(f"/api/v1/members/{theirs['id']}", headers=globex.headers).json()["name"]
        == "Ann Lee"
    )
    token_id = client.get("/api/v1/tokens", headers=globex.headers).json()[0]["id"]
    assert client.delete(f"/api/v1/tokens/{token_id}", headers=acme.headers).status_code == 404
    audit = client.get("/api/v1/audit", headers=acme.headers).json()
    assert all(e["target_id"] != theirs["id"] for e in audit)


def test_members_cannot_manage_members(client: TestClient, acme: Org) -> None:
    client.post("/api/v1/members", json=NEW, headers=acme.headers)
    token = _token_for(client, "ann@acme.test")
    r = client.post(
        "/api/v1/members",
        json={**NEW, "email": "bob@acme.test"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert r.status_code == 403
    assert (
        client.get("/api/v1/audit", headers={"Authorization": f"Bearer {token}"}).status_code == 403
    )
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).json()
    r = client.patch(
        f"/api/v1/members/{me['id']}",
        json={"role": "admin"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert r.status_code == 403
    r = client.patch(
        f"/api/v1/members/{me['id']}",
        json={"name": "Ann L."},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert r.status_code == 200
    assert r.json()["name"] == "Ann L."


def _token_for(client: TestClient, email: str) -> str:
    """Signs in through the pages and creates a token, as the person would."""
    page = TestClient(client.app)
    csrf = _csrf(page.get("/signin").text)
    r = page.post(
        "/signin",
        data={"email": email, "password": PASSWORD, "csrf_token": csrf},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    csrf = _csrf(page.get("/settings/tokens").text)
    r = page.post("/settings/tokens", data={"name": "mine", "csrf_token": csrf})
    assert r.status_code == 201
    import re

    match = re.search(r'id="new-token">([^<]+)<', r.text)
    assert match
    return match.group(1)


def _csrf(html: str) -> str:
    import re

    match = re.search(r'name="csrf_token" value="([0-9a-f]+)"', html)
    assert match, html[:500]
    return match.group(1)


def test_deactivate_ends_access_and_restore_makes_a_new_id(
    client: TestClient, container: Container, acme: Org, smtp: SmtpServer
) -> None:
    member = client.post("/api/v1/members", json=NEW, headers=acme.headers).json()
    token = _token_for(client, "ann@acme.test")
    theirs = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/me", headers=theirs).status_code == 200

    r = client.post(f"/api/v1/members/{member['id']}/deactivate", headers=acme.headers)
    assert r.status_code == 200
    assert r.json()["status"] == "deactivated"
    assert client.get("/api/v1/me", headers=theirs).status_code == 401
    again = client.post(f"/api/v1/members/{member['id']}/deactivate", headers=acme.headers)
    assert again.status_code == 409

    # The e-mail is free again for a new login while the old row stays on record.
    r = client.post(
        f"/api/v1/members/{member['id']}/restore", json={"password": "short"}, headers=acme.headers
    )
    assert r.status_code == 422
    r = client.post(
        f"/api/v1/members/{member['id']}/restore", json={"password": PASSWORD}, headers=acme.headers
    )
    assert r.status_code == 201, r.text
    restored = r.json()
    assert restored["id"] != member["id"]
    assert restored["restored_from_id"] == member["id"]
    assert restored["email"] == member["email"]
    assert len(smtp.inbox.wait_for("ann@acme.test", count=2)) == 2
    second = client.post(
        f"/api/v1/members/{member['id']}/restore", json={"password": PASSWORD}, headers=acme.headers
    )
    assert second.status_code == 409
    everyone = client.get("/api/v1/members?include_inactive=true", headers=acme.headers).json()
    assert {m["id"] for m in everyone} >= {member["id"], restored["id"]}


def test_owner_rules(client: TestClient, container: Container, acme: Org) -> None:
    admin = client.post(
        "/api/v1/members", json={**NEW, "role": "admin"}, headers=acme.headers
    ).json()
    token = _token_for(client, "ann@acme.test")
    as_admin = {"Authorization": f"Bearer {token}"}
    r = client.post(
        "/api/v1/members", json={**NEW, "email": "o2@acme.test", "role": "owner"}, headers=as_admin
    )
    assert r.status_code == 403
    r = client.post(f"/api/v1/members/{acme.owner.id}/deactivate", headers=as_admin)
    assert r.status_code == 403
    r = client.post(f"/api/v1/members/{acme.owner.id}/deactivate", headers=acme.headers)
    assert r.status_code == 409  # yourself
    r = client.patch(
        f"/api/v1/members/{acme.owner.id}", json={"role": "admin"}, headers=acme.headers
    )
    assert r.status_code == 409  # the last owner stays
    assert r.json()["error"]["fields"][0]["field"] == "role"
    assert admin["role"] == "admin"


def test_api_tokens_create_list_revoke(client: TestClient, acme: Org) -> None:
    r = client.post("/api/v1/tokens", json={"name": "ci"}, headers=acme.headers)
    assert r.status_code == 201
    created = r.json()
    assert created["token"].startswith("mbp_")
    assert created["prefix"] == created["token"][:8]
    dup = client.post("/api/v1/tokens", json={"name": "ci"}, headers=acme.headers)
    assert dup.status_code == 409
    listed = client.get("/api/v1/tokens", headers=acme.headers).json()
    assert {t["name"] for t in listed} == {"tests", "ci"}
    assert all("token" not in t for t in listed)
    new = {"Authorization": f"Bearer {created['token']}"}
    assert client.get("/api/v1/me", headers=new).status_code == 200
    assert client.delete(f"/api/v1/tokens/{created['id']}", headers=acme.headers).json()[
        "revoked_at"
    ]
    assert client.get("/api/v1/me", headers=new).status_code == 401


def test_revoking_a_token_revokes_the_tokens_it_made(client: TestClient, acme: Org) -> None:
    def mint(name: str, headers: dict[str, str]) -> dict[str, str]:
        r = client.post("/api/v1/tokens", json={"name": name}, headers=headers)
        assert r.status_code == 201, r.text
        return {
            "id": r.json()["id"],
            "parent_id": r.json()["parent_id"],
            "token": r.json()["token"],
        }

    def auth(t: dict[str, str]) -> dict[str, str]:
        return {"Authorization": f"Bearer {t['token']}"}

    leaked = mint("leaked", acme.headers)
    child = mint("child", auth(leaked))
    grandchild = mint("grandchild", auth(child))
    assert grandchild["parent_id"] == child["id"] and child["parent_id"] == leaked["id"]

    assert client.delete(f"/api/v1/tokens/{leaked['id']}", headers=acme.headers).status_code == 200
    for t in (leaked, child, grandchild):
        assert client.get("/api/v1/me", headers=auth(t)).status_code == 401
    assert client.get("/api/v1/me", headers=acme.headers).status_code == 200  # its parent lives
    revoked = {
        t["name"]
        for t in client.get("/api/v1/tokens", headers=acme.headers).json()
        if t["revoked_at"]
    }
    assert revoked == {"leaked", "child", "grandchild"}
    # A revoked token mints nothing, even if this process remembers its caller.
    assert client.post("/api/v1/tokens", json={"name": "x"}, headers=auth(child)).status_code == 401


def test_audit_log_records_who_what_when_where(
    client: TestClient, container: Container, acme: Org
) -> None:
    member = client.post(
        "/api/v1/members",
        json=NEW,
        headers=acme.headers,
    ).json()
    client.patch(
        f"/api/v1/members/{member['id']}", json={"name": "Ann Smith"}, headers=acme.headers
    )
    events = client.get("/api/v1/audit", headers=acme.headers).json()
    actions = [e["action"] for e in events]
    assert actions[:2] == ["member.updated", "member.created"]
    updated = events[0]
    assert updated["actor_label"] == "owner@acme.test"
    assert updated["details"]["name"] == {"from": "Ann Lee", "to": "Ann Smith"}
    assert updated["details"]["via"] == "api"
    assert updated["ip"] == "testclient"
    assert updated["request_id"]
    with container.db.read() as s:
        assert s.scalar(select(func.count()).select_from(AuditEvent)) >= 3


def test_subaccounts(client: TestClient, acme: Org) -> None:
    body = {
        "name": "Acme West",
        "owner_email": "west@acme.test",
        "owner_name": "Wes",
        "owner_password": PASSWORD,
    }
    r = client.post("/api/v1/subaccounts", json=body, headers=acme.headers)
    assert r.status_code == 201, r.text
    assert r.json()["parent_id"] == acme.owner.org_id
    assert [o["name"] for o in client.get("/api/v1/subaccounts", headers=acme.headers).json()] == [
        "Acme West"
    ]
    # The sub-account's people are its own: the agency's member list does not show them.
    members = client.get("/api/v1/members", headers=acme.headers).json()
    assert "west@acme.test" not in {m["email"] for m in members}


def test_change_password(client: TestClient, acme: Org) -> None:
    r = client.post(
        "/api/v1/me/password",
        headers=acme.headers,
        json={"current_password": "wrong-password!", "new_password": "another-pass-1"},
    )
    assert r.status_code == 422
    assert r.json()["error"]["fields"][0]["field"] == "current_password"
    r = client.post(
        "/api/v1/me/password",
        headers=acme.headers,
        json={"current_password": PASSWORD, "new_password": "another-pass-1"},
    )
    assert r.status_code == 204

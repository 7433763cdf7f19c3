"""Connecting Zoom end to end: meetbridge's pages and API against the live sandbox."""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from meetbridge.integrations.zoom.errors import NeedsReconnect
from meetbridge.integrations.zoom.tables import WebhookEvent, ZoomConnection, ZoomRevocation
from meetbridge_sandbox.webhooks import sign
from tests.conftest import ORIGIN
from tests.support import SmtpServer
from tests.zoom_env import ZoomEnv, csrf, zoom_env


@pytest.fixture
def env(tmp_path: Path, database_url: str, smtp: SmtpServer) -> Iterator[ZoomEnv]:
    with zoom_env(tmp_path, database_url, smtp) as e:
        yield e


def _zoom_mail(smtp: SmtpServer) -> EmailMessage:
    """The one "Zoom needs attention" e-mail to Ann (she also got a welcome e-mail)."""
    deadline = time.monotonic() + 10
    while True:
        found = [m for m in smtp.inbox.to("ann@acme.test") if "Zoom" in str(m["Subject"])]
        if found:
            assert len(found) == 1
            return found[0]
        assert time.monotonic() < deadline, "no Zoom e-mail to ann@acme.test"
        time.sleep(0.05)


def _conn(env: ZoomEnv, email: str) -> ZoomConnection | None:
    return env.c.connections.my_connection(env.user(email))


def test_connect_shows_connected_with_the_zoom_email(env: ZoomEnv) -> None:
    browser = env.signed_in("ann@acme.test")
    page = browser.get("/integrations/zoom").text
    assert "Not connected" in page and "meeting:write meeting:read user:read" in page
    done = env.connect(browser, "maria@zoom-sandbox.test")
    assert "Zoom is connected as maria@zoom-sandbox.test" in done.text
    assert "Connected" in done.text
    conn = _conn(env, "ann@acme.test")
    assert conn and conn.status == "connected" and conn.zoom_user_id
    assert conn.zoom_account_id == "mbDemoAccount01"
    team = browser.get("/team").text
    assert "Zoom connected" in team and "maria@zoom-sandbox.test" in team
    me = env.c.zoom.api(conn.id).get_user()
    assert me.email == "maria@zoom-sandbox.test"


def test_declined_consent_and_bad_state_say_what_to_do(env: ZoomEnv) -> None:
    browser = env.signed_in("ann@acme.test")
    page = env.connect(browser, "maria@zoom-sandbox.test", decision="deny")
    assert page.status_code == 400
    assert "You declined access in Zoom" in page.text and "choose Allow" in page.text
    r = browser.get("/integrations/zoom/callback", params={"code": "x", "state": "forged"})
    assert r.status_code == 400 and "was not started here" in r.text
    r = browser.get("/integrations/zoom/callback", params={"code": "x"})
    assert r.status_code == 400 and "Start again with Connect Zoom" in r.text
    assert _conn(env, "ann@acme.test") is None


def test_a_state_works_once_and_an_expired_code_is_explained(env: ZoomEnv) -> None:
    browser = env.signed_in("ann@acme.test")
    page = browser.get("/integrations/zoom")
    r = browser.post("/integrations/zoom/connect", data={"csrf_token": csrf(page.text)})
    callback = env.consent(browser, r.headers["location"], "maria@zoom-sandbox.test")
    env.control("POST", "/clock", json={"advance": 301})  # Zoom's codes live 5 minutes
    first = browser.get(callback)
    assert first.status_code == 400 and "expired or was already used" in first.text
    again = browser.get(callback)
    assert again.status_code == 400 and "already used" in again.text
    # someone else's callback (another meetbridge session) is refused
    r = browser.post("/integrations/zoom/connect", data={"csrf_token": csrf(page.text)})
    callback = env.consent(browser, r.headers["location"], "maria@zoom-sandbox.test")
    other = env.signed_in("bob@acme.test")
    assert other.get(callback).status_code == 400


def test_same_zoom_user_cannot_bind_a_second_login(env: ZoomEnv) -> None:
    ann = env.signed_in("ann@acme.test")
    env.connect(ann, "sam@zoom-sandbox.test")
    first = _conn(env, "ann@acme.test")
    bob = env.signed_in("bob@acme.test")
    page = env.connect(bob, "sam@zoom-sandbox.test")
    assert page.status_code == 400
    assert "already connected to another meetbridge login" in page.text
    assert _conn(env, "bob@acme.test") is None
    # Ann reconnecting the same Zoom user simply refreshes the same binding.
    env.connect(ann, "sam@zoom-sandbox.test")
    again = _conn(env, "ann@acme.test")
    assert first and again and again.id == first.id and again.token_version > first.token_version


def test_disconnect_deletes_tokens_revokes_and_keeps_nothing_usable(env: ZoomEnv) -> None:
    browser = env.signed_in("ann@acme.test")
    env.connect(browser, "li@zoom-sandbox.test")
    conn = _conn(env, "ann@acme.test")
    assert conn
    confirm = browser.get("/integrations/zoom/disconnect")
    assert "Meetings already created stay" in confirm.text
    done = browser.post(
        "/integrations/zoom/disconnect",
        data={"csrf_token": csrf(confirm.text)},
        follow_redirects=True,
    )
    assert "Zoom is disconnected" in done.text and "Not connected" in done.text
    with env.c.db.read() as s:
        row = s.get(ZoomConnection, conn.id)
        assert row and row.status == "ended" and row.access_token_enc is None
        assert row.refresh_token_enc is None
        [rev] = s.scalars(select(ZoomRevocation)).all()
        assert rev.status == "done" and rev.token_enc == ""
    grants = env.control("GET", "")["grants"]
    assert grants == []  # revoked at Zoom
    with pytest.raises(Exception, match="not connected"):
        env.c.zoom.api(conn.id).get_user()


def test_disconnect_while_zoom_is_down_retries_the_revoke(env: ZoomEnv) -> None:
    browser = env.signed_in("ann@acme.test")
    env.connect(browser, "li@zoom-sandbox.test")
    env.control("POST", "/faults", json={"path": "/oauth/revoke", "error_rate": 1.0})
    confirm = browser.get("/integrations/zoom/disconnect")
    browser.post("/integrations/zoom/disconnect", data={"csrf_token": csrf(confirm.text)})
    with env.c.db.read() as s:
        [rev] = s.scalars(select(ZoomRevocation)).all()
        conn = s.scalars(select(ZoomConnection)).one()
    assert conn.access_token_enc is None and conn.status == "ended"  # deleted now anyway
    assert rev.status == "pending" and rev.attempts == 1
    env.control("DELETE", "/faults")
    with env.c.db.write() as s:
        # its back-off over, and longer ago than the reconciler's grace for a queued job
        s.get(ZoomRevocation, rev.id).next_attempt_at = conn.updated_at - dt.timedelta(minutes=1)  # type: ignore[union-attr]
    assert env.c.revocations.reconcile() == 1
    with env.c.db.read() as s:
        assert (s.get(ZoomRevocation, rev.id) or ZoomRevocation()).status == "done"
    assert env.control("GET", "")["grants"] == []


@pytest.mark.parametrize("retain", [False, True])
def test_removal_on_zooms_added_apps_page(env: ZoomEnv, smtp: SmtpServer, retain: bool) -> None:
    browser = env.signed_in("ann@acme.test")
    env.connect(browser, "priya@zoom-sandbox.test")
    with httpx.Client(base_url=env.zoom, follow_redirects=True) as zoom:
        page = zoom.post(
            "/signin", data={"email": "priya@zoom-sandbox.test", "password": "sandbox-password"}
        )
        page = zoom.get("/marketplace/user/installed")
        import re

        token = re.search(r"name='csrf' value='([^']+)'", page.text)
        assert token
        data = {"csrf": token.group(1), "client_id": "mbDemoUserApp"}
        if retain:
            data["retain"] = "on"
        zoom.post("/marketplace/user/installed", data=data)
    env.control("POST", "/webhooks/flush")
    deadline = time.monotonic() + 10
    while (conn := _conn(env, "ann@acme.test")) and conn.status != "ended":
        assert time.monotonic() < deadline, "the deauthorization did not arrive"
        time.sleep(0.1)
    assert conn and conn.end_reason == "removed_in_zoom" and conn.access_token_enc is None
    if retain:
        assert conn.zoom_email == "priya@zoom-sandbox.test"
    else:
        assert (
            conn.zoom_email is None and conn.zoom_user_id is None and conn.zoom_account_id is None
        )
    mail = _zoom_mail(smtp)
    assert "removed from your Zoom account" in mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    page = browser.get("/integrations/zoom").text
    assert "was removed from your Zoom account" in page and "Connect Zoom" in page


def test_invalid_grant_marks_needs_reconnect_emails_and_stops(
    env: ZoomEnv, smtp: SmtpServer
) -> None:
    browser = env.signed_in("ann@acme.test")
    env.connect(browser, "maria@zoom-sandbox.test")
    conn = _conn(env, "ann@acme.test")
    assert conn
    env.control("POST", "/tokens/revoke", json={"kind": "refresh"})
    env.control("POST", "/tokens/expire")
    with pytest.raises(NeedsReconnect):
        env.c.zoom.api(conn.id).get_user()
    after = _conn(env, "ann@acme.test")
    assert after and after.status == "needs_reconnect" and after.access_token_enc is None
    assert after.last_error and "invalid_grant" in after.last_error
    mail = _zoom_mail(smtp)
    assert "no longer accepts" in mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    issued = len(env.control("GET", "/tokens"))
    with pytest.raises(NeedsReconnect):
        env.c.zoom.api(conn.id).get_user()
    assert len(env.control("GET", "/tokens")) == issued  # no more calls to Zoom
    page = browser.get("/integrations/zoom").text
    assert "Needs reconnecting" in page and "Reconnect Zoom" in page
    env.connect(browser, "maria@zoom-sandbox.test")
    assert (_conn(env, "ann@acme.test") or conn).status == "connected"


def test_webhook_endpoint_verifies_and_dedupes(env: ZoomEnv) -> None:
    secret = env.c.settings.zoom_webhook_secret.get_secret_value()
    body = json.dumps(
        {"event": "meeting.updated", "event_ts": 1, "payload": {"object": {"id": 1, "uuid": "u1"}}}
    )

    def post(raw: str, ts: str, signature: str) -> httpx.Response:
        return httpx.post(
            f"{env.product}/webhooks/zoom",
            content=raw.encode(),
            headers={
                "content-type": "application/json",
                "x-zm-request-timestamp": ts,
                "x-zm-signature": signature,
            },
        )

    now = str(int(time.time()))
    ok = post(body, now, sign(secret, now, body))
    assert ok.status_code == 200 and ok.json() == {"status": "received"}
    assert post(body, now, sign(secret, now, body)).json() == {"status": "duplicate"}
    assert post(body, now, sign("wrong", now, body)).status_code == 401
    assert post(body + " ", now, sign(secret, now, body)).status_code == 401
    stale = str(int(time.time()) - 600)
    assert post(body, stale, sign(secret, stale, body)).status_code == 401
    assert httpx.post(f"{env.product}/webhooks/zoom", content=body).status_code == 401
    challenge = json.dumps(
        {"event": "endpoint.url_validation", "payload": {"plainToken": "abc"}, "event_ts": 2}
    )
    r = post(challenge, now, sign(secret, now, challenge))
    import hashlib
    import hmac

    expected = hmac.new(secret.encode(), b"abc", hashlib.sha256).hexdigest()
    assert r.json() == {"plainToken": "abc", "encryptedToken": expected}
    with env.c.db.read() as s:
        [event] = s.scalars(select(WebhookEvent)).all()
    assert event.status == "ignored"  # handled: no meeting of ours has Zoom id 1
    assert env.control("POST", "/apps/mbDemoUserApp/validate")["validated"] is True


def test_test_zoom_messages_and_save(env: ZoomEnv) -> None:
    admin = env.signed_in("owner@acme.test")

    def test(account: str, client: str, secret: str) -> httpx.Response:
        page = admin.get("/integrations/zoom").text
        return admin.post(
            "/integrations/zoom/account",
            data={
                "csrf_token": csrf(page),
                "account_id": account,
                "client_id": client,
                "client_secret": secret,
            },
            follow_redirects=True,
        )

    good = ("mbDemoAccount01", "mbDemoS2SApp", "mb-demo-s2s-app-secret-0123456789")
    r = test("wrongAccount", good[1], good[2])
    assert r.status_code == 400 and "does not know this Account ID" in r.text
    assert 'value="wrongAccount"' in r.text and good[2] not in r.text
    r = test(good[0], good[1], "wrong-secret")
    assert "refused the Client ID or Client Secret" in r.text
    env.control(
        "POST",
        "/apps",
        json={
            "kind": "s2s",
            "account_id": "mbDemoAccount01",
            "client_id": "narrow",
            "client_secret": "narrow-secret",
            "scopes": ["meeting:read:admin"],
        },
    )
    r = test(good[0], "narrow", "narrow-secret")
    assert "lacks scopes meetbridge needs: meeting:write:admin, user:read:admin" in r.text
    env.control("POST", "/faults", json={"path": "/oauth/token", "error_rate": 1.0})
    r = test(*good)
    assert "Zoom could not be reached" in r.text
    env.control("DELETE", "/faults")
    r = test(*good)
    assert r.status_code == 200 and "Zoom works" in r.text and "not shown again" in r.text
    assert "to Zoom account <strong>mbDemoAccount01</strong>" in r.text and good[2] not in r.text
    conn = env.c.connections.account_connection(env.user("owner@acme.test"))
    assert conn and conn.client_secret_enc and good[2] not in conn.client_secret_enc
    api = env.c.zoom.api(conn.id)
    users = list(api.iter_users(page_size=2))
    assert len(users) == 6  # three pages of Zoom's pagination
    tokens_before = [t for t in env.control("GET", "/tokens") if t["client_id"] == "mbDemoS2SApp"]
    api.get_user("dana@zoom-sandbox.test")
    tokens_after = [t for t in env.control("GET", "/tokens") if t["client_id"] == "mbDemoS2SApp"]
    assert len(tokens_after) == len(tokens_before)  # the cached S2S token is reused
    member = env.signed_in("ann@acme.test")
    assert 'id="account-zoom"' not in member.get("/integrations/zoom").text


def test_admin_releases_the_binding_of_a_deactivated_member(env: ZoomEnv) -> None:
    ann = env.signed_in("ann@acme.test")
    env.connect(ann, "sam@zoom-sandbox.test")
    owner = env.user("owner@acme.test")
    ann_user = env.user("ann@acme.test")
    admin = env.signed_in("owner@acme.test")
    conn = _conn(env, "ann@acme.test")
    assert conn
    page = admin.get("/integrations/zoom").text
    r = admin.post(
        f"/integrations/zoom/connections/{conn.id}/release",
        data={"csrf_token": csrf(page)},
        follow_redirects=True,
    )
    assert "is active; they can disconnect Zoom themselves" in r.text
    from tests.conftest import ORIGIN

    env.c.accounts.deactivate_member(owner, ann_user.id, origin=ORIGIN)
    bob = env.signed_in("bob@acme.test")
    assert env.connect(bob, "sam@zoom-sandbox.test").status_code == 400  # still bound
    page = admin.get("/integrations/zoom").text
    assert "deactivated" in page and "Release" in page
    r = admin.post(
        f"/integrations/zoom/connections/{conn.id}/release",
        data={"csrf_token": csrf(page)},
        follow_redirects=True,
    )
    assert "released" in r.text
    assert (
        "Zoom is connected as sam@zoom-sandbox.test"
        in env.connect(bob, "sam@zoom-sandbox.test").text
    )
    audit = [e.action for e in env.c.accounts.list_audit(owner)]
    assert "zoom.binding_released" in audit


def test_fewer_permissions_than_needed_are_shown(env: ZoomEnv) -> None:
    env.control("PATCH", "/apps/mbDemoUserApp", json={"scopes": ["meeting:read", "user:read"]})
    browser = env.signed_in("ann@acme.test")
    page = env.connect(browser, "maria@zoom-sandbox.test")
    assert "Zoom is connected" in page.text
    assert "fewer permissions than meetbridge needs: meeting:write" in page.text


def test_granular_scopes_count_as_their_classic_family(env: ZoomEnv) -> None:
    granular = [
        "meeting:write:meeting",
        "meeting:update:meeting",
        "meeting:delete:meeting",
        "meeting:read:meeting",
        "user:read:user",
    ]
    env.control("PATCH", "/apps/mbDemoUserApp", json={"scopes": granular})
    page = env.connect(env.signed_in("ann@acme.test"), "maria@zoom-sandbox.test")
    assert "Zoom is connected" in page.text and "fewer permissions" not in page.text


def test_a_user_level_apps_credentials_in_the_server_to_server_form_say_where_to_look(
    env: ZoomEnv,
) -> None:
    admin = env.signed_in("owner@acme.test")
    page = admin.get("/integrations/zoom").text
    r = admin.post(
        "/integrations/zoom/account",
        data={
            "csrf_token": csrf(page),
            "account_id": "mbDemoAccount01",
            "client_id": "mbDemoUserApp",  # the sandbox's user-level OAuth app
            "client_secret": "mb-demo-user-app-secret-0123456789",
        },
    )
    assert r.status_code == 400
    assert "not the credentials of a Server-to-Server OAuth app" in r.text
    assert "Develop → Build App → Server-to-Server OAuth" in r.text
    assert "unsupported_grant_type" not in r.text


def test_only_admins_read_the_account_level_zoom_settings(env: ZoomEnv) -> None:
    owner = env.user("owner@acme.test")
    env.c.connections.save_account(
        owner, "mbDemoAccount01", "mbDemoS2SApp", "mb-demo-s2s-app-secret-0123456789", ORIGIN
    )

    def get(email: str) -> httpx.Response:
        token = env.c.api_tokens.create_api_token(
            env.user(email), name=f"t-{email}", origin=ORIGIN
        ).secret
        return httpx.get(
            f"{env.product}/api/v1/zoom/account",
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        )

    r = get("ann@acme.test")
    assert r.status_code == 403 and "mbDemoS2SApp" not in r.text
    r = get("owner@acme.test")
    assert r.status_code == 200 and r.json()["client_id"] == "mbDemoS2SApp"

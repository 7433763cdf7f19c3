"""The sandbox's admin-managed OAuth app: only the account's owner or an admin may authorize it;
its tokens act on every user of the account through the granular `:admin` scopes; and every
/v2 reply carries Zoom's tracking id."""

from __future__ import annotations

import re
import secrets
from contextlib import closing
from typing import Any

import httpx

from meetbridge_sandbox.config import (
    DEFAULT_ADMIN_SCOPES,
    DEMO_ADMIN_CLIENT_ID,
    DEMO_ADMIN_CLIENT_SECRET,
    DEMO_CLIENT_ID,
    DEMO_REDIRECT_URI,
    DEMO_USER_PASSWORD,
)
from tests.sandbox.conftest import Sandbox, bearer, challenge

CALLBACK = "http://127.0.0.1:8000/integrations/zoom/account/callback"
SCOPE = " ".join(DEFAULT_ADMIN_SCOPES)


def _consent_page(sb: Sandbox, email: str, verifier: str) -> tuple[httpx.Client, httpx.Response]:
    params = {
        "response_type": "code",
        "client_id": DEMO_ADMIN_CLIENT_ID,
        "redirect_uri": CALLBACK,
        "state": "st",
        "scope": SCOPE,
        "code_challenge": challenge(verifier),
        "code_challenge_method": "S256",
    }
    browser = httpx.Client(base_url=sb.url, follow_redirects=False, timeout=10)
    r = browser.get("/oauth/authorize", params=params)
    assert r.status_code == 303, r.text
    r = browser.post(r.headers["location"], data={"email": email, "password": DEMO_USER_PASSWORD})
    return browser, browser.get(r.headers["location"])


def _admin_tokens(sb: Sandbox, email: str) -> dict[str, Any]:
    verifier = secrets.token_urlsafe(48)
    browser, page = _consent_page(sb, email, verifier)
    with closing(browser):
        assert page.status_code == 200, page.text
        assert "every user on it" in page.text and "View the account&#x27;s users" in page.text
        form = dict(re.findall(r"<input type='hidden' name='([^']+)' value='([^']*)'>", page.text))
        r = browser.post("/oauth/authorize", data={**form, "decision": "allow"})
    assert r.status_code == 302 and r.headers["location"].startswith(CALLBACK)
    code = re.search(r"[?&]code=([^&]+)", r.headers["location"])
    assert code
    r = httpx.post(
        f"{sb.url}/oauth/token",
        auth=(DEMO_ADMIN_CLIENT_ID, DEMO_ADMIN_CLIENT_SECRET),
        data={
            "grant_type": "authorization_code",
            "code": code.group(1),
            "redirect_uri": CALLBACK,
            "code_verifier": verifier,
        },
    )
    assert r.status_code == 200, r.text
    return dict(r.json())


def test_the_owner_authorizes_and_the_token_acts_on_any_user(sandbox: Sandbox) -> None:
    tokens = _admin_tokens(sandbox, "dana@zoom-sandbox.test")
    assert tokens["scope"] == SCOPE and tokens["refresh_token"]
    api = httpx.Client(base_url=sandbox.url, headers=bearer(tokens["access_token"]), timeout=10)
    me = api.get("/v2/users/me").json()
    assert me["email"] == "dana@zoom-sandbox.test" and me["role_name"] == "Owner"
    assert me["role_id"] == "0" and me["account_id"] == "mbDemoAccount01"
    assert api.get("/v2/users", params={"page_size": 300}).json()["total_records"] == 6
    sam = api.get("/v2/users/sam@zoom-sandbox.test").json()
    assert sam["role_id"] == "2"
    r = api.post(
        "/v2/users/sam@zoom-sandbox.test/meetings",
        json={"topic": "For Sam", "settings": {"approval_type": 0}},  # registration on
    )
    assert r.status_code == 201 and r.json()["host_email"] == sam["email"]
    mid = r.json()["id"]
    assert api.get("/v2/users/sam@zoom-sandbox.test/meetings").json()["total_records"] == 1
    r = api.post(f"/v2/meetings/{mid}/registrants", json={"email": "g@x.test", "first_name": "G"})
    assert r.status_code == 201
    assert api.get(f"/v2/meetings/{mid}/registrants").json()["total_records"] == 1
    assert api.patch(f"/v2/meetings/{mid}", json={"topic": "Renamed"}).status_code == 204
    r = api.post(
        "/v2/users", json={"action": "create", "user_info": {"email": "new@x.test", "type": 1}}
    )
    assert r.status_code == 201
    assert api.get(f"/v2/meetings/{mid}/recordings").json()["code"] == 3301  # none recorded
    assert api.delete(f"/v2/meetings/{mid}").status_code == 204
    # Refresh: the refresh_token grant with the admin app's credentials, rotating as ever.
    r = httpx.post(
        f"{sandbox.url}/oauth/token",
        auth=(DEMO_ADMIN_CLIENT_ID, DEMO_ADMIN_CLIENT_SECRET),
        data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
    )
    assert r.status_code == 200 and r.json()["scope"] == SCOPE
    # It is no Server-to-Server app.
    r = httpx.post(
        f"{sandbox.url}/oauth/token",
        auth=(DEMO_ADMIN_CLIENT_ID, DEMO_ADMIN_CLIENT_SECRET),
        params={"grant_type": "account_credentials", "account_id": "mbDemoAccount01"},
    )
    assert r.json()["error"] == "unsupported_grant_type"


def test_an_admin_may_and_a_member_may_not(sandbox: Sandbox) -> None:
    tokens = _admin_tokens(sandbox, "priya@zoom-sandbox.test")
    me = httpx.get(f"{sandbox.url}/v2/users/me", headers=bearer(tokens["access_token"])).json()
    assert me["role_name"] == "Admin" and me["role_id"] == "1"
    browser, page = _consent_page(sandbox, "maria@zoom-sandbox.test", secrets.token_urlsafe(48))
    with closing(browser):
        assert page.status_code == 403
        assert "An account admin is required to install this type of app" in page.text
        assert "decision" not in page.text  # no Allow to press
        r = browser.post(
            "/oauth/authorize",
            data={
                "response_type": "code",
                "client_id": DEMO_ADMIN_CLIENT_ID,
                "redirect_uri": CALLBACK,
                "decision": "allow",
            },
        )
        assert r.status_code == 403 and "location" not in r.headers
    grants = [(g["client_id"], g["user_id"]) for g in sandbox.control("GET", "")["grants"]]
    assert grants == [(DEMO_ADMIN_CLIENT_ID, me["id"])]
    # The owner demotes Priya: she can no longer authorize it.
    sandbox.control("PATCH", "/users/priya@zoom-sandbox.test", json={"role_name": "Member"})
    browser, page = _consent_page(sandbox, "priya@zoom-sandbox.test", secrets.token_urlsafe(48))
    with closing(browser):
        assert page.status_code == 403


def test_the_user_app_cannot_ask_for_admin_scopes_and_a_wrong_redirect_is_refused(
    sandbox: Sandbox,
) -> None:
    with httpx.Client(base_url=sandbox.url) as browser:
        r = browser.get(
            "/oauth/authorize",
            params={
                "response_type": "code",
                "client_id": DEMO_CLIENT_ID,
                "redirect_uri": DEMO_REDIRECT_URI,
                "scope": "user:read:list_users:admin",
            },
        )
        assert r.status_code == 302 and "error=invalid_scope" in r.headers["location"]
        r = browser.get(
            "/oauth/authorize",
            params={
                "response_type": "code",
                "client_id": DEMO_ADMIN_CLIENT_ID,
                "redirect_uri": "http://127.0.0.1:8000/integrations/zoom/callback",
            },
        )
    assert r.status_code == 400 and "allow list" in r.text


def test_every_v2_reply_carries_a_tracking_id(sandbox: Sandbox) -> None:
    token = sandbox.s2s_token()
    api = httpx.Client(base_url=sandbox.url, headers=bearer(token), timeout=10)
    ok = api.get("/v2/users")
    missing = api.get("/v2/users/nobody@x.test")
    unauthenticated = httpx.get(f"{sandbox.url}/v2/users")
    sandbox.control("POST", "/faults", json={"path": "/v2/users", "burst_429": 1})
    limited = api.get("/v2/users")
    ids = [r.headers.get("x-zm-trackingid") for r in (ok, missing, unauthenticated, limited)]
    assert [ok.status_code, missing.status_code, unauthenticated.status_code] == [200, 404, 401]
    assert limited.status_code == 429
    assert all(i and re.fullmatch(r"v=2\.0;clid=sbx;rid=WEB_[0-9a-f]{32}", i) for i in ids)
    assert len(set(ids)) == 4
    # Not Zoom's REST API: the OAuth endpoints carry none.
    assert "x-zm-trackingid" not in httpx.post(f"{sandbox.url}/oauth/token").headers

"""The sandbox's OAuth: authorization code with PKCE, refresh rotation, Server-to-Server
account credentials, revocation, and every documented error."""

from __future__ import annotations

import secrets

import httpx

from meetbridge_sandbox.config import (
    DEMO_CLIENT_ID,
    DEMO_CLIENT_SECRET,
    DEMO_REDIRECT_URI,
    DEMO_S2S_CLIENT_ID,
    DEMO_S2S_CLIENT_SECRET,
)
from tests.sandbox.conftest import Receiver, Sandbox, bearer

USER = "maria@zoom-sandbox.test"


def _exchange(sb: Sandbox, code: str, verifier: str | None = None, **over: str) -> httpx.Response:
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": DEMO_REDIRECT_URI}
    if verifier is not None:
        data["code_verifier"] = verifier
    data.update(over)
    return httpx.post(f"{sb.url}/oauth/token", auth=(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET), data=data)


def test_code_flow_with_pkce_s256(sandbox: Sandbox) -> None:
    verifier = secrets.token_urlsafe(48)
    back = sandbox.authorize(USER, verifier=verifier, state="abc123")
    assert back["state"] == ["abc123"]
    r = _exchange(sandbox, back["code"][0], verifier)
    assert r.status_code == 200
    tokens = r.json()
    assert tokens["token_type"] == "bearer" and tokens["expires_in"] == 3600
    assert tokens["scope"] == "meeting:write meeting:read user:read"
    me = httpx.get(f"{sandbox.url}/v2/users/me", headers=bearer(tokens["access_token"]))
    assert me.status_code == 200 and me.json()["email"] == USER


def test_pkce_plain_and_wrong_verifier(sandbox: Sandbox) -> None:
    back = sandbox.authorize(USER, verifier="plain-verifier-123", method="plain")
    assert _exchange(sandbox, back["code"][0], "plain-verifier-123").status_code == 200
    back = sandbox.authorize(USER, verifier=secrets.token_urlsafe(48))
    r = _exchange(sandbox, back["code"][0], "not-the-verifier")
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"


def test_code_works_once_and_for_five_minutes(sandbox: Sandbox) -> None:
    code = sandbox.authorize(USER)["code"][0]
    assert _exchange(sandbox, code).status_code == 200
    again = _exchange(sandbox, code)
    assert again.status_code == 400
    assert again.json()["error"] == "invalid_request"
    assert again.json()["reason"].startswith("Invalid authorization code")
    late = sandbox.authorize(USER)["code"][0]
    sandbox.control("POST", "/clock", json={"advance": 301})
    r = _exchange(sandbox, late)
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"


def test_redirect_uri_must_match(sandbox: Sandbox) -> None:
    r = httpx.get(
        f"{sandbox.url}/oauth/authorize",
        params={
            "response_type": "code",
            "client_id": DEMO_CLIENT_ID,
            "redirect_uri": "https://evil.example/cb",
        },
    )
    assert r.status_code == 400 and "allow list" in r.text
    code = sandbox.authorize(USER)["code"][0]
    r = _exchange(sandbox, code, redirect_uri="http://127.0.0.1:8000/other")
    assert r.status_code == 400 and r.json()["error"] == "invalid_request"


def test_deny_returns_access_denied_with_state(sandbox: Sandbox) -> None:
    back = sandbox.authorize(USER, decision="deny", state="s-1")
    assert back == {"error": ["access_denied"], "state": ["s-1"]}


def test_bad_client_credentials(sandbox: Sandbox) -> None:
    r = httpx.post(
        f"{sandbox.url}/oauth/token",
        auth=(DEMO_CLIENT_ID, "wrong"),
        data={"grant_type": "refresh_token", "refresh_token": "x"},
    )
    assert r.status_code == 401 and r.json()["error"] == "invalid_client"
    r = httpx.post(f"{sandbox.url}/oauth/token", data={"grant_type": "refresh_token"})
    assert r.status_code == 401


def test_refresh_rotates_and_the_old_token_fails(sandbox: Sandbox) -> None:
    first = sandbox.user_tokens(USER)
    auth = (DEMO_CLIENT_ID, DEMO_CLIENT_SECRET)
    r = httpx.post(
        f"{sandbox.url}/oauth/token",
        auth=auth,
        params={"grant_type": "refresh_token", "refresh_token": first["refresh_token"]},
    )
    assert r.status_code == 200
    second = r.json()
    assert second["refresh_token"] != first["refresh_token"]
    r = httpx.post(
        f"{sandbox.url}/oauth/token",
        auth=auth,
        data={"grant_type": "refresh_token", "refresh_token": first["refresh_token"]},
    )
    assert r.status_code == 400
    assert r.json() == {"reason": "Invalid Token!", "error": "invalid_grant"}
    # the old access token still works until it expires; after an hour it does not
    assert (
        httpx.get(f"{sandbox.url}/v2/users/me", headers=bearer(first["access_token"])).status_code
        == 200
    )
    sandbox.control("POST", "/clock", json={"advance": 3601})
    r = httpx.get(f"{sandbox.url}/v2/users/me", headers=bearer(second["access_token"]))
    assert r.status_code == 401 and r.json() == {"code": 124, "message": "Access token is expired."}


def test_account_credentials(sandbox: Sandbox) -> None:
    auth = (DEMO_S2S_CLIENT_ID, DEMO_S2S_CLIENT_SECRET)
    r = httpx.post(
        f"{sandbox.url}/oauth/token",
        auth=auth,
        params={"grant_type": "account_credentials", "account_id": "wrong"},
    )
    assert r.status_code == 400 and r.json()["error"] == "invalid_request"
    token = sandbox.s2s_token()
    r = httpx.get(f"{sandbox.url}/v2/users", headers=bearer(token))
    assert r.status_code == 200 and r.json()["total_records"] == 6
    r = httpx.post(
        f"{sandbox.url}/oauth/token",
        auth=(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET),
        params={"grant_type": "account_credentials", "account_id": "mbDemoAccount01"},
    )
    assert r.status_code == 400 and r.json()["error"] == "unsupported_grant_type"


def test_revoke_ends_the_authorization_and_tells_the_app(
    sandbox: Sandbox, receiver: Receiver
) -> None:
    tokens = sandbox.user_tokens(USER)
    r = httpx.post(
        f"{sandbox.url}/oauth/revoke",
        auth=(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET),
        data={"token": tokens["access_token"]},
    )
    assert r.json() == {"status": "success"}
    assert (
        httpx.get(f"{sandbox.url}/v2/users/me", headers=bearer(tokens["access_token"])).status_code
        == 401
    )
    r = httpx.post(
        f"{sandbox.url}/oauth/token",
        auth=(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET),
        data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
    )
    assert r.json()["error"] == "invalid_grant"
    [event] = receiver.wait("app_deauthorized")
    assert event.path == "/zoom/deauth"
    payload = event.json["payload"]
    assert payload["client_id"] == DEMO_CLIENT_ID
    assert payload["user_data_retention"] == "false"
    assert payload["account_id"] == "mbDemoAccount01" and payload["user_id"]

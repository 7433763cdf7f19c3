"""Zoom through the REST API: connection status, authorize URL, Test Zoom, saving the account,
Call API, and their bad input."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import ORIGIN
from tests.support import SmtpServer
from tests.zoom_env import ZoomEnv, zoom_env

GOOD = {
    "account_id": "mbDemoAccount01",
    "client_id": "mbDemoS2SApp",
    "client_secret": "mb-demo-s2s-app-secret-0123456789",
}


@pytest.fixture
def env(tmp_path: Path, database_url: str, smtp: SmtpServer) -> Iterator[ZoomEnv]:
    with zoom_env(tmp_path, database_url, smtp) as e:
        yield e


def _client(env: ZoomEnv, email: str) -> httpx.Client:
    user = env.user(email)
    token = env.c.api_tokens.create_api_token(user, name="t", origin=ORIGIN).secret
    return httpx.Client(
        base_url=f"{env.product}/api/v1/zoom",
        headers={"Authorization": f"Bearer {token}"},
        timeout=15,
    )


def test_member_connection_over_the_api(env: ZoomEnv) -> None:
    api = _client(env, "ann@acme.test")
    assert api.get("/connection").status_code == 404
    url = api.post("/connection/authorize").json()["authorize_url"]
    assert url.startswith(f"{env.zoom}/oauth/authorize?") and "code_challenge_method=S256" in url
    browser = env.signed_in("ann@acme.test")
    env.connect(browser, "maria@zoom-sandbox.test")
    conn = api.get("/connection").json()
    assert conn["status"] == "connected" and conn["zoom_email"] == "maria@zoom-sandbox.test"
    assert "token" not in str(conn).lower().replace("token_version", "")
    me = api.post("/call", json={"method": "GET", "path": "/users/me"})
    assert me.status_code == 200 and me.json()["result"]["email"] == "maria@zoom-sandbox.test"
    other = api.post("/call", json={"method": "GET", "path": "/users"})
    assert other.status_code == 400 and "4711" not in other.json()["error"]["message"]
    assert "does not contain scopes" in other.json()["error"]["message"]
    assert api.delete("/connection").status_code == 204
    assert api.delete("/connection").status_code == 404
    assert api.get("/connection").json()["status"] == "ended"


def test_account_test_and_save_over_the_api(env: ZoomEnv) -> None:
    admin = _client(env, "owner@acme.test")
    r = admin.post("/account/test", json={**GOOD, "client_secret": "nope"})
    assert r.status_code == 200 and r.json()["ok"] is False
    assert r.json()["field"] == "client_secret"
    r = admin.put("/account", json={**GOOD, "account_id": "wrong"})
    assert r.status_code == 400
    assert r.json()["error"]["fields"][0]["field"] == "account_id"
    assert admin.get("/account").status_code == 404  # nothing saved
    r = admin.put("/account", json=GOOD)
    assert r.status_code == 200 and r.json()["zoom_account_id"] == "mbDemoAccount01"
    assert GOOD["client_secret"] not in r.text
    users = admin.post(
        "/call",
        json={"via": "account", "method": "GET", "path": "/users", "params": {"page_size": 2}},
    )
    assert users.status_code == 200 and len(users.json()["result"]["users"]) == 2
    member = _client(env, "ann@acme.test")
    assert member.post("/account/test", json=GOOD).status_code == 403
    assert member.post("/call", json={"via": "account", "path": "/users"}).status_code == 403
    assert admin.delete("/account").status_code == 204


def test_bad_input(env: ZoomEnv) -> None:
    admin = _client(env, "owner@acme.test")
    cases = [
        ("/account/test", {"account_id": "a"}, "client_id"),
        ("/account/test", {**GOOD, "extra": 1}, "extra"),
        ("/account/test", {**GOOD, "client_secret": "x" * 201}, "client_secret"),
        ("/call", {"path": "no-slash"}, "path"),
        ("/call", {"path": "/users/../oauth"}, "path"),
        ("/call", {"path": "/users", "method": "TRACE"}, "method"),
        ("/call", {"path": "/users", "via": "someone"}, "via"),
    ]
    for path, body, field in cases:
        r = admin.post(path, json=body)
        assert r.status_code == 422, (path, body, r.text)
        assert field in [f["field"] for f in r.json()["error"]["fields"]], r.json()
    r = admin.post("/call", json={"path": "/users/me"})
    assert r.status_code == 409 and r.json()["error"]["fields"][0]["field"] == "via"

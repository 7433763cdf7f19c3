"""Where the sandbox follows Zoom beyond the shapes: events stamped on the wall clock whatever
the sandbox clock says, no retries for a 4xx, instance UUIDs with slashes double-encoded,
`api_url` in the S2S token; and where it protects itself as a test tool: sign-in redirects
only to its own pages, the control API answers loopback only."""

from __future__ import annotations

import time
from urllib.parse import quote

import httpx
import pytest
from starlette.testclient import TestClient

from meetbridge_sandbox.app import create_app
from meetbridge_sandbox.config import SandboxConfig
from tests.sandbox.conftest import Receiver, Sandbox, bearer


def _api(sandbox: Sandbox, email: str = "sam@zoom-sandbox.test") -> httpx.Client:
    api = sandbox.http()
    api.headers.update(bearer(sandbox.user_tokens(email)["access_token"]))
    return api


def test_a_moved_clock_moves_schedules_not_signatures(sandbox: Sandbox, receiver: Receiver) -> None:
    sandbox.control("POST", "/clock", json={"advance": 3 * 86400})
    api = _api(sandbox)
    receiver.statuses = [500]
    api.post("/v2/users/me/meetings", json={"topic": "Later"})
    [first] = receiver.wait("meeting.created")
    sandbox.control("POST", "/clock", json={"advance": 5 * 60})  # the retry is due
    sandbox.control("POST", "/webhooks/flush")
    first, retry = receiver.wait("meeting.created", 2)
    now = time.time()
    for r in (first, retry):
        assert abs(int(r.headers["x-zm-request-timestamp"]) - now) < 60
        assert abs(r.json["event_ts"] / 1000 - now) < 60
    assert retry.body == first.body  # a redelivery: same event, same event_ts


@pytest.mark.parametrize(("status", "attempts"), [(404, 1), (302, 1), (503, 2)])
def test_zoom_retries_only_5xx_and_no_answer(
    sandbox: Sandbox, receiver: Receiver, status: int, attempts: int
) -> None:
    receiver.statuses = [status]
    _api(sandbox).post("/v2/users/me/meetings", json={"topic": "Once"})
    receiver.wait("meeting.created")
    sandbox.control("POST", "/clock", json={"advance": 5 * 60})
    sandbox.control("POST", "/webhooks/flush")
    [d] = [d for d in sandbox.control("GET", "/webhooks") if d["event"] == "meeting.created"]
    assert len(d["attempts"]) == attempts


def test_instance_uuids_with_slashes_double_encoded(sandbox: Sandbox) -> None:
    """Zoom's spec (recordings, past meeting details): a UUID that begins with `/` or holds
    `//` must be double-encoded in the path."""
    api = sandbox.http()
    api.headers.update(bearer(sandbox.s2s_token()))
    m = api.post("/v2/users/sam@zoom-sandbox.test/meetings", json={"topic": "Slashes"}).json()
    for uuid in ("/ab//cd+ef/gh12345678==", "xy//z+12345678901234A=="):
        sandbox.control("POST", f"/meetings/{m['id']}/start", json={"uuid": uuid})
        sandbox.control("POST", f"/meetings/{m['id']}/end", json={"record": True})
        twice = quote(quote(uuid, safe=""), safe="")
        rec = api.get(f"/v2/meetings/{twice}/recordings")
        assert rec.status_code == 200, rec.text
        assert rec.json()["uuid"] == uuid and rec.json()["recording_count"] == 2
        past = api.get(f"/v2/past_meetings/{twice}")
        assert past.status_code == 200, past.text
        assert past.json()["uuid"] == uuid and past.json()["id"] == m["id"]
    # The earlier instance: its details stay; its recording was replaced by the later one's.
    first = quote(quote("/ab//cd+ef/gh12345678==", safe=""), safe="")
    assert api.get(f"/v2/past_meetings/{first}").status_code == 200
    r = api.get(f"/v2/meetings/{first}/recordings")
    assert r.status_code == 404 and r.json()["code"] == 3301
    r = api.get(f"/v2/past_meetings/{quote(quote('/no//such==', safe=''), safe='')}")
    assert r.status_code == 404 and r.json()["code"] == 3001


def test_s2s_token_names_the_api_host(sandbox: Sandbox) -> None:
    r = httpx.post(
        f"{sandbox.url}/oauth/token",
        auth=("mbDemoS2SApp", "mb-demo-s2s-app-secret-0123456789"),
        params={"grant_type": "account_credentials", "account_id": "mbDemoAccount01"},
    )
    assert r.json()["api_url"] == sandbox.url


@pytest.mark.parametrize(
    ("target", "lands"),
    [
        ("/marketplace/user/installed", "/marketplace/user/installed"),
        ("//evil.example/x", "/meetings"),
        ("/\\evil.example", "/meetings"),
        ("https://evil.example/", "/meetings"),
        ("javascript:alert(1)", "/meetings"),
    ],
)
def test_sign_in_goes_back_only_to_the_sandboxs_pages(
    sandbox: Sandbox, target: str, lands: str
) -> None:
    r = httpx.post(
        f"{sandbox.url}/signin",
        params={"next": target},
        data={"email": "sam@zoom-sandbox.test", "password": "sandbox-password"},
    )
    assert r.status_code == 303 and r.headers["location"] == lands


def test_control_api_answers_loopback_only_unless_told() -> None:
    # TestClient's requests come from "testclient", not a loopback address.
    with TestClient(create_app(SandboxConfig())) as far:
        r = far.get("/_sandbox")
        assert r.status_code == 403 and "loopback" in r.json()["error"]
        assert far.post("/_sandbox/reset").status_code == 403
        assert far.get("/signin").status_code == 200  # Zoom's own pages are not affected
    with TestClient(create_app(SandboxConfig(control_from_anywhere=True))) as told:
        assert told.get("/_sandbox").status_code == 200

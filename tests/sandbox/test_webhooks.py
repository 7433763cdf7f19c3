"""Events out: the URL validation challenge, signed deliveries (checked here with our own
computation of Zoom's documented algorithm), Zoom's retry schedule on the sandbox clock, and
app_deauthorized from the "Added Apps" page."""

from __future__ import annotations

import hashlib
import hmac
import re

import httpx

from meetbridge_sandbox.config import DEMO_WEBHOOK_SECRET
from tests.sandbox.conftest import Received, Receiver, Sandbox, bearer


def verify(r: Received, secret: str = DEMO_WEBHOOK_SECRET) -> bool:
    """Zoom's algorithm, written from its documentation: HMAC-SHA256 over
    "v0:{x-zm-request-timestamp}:{raw body}", hex, prefixed "v0="."""
    ts = r.headers["x-zm-request-timestamp"]
    message = b"v0:" + ts.encode() + b":" + r.body
    expected = "v0=" + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, r.headers["x-zm-signature"])


def test_url_validation_challenge(sandbox: Sandbox, receiver: Receiver) -> None:
    result = sandbox.control("POST", "/apps/mbDemoUserApp/validate")
    assert result["validated"] is True
    [challenge] = receiver.events("endpoint.url_validation")
    assert challenge.json["payload"]["plainToken"]
    receiver.secret = "wrong-secret"
    assert sandbox.control("POST", "/apps/mbDemoUserApp/validate")["validated"] is False


def test_meeting_events_are_signed_and_delivered(sandbox: Sandbox, receiver: Receiver) -> None:
    tokens = sandbox.user_tokens("sam@zoom-sandbox.test")
    api = sandbox.http()
    api.headers.update(bearer(tokens["access_token"]))
    m = api.post("/v2/users/me/meetings", json={"topic": "Hooked"}).json()
    api.patch(f"/v2/meetings/{m['id']}", json={"topic": "Hooked 2"})
    sandbox.control("POST", f"/meetings/{m['id']}/start")
    sandbox.control("POST", f"/meetings/{m['id']}/end", json={"record": True})
    api.delete(f"/v2/meetings/{m['id']}")
    for event in (
        "meeting.created",
        "meeting.updated",
        "meeting.started",
        "meeting.ended",
        "recording.completed",
        "meeting.deleted",
    ):
        [delivery] = receiver.wait(event)
        assert verify(delivery), event
        assert delivery.path == "/zoom/events"
        # meeting.started and meeting.ended carry the id as a string, as Zoom sends them.
        assert int(delivery.json["payload"]["object"]["id"]) == m["id"]
        assert delivery.json["payload"]["account_id"] == "mbDemoAccount01"
        assert isinstance(delivery.json["event_ts"], int)
    updated = receiver.events("meeting.updated")[0].json["payload"]
    assert updated["object"]["topic"] == "Hooked 2" and updated["old_object"]["id"] == m["id"]
    forged = receiver.events("meeting.created")[0]
    assert not verify(Received(forged.path, forged.headers, forged.body + b" "))


def test_events_only_for_users_who_authorized_the_app(sandbox: Sandbox, receiver: Receiver) -> None:
    admin = sandbox.http()
    admin.headers.update(bearer(sandbox.s2s_token()))
    admin.post("/v2/users/li@zoom-sandbox.test/meetings", json={"topic": "quiet"})
    sandbox.control("POST", "/webhooks/flush")
    assert receiver.events("meeting.created") == []


def test_failed_deliveries_retry_on_zooms_schedule(sandbox: Sandbox, receiver: Receiver) -> None:
    tokens = sandbox.user_tokens("sam@zoom-sandbox.test")
    receiver.statuses = [500, 500, 500, 500]
    api = sandbox.http()
    api.headers.update(bearer(tokens["access_token"]))
    api.post("/v2/users/me/meetings", json={"topic": "Retry"})
    receiver.wait("meeting.created", 1)

    def attempts() -> list[dict[str, object]]:
        [d] = [d for d in sandbox.control("GET", "/webhooks") if d["event"] == "meeting.created"]
        return d["attempts"]  # type: ignore[no-any-return]

    for minutes, count in ((4, 1), (1, 2), (19, 2), (1, 3), (59, 3), (1, 4)):
        sandbox.control("POST", "/clock", json={"advance": minutes * 60})
        sandbox.control("POST", "/webhooks/flush")
        assert len(attempts()) == count, (minutes, attempts())
    [d] = [d for d in sandbox.control("GET", "/webhooks") if d["event"] == "meeting.created"]
    assert d["state"] == "failed"  # the first try and three retries, then Zoom gives up


def test_removing_the_app_on_added_apps_page(sandbox: Sandbox, receiver: Receiver) -> None:
    tokens = sandbox.user_tokens("priya@zoom-sandbox.test")
    with httpx.Client(base_url=sandbox.url, follow_redirects=True) as browser:
        browser.post(
            "/signin", data={"email": "priya@zoom-sandbox.test", "password": "sandbox-password"}
        )
        page = browser.get("/marketplace/user/installed")
        assert "meetbridge" in page.text
        csrf = re.search(r"name='csrf' value='([^']+)'", page.text)
        assert csrf
        r = browser.post(
            "/marketplace/user/installed",
            data={"csrf": csrf.group(1), "client_id": "mbDemoUserApp", "retain": "on"},
        )
        assert "The app was removed" in r.text and "You have not added any apps" in r.text
    [event] = receiver.wait("app_deauthorized")
    assert verify(event)
    assert event.json["payload"]["user_data_retention"] == "true"
    r = httpx.get(f"{sandbox.url}/v2/users/me", headers=bearer(tokens["access_token"]))
    assert r.status_code == 401


def test_edits_made_in_zoom_raise_meeting_updated(sandbox: Sandbox, receiver: Receiver) -> None:
    tokens = sandbox.user_tokens("maria@zoom-sandbox.test")
    api = sandbox.http()
    api.headers.update(bearer(tokens["access_token"]))
    m = api.post(
        "/v2/users/me/meetings",
        json={"topic": "Before", "timezone": "UTC", "start_time": "2030-05-05T10:00:00Z"},
    ).json()
    with httpx.Client(base_url=sandbox.url, follow_redirects=True) as browser:
        page = browser.post(
            "/signin", data={"email": "maria@zoom-sandbox.test", "password": "sandbox-password"}
        )
        csrf = re.search(r"name='csrf' value='([^']+)'", page.text)
        assert csrf and "Before" in page.text
        r = browser.post(
            "/meetings",
            data={
                "csrf": csrf.group(1),
                "meeting_id": str(m["id"]),
                "action": "save",
                "topic": "After",
                "start": "2030-05-06T11:30",
                "duration": "25",
            },
        )
        assert "Meeting saved" in r.text
    got = api.get(f"/v2/meetings/{m['id']}").json()
    assert (got["topic"], got["start_time"], got["duration"]) == (
        "After",
        "2030-05-06T11:30:00Z",
        25,
    )
    [event] = receiver.wait("meeting.updated")
    new, old = event.json["payload"]["object"], event.json["payload"]["old_object"]
    assert (new["topic"], new["start_time"], new["duration"]) == ("After", got["start_time"], 25)
    assert (old["topic"], old["start_time"], old["duration"]) == (
        "Before",
        "2030-05-05T10:00:00Z",
        60,
    )

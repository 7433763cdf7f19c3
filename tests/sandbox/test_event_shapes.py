"""Every event the sandbox sends, held to the shape of Zoom's published examples of it
(tests/integrations/zoom/fixtures/, sources in its README): the same key paths and JSON types,
so the sandbox and Zoom's documentation cannot drift apart. And what each event says: the
values before a change in old_object, files downloadable with recording.completed's
download_token, app_deauthorized's event_ts inside its payload."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from typing import Any

import httpx

from meetbridge_sandbox.config import DEMO_WEBHOOK_SECRET
from tests.integrations.zoom.zoom_shapes import Shape, fixtures
from tests.sandbox.conftest import Received, Receiver, Sandbox, bearer


def _run_every_event(sandbox: Sandbox, receiver: Receiver) -> dict[str, Any]:
    """Drives the sandbox through each event it can send; returns the meeting."""
    api = sandbox.http()
    api.headers.update(bearer(sandbox.user_tokens("sam@zoom-sandbox.test")["access_token"]))
    m = api.post(
        "/v2/users/me/meetings",
        json={
            "topic": "Shapes",
            "start_time": "2031-03-10T15:00:00Z",
            "timezone": "Europe/Paris",
            "settings": {"approval_type": 1},
        },
    ).json()
    mid = m["id"]
    assert api.patch(f"/v2/meetings/{mid}", json={"topic": "Shapes 2"}).status_code == 204
    r = api.patch(f"/v2/meetings/{mid}", json={"settings": {"waiting_room": True}})
    assert r.status_code == 204
    sandbox.control(
        "PATCH", f"/meetings/{mid}", json={"start_time": "2031-03-11T16:00:00Z", "duration": 30}
    )
    regs = [
        api.post(f"/v2/meetings/{mid}/registrants", json={"email": e, "first_name": "R"}).json()
        for e in ("a@example.test", "b@example.test")
    ]

    def status(action: str, rid: str) -> None:
        body = {"action": action, "registrants": [{"id": rid}]}
        assert api.put(f"/v2/meetings/{mid}/registrants/status", json=body).status_code == 204

    status("approve", regs[0]["registrant_id"])
    status("cancel", regs[0]["registrant_id"])
    status("deny", regs[1]["registrant_id"])
    sandbox.control("POST", f"/meetings/{mid}/start")
    sandbox.control("POST", f"/meetings/{mid}/end", json={"record": True})
    assert api.delete(f"/v2/meetings/{mid}").status_code == 204
    sandbox.control("POST", "/apps/mbDemoUserApp/validate")
    _remove_app(sandbox, "sam@zoom-sandbox.test")
    receiver.wait("app_deauthorized")
    receiver.wait("meeting.deleted")
    return dict(m)


def _remove_app(sandbox: Sandbox, email: str) -> None:
    with httpx.Client(base_url=sandbox.url, follow_redirects=True) as browser:
        browser.post("/signin", data={"email": email, "password": "sandbox-password"})
        page = browser.get("/marketplace/user/installed")
        csrf = re.search(r"name='csrf' value='([^']+)'", page.text)
        assert csrf
        browser.post(
            "/marketplace/user/installed",
            data={"csrf": csrf.group(1), "client_id": "mbDemoUserApp"},
        )


def _events(receiver: Receiver) -> list[Received]:
    with receiver.cond:
        return list(receiver.received)


def test_every_event_has_zoom_s_shape(sandbox: Sandbox, receiver: Receiver) -> None:
    _run_every_event(sandbox, receiver)
    sent = _events(receiver)
    documented = {name.split("__")[0] for name in fixtures()}
    assert {r.json["event"] for r in sent} == documented
    for r in sent:
        problems = Shape.of(r.json["event"]).problems(r.json)
        assert not problems, (r.json["event"], problems, r.json)


def test_bodies_are_compact_and_verify_when_re_serialised(
    sandbox: Sandbox, receiver: Receiver
) -> None:
    """Zoom's sample receiver signs `JSON.stringify(request.body)`, not the raw bytes."""
    _run_every_event(sandbox, receiver)
    for r in _events(receiver):
        again = json.dumps(r.json, separators=(",", ":"), ensure_ascii=False).encode()
        assert r.body == again
        message = f"v0:{r.headers['x-zm-request-timestamp']}:".encode() + again
        mac = hmac.new(DEMO_WEBHOOK_SECRET.encode(), message, hashlib.sha256).hexdigest()
        assert r.headers["x-zm-signature"] == f"v0={mac}"


def test_what_the_events_say(sandbox: Sandbox, receiver: Receiver) -> None:
    m = _run_every_event(sandbox, receiver)
    api_edit, settings_edit, page_edit = [
        r.json["payload"] for r in receiver.events("meeting.updated")
    ]
    ident = {"id": m["id"], "uuid": api_edit["object"]["uuid"]}
    assert api_edit["object"] == {**ident, "topic": "Shapes 2"}
    assert api_edit["old_object"] == {**ident, "topic": "Shapes"}
    assert settings_edit["object"]["settings"] == {"waiting_room": True}
    assert settings_edit["old_object"]["settings"] == {"waiting_room": False}
    assert page_edit["object"] == {**ident, "start_time": "2031-03-11T16:00:00Z", "duration": 30}
    assert page_edit["old_object"] == {
        **ident,
        "start_time": "2031-03-10T15:00:00Z",
        "duration": 60,
    }
    created = receiver.events("meeting.created")[0].json["payload"]["object"]
    assert created["join_url"] == m["join_url"] and created["password"] == m["password"]
    ended = receiver.events("meeting.ended")[0].json["payload"]["object"]
    assert ended["end_time"] >= ended["start_time"]
    reg = receiver.events("meeting.registration_created")[0].json["payload"]["object"]
    assert reg["registrant"]["status"] == "pending" and "operator" not in reg
    [deauth] = receiver.events("app_deauthorized")
    assert "event_ts" not in deauth.json and isinstance(deauth.json["payload"]["event_ts"], int)


def test_recording_files_download_with_the_download_token(
    sandbox: Sandbox, receiver: Receiver
) -> None:
    _run_every_event(sandbox, receiver)
    [done] = receiver.events("recording.completed")
    token = done.json["download_token"]
    rec = done.json["payload"]["object"]
    assert rec["recording_count"] == len(rec["recording_files"]) == 2
    assert rec["password"] and rec["share_url"].startswith(sandbox.url)
    for f in rec["recording_files"]:
        got = httpx.get(f["download_url"], params={"access_token": token})
        assert got.status_code == 200 and len(got.content) == f["file_size"]
        assert httpx.get(f["download_url"]).status_code == 401
        assert httpx.get(f["download_url"], params={"access_token": "nope"}).status_code == 401

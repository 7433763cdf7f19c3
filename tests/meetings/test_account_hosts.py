"""Scheduling through the organisation's account-level (Server-to-Server) connection (issue
14.14), against the live sandbox: an admin (or a member, when an admin allows it) picks any
licensed user of the Zoom account as host; the meeting is created, changed, followed and
cancelled for that user through the account connection, within that user's daily limit."""

from __future__ import annotations

import time
import uuid

import httpx

from meetbridge.integrations.zoom.tables import ZoomConnection
from tests.conftest import ORIGIN
from tests.meetings.test_meetings import BODY, _wait
from tests.zoom_env import ZoomEnv, csrf

ACCOUNT = ("mbDemoAccount01", "mbDemoS2SApp", "mb-demo-s2s-app-secret-0123456789")


def _api(env: ZoomEnv, email: str) -> httpx.Client:
    token = env.c.api_tokens.create_api_token(
        env.user(email), name=f"t-{uuid.uuid4()}", origin=ORIGIN
    ).secret
    return httpx.Client(
        base_url=f"{env.product}/api/v1", headers={"Authorization": f"Bearer {token}"}, timeout=30
    )


def _connect_account(env: ZoomEnv) -> ZoomConnection:
    return env.c.connections.save_account(env.user("owner@acme.test"), *ACCOUNT, ORIGIN)


def _at_zoom(env: ZoomEnv, email: str) -> list[dict[str, object]]:
    return list(env.control("GET", f"/meetings?host={email}"))


def test_an_admin_schedules_for_any_licensed_user_of_the_account(env: ZoomEnv) -> None:
    owner = _api(env, "owner@acme.test")
    r = owner.post("/meetings", json={**BODY, "host_email": "dana@zoom-sandbox.test"})
    assert r.status_code == 409 and "not connected" in r.text  # no account connection yet
    r = owner.post("/meetings", json=BODY)
    assert r.status_code == 409 and "Connect your Zoom account first" in r.text
    _connect_account(env)

    hosts = owner.get("/zoom/hosts").json()
    emails = {h["email"] for h in hosts}
    assert "dana@zoom-sandbox.test" in emails and len(emails) == 5
    assert "basil@zoom-sandbox.test" not in emails  # a Basic (unlicensed) user
    r = owner.post("/meetings", json={**BODY, "host_email": "basil@zoom-sandbox.test"})
    assert r.status_code == 422 and r.json()["error"]["fields"][0]["field"] == "host"
    r = owner.post("/meetings", json={**BODY, "host_zoom_user_id": "nobody"})
    assert r.status_code == 422

    r = owner.post("/meetings", json={**BODY, "host_email": "Dana@zoom-sandbox.test"})
    assert r.status_code == 202, r.text
    m = _wait(owner, r.json()["id"], "scheduled")
    assert m["zoom_host_email"] == "dana@zoom-sandbox.test" and m["host_zoom"] == "connected"
    [zoom] = _at_zoom(env, "dana@zoom-sandbox.test")
    assert zoom["id"] == m["zoom_meeting_id"] and zoom["topic"] == "Kick-off"

    assert owner.patch(f"/meetings/{m['id']}", json={"title": "Moved"}).status_code == 202
    _wait(owner, m["id"], "scheduled")
    assert _at_zoom(env, "dana@zoom-sandbox.test")[0]["topic"] == "Moved"

    # A change made in Zoom arrives by webhook (the Server-to-Server app's subscription),
    # matched through the account.
    env.control(
        "PATCH",
        "/apps/mbDemoS2SApp",
        json={
            "webhook_url": f"{env.product}/webhooks/zoom",
            "events": ["meeting.updated", "meeting.deleted"],
        },
    )
    env.control("PATCH", f"/meetings/{m['zoom_meeting_id']}", json={"topic": "Renamed in Zoom"})
    env.control("POST", "/webhooks/flush")
    deadline = time.monotonic() + 10
    while owner.get(f"/meetings/{m['id']}").json()["title"] != "Renamed in Zoom":
        assert time.monotonic() < deadline, "the change made in Zoom did not arrive"
        time.sleep(0.1)
    assert env.c.meetings.reconcile()["synced"] >= 0  # the sync reads it through the account

    assert owner.delete(f"/meetings/{m['id']}").status_code == 202
    _wait(owner, m["id"], "cancelled")
    assert _at_zoom(env, "dana@zoom-sandbox.test") == []


def test_the_web_form_offers_the_hosts_to_an_admin(env: ZoomEnv) -> None:
    _connect_account(env)
    admin = env.signed_in("owner@acme.test")
    page = admin.get("/meetings/new").text
    assert '<select name="host">' in page and "Connect your Zoom account first" not in page
    sam = next(
        h for h in _api(env, "owner@acme.test").get("/zoom/hosts").json() if "sam" in h["email"]
    )
    assert f'value="{sam["id"]}"' in page
    r = admin.post(
        "/meetings/new",
        data={
            "csrf_token": csrf(page),
            "host": sam["id"],
            "title": "From the form",
            "date": BODY["start"][:10],
            "time": "10:00",
            "duration": "30",
            "timezone": "Europe/Paris",
            "waiting_room": "on",
        },
    )
    assert r.status_code == 303, r.text
    deadline = time.monotonic() + 10
    while not _at_zoom(env, "sam@zoom-sandbox.test"):
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert _at_zoom(env, "sam@zoom-sandbox.test")[0]["topic"] == "From the form"


def test_members_schedule_for_other_hosts_only_when_an_admin_allows_it(env: ZoomEnv) -> None:
    _connect_account(env)
    bob, owner = _api(env, "bob@acme.test"), _api(env, "owner@acme.test")
    assert bob.get("/zoom/hosts").status_code == 403
    r = bob.post("/meetings", json={**BODY, "host_email": "li@zoom-sandbox.test"})
    assert r.status_code == 403 and "an admin can allow members" in r.text
    assert '<select name="host">' not in env.signed_in("bob@acme.test").get("/meetings/new").text

    r = owner.patch("/zoom/account", json={"members_may_schedule": True})
    assert r.status_code == 200 and r.json()["members_may_schedule"] is True
    assert bob.patch("/zoom/account", json={"members_may_schedule": False}).status_code == 403
    assert {h["email"] for h in bob.get("/zoom/hosts").json()} >= {"li@zoom-sandbox.test"}
    r = bob.post("/meetings", json={**BODY, "host_email": "li@zoom-sandbox.test"})
    assert r.status_code == 202, r.text
    _wait(bob, r.json()["id"], "scheduled")
    assert len(_at_zoom(env, "li@zoom-sandbox.test")) == 1

    # A member with a personal connection keeps their own path.
    ann = _api(env, "ann@acme.test")
    m = _wait(ann, ann.post("/meetings", json=BODY).json()["id"], "scheduled")
    assert m["zoom_host_id"] is None and len(_at_zoom(env, "maria@zoom-sandbox.test")) == 1


def test_each_chosen_host_has_their_own_daily_limit(env: ZoomEnv) -> None:
    _connect_account(env)
    owner = _api(env, "owner@acme.test")
    hosts = {h["email"]: h["id"] for h in owner.get("/zoom/hosts").json()}
    dana = env.c.zoom.host_daily_hit(ACCOUNT[0], hosts["dana@zoom-sandbox.test"])
    for _ in range(100):  # dana's 100 creates and updates today are used (our own count)
        env.c.limiter.hit(*dana)
    r = owner.post("/meetings", json={**BODY, "host_email": "dana@zoom-sandbox.test"})
    row = owner.get(f"/meetings/{r.json()['id']}").json()
    assert row["status"] == "creating"
    assert "100 meeting creates and updates per host per day" in row["last_error"]
    r = owner.post("/meetings", json={**BODY, "host_email": "priya@zoom-sandbox.test"})
    _wait(owner, r.json()["id"], "scheduled")


def test_new_credentials_for_the_same_account_keep_its_meetings(env: ZoomEnv) -> None:
    _connect_account(env)
    owner = _api(env, "owner@acme.test")
    r = owner.post("/meetings", json={**BODY, "host_email": "sam@zoom-sandbox.test"})
    m = _wait(owner, r.json()["id"], "scheduled")
    _connect_account(env)  # "Test Zoom and replace": the old connection ends
    got = owner.get(f"/meetings/{m['id']}").json()
    assert got["host_zoom"] == "connected" and got["status"] == "scheduled"
    assert owner.patch(f"/meetings/{m['id']}", json={"title": "Still ours"}).status_code == 202
    _wait(owner, m["id"], "scheduled")
    assert _at_zoom(env, "sam@zoom-sandbox.test")[0]["topic"] == "Still ours"


def test_while_zoom_cannot_list_the_hosts_the_request_is_a_503_to_retry(env: ZoomEnv) -> None:
    owner = _api(env, "owner@acme.test")
    _connect_account(env)
    env.control("POST", "/faults", json={"path": "/v2/users", "method": "GET", "error_rate": 1.0})
    r = owner.post("/meetings", json={**BODY, "host_email": "dana@zoom-sandbox.test"})
    # Zoom failing is not the caller's mistake: the same request, later, works.
    assert r.status_code == 503, r.text
    assert r.headers["Retry-After"].isdigit()
    assert [f["field"] for f in r.json()["error"]["fields"]] == ["host"]
    assert owner.get("/meetings").json() == []  # nothing half-made
    env.control("DELETE", "/faults")
    r = owner.post("/meetings", json={**BODY, "host_email": "dana@zoom-sandbox.test"})
    assert r.status_code == 202, r.text

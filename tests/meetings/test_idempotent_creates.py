"""A client that times out and sends its create again gets the first result: the same
`Idempotency-Key` never makes a second meeting, here or at Zoom (core/idempotency.py)."""

from __future__ import annotations

import re
import threading
import uuid

from sqlalchemy import func, select

from meetbridge.core.models import Meeting, Project, User
from tests.meetings.test_meetings import BODY, _api, _wait
from tests.zoom_env import ZoomEnv, csrf

HOST = "/meetings?host=maria@zoom-sandbox.test"


def test_a_retried_create_returns_the_first_meeting(env: ZoomEnv) -> None:
    api = _api(env)
    key = {"Idempotency-Key": str(uuid.uuid4())}
    first = api.post("/meetings", json=BODY, headers=key)
    assert first.status_code == 202 and "idempotent-replayed" not in first.headers
    _wait(api, first.json()["id"], "scheduled")
    # The same body in another field order is the same request.
    again = api.post("/meetings", json=dict(reversed(list(BODY.items()))), headers=key)
    assert again.status_code == 202 and again.headers["idempotent-replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]
    assert again.json()["status"] == "scheduled"  # the meeting as it is now
    assert len(env.control("GET", HOST)) == 1

    # Another body under the same key is a client's mistake: refused, nothing made.
    other = api.post("/meetings", json=BODY | {"title": "Another"}, headers=key)
    assert other.status_code == 422
    assert other.json()["error"]["fields"][0]["field"] == "Idempotency-Key"
    # A new key, or none, is a new meeting.
    assert api.post("/meetings", json=BODY, headers={"Idempotency-Key": "k2"}).status_code == 202
    r = api.post("/meetings", json=BODY)
    assert r.status_code == 202, r.text
    with env.c.db.read() as s:
        assert s.scalar(select(func.count()).select_from(Meeting)) == 3


def test_twin_requests_racing_make_one_meeting(env: ZoomEnv) -> None:
    key = {"Idempotency-Key": "race-1"}
    clients = [_api(env) for _ in range(4)]
    replies: list[tuple[int, str]] = []

    def send(api: object) -> None:
        r = api.post("/meetings", json=BODY, headers=key)  # type: ignore[attr-defined]
        replies.append((r.status_code, r.json()["id"]))

    threads = [threading.Thread(target=send, args=(a,)) for a in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert {code for code, _ in replies} == {202}
    assert len({mid for _, mid in replies}) == 1
    _wait(clients[0], replies[0][1], "scheduled")
    assert len(env.control("GET", HOST)) == 1


def test_keys_are_per_user_and_checked(env: ZoomEnv) -> None:
    api = _api(env)
    bad = api.post("/meetings", json=BODY, headers={"Idempotency-Key": "has space"})
    assert bad.status_code == 422
    assert bad.json()["error"]["fields"][0]["field"] == "Idempotency-Key"
    raw = api.post("/meetings", json=BODY, headers={"Idempotency-Key": "é".encode()})
    assert raw.status_code == 422
    with env.c.db.read() as s:
        assert s.scalar(select(func.count()).select_from(Meeting)) == 0


def test_projects_and_members_creates_are_idempotent_too(env: ZoomEnv) -> None:
    api = _api(env)
    key = {"Idempotency-Key": "p-1"}
    p1 = api.post("/projects", json={"name": "Launch"}, headers=key)
    p2 = api.post("/projects", json={"name": "Launch"}, headers=key)
    assert p1.status_code == p2.status_code == 201, p2.text
    assert p1.json()["id"] == p2.json()["id"] and p2.headers["idempotent-replayed"] == "true"
    assert api.post("/projects", json={"name": "Other"}, headers=key).status_code == 422

    member = {
        "email": "new@acme.test",
        "name": "New Person",
        "password": "a long and unusual passphrase 42",
    }
    key = {"Idempotency-Key": "m-1"}
    owner = _api(env, "owner@acme.test")
    m1 = owner.post("/members", json=member, headers=key)
    m2 = owner.post("/members", json=member, headers=key)
    assert m1.status_code == m2.status_code == 201, m2.text
    assert m1.json()["id"] == m2.json()["id"]
    with env.c.db.read() as s:
        assert s.scalar(select(func.count()).select_from(Project)) == 1
        assert s.scalar(select(func.count()).where(User.email == "new@acme.test")) == 1


def test_the_schedule_form_sent_twice_makes_one_meeting(env: ZoomEnv) -> None:
    browser = env.signed_in("ann@acme.test")
    page = browser.get("/meetings/new").text
    form_key = re.search(r'name="form_key" value="([^"]+)"', page)
    assert form_key, "the form carries its own key"
    form = {
        "csrf_token": csrf(page),
        "form_key": form_key.group(1),
        "title": "Sent twice",
        "date": BODY["start"][:10],  # type: ignore[index]
        "time": "09:30",
        "timezone": "UTC",
        "duration": "30",
    }
    first = browser.post("/meetings/new", data=form)
    again = browser.post("/meetings/new", data=form)  # a double click, or a reload
    assert first.status_code == again.status_code == 303
    assert first.headers["location"] == again.headers["location"]
    _wait(_api(env), first.headers["location"].rsplit("/", 1)[1], "scheduled")
    assert len(env.control("GET", HOST)) == 1
    # A fresh form is a new meeting.
    fresh = browser.get("/meetings/new").text
    assert form_key.group(1) not in fresh
    # The old form sent back with other values (Back, edit, send): said, and a fresh key given.
    reused = browser.post("/meetings/new", data=form | {"title": "Something else"})
    assert reused.status_code == 422
    assert "already used to schedule a meeting" in reused.text
    assert form_key.group(1) not in reused.text

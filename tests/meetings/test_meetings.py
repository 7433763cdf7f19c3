"""Scheduling Zoom meetings through the REST API against the live sandbox: created once,
shared by e-mail and calendar invite, changed, cancelled, and kept in step with Zoom."""

from __future__ import annotations

import datetime as dt
import os
import threading
import time
import uuid
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
import icalendar
import pytest
import vobject
from sqlalchemy import func, select

from meetbridge.core.models import Meeting
from meetbridge.integrations.zoom.limits import Hit
from meetbridge.integrations.zoom.tables import ZoomConnection
from meetbridge.meetings.lifecycle import WORK_TASK
from tests.conftest import ORIGIN
from tests.support import SmtpServer
from tests.zoom_env import ZoomEnv, zoom_env

FUTURE = (dt.date.today() + dt.timedelta(days=30)).isoformat()


def _api(env: ZoomEnv, email: str = "ann@acme.test") -> httpx.Client:
    token = env.c.api_tokens.create_api_token(
        env.user(email), name=f"t-{uuid.uuid4()}", origin=ORIGIN
    ).secret
    return httpx.Client(
        base_url=f"{env.product}/api/v1", headers={"Authorization": f"Bearer {token}"}, timeout=30
    )


def _wait(api: httpx.Client, meeting_id: str, status: str) -> dict[str, Any]:
    deadline = time.monotonic() + 20
    while True:
        m = api.get(f"/meetings/{meeting_id}").json()
        if m["status"] == status:
            return dict(m)
        assert time.monotonic() < deadline, m
        time.sleep(0.1)


def _invites(smtp: SmtpServer, to: str, count: int) -> list[EmailMessage]:
    return [m for m in smtp.inbox.wait_for(to, count) if m.get_content_type() != "x"]


def _ics(mail: EmailMessage) -> str:
    for part in mail.walk():
        if part.get_content_type() == "text/calendar":
            return str(part.get_content())
    raise AssertionError("no calendar invite attached")


BODY = {
    "title": "Kick-off",
    "start": f"{FUTURE}T09:30:00",
    "timezone": "Europe/Paris",
    "duration": 45,
    "agenda": "Scope and plan",
    "passcode": "s3cret",
    "invitees": ["guest@example.test"],
}


def test_schedule_share_edit_cancel(env: ZoomEnv, smtp: SmtpServer) -> None:
    api = _api(env)
    r = api.post("/meetings", json=BODY)
    assert r.status_code == 202, r.text
    m = _wait(api, r.json()["id"], "scheduled")
    assert m["zoom_meeting_id"] and m["join_url"].startswith(env.zoom)
    [zoom] = env.control("GET", "/meetings?host=maria@zoom-sandbox.test")
    assert zoom["id"] == m["zoom_meeting_id"] and zoom["topic"] == "Kick-off"
    paris = dt.datetime.fromisoformat(f"{FUTURE}T09:30:00").replace(
        tzinfo=__import__("zoneinfo").ZoneInfo("Europe/Paris")
    )
    assert zoom["start_time"] == paris.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert zoom["timezone"] == "Europe/Paris" and zoom["password"] == "s3cret"
    assert zoom["settings"]["waiting_room"] is True

    [mail] = smtp.inbox.wait_for("guest@example.test")
    assert m["join_url"] in mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    first = _ics(mail)
    cal = icalendar.Calendar.from_ical(first)
    assert cal["METHOD"] == "REQUEST"
    [event] = cal.walk("VEVENT")
    assert str(event["UID"]) == f"{m['id']}@meetbridge" and int(event["SEQUENCE"]) == 0
    assert event.decoded("DTSTART") == paris
    assert cal.walk("VTIMEZONE")[0]["TZID"] == "Europe/Paris"
    other = vobject.readOne(first)  # an independent parser agrees
    assert other.vevent.dtstart.value.astimezone(dt.UTC) == paris.astimezone(dt.UTC)
    assert other.vevent.location.value == m["join_url"]

    r = api.patch(
        f"/meetings/{m['id']}", json={"title": "Kick-off (moved)", "start": f"{FUTURE}T11:00:00"}
    )
    assert r.status_code == 202
    m2 = _wait(api, m["id"], "scheduled")
    assert m2["sequence"] == 1
    zoom = env.control("GET", "/meetings?host=maria@zoom-sandbox.test")[0]
    assert zoom["topic"] == "Kick-off (moved)"
    mails = smtp.inbox.wait_for("guest@example.test", 2)
    updated = icalendar.Calendar.from_ical(_ics(mails[1])).walk("VEVENT")[0]
    assert str(updated["UID"]) == f"{m['id']}@meetbridge" and int(updated["SEQUENCE"]) == 1

    assert api.delete(f"/meetings/{m['id']}").status_code == 202
    gone = _wait(api, m["id"], "cancelled")
    assert gone["join_url"] is None  # the link leads nowhere now
    assert m["id"] not in [x["id"] for x in api.get("/meetings").json()]  # not upcoming
    assert [x["id"] for x in api.get("/meetings?when=cancelled").json()] == [m["id"]]
    assert env.control("GET", "/meetings?host=maria@zoom-sandbox.test") == []
    mails = smtp.inbox.wait_for("guest@example.test", 3)
    cancel = icalendar.Calendar.from_ical(_ics(mails[2]))
    assert cancel["METHOD"] == "CANCEL"
    assert int(cancel.walk("VEVENT")[0]["SEQUENCE"]) == 2  # above the last REQUEST's
    assert vobject.readOne(_ics(mails[2])).method.value == "CANCEL"


def test_changes_made_in_zoom_show_up(env: ZoomEnv, smtp: SmtpServer) -> None:
    api = _api(env)
    m = _wait(api, api.post("/meetings", json=BODY).json()["id"], "scheduled")
    env.control(
        "PATCH",
        f"/meetings/{m['zoom_meeting_id']}",
        json={"topic": "Renamed in Zoom", "duration": 90},
    )
    env.control("POST", "/webhooks/flush")
    deadline = time.monotonic() + 10
    while api.get(f"/meetings/{m['id']}").json()["title"] != "Renamed in Zoom":
        assert time.monotonic() < deadline, "the change made in Zoom did not arrive"
        time.sleep(0.1)
    got = api.get(f"/meetings/{m['id']}").json()
    assert got["duration_min"] == 90 and got["sequence"] == 1 and got["last_synced_at"]
    smtp.inbox.wait_for("guest@example.test", 2)  # the updated invite went out
    env.control("DELETE", f"/meetings/{m['zoom_meeting_id']}")
    env.control("POST", "/webhooks/flush")
    _wait(api, m["id"], "deleted_in_zoom")


def test_missed_webhooks_are_caught_by_the_sync(env: ZoomEnv) -> None:
    api = _api(env)
    m = _wait(api, api.post("/meetings", json=BODY).json()["id"], "scheduled")
    env.control("PATCH", "/apps/mbDemoUserApp", json={"webhook_url": None})  # webhooks lost
    env.control("PATCH", f"/meetings/{m['zoom_meeting_id']}", json={"topic": "Quietly renamed"})
    with env.c.db.write() as s:
        s.get(Meeting, m["id"]).last_synced_at = None  # type: ignore[union-attr]
    assert env.c.meetings.reconcile()["synced"] == 1
    assert api.get(f"/meetings/{m['id']}").json()["title"] == "Quietly renamed"


def test_bad_input_is_refused_and_nothing_reaches_zoom(env: ZoomEnv) -> None:
    api = _api(env)
    past = (dt.datetime.now() - dt.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%S")
    other = _api(env, "owner@acme.test").post("/projects", json={"name": "Owner's"}).json()
    cases = [
        ({"start": past}, "start"),
        ({"duration": 0}, "duration"),
        ({"duration": -5}, "duration"),
        ({"duration": 100_000}, "duration"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
        # Files of the tz database that are not places (the server's own zone, copies).
        ({"timezone": "localtime"}, "timezone"),
        ({"timezone": "posixrules"}, "timezone"),
        ({"timezone": "Factory"}, "timezone"),
        ({"timezone": "right/Europe/Paris"}, "timezone"),
        ({"timezone": "posix/Europe/Paris"}, "timezone"),
        # 02:30 happens twice in Paris on 31 October 2027 (clocks go back at 03:00), and
        # not at all on 28 March 2027 (they go forward at 02:00).
        ({"start": "2027-10-31T02:30:00"}, "start"),
        ({"start": "2027-03-28T02:30:00"}, "start"),
        ({"title": "x" * 201}, "title"),
        ({"title": "  "}, "title"),
        ({"passcode": "12345678901"}, "passcode"),
        ({"passcode": "bad pass"}, "passcode"),
        ({"start": "tomorrow at nine"}, "start"),
        ({"project_id": "00000000-0000-0000-0000-000000000000"}, "project_id"),
        ({"invitees": ["not-an-email"]}, "invitees"),
        ({"agenda": "a" * 2001}, "agenda"),
        ({"platform": "teams"}, "platform"),
        ({"title": "nul\x00byte"}, "title"),
        ({"invitees": ["a@acme.test", "b\x00@acme.test"]}, "invitees"),
    ]
    for change, field in cases:
        r = api.post("/meetings", json={**BODY, **change})
        assert r.status_code == 422, (change, r.text)
        assert field in [f["field"] for f in r.json()["error"]["fields"]], (change, r.json())
    assert api.post("/projects", json={"name": "P\x00"}).status_code == 422
    for url in ("/meetings/%00", "/meetings?project_id=%00"):
        r = api.get(url)
        assert r.status_code == 400 and "NUL" in r.json()["error"]["message"], (url, r.text)
    assert other["id"]  # same organisation's project is fine
    with env.c.db.read() as s:
        assert s.scalar(select(func.count()).select_from(Meeting)) == 0
    assert env.control("GET", "/meetings") == []
    # Not connected: a clear prompt, nothing written.
    bob = _api(env, "bob@acme.test")
    r = bob.post("/meetings", json=BODY)
    assert (
        r.status_code == 409 and "Connect your Zoom account first" in r.json()["error"]["message"]
    )


def test_another_organisations_meeting_is_not_found(env: ZoomEnv, tmp_path: Path) -> None:
    api = _api(env)
    m = _wait(api, api.post("/meetings", json=BODY).json()["id"], "scheduled")
    _org, stranger = env.c.orgs.create_organization(
        name="Other",
        owner_email="x@other.test",
        owner_name="X",
        owner_password="correct-horse-battery",
        origin=ORIGIN,
    )
    token = env.c.api_tokens.create_api_token(stranger, name="t", origin=ORIGIN).secret
    them = httpx.Client(
        base_url=f"{env.product}/api/v1", headers={"Authorization": f"Bearer {token}"}
    )
    for method, path in (
        ("GET", ""),
        ("PATCH", ""),
        ("DELETE", ""),
        ("POST", "/retry"),
        ("POST", "/host-link"),
    ):
        r = them.request(
            method, f"/meetings/{m['id']}{path}", json={} if method == "PATCH" else None
        )
        assert r.status_code == 404, (method, path, r.text)
    assert them.get("/meetings").json() == []


def test_an_ambiguous_create_is_looked_up_not_repeated(env: ZoomEnv) -> None:
    api = _api(env)
    env.control(
        "POST",
        "/faults",
        json={
            "path": "/v2/users/*/meetings",
            "method": "POST",
            "lost_response_rate": 1.0,
            "hang_seconds": 4,
        },
    )
    r = api.post("/meetings", json=BODY)
    meeting_id = r.json()["id"]
    row = api.get(f"/meetings/{meeting_id}").json()
    assert row["status"] == "creating" and "did not answer clearly" in row["last_error"]
    env.control("DELETE", "/faults")
    with env.c.db.write() as s:
        m = s.get(Meeting, meeting_id)
        assert m and m.ambiguous
        m.next_attempt_at = dt.datetime.now(dt.UTC)
    env.c.meetings.work(meeting_id)
    done = _wait(api, meeting_id, "scheduled")
    made = env.control("GET", "/meetings?host=maria@zoom-sandbox.test")
    assert len(made) == 1 and made[0]["id"] == done["zoom_meeting_id"]


def _slow_zoom(env: ZoomEnv, method: str, path: str) -> None:
    env.control("POST", "/faults", json={"path": path, "method": method, "latency_ms": 1500})


class _WhileZoomWorks:
    """Runs `fn` in a thread and waits until the product has sent the matching call to Zoom
    (seen by the product's own HTTP client); `answered` is set when Zoom's reply arrives. A
    test acts in between and then asserts `not answered.is_set()`: it did act while the call
    was at Zoom, so the race it is about really happened."""

    def __init__(self, env: ZoomEnv, method: str, fn: Any) -> None:
        self.sent, self.answered = threading.Event(), threading.Event()

        def on_request(request: httpx.Request) -> None:
            if request.method == method and "/meetings" in request.url.path:
                self.sent.set()

        def on_response(response: httpx.Response) -> None:
            if response.request.method == method and "/meetings" in response.request.url.path:
                self.answered.set()

        hooks = env.c.zoom.http.event_hooks
        hooks["request"].append(on_request)
        hooks["response"].append(on_response)
        self.thread = threading.Thread(target=fn)
        self.thread.start()
        assert self.sent.wait(10), "the call never reached Zoom"

    def join(self) -> None:
        self.thread.join()


def test_an_edit_made_while_zoom_is_being_updated_is_not_lost(env: ZoomEnv) -> None:
    api = _api(env)
    m = _wait(api, api.post("/meetings", json=BODY).json()["id"], "scheduled")
    _slow_zoom(env, "PATCH", "/v2/meetings/*")
    first = _WhileZoomWorks(
        env, "PATCH", lambda: api.patch(f"/meetings/{m['id']}", json={"title": "First"})
    )
    r = api.patch(f"/meetings/{m['id']}", json={"title": "Second"})
    assert r.status_code == 202 and r.json()["status"] == "updating"
    assert not first.answered.is_set()  # the second edit was made while Zoom took the first
    first.join()
    done = _wait(api, m["id"], "scheduled")
    zoom = env.control("GET", "/meetings?host=maria@zoom-sandbox.test")
    assert done["title"] == "Second" and [z["topic"] for z in zoom] == ["Second"]


def test_a_meeting_cancelled_while_zoom_creates_it_is_deleted_there(env: ZoomEnv) -> None:
    api = _api(env)
    _slow_zoom(env, "POST", "/v2/users/*/meetings")
    first = _WhileZoomWorks(env, "POST", lambda: api.post("/meetings", json=BODY))
    (creating,) = api.get("/meetings").json()
    assert creating["status"] == "creating"
    assert api.delete(f"/meetings/{creating['id']}").json()["status"] == "cancelling"
    assert not first.answered.is_set()  # cancelled while Zoom was creating it
    first.join()
    done = _wait(api, creating["id"], "cancelled")
    assert done["zoom_meeting_id"] is not None  # what Zoom created was recorded, then deleted
    assert env.control("GET", "/meetings?host=maria@zoom-sandbox.test") == []


def _zoom_meetings(env: ZoomEnv) -> list[dict[str, Any]]:
    return list(env.control("GET", "/meetings?host=maria@zoom-sandbox.test"))


def _leased(claim: dict[str, Any], until: dt.datetime) -> dict[str, Any]:
    """The job's payload as if the request's claim ran until `until`."""
    return claim | {"row": claim["row"] | {"claimed_until": until.isoformat()}}


def _set(env: ZoomEnv, meeting_id: str, **values: Any) -> None:
    with env.c.db.write() as s:
        row = s.get(Meeting, meeting_id)
        assert row is not None
        for k, v in values.items():
            setattr(row, k, v)


def test_the_request_claims_the_first_attempt_for_its_job(
    env: ZoomEnv, held: list[tuple[Any, ...]]
) -> None:
    m = _api(env).post("/meetings", json=BODY).json()
    [(_task, meeting_id, claim)] = [j for j in held if j[0] == WORK_TASK]  # not its event
    # Until its job runs, nothing else takes the meeting up: not a reconciler, not another job.
    _set(env, m["id"], next_attempt_at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5))
    assert env.c.meetings.reconcile()["requeued"] == 0
    assert env.c.meetings.work(meeting_id) == "creating" and _zoom_meetings(env) == []
    assert env.c.meetings.work(meeting_id, claim) == "done"
    assert [z["topic"] for z in _zoom_meetings(env)] == ["Kick-off"]


def test_a_job_that_waited_long_in_the_queue_renews_its_claim(
    env: ZoomEnv, held: list[tuple[Any, ...]]
) -> None:
    m = _api(env).post("/meetings", json=BODY).json()
    [(_task, meeting_id, claim)] = [j for j in held if j[0] == WORK_TASK]  # not its event
    # Too little of the request's lease is left for a Zoom call: the job renews it first.
    soon = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=5)
    _set(env, m["id"], claimed_until=soon)
    assert env.c.meetings.work(meeting_id, _leased(claim, soon)) == "done"
    assert len(_zoom_meetings(env)) == 1


def test_a_job_whose_claim_was_taken_over_does_nothing(
    env: ZoomEnv, held: list[tuple[Any, ...]]
) -> None:
    api = _api(env)
    m = api.post("/meetings", json=BODY).json()
    [(_task, meeting_id, claim)] = [j for j in held if j[0] == WORK_TASK]  # not its event
    # The job was stuck (a worker paused) past its lease; the reconciler queued the meeting
    # again and another attempt made it. Then the stuck job runs: no second meeting at Zoom.
    past = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
    _set(env, m["id"], claimed_until=past, next_attempt_at=past)
    assert env.c.meetings.reconcile()["requeued"] == 1
    assert env.c.meetings.work(meeting_id) == "done"
    assert env.c.meetings.work(meeting_id, _leased(claim, past)) == "scheduled"
    assert len(_zoom_meetings(env)) == 1
    assert _wait(api, m["id"], "scheduled")["zoom_meeting_id"] == _zoom_meetings(env)[0]["id"]


def test_when_the_queue_is_down_the_request_lets_its_claim_go(
    env: ZoomEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(env.c.jobs, "enqueue", lambda *job: False)
    m = _api(env).post("/meetings", json=BODY).json()
    with env.c.db.read() as s:
        assert s.scalar(select(Meeting.claimed_until).where(Meeting.id == m["id"])) is None
    monkeypatch.undo()
    _set(env, m["id"], next_attempt_at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1))
    assert env.c.meetings.reconcile()["requeued"] == 1  # and its job ran
    assert len(_zoom_meetings(env)) == 1


def test_a_token_revoked_or_a_user_deactivated_stops_scheduling_at_once(env: ZoomEnv) -> None:
    # Scheduling may use the caller as read up to a minute ago; its INSERT confirms the token.
    ann = env.user("ann@acme.test")
    for stop in ("revoke", "deactivate"):
        made = env.c.api_tokens.create_api_token(ann, name=f"t-{stop}", origin=ORIGIN)
        api = httpx.Client(
            base_url=f"{env.product}/api/v1",
            headers={"Authorization": f"Bearer {made.secret}"},
            timeout=30,
        )
        assert api.post("/meetings", json=BODY).status_code == 202  # the caller is remembered
        before = len(_zoom_meetings(env))
        if stop == "revoke":
            env.c.api_tokens.revoke_api_token(ann, made.token.id, origin=ORIGIN)
        else:
            owner = env.c.orgs.first_owner("acme")
            assert owner is not None
            env.c.accounts.deactivate_member(owner, ann.id, origin=ORIGIN)
        r = api.post("/meetings", json=BODY | {"title": "Not this one"})
        assert r.status_code == 401 and "revoked" in r.json()["error"]["message"], r.text
        with env.c.db.read() as s:
            assert not s.scalar(select(func.count()).where(Meeting.title == "Not this one"))
        assert len(_zoom_meetings(env)) == before


def test_cancelling_a_failed_unclear_create_deletes_what_zoom_made(env: ZoomEnv) -> None:
    api = _api(env)
    env.control(
        "POST",
        "/faults",
        json={"path": "/v2/users/*/meetings", "method": "POST", "lost_response_rate": 1.0},
    )
    meeting_id = api.post("/meetings", json=BODY).json()["id"]
    env.control("DELETE", "/faults")
    assert len(env.control("GET", "/meetings?host=maria@zoom-sandbox.test")) == 1
    with env.c.db.write() as s:  # a later attempt was refused: the meeting shows as failed
        row = s.get(Meeting, meeting_id)
        assert row and row.ambiguous and row.zoom_meeting_id is None
        row.status = "failed"
    assert api.delete(f"/meetings/{meeting_id}").json()["status"] == "cancelling"
    _wait(api, meeting_id, "cancelled")
    assert env.control("GET", "/meetings?host=maria@zoom-sandbox.test") == []


@pytest.fixture(params=["database", "redis"])
def counters(
    request: pytest.FixtureRequest, tmp_path: Path, database_url: str, smtp: SmtpServer
) -> Iterator[ZoomEnv]:
    """A connected host, Zoom's limits counted in the database or in Redis."""
    redis_url = None
    if request.param == "redis":
        redis_url = os.environ.get("MEETBRIDGE_TEST_REDIS_URL")
        if not redis_url:
            pytest.skip("MEETBRIDGE_TEST_REDIS_URL is not set")
    with zoom_env(tmp_path, database_url, smtp, redis_url=redis_url) as e:
        e.connect(e.signed_in("ann@acme.test"), "maria@zoom-sandbox.test")
        yield e


def _maria_daily(env: ZoomEnv) -> Hit:
    """What a create for Maria counts in advance: her creates today."""
    with env.c.db.read() as s:
        conn = s.scalar(select(ZoomConnection).where(ZoomConnection.status == "connected"))
    assert conn is not None and conn.zoom_account_id and conn.zoom_user_id
    (daily,) = env.c.zoom.meeting_write_hits(conn.zoom_account_id, conn.zoom_user_id)
    return daily


def _used_today(env: ZoomEnv) -> int:
    """Maria's creates today, as counted."""
    daily = _maria_daily(env)
    return env.c.limiter.used(daily.key, daily.window)


def test_the_request_counts_the_jobs_zoom_call_once(
    counters: ZoomEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = counters
    held: list[tuple[Any, ...]] = []  # the meetings' jobs, held; the invites' dropped
    monkeypatch.setattr(
        env.c.jobs, "enqueue", lambda *job: job[0] != WORK_TASK or held.append(job) or True
    )
    api = _api(env)
    day0 = _used_today(env)
    for i in range(3):
        m = api.post("/meetings", json=BODY | {"title": f"Call {i}"}).json()
        (_task, meeting_id, claim) = held.pop()
        counted_by_request = _used_today(env) - day0
        assert env.c.meetings.work(meeting_id, claim) == "done"
        # Once per meeting: by the request (from the second meeting on, once this process
        # knows the host's Zoom user in Redis's case; at once in the database), else by the
        # job, never by both.
        assert _used_today(env) - day0 == i + 1
        if i > 0:
            assert counted_by_request == i + 1
            assert [key for key, _window in claim["reservation"]] == [_maria_daily(env).key]
        assert api.get(f"/meetings/{m['id']}").json()["status"] == "scheduled"
    # A request refused after its count takes the count back.
    foreign = {"project_id": "00000000-0000-0000-0000-000000000000"}
    assert api.post("/meetings", json=BODY | foreign).status_code == 422
    assert _used_today(env) - day0 == 3 and held == []
    assert sorted(z["topic"] for z in _zoom_meetings(env)) == ["Call 0", "Call 1", "Call 2"]


def test_host_at_the_daily_limit_is_told_and_created_later(env: ZoomEnv) -> None:
    api = _api(env)
    core = env.sandbox_app.state.sandbox
    maria = core.state.user_by_email("maria@zoom-sandbox.test")
    key = f"{maria.id}/{core.clock.now().date().isoformat()}"
    core.state.host_daily[key] = 100
    m = api.post("/meetings", json=BODY).json()
    row = api.get(f"/meetings/{m['id']}").json()
    assert row["status"] == "creating"
    assert "100 meeting creates and updates per host per day" in row["last_error"]
    core.state.host_daily[key] = 0  # Zoom's day turned
    for ago, requeued in ((0, 0), (60, 1)):
        # Due just now: as for a job waiting in a busy queue, the reconciler adds none (it
        # would double the backlog). Due for a minute and still not done: its job was lost.
        with env.c.db.write() as s:
            due = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=ago)
            s.get(Meeting, m["id"]).next_attempt_at = due  # type: ignore[union-attr]
        assert env.c.meetings.reconcile()["requeued"] == requeued
    _wait(api, m["id"], "scheduled")


def test_host_link_is_fresh_and_audited(env: ZoomEnv) -> None:
    api = _api(env)
    m = _wait(api, api.post("/meetings", json=BODY).json()["id"], "scheduled")
    link = api.post(f"/meetings/{m['id']}/host-link").json()["start_url"]
    assert "/s/" in link and httpx.get(link).status_code == 200
    with env.c.db.read() as s:
        row = s.get(Meeting, m["id"])
        assert row and "zak" not in str(vars(row))  # never stored
    owner = env.user("owner@acme.test")
    assert "meeting.host_link" in [e.action for e in env.c.accounts.list_audit(owner)]


def test_an_organisations_own_invite_wording(env: ZoomEnv, smtp: SmtpServer) -> None:
    admin = _api(env, "owner@acme.test")
    listed = {t["name"]: t for t in admin.get("/email-templates").json()}
    assert set(listed) == {"welcome", "invite", "zoom_lost", "request"}
    assert "join_url" in listed["invite"]["variables"] and not listed["invite"]["customised"]
    bad = admin.put("/email-templates/invite", json={"subject": "{{ title }", "body_text": "x"})
    assert bad.status_code == 422
    bad = admin.put(
        "/email-templates/invite", json={"subject": "Hi", "body_text": "{{ nonexistent_variable }}"}
    )
    assert bad.status_code == 422 and "does not render" in bad.json()["error"]["message"]
    assert (
        _api(env)
        .put("/email-templates/invite", json={"subject": "x", "body_text": "y"})
        .status_code
        == 403
    )
    r = admin.put(
        "/email-templates/invite",
        json={
            "subject": "Acme call: {{ title }}",
            "body_text": "Dial in at {{ join_url }} on {{ when }}.\n{{ '{{' }}sandboxed{{ '}}' }}",
        },
    )
    assert r.status_code == 204
    api = _api(env)
    _wait(api, api.post("/meetings", json=BODY).json()["id"], "scheduled")
    [mail] = smtp.inbox.wait_for("guest@example.test")
    assert mail["Subject"] == "Acme call: Kick-off"
    assert mail.get_body(("plain",)).get_content().startswith("Dial in at http")  # type: ignore[union-attr]
    assert _ics(mail)  # the calendar invite still comes along
    assert admin.delete("/email-templates/invite").status_code == 204
    assert not {t["name"]: t for t in admin.get("/email-templates").json()}["invite"]["customised"]


def _zoom_as_admin(env: ZoomEnv, body: dict[str, Any]) -> dict[str, Any]:
    """A meeting made for Maria at Zoom by someone else than meetbridge's job (as a late
    create lands, or as the host makes one by hand)."""
    s2s = httpx.post(
        f"{env.zoom}/oauth/token",
        auth=("mbDemoS2SApp", "mb-demo-s2s-app-secret-0123456789"),
        params={"grant_type": "account_credentials", "account_id": "mbDemoAccount01"},
    )
    made = httpx.post(
        f"{env.zoom}/v2/users/maria@zoom-sandbox.test/meetings",
        headers={"Authorization": f"Bearer {s2s.json()['access_token']}"},
        json=body,
    )
    assert made.status_code == 201, made.text
    return dict(made.json())


def _what_we_sent(linked: dict[str, Any]) -> dict[str, Any]:
    """The body meetbridge sends for BODY (zoom_body): a late copy of our create is this."""
    start = dt.datetime.fromisoformat(linked["start_time"].replace("Z", "+00:00"))
    local = start.astimezone(__import__("zoneinfo").ZoneInfo("Europe/Paris"))
    return {
        "topic": linked["topic"],
        "type": 2,
        "start_time": local.strftime("%Y-%m-%dT%H:%M:%S"),
        "timezone": "Europe/Paris",
        "duration": 45,
        "agenda": "Scope and plan",
        "password": "s3cret",
        "settings": {"waiting_room": True, "join_before_host": False},
    }


def _had_doubt(env: ZoomEnv, meeting_id: str, ago: dt.timedelta) -> None:
    """As if the meeting's create had once been unclear, `ago` ago."""
    with env.c.db.write() as s:
        row = s.get(Meeting, meeting_id)
        assert row is not None
        row.had_ambiguity = True
        row.updated_at = dt.datetime.now(dt.UTC) - max(ago, dt.timedelta(minutes=10))
        row.created_at = row.last_create_at = dt.datetime.now(dt.UTC) - ago


def test_a_late_copy_at_zoom_is_swept(env: ZoomEnv) -> None:
    api = _api(env)
    m = _wait(api, api.post("/meetings", json=BODY).json()["id"], "scheduled")
    [linked] = env.control("GET", "/meetings?host=maria@zoom-sandbox.test")
    # A create that timed out lands at Zoom late, after the lookup: what we sent, again.
    late = _zoom_as_admin(env, _what_we_sent(linked))
    assert len(env.control("GET", "/meetings?host=maria@zoom-sandbox.test")) == 2
    assert env.c.meetings.reconcile()["orphans_deleted"] == 0  # only meetings that had doubt
    _had_doubt(env, m["id"], dt.timedelta(minutes=1))
    assert env.c.meetings.reconcile()["orphans_deleted"] == 1
    [kept] = env.control("GET", "/meetings?host=maria@zoom-sandbox.test")
    assert kept["id"] == m["zoom_meeting_id"] != late["id"]
    assert env.c.meetings.reconcile()["orphans_deleted"] == 0  # swept once


def test_the_sweep_leaves_a_meeting_the_host_made_by_hand(env: ZoomEnv) -> None:
    api = _api(env)
    m = _wait(api, api.post("/meetings", json=BODY).json()["id"], "scheduled")
    [linked] = env.control("GET", "/meetings?host=maria@zoom-sandbox.test")
    sent = _what_we_sent(linked)
    # The host makes, by hand, meetings with the same topic and start: with Zoom's default
    # duration and no agenda, with another passcode, or with no waiting room.
    _zoom_as_admin(env, {k: sent[k] for k in ("topic", "start_time", "timezone")})
    _zoom_as_admin(env, sent | {"password": "other1"})
    _zoom_as_admin(env, sent | {"settings": {"waiting_room": False}})
    _had_doubt(env, m["id"], dt.timedelta(minutes=1))
    assert env.c.meetings.reconcile()["orphans_deleted"] == 0
    assert len(env.control("GET", "/meetings?host=maria@zoom-sandbox.test")) == 4


def test_the_sweep_leaves_a_copy_made_after_our_creates_could_land(env: ZoomEnv) -> None:
    api = _api(env)
    m = _wait(api, api.post("/meetings", json=BODY).json()["id"], "scheduled")
    [linked] = env.control("GET", "/meetings?host=maria@zoom-sandbox.test")
    # Identical in every field, but made long after our last create attempt ended.
    _zoom_as_admin(env, _what_we_sent(linked))
    _had_doubt(env, m["id"], dt.timedelta(hours=3))
    assert env.c.meetings.reconcile()["orphans_deleted"] == 0
    assert len(env.control("GET", "/meetings?host=maria@zoom-sandbox.test")) == 2

"""The lifecycle's leases and failures, against the live sandbox."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from meetbridge.core.models import Meeting
from tests.meetings.test_meetings import BODY, _api, _set, _wait, _zoom_meetings
from tests.support import SmtpServer
from tests.zoom_env import ZoomEnv, zoom_env


@pytest.fixture
def short_lease(tmp_path: Path, database_url: str, smtp: SmtpServer) -> Iterator[ZoomEnv]:
    """A lease no longer than the longest Zoom call (the shortest the settings allow)."""
    with zoom_env(tmp_path, database_url, smtp, meetings_lease_seconds=1.0) as e:
        e.connect(e.signed_in("ann@acme.test"), "maria@zoom-sandbox.test")
        yield e


def test_an_ambiguous_create_holds_its_lease_for_every_zoom_call(
    short_lease: ZoomEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = short_lease
    monkeypatch.setattr(env.c.jobs, "enqueue", lambda *job: True)  # the job is lost
    m = _api(env).post("/meetings", json=BODY).json()
    monkeypatch.undo()
    # Its create was unclear: the next attempt lists the host's meetings, then creates.
    past = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
    _set(env, m["id"], ambiguous=True, claimed_until=None, next_attempt_at=past)
    env.control(
        "POST",
        "/faults",
        json={"path": "/v2/users/*/meetings", "method": "GET", "latency_ms": 1500},
    )
    longest = dt.timedelta(seconds=env.c.settings.zoom_longest_call)
    left: list[tuple[str, dt.timedelta]] = []

    def lease_left(request: httpx.Request) -> None:
        if "/meetings" not in request.url.path:
            return
        with env.c.db.read() as s:
            row = s.get(Meeting, m["id"])
            assert row is not None and row.claimed_until is not None
            left.append((request.method, row.claimed_until - dt.datetime.now(dt.UTC)))

    env.c.zoom.http.event_hooks["request"].append(lease_left)
    assert env.c.meetings.work(m["id"]) == "done"
    assert [method for method, _ in left] == ["GET", "POST"]
    # Every call starts with at least a longest call's lease ahead (a few ms of our own).
    assert all(ahead >= longest - dt.timedelta(milliseconds=300) for _, ahead in left), left
    assert len(_zoom_meetings(env)) == 1


def test_a_refused_update_shows_as_failed_and_can_be_retried(env: ZoomEnv) -> None:
    api = _api(env)
    m = _wait(api, api.post("/meetings", json=BODY).json()["id"], "scheduled")
    env.control(
        "POST",
        "/faults",
        json={"path": "/v2/meetings/*", "method": "PATCH", "burst_error": 1, "error_status": 400},
    )
    assert api.patch(f"/meetings/{m['id']}", json={"title": "Refused"}).status_code == 202
    failed = _wait(api, m["id"], "failed")
    assert "Zoom refused" in failed["last_error"] and failed["title"] == "Refused"
    assert [z["topic"] for z in _zoom_meetings(env)] == ["Kick-off"]
    r = api.post(f"/meetings/{m['id']}/retry")
    assert r.status_code in (200, 202), r.text
    done = _wait(api, m["id"], "scheduled")
    assert done["last_error"] is None
    assert [z["topic"] for z in _zoom_meetings(env)] == ["Refused"]


def test_a_failed_update_can_be_edited_again(env: ZoomEnv) -> None:
    api = _api(env)
    m = _wait(api, api.post("/meetings", json=BODY).json()["id"], "scheduled")
    env.control(
        "POST",
        "/faults",
        json={"path": "/v2/meetings/*", "method": "PATCH", "burst_error": 1, "error_status": 400},
    )
    api.patch(f"/meetings/{m['id']}", json={"title": "Refused"})
    _wait(api, m["id"], "failed")
    assert api.patch(f"/meetings/{m['id']}", json={"title": "Better"}).status_code == 202
    _wait(api, m["id"], "scheduled")
    assert [z["topic"] for z in _zoom_meetings(env)] == ["Better"]

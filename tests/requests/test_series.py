"""Recurring requests: a weekly series written as one request per occurrence; Clone Zoom
Settings makes each a Zoom meeting of its own on a pool host, spread over the pool, as a job
with progress that reports the occurrence it could not place and why; a series too long is
refused precisely and nothing is written."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

import httpx

from tests.requests.conftest import POOL, api, at_zoom, request_body, save_pool
from tests.requests.test_requests import _new
from tests.zoom_env import ZoomEnv


def _next_monday() -> dt.date:
    today = dt.date.today()
    return today + dt.timedelta(days=7 - today.weekday())


def _at(day: dt.date, hour: int) -> str:
    return dt.datetime.combine(day, dt.time(hour)).isoformat()


def _finished(s: httpx.Client, job_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while True:
        job = s.get(f"/requests/series-jobs/{job_id}").json()
        if job["status"] != "pending":
            return dict(job)
        assert time.monotonic() < deadline, job
        time.sleep(0.2)


def test_clone_zoom_settings_makes_every_occurrence_a_meeting_on_the_pool(env: ZoomEnv) -> None:
    assert save_pool(env).status_code == 200
    s = api(env, "sched@acme.test")
    monday = _next_monday()
    # Both hosts are busy on the second Wednesday at 10:00: that occurrence cannot be placed.
    blocked = monday + dt.timedelta(days=9)
    for _ in POOL:
        b = _new(s, _at(blocked, 10), _at(blocked, 11), client="Already there")
        assert s.post(f"/requests/{b['id']}/convert-to-zoom").status_code == 200

    body = {
        **request_body(_at(monday, 10), _at(monday, 11), client="Weekly Tutoring"),
        "repeat": {"frequency": "weekly", "weekdays": [0, 2], "count": 6},
    }
    r = s.post("/requests/series", json=body)
    assert r.status_code == 201, r.text
    series = r.json()
    days = [o["start"][:10] for o in series["occurrences"]]
    assert len(days) == 6 and days[0] == monday.isoformat()
    assert all(o["type"] == "regular" for o in series["occurrences"])

    r = s.post(f"/requests/series/{series['id']}/update", json={"clone_zoom_settings": True})
    assert r.status_code == 202, r.text
    job = _finished(s, r.json()["id"])
    assert job["status"] == "done" and job["done"] == 6 and job["placed"] == 5, job
    [missed] = job["not_placed"]
    assert missed["start"].startswith(blocked.isoformat()) and "no host" in missed["reason"]

    after = s.get(f"/requests/series/{series['id']}").json()
    zoom = [o for o in after["occurrences"] if o["type"] == "zoom"]
    assert len(zoom) == 5 and len({o["meeting_id"] for o in zoom}) == 5
    assert {o["zoom_host"] for o in zoom} == set(POOL)  # spread over the pool
    deadline = time.monotonic() + 20
    while sum(1 for h in POOL for m in at_zoom(env, h) if "Weekly Tutoring" in m["topic"]) != 5:
        assert time.monotonic() < deadline
        time.sleep(0.2)
    assert after["job"]["id"] == job["id"]


def test_a_series_too_long_or_broken_is_refused_with_every_field(env: ZoomEnv) -> None:
    s = api(env, "sched@acme.test")
    monday = _next_monday()
    body = {
        **request_body(_at(monday, 10), _at(monday, 11)),
        "repeat": {"frequency": "weekly", "weekdays": [], "count": 10_000},
    }
    r = s.post("/requests/series", json=body)
    assert r.status_code == 422, r.text
    fields = {f["field"] for f in r.json()["error"]["fields"]}
    assert {"repeat.count", "repeat.weekdays"} <= fields, fields
    body["repeat"] = {"frequency": "daily", "count": 3}
    body["client"] = ""
    r = s.post("/requests/series", json=body)
    assert r.status_code == 422 and r.json()["error"]["fields"][0]["field"] == "client"
    assert s.get("/requests").json() == []

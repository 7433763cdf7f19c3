"""Service requests on a pool of Zoom hosts, against the live sandbox: the pool checked
against the account, converting to and from Zoom (the meeting on a free pool host at Zoom, a
conflicting one on another, every host busy named), a time change moving the meeting, a
meeting made in Zoom outside meetbridge respected, Zoom's 100 a day, two conversions at once,
and the host link's window and rule."""

from __future__ import annotations

import datetime as dt
import threading
import time
from typing import Any

import httpx

from meetbridge.core.db import utcnow
from meetbridge.core.models import AuditEvent
from tests.requests.conftest import POOL, api, at_zoom, request_body, save_pool, tomorrow
from tests.zoom_env import ZoomEnv


def _new(http: httpx.Client, start: str, end: str, **more: Any) -> dict[str, Any]:
    r = http.post("/requests", json=request_body(start, end, **more))
    assert r.status_code == 201, r.text
    return dict(r.json())


def _scheduled(http: httpx.Client, rid: str) -> dict[str, Any]:
    deadline = time.monotonic() + 15
    while True:
        r = http.get(f"/requests/{rid}").json()
        if r["meeting_status"] == "scheduled" and r["join_url"]:
            return dict(r)
        assert time.monotonic() < deadline, r
        time.sleep(0.1)


def _gone_from(env: ZoomEnv, email: str, topic_part: str) -> None:
    deadline = time.monotonic() + 15
    while any(topic_part in m["topic"] for m in at_zoom(env, email)):
        assert time.monotonic() < deadline, at_zoom(env, email)
        time.sleep(0.1)


def test_the_pool_is_checked_against_the_account_at_save(env: ZoomEnv) -> None:
    r = save_pool(env, ["dana@zoom-sandbox.test", "nobody@zoom-sandbox.test"])
    assert r.status_code == 422, r.text
    assert "nobody@zoom-sandbox.test" in r.text and "not a user" in r.text
    assert api(env, "owner@acme.test").get("/requests/settings").json()["host_pool"] == []

    r = save_pool(env, ["dana@zoom-sandbox.test", "basil@zoom-sandbox.test"])
    assert r.status_code == 200, r.text
    [warning] = r.json()["warnings"]
    assert warning["email"] == "basil@zoom-sandbox.test" and "40 minutes" in warning["problem"]

    # Every bad field at once, nothing saved.
    bad = {"lead_minutes": 121, "padding_minutes": 1441, "host_pool": ["not an e-mail"]}
    r = api(env, "owner@acme.test").put("/requests/settings", json=bad)
    assert r.status_code == 422
    fields = {f["field"] for f in r.json()["error"]["fields"]}
    assert fields == {"lead_minutes", "padding_minutes", "host_pool"}, r.text
    assert api(env, "owner@acme.test").get("/requests/settings").json()["lead_minutes"] == 15
    # Only admins change it.
    r = api(env, "sched@acme.test").put("/requests/settings", json={**bad, "lead_minutes": 5})
    assert r.status_code in (403, 422)


def test_while_zoom_cannot_list_the_account_s_users_saving_the_pool_is_a_503(
    env: ZoomEnv,
) -> None:
    env.control("POST", "/faults", json={"path": "/v2/users", "method": "GET", "error_rate": 1.0})
    r = save_pool(env)
    # Zoom failing is not a bad pool: the same save, later, works.
    assert r.status_code == 503, r.text
    assert r.headers["Retry-After"].isdigit()
    assert [f["field"] for f in r.json()["error"]["fields"]] == ["host_pool"]
    assert api(env, "owner@acme.test").get("/requests/settings").json()["host_pool"] == []
    env.control("DELETE", "/faults")
    assert save_pool(env).status_code == 200


def test_bad_requests_name_every_field(env: ZoomEnv) -> None:
    s = api(env, "sched@acme.test")
    body = request_body(tomorrow(11), tomorrow(10), timezone="Mars/Olympus", client="")
    r = s.post("/requests", json=body)
    assert r.status_code == 422
    fields = {f["field"] for f in r.json()["error"]["fields"]}
    assert {"client", "timezone"} <= fields, r.text
    r = s.post("/requests", json=request_body(tomorrow(11), tomorrow(10)))
    assert r.status_code == 422 and r.json()["error"]["fields"][0]["field"] == "end"
    assert s.get("/requests").json() == []
    # A member who is no scheduler cannot make one.
    assert (
        api(env, "bob@acme.test")
        .post("/requests", json=request_body(tomorrow(10), tomorrow(11)))
        .status_code
        == 403
    )


def test_convert_chooses_a_free_pool_host_and_names_the_window_when_none_is(
    env: ZoomEnv,
) -> None:
    assert save_pool(env).status_code == 200
    s = api(env, "sched@acme.test")
    first = _new(s, tomorrow(10), tomorrow(11))
    r = s.post(f"/requests/{first['id']}/convert-to-zoom")
    assert r.status_code == 200, r.text
    one = _scheduled(s, first["id"])
    assert one["type"] == "zoom" and one["zoom_host"] in POOL
    [zm] = [m for m in at_zoom(env, one["zoom_host"]) if "Clinic North" in m["topic"]]
    assert one["join_url"] == zm["join_url"]
    assert one["held_from"].startswith(tomorrow(9, 45)[:16])  # 15 minutes' lead

    # Overlapping (within padding): the other host.
    second = _new(s, tomorrow(11, 10), tomorrow(12))
    two = s.post(f"/requests/{second['id']}/convert-to-zoom").json()
    assert two["zoom_host"] in POOL and two["zoom_host"] != one["zoom_host"], two
    # When the shuffle tried the first host first, the request says why it was skipped.
    assert two["host_choice"] == "" or one["zoom_host"] in two["host_choice"]

    # Every host busy: the error names the window and each host tried.
    third = _new(s, tomorrow(10, 30), tomorrow(11, 30))
    r = s.post(f"/requests/{third['id']}/convert-to-zoom")
    assert r.status_code == 409
    text = r.json()["error"]["message"]
    assert tomorrow(10, 15)[:16].replace("T", " ") in text, text  # the window, with the lead
    assert all(email in text for email in POOL), text
    assert s.get(f"/requests/{third['id']}").json()["type"] == "regular"

    # Far enough apart (more than lead + padding): the same host is free again.
    later = _new(s, tomorrow(14), tomorrow(15))
    assert s.post(f"/requests/{later['id']}/convert-to-zoom").status_code == 200

    # Drafts and canceled requests refuse, with the reason.
    draft = _new(s, tomorrow(16), tomorrow(17), status="draft")
    r = s.post(f"/requests/{draft['id']}/convert-to-zoom")
    assert r.status_code == 409 and "draft" in r.text
    past = _new(s, tomorrow(9, days=-2), tomorrow(10, days=-2))
    r = s.post(f"/requests/{past['id']}/convert-to-zoom")
    assert r.status_code == 409 and "over" in r.text

    # The report: the type and the filters.
    zoom_rows = s.get("/requests", params={"type": "zoom"}).json()
    assert {x["id"] for x in zoom_rows} == {first["id"], second["id"], later["id"]}
    assert len(s.get("/requests", params={"tag": "Zoom", "status": "draft"}).json()) == 1
    csv = s.get("/requests.csv", params={"type": "zoom"}).text
    assert csv.count("Zoom meeting") == 3 and one["join_url"] in csv
    # Times are ISO 8601 with an offset: a bare number is not read as seconds since 1970, and
    # each bad filter is named.
    r = s.get("/requests", params={"from": "2027", "to": "2027-03-01T09:00:00"})
    assert r.status_code == 422 and {"from", "to"} <= set(r.text.split('"')), r.text
    r = s.get("/requests.csv", params={"to": "2027-03-01T09:00:00"})
    assert r.status_code == 422 and "offset" in r.text, r.text


def test_back_to_regular_or_cancel_deletes_the_meeting_at_zoom(env: ZoomEnv) -> None:
    assert save_pool(env, POOL[:1]).status_code == 200
    s = api(env, "sched@acme.test")
    a = _new(s, tomorrow(10), tomorrow(11), client="Back Again")
    s.post(f"/requests/{a['id']}/convert-to-zoom")
    _scheduled(s, a["id"])
    r = s.post(f"/requests/{a['id']}/convert-to-regular").json()
    assert r["type"] == "regular" and r["zoom_host"] is None
    _gone_from(env, POOL[0], "Back Again")

    b = _new(s, tomorrow(10), tomorrow(11), client="Canceled Later")
    assert s.post(f"/requests/{b['id']}/convert-to-zoom").status_code == 200  # host free again
    _scheduled(s, b["id"])
    r = s.post(f"/requests/{b['id']}/status", json={"status": "canceled"}).json()
    assert r["status"] == "canceled" and r["type"] == "regular"
    _gone_from(env, POOL[0], "Canceled Later")
    r = s.post(f"/requests/{b['id']}/convert-to-zoom")
    assert r.status_code == 409 and "canceled" in r.text


def test_a_time_change_moves_the_meeting_or_another_host_takes_it(env: ZoomEnv) -> None:
    assert save_pool(env).status_code == 200
    s = api(env, "sched@acme.test")
    a = _new(s, tomorrow(10), tomorrow(11), client="Mover")
    s.post(f"/requests/{a['id']}/convert-to-zoom")
    one = _scheduled(s, a["id"])
    r = s.put(f"/requests/{a['id']}", json=request_body(tomorrow(13), tomorrow(14), client="Mover"))
    assert r.status_code == 200, r.text
    moved = r.json()
    assert moved["zoom_host"] == one["zoom_host"] and moved["meeting_id"] == one["meeting_id"]
    deadline = time.monotonic() + 15
    while True:
        [zm] = [m for m in at_zoom(env, one["zoom_host"]) if "Mover" in m["topic"]]
        if zm["start_time"].startswith(tomorrow(13)[:16]):
            break
        assert time.monotonic() < deadline, zm
        time.sleep(0.1)
    assert zm["join_url"] == one["join_url"]  # the same meeting, moved

    # Another request takes that host at 15:00; moving the first onto it picks the other host.
    other_host = next(h for h in POOL if h != one["zoom_host"])
    b = _new(s, tomorrow(15), tomorrow(16), client="Blocker")
    s.post(f"/requests/{b['id']}/convert-to-zoom")
    if s.get(f"/requests/{b['id']}").json()["zoom_host"] != one["zoom_host"]:
        return  # the shuffle put it on the other host: nothing to move around
    r = s.put(f"/requests/{a['id']}", json=request_body(tomorrow(15), tomorrow(16), client="Mover"))
    assert r.status_code == 200, r.text
    assert r.json()["zoom_host"] == other_host and r.json()["meeting_id"] != one["meeting_id"]
    _gone_from(env, one["zoom_host"], "Mover")
    _scheduled(s, a["id"])


def test_a_meeting_made_in_zoom_outside_meetbridge_keeps_its_host(env: ZoomEnv) -> None:
    assert save_pool(env, POOL[:1]).status_code == 200
    conn = env.c.meetings.account_connection(env.user("owner@acme.test").org_id)
    assert conn is not None
    hosts = {h.email: h for h in env.c.meetings.hosts(env.user("owner@acme.test"))}
    start = dt.datetime.fromisoformat(tomorrow(10)).replace(tzinfo=dt.UTC)
    body = {
        "topic": "Made by hand in Zoom",
        "type": 2,
        "duration": 60,
        "start_time": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "timezone": "UTC",
    }
    env.c.zoom.api(conn).create_meeting(body, hosts[POOL[0]].id)
    s = api(env, "sched@acme.test")
    a = _new(s, tomorrow(10, 30), tomorrow(11, 30))
    r = s.post(f"/requests/{a['id']}/convert-to-zoom")
    assert r.status_code == 409 and "outside meetbridge" in r.text, r.text


def test_a_host_at_zoom_s_daily_limit_is_skipped(env: ZoomEnv) -> None:
    assert save_pool(env, POOL[:1]).status_code == 200
    owner = env.user("owner@acme.test")
    conn = env.c.meetings.account_connection(owner.org_id)
    host = next(h for h in env.c.meetings.hosts(owner) if h.email == POOL[0])
    account = env.c.zoom.tokens.zoom_account_of(conn)
    hit = env.c.zoom.host_daily_hit(account, host.id)
    for _ in range(100):
        env.c.limiter.hit(hit.key, hit.limit, hit.window)
    s = api(env, "sched@acme.test")
    a = _new(s, tomorrow(10), tomorrow(11))
    r = s.post(f"/requests/{a['id']}/convert-to-zoom")
    assert r.status_code == 409 and "100 a day" in r.text, r.text


def test_two_conversions_at_once_never_share_a_host(env: ZoomEnv) -> None:
    assert save_pool(env, POOL[:1]).status_code == 200
    s = api(env, "sched@acme.test")
    ids = [_new(s, tomorrow(10), tomorrow(11), client=f"Racer {i}")["id"] for i in range(4)]
    codes: list[int] = []

    def convert(rid: str) -> None:
        with api(env, "sched@acme.test") as c:
            codes.append(c.post(f"/requests/{rid}/convert-to-zoom").status_code)

    threads = [threading.Thread(target=convert, args=(rid,)) for rid in ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(codes) == [200, 409, 409, 409], codes
    zoom = list(s.get("/requests", params={"type": "zoom"}).json())
    assert len(zoom) == 1


def test_the_host_link_opens_in_its_window_for_whom_the_organisation_allows(
    env: ZoomEnv,
) -> None:
    assert save_pool(env, POOL[:1], lead=30).status_code == 200
    s = api(env, "sched@acme.test")
    now = utcnow()
    soon = (now + dt.timedelta(minutes=20)).replace(tzinfo=None, microsecond=0)
    a = _new(s, soon.isoformat(), (soon + dt.timedelta(hours=1)).isoformat())
    s.post(f"/requests/{a['id']}/convert-to-zoom")
    _scheduled(s, a["id"])
    r = s.post(f"/requests/{a['id']}/host-link")
    assert r.status_code == 200, r.text
    assert "zak=" in r.json()["host_url"]  # the start link, fresh from Zoom
    with env.c.db.read() as session:
        assert (
            session.query(AuditEvent).filter(AuditEvent.action == "meeting.host_link").count() == 1
        )

    # Ann is the provider: not allowed by default (schedulers and admins) …
    ann = api(env, "ann@acme.test")
    assert ann.get(f"/requests/{a['id']}").status_code == 200  # she sees her request
    assert ann.post(f"/requests/{a['id']}/host-link").status_code == 403
    # … until the organisation lets providers take it.
    save_pool(env, POOL[:1], lead=30, host_link_roles=["schedulers", "provider"])
    assert ann.post(f"/requests/{a['id']}/host-link").status_code == 200
    # Bob is not in it: he does not see it at all.
    assert api(env, "bob@acme.test").post(f"/requests/{a['id']}/host-link").status_code == 404

    # Tomorrow's request: the link is not open yet, and says when it opens.
    b = _new(s, tomorrow(10), tomorrow(11))
    s.post(f"/requests/{b['id']}/convert-to-zoom")
    r = s.post(f"/requests/{b['id']}/host-link")
    assert r.status_code == 409 and "opens at" in r.text

"""The public endpoints are open to the internet: every bad input gets a precise 4xx naming
each bad field and writes nothing; robots and floods are refused; 20 bookers racing for one
slot get exactly one booking and 19 answers with fresh slots."""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

import httpx
from sqlalchemy import func, select

from meetbridge.booking.tables import Booking
from tests.booking.conftest import book, make_type, next_weekday, public, slots_on
from tests.support import LiveServer, SmtpServer, free_port
from tests.zoom_env import ZoomEnv


def _count(env: ZoomEnv) -> int:
    with env.c.db.read() as s:
        return int(s.scalar(select(func.count()).select_from(Booking)) or 0)


def test_every_bad_field_is_named_at_once_and_nothing_is_written(env: ZoomEnv) -> None:
    make_type(env, ["ann@acme.test"])
    r = book(
        env,
        "tomorrow at nine",
        email="not an address",
        timezone="Mars/Olympus_Mons",
        name="   ",
    )
    assert r.status_code == 422, r.text
    fields = {f["field"] for f in r.json()["error"]["fields"]}
    assert {"start", "email", "timezone", "name"} <= fields, fields
    r = book(env, "2027-01-01T09:00:00Z", notes="x" * 2001, email="a" * 250 + "@x.test")
    assert r.status_code == 422
    assert {f["field"] for f in r.json()["error"]["fields"]} == {"notes", "email"}
    r = book(env, "2027-01-01T09:00:00", email="a@example.test")  # no offset
    assert r.status_code == 422 and "offset" in r.text
    assert _count(env) == 0


def test_times_not_offered_are_refused_with_fresh_slots(env: ZoomEnv) -> None:
    make_type(env, ["ann@acme.test"], min_notice=60, horizon_days=30)
    offered = slots_on(env, next_weekday())
    nine = dt.datetime.fromisoformat(offered[0]["start"])
    past = (dt.datetime.now(dt.UTC) - dt.timedelta(days=1)).replace(microsecond=0)
    far = nine + dt.timedelta(days=60)
    odd = nine + dt.timedelta(minutes=7)  # not on the slot grid
    night = nine.replace(hour=2)  # outside working hours
    for at in (past, far, odd, night):
        r = book(env, at.isoformat())
        assert r.status_code == 409, (at, r.text)
        body = r.json()
        assert body["error"]["fields"][0]["field"] == "start"
        assert body["slots"], ("fresh slots come with the refusal", at)
    assert _count(env) == 0


def test_the_honeypot_and_the_flood_limits(env: ZoomEnv) -> None:
    make_type(env, ["ann@acme.test"], duration=15, interval=15)
    offered = slots_on(env, next_weekday())
    r = book(env, offered[0]["start"], website="http://spam.example")
    assert r.status_code == 422 and _count(env) == 0
    limit = env.c.settings.booking_attempts_per_email
    for i in range(limit):
        assert book(env, offered[i]["start"], email="same@example.test").status_code == 201
    r = book(env, offered[limit]["start"], email="same@example.test")
    assert r.status_code == 429 and r.headers["Retry-After"], r.text
    assert _count(env) == limit


def test_unknown_pages_say_nothing_and_members_are_hidden_unless_shown(env: ZoomEnv) -> None:
    make_type(env, ["ann@acme.test"])
    make_type(env, ["ann@acme.test"], slug="hidden", publish=False)
    with public(env) as api:
        assert api.get("/acme/nope").status_code == 404
        assert api.get("/acme/hidden").status_code == 404  # not published
        assert api.get("/acme/hidden/slots").status_code == 404
        assert api.get("/nobody/intro").status_code == 404
        page = api.get("/acme/intro").json()
        assert page["members"] is None and "Ann" not in str(page)
        slot = api.get("/acme/intro/slots", params={"timezone": "UTC"}).json()
        assert slot and slot[0]["members"] is None
        assert api.get("/acme/intro/slots", params={"timezone": "Nowhere"}).status_code == 422


def _race(urls: list[str], start: str) -> list[httpx.Response]:
    results: list[httpx.Response] = []
    gate = threading.Barrier(len(urls))

    def one(i: int, url: str) -> None:
        with httpx.Client(base_url=url, timeout=60) as api:
            gate.wait()
            results.append(
                api.post(
                    "/api/v1/public/acme/intro/bookings",
                    json={
                        "start": start,
                        "name": f"Racer {i}",
                        "email": f"r{i}@example.test",
                        "timezone": "UTC",
                    },
                )
            )

    threads = [threading.Thread(target=one, args=(i, u)) for i, u in enumerate(urls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def _second_web(env: ZoomEnv) -> tuple[LiveServer, Any]:
    """Another web server with its own container (its own database pool and job queue), as
    another process would have."""
    from meetbridge.app import create_app
    from meetbridge.container import build_container

    c2 = build_container(env.c.settings, immediate_jobs=True)
    port = free_port()
    return LiveServer(create_app(c2), port), (c2, f"http://127.0.0.1:{port}")


def test_twenty_bookers_racing_for_one_slot_get_one_booking(env: ZoomEnv, smtp: SmtpServer) -> None:
    make_type(env, ["ann@acme.test"])
    start = slots_on(env, next_weekday())[2]["start"]
    server, (c2, other) = _second_web(env)
    with server:
        results = _race([env.product if i % 2 else other for i in range(20)], start)
    c2.close()
    codes = sorted(r.status_code for r in results)
    assert codes == [201] + [409] * 19, codes
    for r in results:
        if r.status_code == 409:
            fresh = {s["start"] for s in r.json()["slots"]}
            assert fresh and start not in fresh
    assert _count(env) == 1
    assert len(env.control("GET", "/meetings")) == 1

"""A booking follows its meeting moved elsewhere — on the Meetings API or at Zoom: the booking
takes the new time (busy there, free at the old one), the booker and the member get the
updated invite (same UID, a higher SEQUENCE, the same join link), and a time the member is
not free for is still taken but shown as needing attention. The booking's own reschedule
does not come back as a second change."""

from __future__ import annotations

import datetime as dt
import time
from email.message import EmailMessage
from typing import Any

import icalendar
from sqlalchemy import select

from meetbridge.booking.tables import Booking
from tests.booking.conftest import api_as as _api
from tests.booking.conftest import (
    book,
    mail_about,
    make_type,
    manage_link,
    next_weekday,
    public,
    slots_on,
)
from tests.support import SmtpServer
from tests.zoom_env import ZoomEnv


def _booking(env: ZoomEnv) -> Booking:
    with env.c.db.read() as s:
        return s.scalars(select(Booking)).one()


def _event(mail: EmailMessage) -> Any:
    for part in mail.walk():
        if part.get_content_type() == "text/calendar":
            return icalendar.Calendar.from_ical(str(part.get_content())).walk("VEVENT")[0]
    raise AssertionError("no calendar invite attached")


def _text(mail: EmailMessage) -> str:
    return str(mail.get_body(("plain",)).get_content())  # type: ignore[union-attr]


def _at(iso: str) -> dt.datetime:
    return dt.datetime.fromisoformat(iso.replace("Z", "+00:00"))


def _wait_for(check: Any, what: str, timeout: float = 15) -> Any:
    deadline = time.monotonic() + timeout
    while not (found := check()):
        assert time.monotonic() < deadline, what
        time.sleep(0.05)
    return found


def test_a_meeting_moved_on_the_api_moves_its_booking(env: ZoomEnv, smtp: SmtpServer) -> None:
    make_type(env, ["ann@acme.test"])
    day = next_weekday()
    offered = slots_on(env, day)
    old, new = offered[0]["start"], offered[6]["start"]
    bid = book(env, old).json()["id"]
    first = mail_about(smtp, "client@example.test", "Confirmed: Intro call")[0]
    (zoom,) = env.control("GET", "/meetings")
    with _api(env, "ann@acme.test") as api:
        mid = _booking(env).meeting_id
        r = api.patch(f"/meetings/{mid}", json={"start": new})
        assert r.status_code == 202, r.text
        bookings = api.get("/bookings").json()
    (shown,) = [b for b in bookings if b["id"] == bid]
    assert _at(shown["start"]) == _at(new) and shown["attention"] is None
    assert _at(shown["end"]) == _at(new) + dt.timedelta(minutes=30)
    for to in ("client@example.test", "ann@acme.test"):
        moved = mail_about(smtp, to, "Updated: Intro call")[0]
        event = _event(moved)
        assert str(event["UID"]) == str(_event(first)["UID"]) and int(event["SEQUENCE"]) == 1
        assert event.decoded("DTSTART").astimezone(dt.UTC) == _at(new)
        assert str(event["LOCATION"]) == zoom["join_url"] and zoom["join_url"] in _text(moved)
    paris = _at(new).astimezone(dt.timezone(dt.timedelta(hours=1)))  # the booker's (winter)
    assert paris.strftime("%H:%M") in _text(mail_about(smtp, "client@example.test", "Updated")[0])
    # The slot is busy at the new time and free at the old one.
    starts = {_at(s["start"]) for s in slots_on(env, day)}
    assert _at(old) in starts and _at(new) not in starts
    # Zoom has the move; the meeting is the same one, the link unchanged.
    (now,) = _wait_for(
        lambda: [m for m in env.control("GET", "/meetings") if _at(m["start_time"]) == _at(new)],
        "the move did not reach Zoom",
    )
    assert now["id"] == zoom["id"] and now["join_url"] == zoom["join_url"]
    time.sleep(0.5)  # nothing more comes: the booking did not move the meeting back
    assert len(mail_about(smtp, "client@example.test", "Updated")) == 1
    assert _booking(env).sequence == 1 and _at(_booking(env).start_at.isoformat()) == _at(new)


def test_a_move_at_zoom_into_a_conflict_is_followed_and_needs_attention(
    env: ZoomEnv, smtp: SmtpServer
) -> None:
    make_type(env, ["ann@acme.test"])
    day = next_weekday()
    offered = slots_on(env, day)
    assert book(env, offered[0]["start"]).status_code == 201
    mail_about(smtp, "client@example.test", "Confirmed: Intro call")
    (zoom,) = env.control("GET", "/meetings")
    # Ann's default hours are 09:00-17:00 in her zone; 21:00 UTC is outside them.
    late = dt.datetime.combine(day, dt.time(21, 0), dt.UTC)
    env.control(
        "PATCH", f"/meetings/{zoom['id']}", json={"start_time": late.strftime("%Y-%m-%dT%H:%M:%SZ")}
    )
    env.control("POST", "/webhooks/flush")
    moved = mail_about(smtp, "client@example.test", "Updated: Intro call")[0]
    assert _event(moved).decoded("DTSTART").astimezone(dt.UTC) == late
    assert str(_event(moved)["LOCATION"]) == zoom["join_url"]
    bk = _booking(env)
    assert bk.start_at == late and bk.meeting_id is not None  # Zoom is the truth
    with _api(env, "owner@acme.test") as api:
        (shown,) = api.get("/bookings").json()
        assert shown["attention"]["reason"].startswith("its Zoom meeting was moved to ")
        assert "outside Ann's hours" in shown["attention"]["reason"]
        assert shown["attention"]["since"]
        assert [b["id"] for b in api.get("/bookings", params={"attention": "true"}).json()] == [
            bk.id
        ]
    # The booker moves it back into a free slot: nothing needs attention any more.
    bid, token = manage_link(moved)
    with public(env) as api:
        r = api.post(f"/manage/{bid}/{token}/reschedule", json={"start": offered[2]["start"]})
        assert r.status_code == 200, r.text
    again = mail_about(smtp, "client@example.test", "Updated: Intro call", count=2)
    assert int(_event(again[1])["SEQUENCE"]) == 2
    time.sleep(0.5)  # the meeting's own "updated" (the booking's PATCH) brings nothing more
    assert len(mail_about(smtp, "client@example.test", "Updated")) == 2
    assert _booking(env).sequence == 2
    with _api(env, "owner@acme.test") as api:
        (shown,) = api.get("/bookings").json()
        assert shown["attention"] is None
        assert api.get("/bookings", params={"attention": "true"}).json() == []

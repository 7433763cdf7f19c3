"""When Zoom cannot make a booking's meeting in time (an outage, the daily limit), the booker
is told plainly that the link follows, and gets it when the meeting exists; when Zoom refuses
it, the type's fallback applies and is said as what it is."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

from sqlalchemy import select

from meetbridge.booking.inputs import instant
from meetbridge.booking.tables import Booking, BookingNotice, NoticeStatus
from meetbridge.core.clock import ManualClock
from tests.booking.conftest import book, mail_about, make_type, next_weekday, slots_on
from tests.booking.conftest import public as public_client
from tests.conftest import ORIGIN
from tests.support import SmtpServer
from tests.zoom_env import ZoomEnv

CREATE = "/v2/users/*/meetings"


def _booking(env: ZoomEnv) -> Booking:
    with env.c.db.read() as s:
        return s.scalars(select(Booking)).one()


def test_zoom_down_the_link_follows_then_arrives(env: ZoomEnv, smtp: SmtpServer) -> None:
    make_type(env, ["ann@acme.test"])
    env.control(
        "POST", "/faults", json={"rules": [{"path": CREATE, "method": "POST", "error_rate": 1.0}]}
    )
    offered = slots_on(env, next_weekday())
    r = book(env, offered[0]["start"])
    assert r.status_code == 201, r.text
    assert r.json()["join_url"] is None and r.json()["location"] == "Zoom"
    follows = mail_about(smtp, "client@example.test", "link to follow")[0]
    text = follows.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "follows in a separate e-mail" in text and "zoom.us" not in text
    assert not any(p.get_content_type() == "text/calendar" for p in follows.walk())
    assert _booking(env).link_state == "follows"
    env.control("DELETE", "/faults")
    # Zoom is back; the next attempt (here asked for now rather than after the back-off).
    env.c.meetings.retry(env.user("ann@acme.test"), _booking(env).meeting_id or "")
    ready = mail_about(smtp, "client@example.test", "Your Zoom link")[0]
    (meeting,) = env.control("GET", "/meetings")
    assert meeting["join_url"] in ready.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert any(p.get_content_type() == "text/calendar" for p in ready.walk())
    assert _booking(env).link_state == "sent"


def test_zoom_refuses_the_fallback_applies_truthfully(env: ZoomEnv, smtp: SmtpServer) -> None:
    make_type(env, ["ann@acme.test"], fallback="phone", fallback_value="+44 20 7946 0000")
    env.control(
        "POST",
        "/faults",
        json={
            "rules": [{"path": CREATE, "method": "POST", "error_rate": 1.0, "error_status": 400}]
        },
    )
    offered = slots_on(env, next_weekday())
    assert book(env, offered[0]["start"]).status_code == 201
    mail = mail_about(smtp, "client@example.test", "Confirmed")[0]
    text = mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "Phone: +44 20 7946 0000" in text and "Zoom" not in text
    alert = mail_about(smtp, "ann@acme.test", "A booking is not on Zoom")[0]
    assert "+44 20 7946 0000" in alert.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    b = _booking(env)
    assert b.location == "phone" and b.meeting_id is None and b.link_state == "fallback"
    assert env.control("GET", "/meetings") == []
    (shown,) = env.c.bookings.details(env.user("owner@acme.test"), [b])
    assert shown["attention"]["reason"].startswith("it meets by phone instead of Zoom: ")
    # Looked at and accepted: not shown again (until something new needs attention).
    owner = env.user("owner@acme.test")
    assert env.c.bookings.attention_seen(owner, b.id, ORIGIN).attention_seen_at is not None
    assert env.c.bookings.details(owner, [_booking(env)])[0]["attention"] is None


def test_a_meeting_deleted_in_zoom_is_said_plainly(env: ZoomEnv, smtp: SmtpServer) -> None:
    make_type(env, ["ann@acme.test"], fallback="jitsi")
    offered = slots_on(env, next_weekday())
    assert book(env, offered[0]["start"]).status_code == 201
    mail_about(smtp, "client@example.test", "Confirmed")
    (meeting,) = env.control("GET", "/meetings")
    env.control("DELETE", f"/meetings/{meeting['id']}")  # the host deletes it in Zoom
    env.control("POST", "/webhooks/flush")
    moved = mail_about(smtp, "client@example.test", "Updated")[0]
    text = moved.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "Jitsi Meet: https://meet.jit.si/acme-" in text and meeting["join_url"] not in text
    mail_about(smtp, "owner@acme.test", "A booking is not on Zoom")
    assert _booking(env).location == "jitsi"


def test_a_meeting_cancelled_on_the_meetings_page_is_said_plainly(
    env: ZoomEnv, smtp: SmtpServer
) -> None:
    make_type(env, ["ann@acme.test"], fallback="phone", fallback_value="+1 555 0100")
    offered = slots_on(env, next_weekday())
    booked = book(env, offered[0]["start"]).json()
    mail_about(smtp, "client@example.test", "Confirmed")
    mid = _booking(env).meeting_id or ""
    env.c.meetings.cancel(env.user("ann@acme.test"), mid, ORIGIN)  # not through the booking
    moved = mail_about(smtp, "client@example.test", "Updated")[0]
    text = moved.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "Phone: +1 555 0100" in text and "/j/" not in text
    with public_client(env) as api:
        r = api.get("/acme/intro/slots", params={"timezone": "UTC"})
        assert r.status_code == 200
    b = _booking(env)
    assert b.location == "phone" and b.status == "confirmed" and booked["id"] == b.id


def test_far_off_times_are_refused_not_a_500(env: ZoomEnv) -> None:
    make_type(env, ["ann@acme.test"])
    with public_client(env) as api:
        for at in ("9999-12-31T00:00:00Z", "0001-01-01T00:00:00+14:00"):
            r = api.get("/acme/intro/slots", params={"from": at})
            assert r.status_code == 422, r.text
            r = book(env, at)
            assert r.status_code == 422, r.text


def test_a_change_waiting_for_zoom_backs_off_and_shows_after_a_while(
    env: ZoomEnv, smtp: SmtpServer
) -> None:
    """Zoom cannot make the meeting (here: every create fails; in life, its daily limit for
    hours) and the booking is moved meanwhile: its "sync" asks again 5 s later, then ever less
    often (up to every 5 minutes), never counted as a failed attempt; after 15 minutes the
    booking shows as needing attention, saying what it waits for."""
    make_type(env, ["ann@acme.test"])
    env.control(
        "POST", "/faults", json={"rules": [{"path": CREATE, "method": "POST", "error_rate": 1.0}]}
    )
    offered = slots_on(env, next_weekday())
    assert book(env, offered[0]["start"]).status_code == 201
    clock = ManualClock()
    notices = env.c.bookings.notices
    notices.clock = env.c.bookings.clock = clock
    owner = env.user("owner@acme.test")
    bk = env.c.bookings.reschedule(
        owner, _booking(env).id, instant("s", offered[2]["start"]), ORIGIN
    )
    with env.c.db.read() as s:
        sync = s.scalars(
            select(BookingNotice).where(
                BookingNotice.kind == "sync", BookingNotice.status == NoticeStatus.PENDING
            )
        ).one()
    waits = []
    ages = [0.0]  # the work's age, in seconds, when each wait was set
    shown_at: dict[int, Any] = {}
    for _ in range(16):
        with env.c.db.read() as s:
            row = s.get(BookingNotice, sync.id)
            assert row is not None and row.status == "pending" and row.attempts == 0
        waits.append((row.next_attempt_at - clock.now()).total_seconds())
        clock.set(row.next_attempt_at)
        ages.append((clock.now() - sync.created_at).total_seconds())
        shown_at[int(ages[-1] // 60)] = env.c.bookings.details(owner, [bk])[0]["attention"]
        assert notices.run(sync.id) == "pending"
    # Each wait is as long as the work has waited, from 5 s to 5 min. The age is reckoned from
    # the stored time of the work, a little off the test's clock (the database's microseconds,
    # the time the reschedule took), and that offset doubles with the waits: so each wait is
    # checked against the age it was set at, and the doubling within a tenth.
    assert all(abs(w - min(max(a, 5), 300)) <= 1 for w, a in zip(waits, ages, strict=False))
    expected = [5, 5, 10, 20, 40, 80, 160, 300]
    assert len(waits) > 8
    assert all(abs(w - e) <= max(1, e / 10) for w, e in zip(waits, expected, strict=False))
    assert all(abs(w - 300) <= 1 for w in waits[8:])
    # About an hour of waiting in 16 looks (every 5 s, it was 720 an hour).
    assert dt.timedelta(minutes=50) < clock.now() - sync.created_at < dt.timedelta(minutes=70)
    assert all(shown_at[m] is None for m in shown_at if m < 14)
    late = [shown_at[m] for m in shown_at if m >= 16]
    assert late and all(a is not None for a in late)
    assert late[-1]["reason"].startswith("Zoom has not made its meeting for ")
    assert "daily limit" in late[-1]["reason"]


def test_a_link_not_delivered_or_a_confirmation_given_up_needs_attention(
    env: ZoomEnv, smtp: SmtpServer
) -> None:
    """The booker's mail server refuses the confirmation (550): the booking needs attention,
    naming the address. Zoom never makes another booking's meeting by its start: its
    confirmation gives up, and that booking says so."""
    make_type(env, ["ann@acme.test"])
    owner = env.user("owner@acme.test")
    offered = slots_on(env, next_weekday())
    smtp.inbox.refuse.add("gone@example.test")
    refused = book(env, offered[0]["start"], email="gone@example.test").json()
    mail_about(smtp, "ann@acme.test", "Confirmed: Intro call")  # the member's went out
    deadline = time.monotonic() + 15
    while (shown := env.c.bookings.details(owner, env.c.bookings.find(owner))[0])[
        "attention"
    ] is None:
        assert time.monotonic() < deadline, shown
        time.sleep(0.05)
    assert shown["id"] == refused["id"]
    assert shown["attention"]["reason"].startswith(
        "the e-mail with its link to gone@example.test could not be sent"
    )
    assert "550" in shown["attention"]["reason"]

    env.control(
        "POST", "/faults", json={"rules": [{"path": CREATE, "method": "POST", "error_rate": 1.0}]}
    )
    waiting = book(env, offered[4]["start"]).json()
    clock = ManualClock(_at(offered[4]["start"]) - dt.timedelta(minutes=1))  # its start is near
    env.c.bookings.notices.clock = env.c.bookings.clock = clock
    with env.c.db.read() as s:
        confirm = s.scalars(
            select(BookingNotice).where(
                BookingNotice.booking_id == waiting["id"], BookingNotice.kind == "confirm"
            )
        ).one()
    assert env.c.bookings.notices.run(confirm.id) == "failed"
    (shown,) = env.c.bookings.details(owner, [env.c.bookings.get(owner, waiting["id"])])
    assert shown["attention"]["reason"] == (
        "the confirmation could not be sent after 1 attempt "
        "(Zoom had not made the meeting by its start)"
    )
    flagged = env.c.bookings.find(owner, attention=True)
    assert {b.id for b in flagged} == {refused["id"], waiting["id"]}


def _at(iso: str) -> dt.datetime:
    return dt.datetime.fromisoformat(iso.replace("Z", "+00:00"))

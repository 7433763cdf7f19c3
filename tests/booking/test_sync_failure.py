"""A booking's "sync" (the durable work that makes its meeting at Zoom match it) that runs out
of attempts does not end silently: the host and the admins are alerted, the booking takes its
fallback and shows it, and the booker is told where it meets now."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from meetbridge.booking.tables import Booking, BookingNotice, NoticeStatus
from meetbridge.core.models import new_id
from meetbridge.core.work import Retry
from tests.booking.conftest import book, mail_about, make_type, next_weekday, slots_on
from tests.support import SmtpServer
from tests.zoom_env import ZoomEnv


def _booking(env: ZoomEnv) -> Booking:
    with env.c.db.read() as s:
        return s.scalars(select(Booking)).one()


def test_a_sync_out_of_attempts_alerts_and_the_booking_shows_it(
    env: ZoomEnv, smtp: SmtpServer
) -> None:
    make_type(env, ["ann@acme.test"], fallback="jitsi")
    offered = slots_on(env, next_weekday())
    assert book(env, offered[0]["start"]).status_code == 201
    mail_about(smtp, "client@example.test", "Confirmed")
    (meeting,) = env.control("GET", "/meetings")
    notices = env.c.bookings.notices
    notices.work.retry = Retry(base=0, cap=0, max_attempts=2)  # two attempts, not 30
    # A sync that cannot succeed: the booking says a time that has passed (its sync came
    # round too late), and the meetings service refuses to move a meeting into the past,
    # on every attempt.
    past = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(hours=1)
    with env.c.db.write() as s:
        row = s.get(Booking, _booking(env).id)
        assert row is not None
        row.start_at, row.end_at = past, past + dt.timedelta(minutes=30)
        sync = BookingNotice(
            id=new_id(),
            booking_id=row.id,
            kind="sync",
            sequence=row.sequence,
            status=NoticeStatus.PENDING,
            attempts=0,
            next_attempt_at=past,
        )
        s.add(sync)
    assert notices.run(sync.id) == "pending"  # the first attempt fails and waits
    assert notices.run(sync.id) == "failed"  # the last one: people take it from here
    for who in ("ann@acme.test", "owner@acme.test"):
        alert = mail_about(smtp, who, "A booking is not on Zoom")[0]
        text = alert.get_body(("plain",)).get_content()  # type: ignore[union-attr]
        assert "could not make its Zoom meeting match the booking" in text
        assert "in the past" in text and "https://meet.jit.si/acme-" in text
    told = mail_about(smtp, "client@example.test", "Updated")[0]
    text = told.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "Jitsi Meet: https://meet.jit.si/acme-" in text and meeting["join_url"] not in text
    bk = _booking(env)
    assert bk.location == "jitsi" and bk.meeting_id is None and bk.link_state == "fallback"
    (shown,) = env.c.bookings.details(env.user("owner@acme.test"), [bk])
    assert shown["fallback_used"] and shown["location"] == "jitsi" and shown["join_url"] is None
    assert shown["attention"]["reason"].startswith(
        "it meets by Jitsi Meet instead of Zoom: "
        "meetbridge could not make its Zoom meeting match the booking"
    )
    assert env.control("GET", "/meetings") == []  # the meeting it no longer uses is deleted

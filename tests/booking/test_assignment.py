"""Who a booking goes to: round-robin shares bookings among the members free for the slot with
a working Zoom, by the fairness rule, and says why; a member whose Zoom was revoked is skipped;
with nobody left who can host on Zoom, the fallback applies and every message, the booking and
its page say so truthfully; a collective booking invites every member and is hosted on the
first one with Zoom."""

from __future__ import annotations

import collections
import time
from typing import Any

import icalendar
from sqlalchemy import select

from meetbridge.booking.tables import Booking
from meetbridge.integrations.zoom.tables import ZoomConnection
from tests.booking.conftest import (
    add_member,
    book,
    mail_about,
    make_type,
    next_weekday,
    public,
    slots_on,
)
from tests.support import SmtpServer
from tests.zoom_env import ZoomEnv, csrf


def _hosts(env: ZoomEnv) -> list[str]:
    with env.c.db.read() as s:
        rows = s.scalars(select(Booking).order_by(Booking.created_at)).all()
        names = {u.id: u.email for u in env.c.accounts.list_members(env.user("owner@acme.test"))}
        return [names[b.host_user_id] for b in rows]


def _three(env: ZoomEnv) -> None:
    env.connect(env.signed_in("bob@acme.test"), "sam@zoom-sandbox.test")
    add_member(env, "cy@acme.test", "Cy", "priya@zoom-sandbox.test")


def test_round_robin_spreads_30_bookings_over_3_members_by_the_rule(env: ZoomEnv) -> None:
    _three(env)
    make_type(
        env,
        ["ann@acme.test", "bob@acme.test", "cy@acme.test"],
        assignment="round_robin",
        duration=15,
        interval=15,
    )
    offered: list[dict[str, Any]] = []
    day = next_weekday()
    while len(offered) < 30:
        offered += slots_on(env, day)
        day = next_weekday((day - day.today()).days + 1)
    for i, slot in enumerate(offered[:30]):
        r = book(env, slot["start"], email=f"c{i}@example.test")
        assert r.status_code == 201, r.text
    counts = collections.Counter(_hosts(env))
    assert sorted(counts.values()) == [10, 10, 10], counts
    with env.c.db.read() as s:
        reasons = [b.assignment_reason for b in s.scalars(select(Booking))]
    assert all(r.startswith("round-robin") for r in reasons), reasons[:3]
    # Each meeting is on its own host's Zoom.
    by_zoom = collections.Counter(m["host_email"] for m in env.control("GET", "/meetings"))
    assert sorted(by_zoom.values()) == [10, 10, 10], by_zoom


def _revoke(env: ZoomEnv, email: str) -> None:
    browser = env.signed_in(email)
    confirm = browser.get("/integrations/zoom/disconnect")
    browser.post("/integrations/zoom/disconnect", data={"csrf_token": csrf(confirm.text)})
    deadline = time.monotonic() + 10
    while True:
        with env.c.db.read() as s:
            live = s.scalars(
                select(ZoomConnection).where(
                    ZoomConnection.user_id == env.user(email).id,
                    ZoomConnection.status != "ended",
                )
            ).all()
        if not live:
            return
        assert time.monotonic() < deadline
        time.sleep(0.1)


def test_a_revoked_member_is_skipped_and_then_the_fallback_shows_truthfully(
    env: ZoomEnv, smtp: SmtpServer
) -> None:
    env.connect(env.signed_in("bob@acme.test"), "sam@zoom-sandbox.test")
    make_type(
        env,
        ["ann@acme.test", "bob@acme.test"],
        assignment="round_robin",
        fallback="jitsi",
        fallback_value="https://jitsi.example.test",
    )
    _revoke(env, "ann@acme.test")
    offered = slots_on(env, next_weekday())
    for i in range(3):
        assert book(env, offered[i]["start"], email=f"c{i}@example.test").status_code == 201
    assert _hosts(env) == ["bob@acme.test"] * 3  # Ann has no Zoom: never picked
    _revoke(env, "bob@acme.test")
    r = book(env, offered[5]["start"], email="late@example.test")
    assert r.status_code == 201, r.text
    page = r.json()
    assert page["location"] == "Jitsi Meet"
    assert page["join_url"].startswith("https://jitsi.example.test/acme-")
    mail = mail_about(smtp, "late@example.test", "Confirmed")[0]
    text = mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "Jitsi Meet: https://jitsi.example.test/acme-" in text
    assert "Zoom" not in text and "Zoom" not in str(mail["Subject"])
    for part in mail.walk():
        if part.get_content_type() == "text/calendar":
            event = icalendar.Calendar.from_ical(part.get_content()).walk("VEVENT")[0]
            assert str(event["LOCATION"]) == page["join_url"]
            assert "Zoom" not in str(event["DESCRIPTION"])
    # The host and the admins are told it is not on Zoom.
    alert = mail_about(smtp, "owner@acme.test", "A booking is not on Zoom")[0]
    assert page["join_url"] in alert.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    with env.c.db.read() as s:
        last = s.scalars(select(Booking).where(Booking.booker_email == "late@example.test")).one()
    assert last.location == "jitsi" and last.meeting_id is None
    assert "fallback" in last.assignment_reason
    assert len(env.control("GET", "/meetings")) == 3  # nothing made at Zoom for it


def test_without_a_fallback_nobody_without_zoom_is_offered(env: ZoomEnv) -> None:
    make_type(env, ["ann@acme.test", "bob@acme.test"], assignment="round_robin")
    _revoke(env, "ann@acme.test")
    assert slots_on(env, next_weekday()) == []
    owner = env.user("owner@acme.test")
    view = env.c.meeting_types.all(owner)[0]
    env.c.meeting_types.publish(owner, view.type.id, False, _origin())
    try:
        env.c.meeting_types.publish(owner, view.type.id, True, _origin())
    except Exception as exc:
        assert "no assigned member has a working Zoom" in str(exc)
    else:
        raise AssertionError("publishing without a host or a fallback must be refused")


def _origin() -> Any:
    from tests.conftest import ORIGIN

    return ORIGIN


def test_collective_invites_everyone_and_is_hosted_on_the_first_with_zoom(
    env: ZoomEnv, smtp: SmtpServer
) -> None:
    add_member(env, "cy@acme.test", "Cy", "priya@zoom-sandbox.test")
    make_type(env, ["bob@acme.test", "cy@acme.test", "ann@acme.test"], assignment="collective")
    offered = slots_on(env, next_weekday())
    r = book(env, offered[0]["start"])
    assert r.status_code == 201, r.text
    (meeting,) = env.control("GET", "/meetings")
    assert meeting["host_email"] == "priya@zoom-sandbox.test"  # Bob has no Zoom; Cy is next
    for to in ("client@example.test", "bob@acme.test", "cy@acme.test", "ann@acme.test"):
        mail = mail_about(smtp, to, "Confirmed: Intro call")[0]
        assert meeting["join_url"] in mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    with public(env) as api:
        # Everyone is busy now: the slot is gone for the next booker.
        r = api.get(
            "/acme/intro/slots",
            params={"from": offered[0]["start"], "to": offered[0]["end"], "timezone": "UTC"},
        )
        assert r.json() == []


def test_a_deactivated_host_hands_round_robin_bookings_on(env: ZoomEnv, smtp: SmtpServer) -> None:
    env.connect(env.signed_in("bob@acme.test"), "sam@zoom-sandbox.test")
    make_type(env, ["ann@acme.test", "bob@acme.test"], assignment="round_robin")
    offered = slots_on(env, next_weekday())
    assert book(env, offered[0]["start"]).status_code == 201
    first = mail_about(smtp, "client@example.test", "Confirmed")[0]
    (before,) = env.control("GET", "/meetings")
    (gone,) = _hosts(env)
    owner = env.user("owner@acme.test")
    env.c.accounts.deactivate_member(owner, env.user(gone).id, origin=_origin())
    (now,) = _hosts(env)
    assert now != gone
    moved = mail_about(smtp, "client@example.test", "Updated")[0]
    (after,) = env.control("GET", "/meetings")  # the old one deleted, the new one on `now`
    assert after["id"] != before["id"] and after["host_email"] != before["host_email"]
    text = moved.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert after["join_url"] in text and before["join_url"] not in text

    def uid(mail: Any) -> str:
        part = next(p for p in mail.walk() if p.get_content_type() == "text/calendar")
        return str(icalendar.Calendar.from_ical(part.get_content()).walk("VEVENT")[0]["UID"])

    assert uid(first) == uid(moved)  # one event in the calendar, updated in place

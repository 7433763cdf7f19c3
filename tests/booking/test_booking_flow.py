"""A booking end to end against the live sandbox: the meeting is made on the assigned host's
Zoom, and the booker and the member get the confirmation with a calendar invite carrying the
join link; rescheduling keeps the link; cancelling deletes the meeting at Zoom."""

from __future__ import annotations

import time
from email.message import EmailMessage
from typing import Any

import icalendar
import vobject

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


def _ics(mail: EmailMessage) -> str:
    for part in mail.walk():
        if part.get_content_type() == "text/calendar":
            return str(part.get_content())
    raise AssertionError("no calendar invite attached")


def _zoom_meetings(env: ZoomEnv) -> list[dict[str, Any]]:
    return list(env.control("GET", "/meetings"))


def test_a_booking_makes_a_zoom_meeting_and_both_get_the_link(
    env: ZoomEnv, smtp: SmtpServer
) -> None:
    make_type(env, ["ann@acme.test"])
    day = next_weekday()
    offered = slots_on(env, day)
    assert offered, "a weekday 09:00-17:00 has slots"
    r = book(env, offered[0]["start"])
    assert r.status_code == 201, r.text
    booking = r.json()
    client_mail = mail_about(smtp, "client@example.test", "Confirmed: Intro call")[0]
    ann_mail = mail_about(smtp, "ann@acme.test", "Confirmed: Intro call")[0]
    meetings = _zoom_meetings(env)
    assert len(meetings) == 1
    join = meetings[0]["join_url"]
    for mail in (client_mail, ann_mail):
        ics = _ics(mail)
        event = icalendar.Calendar.from_ical(ics).walk("VEVENT")[0]
        assert str(event["LOCATION"]) == join and str(event["URL"]) == join
        assert join in str(event["DESCRIPTION"])
        attendees = {str(a).removeprefix("mailto:") for a in event.get("ATTENDEE")}
        assert {"client@example.test", "ann@acme.test"} <= attendees
        parsed = vobject.readOne(ics)
        assert parsed.vevent.location.value == join
    text = client_mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert join in text and "Reschedule or cancel: " in text
    with public(env) as api:
        manage = text.split("Reschedule or cancel: ")[1].split()[0]
        bid, token = manage.rsplit("/", 2)[-2:]
        seen = api.get(f"/manage/{bid}/{token}").json()
        assert seen["id"] == booking["id"] and seen["join_url"] == join


def _event(mail: EmailMessage) -> Any:
    return icalendar.Calendar.from_ical(_ics(mail)).walk("VEVENT")[0]


def test_the_booker_reschedules_and_cancels_and_zoom_follows(
    env: ZoomEnv, smtp: SmtpServer
) -> None:
    make_type(env, ["ann@acme.test"])
    day = next_weekday()
    offered = slots_on(env, day)
    assert book(env, offered[0]["start"]).status_code == 201
    first = mail_about(smtp, "client@example.test", "Confirmed: Intro call")[0]
    (zoom,) = _zoom_meetings(env)
    bid, token = manage_link(first)
    uid = str(_event(first)["UID"])
    with public(env) as api:
        r = api.post(f"/manage/{bid}/{token}/reschedule", json={"start": offered[3]["start"]})
        assert r.status_code == 200, r.text
        assert r.json()["start"] == offered[3]["start"]
    moved = mail_about(smtp, "client@example.test", "Updated: Intro call")[0]
    event = _event(moved)
    assert str(event["UID"]) == uid and int(event["SEQUENCE"]) == 1
    assert str(event["LOCATION"]) == zoom["join_url"]
    deadline = time.monotonic() + 15
    while True:  # the same Zoom meeting, PATCHed: its id and link are unchanged
        (now,) = _zoom_meetings(env)
        if now["start_time"].replace("Z", "+00:00") == offered[3]["start"]:
            break
        assert time.monotonic() < deadline, now
        time.sleep(0.1)
    assert now["id"] == zoom["id"] and now["join_url"] == zoom["join_url"]
    # An old e-mail's link leads to the booking as it is now.
    with public(env) as api:
        assert api.get(f"/manage/{bid}/{token}").json()["start"] == offered[3]["start"]
        r = api.post(f"/manage/{bid}/{token}/cancel")
        assert r.status_code == 200 and r.json()["status"] == "cancelled", r.text
        assert api.get(f"/manage/{bid}/{token}").json()["join_url"] is None
    for to in ("client@example.test", "ann@acme.test"):
        gone = mail_about(smtp, to, "Cancelled: Intro call")[0]
        assert str(gone.get_content_type()) == "multipart/mixed"
        event = _event(gone)
        assert str(event["UID"]) == uid and int(event["SEQUENCE"]) == 2
        assert str(event["STATUS"]) == "CANCELLED"
    deadline = time.monotonic() + 15
    while _zoom_meetings(env):  # deleted at Zoom
        assert time.monotonic() < deadline
        time.sleep(0.1)


def test_a_wrong_manage_token_finds_nothing(env: ZoomEnv, smtp: SmtpServer) -> None:
    make_type(env, ["ann@acme.test"])
    offered = slots_on(env, next_weekday())
    bid = book(env, offered[0]["start"]).json()["id"]
    with public(env) as api:
        for token in ("x" * 43, "é" * 10):
            r = api.get(f"/manage/{bid}/{token}")
            assert r.status_code == 404, (token, r.text)
        r = api.post(f"/manage/{bid}/{'y' * 43}/cancel")
        assert r.status_code == 404

"""Busy times from a member's own calendars: an iCalendar feed (recurring events expanded)
and a CalDAV calendar on a real Radicale server both take slots away; each booking is written
to the member's CalDAV calendar and removed when cancelled; a failing calendar keeps its
error for the member's card."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from pathlib import Path

import icalendar
import pytest

from meetbridge.core.calendars import CalDavAccount
from meetbridge.meetings.inputs import MeetingChanges
from tests.booking.conftest import book, make_type, next_weekday, slots_on
from tests.calendar_servers import FeedServer, RadicaleServer
from tests.conftest import ORIGIN
from tests.support import SmtpServer
from tests.zoom_env import ZoomEnv, zoom_env


@pytest.fixture
def cal_env(tmp_path: Path, database_url: str, smtp: SmtpServer) -> Iterator[ZoomEnv]:
    with zoom_env(
        tmp_path,
        database_url,
        smtp,
        zoom_timeout=2.0,
        booking_link_wait_seconds=0.0,
        calendar_allow_private=True,  # the servers below listen on loopback
    ) as e:
        e.connect(e.signed_in("ann@acme.test"), "maria@zoom-sandbox.test")
        yield e


def _weekly(day: dt.date) -> str:
    """Every weekday 10:00-11:00 UTC from `day`, except `day` + 1 week."""
    start = dt.datetime.combine(day, dt.time(10), dt.UTC)
    skip = start + dt.timedelta(days=7)
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n"
        "BEGIN:VEVENT\r\nUID:standup@test\r\n"
        f"DTSTAMP:{start:%Y%m%dT%H%M%SZ}\r\nDTSTART:{start:%Y%m%dT%H%M%SZ}\r\n"
        f"DTEND:{start + dt.timedelta(hours=1):%Y%m%dT%H%M%SZ}\r\n"
        "RRULE:FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR\r\n"
        f"EXDATE:{skip:%Y%m%dT%H%M%SZ}\r\n"
        "SUMMARY:Stand-up\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )


def _starts(env: ZoomEnv, day: dt.date) -> set[str]:
    return {s["start"][11:16] for s in slots_on(env, day)}


def test_a_feed_takes_its_recurring_events_away(cal_env: ZoomEnv, feed_server: FeedServer) -> None:
    env = cal_env
    make_type(env, ["ann@acme.test"])
    day = next_weekday()
    assert {"10:00", "10:30"} <= _starts(env, day)
    feed_server.serve(_weekly(day))
    ann = env.user("ann@acme.test")
    env.c.availability.add_calendar(ann, ann.id, "feed", feed_server.url(), ORIGIN)
    assert not {"10:00", "10:30"} & _starts(env, day)
    assert not {"10:00", "10:30"} & _starts(env, day + dt.timedelta(days=1))
    assert {"10:00", "10:30"} <= _starts(env, day + dt.timedelta(days=7))  # the EXDATE
    (cal,) = env.c.availability.list_calendars(ann, ann.id)
    assert cal.last_error is None and cal.etag
    # The next read sends the ETag and keeps what it had on 304.
    assert env.c.availability.refresh_one(cal.id) in ("active", "pending")


def test_a_failing_feed_shows_its_error(cal_env: ZoomEnv, feed_server: FeedServer) -> None:
    env = cal_env
    feed_server.serve("this is not a calendar")
    ann = env.user("ann@acme.test")
    env.c.availability.add_calendar(ann, ann.id, "feed", feed_server.url(), ORIGIN)
    (cal,) = env.c.availability.list_calendars(ann, ann.id)
    assert cal.last_error == "not an iCalendar file"


def test_a_private_feed_address_is_refused_by_default(env: ZoomEnv) -> None:
    ann = env.user("ann@acme.test")
    env.c.availability.add_calendar(ann, ann.id, "feed", "http://127.0.0.1:9/secret.ics", ORIGIN)
    (cal,) = env.c.availability.list_calendars(ann, ann.id)
    assert cal.last_error == "the address is on a private network"


def _events(radicale: RadicaleServer, account: CalDavAccount) -> list[str]:
    cal = radicale.client().calendar(url=account.url)
    return [str(e.data) for e in cal.events()]


def test_caldav_busy_times_and_bookings_written_there(
    cal_env: ZoomEnv, radicale: RadicaleServer
) -> None:
    env = cal_env
    account = radicale.new_calendar()
    day = next_weekday()
    busy = dt.datetime.combine(day, dt.time(14), dt.UTC)
    cal = radicale.client().calendar(url=account.url)
    cal.save_event(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\n"
        f"UID:dentist@test\r\nDTSTAMP:{busy:%Y%m%dT%H%M%SZ}\r\n"
        f"DTSTART:{busy:%Y%m%dT%H%M%SZ}\r\nDTEND:{busy + dt.timedelta(hours=1):%Y%m%dT%H%M%SZ}"
        "\r\nSUMMARY:Dentist\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    make_type(env, ["ann@acme.test"])
    ann = env.user("ann@acme.test")
    env.c.availability.add_calendar(
        ann, ann.id, "caldav", account.url, ORIGIN, account.username, account.password
    )
    assert not {"14:00", "14:30"} & _starts(env, day)
    r = book(env, dt.datetime.combine(day, dt.time(9), dt.UTC).isoformat())
    assert r.status_code == 201, r.text
    deadline = time.monotonic() + 15
    while not any("BEGIN:VEVENT" in e and r.json()["id"] in e for e in _events(radicale, account)):
        assert time.monotonic() < deadline, _events(radicale, account)
        time.sleep(0.1)
    (written,) = [e for e in _events(radicale, account) if r.json()["id"] in e]
    (meeting,) = env.control("GET", "/meetings")
    event = icalendar.Calendar.from_ical(written)
    assert "METHOD" not in event  # a stored calendar object carries none (RFC 4791)
    assert str(event.walk("VEVENT")[0]["LOCATION"]) == meeting["join_url"]
    # The meeting moved on the Meetings page: the booking follows, and so does its copy here.
    moved = dt.datetime.combine(day, dt.time(11), dt.UTC)
    mid = env.c.bookings.get(ann, r.json()["id"]).meeting_id or ""
    env.c.meetings.update(ann, mid, MeetingChanges(start=moved), ORIGIN)

    def copy_start() -> dt.datetime:
        (now,) = [e for e in _events(radicale, account) if r.json()["id"] in e]
        vevent = icalendar.Calendar.from_ical(now).walk("VEVENT")[0]
        return vevent.decoded("DTSTART").astimezone(dt.UTC)  # type: ignore[no-any-return]

    deadline = time.monotonic() + 15
    while copy_start() != moved:
        assert time.monotonic() < deadline, _events(radicale, account)
        time.sleep(0.1)
    # A wrong password is refused when the calendar is added.
    with pytest.raises(Exception, match="CalDAV refused the password"):
        env.c.availability.add_calendar(
            ann, ann.id, "caldav", account.url, ORIGIN, account.username, "wrong"
        )

"""Busy times from a member's own calendars: an iCalendar feed (recurring events expanded)
and a CalDAV calendar on a real Radicale server both take slots away; each booking is written
to the member's CalDAV calendar and removed when cancelled, and that copy (or an accepted
invite to a meeting the member hosts) is not read back as busy a second time; a failing
calendar keeps its error for the member's card."""

from __future__ import annotations

import datetime as dt
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import icalendar
import pytest
from sqlalchemy import update

from meetbridge.booking.tables import MemberCalendar
from meetbridge.core.calendars import CalDavAccount
from meetbridge.core.db import utcnow
from meetbridge.meetings.inputs import MeetingChanges
from tests.booking.conftest import book, make_type, next_weekday, starts_on
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


def test_a_feed_takes_its_recurring_events_away(cal_env: ZoomEnv, feed_server: FeedServer) -> None:
    env = cal_env
    make_type(env, ["ann@acme.test"])
    day = next_weekday()
    assert {"10:00", "10:30"} <= starts_on(env, day)
    feed_server.serve(_weekly(day))
    ann = env.user("ann@acme.test")
    env.c.availability.add_calendar(ann, ann.id, "feed", feed_server.url(), ORIGIN)
    assert not {"10:00", "10:30"} & starts_on(env, day)
    assert not {"10:00", "10:30"} & starts_on(env, day + dt.timedelta(days=1))
    assert {"10:00", "10:30"} <= starts_on(env, day + dt.timedelta(days=7))  # the EXDATE
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
    assert not {"14:00", "14:30"} & starts_on(env, day)
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


def _vevent(uid: str, start: dt.datetime, minutes: int = 30) -> str:
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\n"
        f"UID:{uid}\r\nDTSTAMP:{start:%Y%m%dT%H%M%SZ}\r\nDTSTART:{start:%Y%m%dT%H%M%SZ}\r\n"
        f"DTEND:{start + dt.timedelta(minutes=minutes):%Y%m%dT%H%M%SZ}\r\n"
        "SUMMARY:Call\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )


def _read_again(env: ZoomEnv, calendar_id: str) -> None:
    """The background refresh come round: the calendar is due again, and read."""
    with env.c.db.write() as s:
        s.execute(
            update(MemberCalendar)
            .where(MemberCalendar.id == calendar_id)
            .values(next_attempt_at=utcnow() - dt.timedelta(seconds=1), last_read_at=None)
        )
    env.c.availability.refresh_one(calendar_id)
    with env.c.db.read() as s:
        cal = s.get(MemberCalendar, calendar_id)
        assert cal is not None and cal.last_read_at is not None and cal.last_error is None


def _calendar_busy(env: ZoomEnv, email: str) -> list[tuple[dt.datetime, dt.datetime]]:
    """What the member's calendars add to their busy times (meetbridge's own rows aside)."""
    user = env.user(email)
    return sorted(
        (i.start, i.end) for cal in env.c.availability.busy([user.id]).get(user.id, ()) for i in cal
    )


def test_a_bookings_own_copy_is_not_busy_twice_and_a_reschedule_frees_the_old_slot_at_once(
    cal_env: ZoomEnv, radicale: RadicaleServer
) -> None:
    env = cal_env
    account = radicale.new_calendar()
    make_type(env, ["ann@acme.test"])
    ann = env.user("ann@acme.test")
    env.c.availability.add_calendar(
        ann, ann.id, "caldav", account.url, ORIGIN, account.username, account.password
    )
    (cal,) = env.c.availability.list_calendars(ann, ann.id)
    day = next_weekday()
    nine = dt.datetime.combine(day, dt.time(9), dt.UTC)
    r = book(env, nine.isoformat())
    assert r.status_code == 201, r.text
    bid = r.json()["id"]

    def copy_start() -> dt.datetime | None:
        found = [e for e in _events(radicale, account) if bid in e]
        if not found:
            return None
        vevent = icalendar.Calendar.from_ical(found[0]).walk("VEVENT")[0]
        return vevent.decoded("DTSTART").astimezone(dt.UTC)  # type: ignore[no-any-return]

    def wait_for_copy_at(at: dt.datetime) -> None:
        deadline = time.monotonic() + 15
        while copy_start() != at:
            assert time.monotonic() < deadline, _events(radicale, account)
            time.sleep(0.1)

    wait_for_copy_at(nine)
    _read_again(env, cal.id)  # the calendar now holds the booking's copy at 09:00
    assert "09:00" not in starts_on(env, day)  # busy: the booking
    assert _calendar_busy(env, "ann@acme.test") == []  # and only the booking, not its copy
    # Rescheduled: 09:00 is offered again at once, before the calendar is read again.
    one = dt.datetime.combine(day, dt.time(13), dt.UTC)
    env.c.bookings.reschedule(ann, bid, one, ORIGIN)
    starts = starts_on(env, day)
    assert "09:00" in starts and "13:00" not in starts
    wait_for_copy_at(one)
    _read_again(env, cal.id)
    starts = starts_on(env, day)
    assert "09:00" in starts and "13:00" not in starts
    assert _calendar_busy(env, "ann@acme.test") == []
    # Its meeting moved on the Meetings page to 13:15, over the copy the calendar was read
    # with at 13:00: the booking follows and does not clash with itself.
    half_past = one + dt.timedelta(minutes=15)
    mid = env.c.bookings.get(ann, bid).meeting_id or ""
    env.c.meetings.update(ann, mid, MeetingChanges(start=half_past), ORIGIN)
    deadline = time.monotonic() + 15
    while env.c.bookings.get(ann, bid).start_at != half_past:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert env.c.bookings.get(ann, bid).attention is None


def test_copies_of_other_installations_and_of_others_meetings_stay_busy(
    cal_env: ZoomEnv, radicale: RadicaleServer
) -> None:
    env = cal_env
    make_type(env, ["ann@acme.test"])
    ann, bob = env.user("ann@acme.test"), env.user("bob@acme.test")
    day = next_weekday()
    at = {h: dt.datetime.combine(day, dt.time(h), dt.UTC) for h in (9, 11, 14, 15, 16)}
    r = book(env, at[9].isoformat())
    assert r.status_code == 201, r.text
    meeting_id = env.c.bookings.get(ann, r.json()["id"]).meeting_id
    assert meeting_id
    mine = radicale.new_calendar()
    events = radicale.client().calendar(url=mine.url)
    # Another meetbridge's booking and meeting: the same shape of UID, ids this one lacks.
    events.save_event(_vevent(f"booking-{uuid.uuid4()}@meetbridge", at[14]))
    events.save_event(_vevent(f"{uuid.uuid4()}@meetbridge", at[15]))
    # An invite Ann accepted to the meeting she hosts, at a time it no longer has.
    events.save_event(_vevent(f"{meeting_id}@meetbridge", at[11]))
    # Ann's meeting, in Bob's calendar: he is invited to it, meetbridge counts it for her.
    bobs = radicale.new_calendar()
    radicale.client().calendar(url=bobs.url).save_event(_vevent(f"{meeting_id}@meetbridge", at[16]))
    env.c.availability.add_calendar(
        ann, ann.id, "caldav", mine.url, ORIGIN, mine.username, mine.password
    )
    owner = env.user("owner@acme.test")
    env.c.availability.add_calendar(
        owner, bob.id, "caldav", bobs.url, ORIGIN, bobs.username, bobs.password
    )
    starts = starts_on(env, day)
    assert not {"09:00", "14:00", "15:00"} & starts
    assert "11:00" in starts
    half = dt.timedelta(minutes=30)
    assert _calendar_busy(env, "ann@acme.test") == [
        (at[14], at[14] + half),
        (at[15], at[15] + half),
    ]
    assert _calendar_busy(env, "bob@acme.test") == [(at[16], at[16] + half)]

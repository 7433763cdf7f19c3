"""CalDAV against a real Radicale: events another client wrote are read back as busy, and
bookings are written, replaced and removed by UID."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from meetbridge.core.calendars import Busy, CalDavAccount, CalendarError
from meetbridge.integrations.calendars import CalendarClient
from tests.calendar_servers import RadicaleServer

UTC = dt.UTC
MARCH = (dt.datetime(2026, 3, 1, tzinfo=UTC), dt.datetime(2026, 4, 1, tzinfo=UTC))


def utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


def event(uid: str, *props: str) -> str:
    body = "".join(p + "\r\n" for p in props)
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//tests//EN\r\n"
        f"BEGIN:VEVENT\r\nUID:{uid}\r\nDTSTAMP:20260101T000000Z\r\n{body}END:VEVENT\r\n"
        "END:VCALENDAR\r\n"
    )


def booking(uid: str, start: str, end: str) -> str:
    return event(uid, f"DTSTART:{start}", f"DTEND:{end}", "SUMMARY:Booked call")


@pytest.fixture
def client() -> CalendarClient:
    return CalendarClient(allow_private=True)  # Radicale listens on 127.0.0.1


@pytest.fixture
def account(radicale: RadicaleServer) -> CalDavAccount:
    return radicale.new_calendar()


def stored(radicale: RadicaleServer, account: CalDavAccount) -> list[str]:
    """The raw objects in the collection, as another CalDAV client sees them."""
    with radicale.client() as dav:
        return [str(e.data) for e in dav.calendar(url=account.url).events()]


def test_events_written_by_another_client_are_read_as_busy(
    radicale: RadicaleServer, account: CalDavAccount, client: CalendarClient
) -> None:
    with radicale.client() as dav:
        calendar = dav.calendar(url=account.url)
        # Tuesdays 10:00-11:00 Paris from 3 March, the second one moved, the third skipped.
        calendar.add_event(
            "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//tests//EN\r\n"
            "BEGIN:VEVENT\r\nUID:standup\r\nDTSTAMP:20260101T000000Z\r\n"
            "DTSTART;TZID=Europe/Paris:20260303T100000\r\n"
            "DTEND;TZID=Europe/Paris:20260303T110000\r\n"
            "RRULE:FREQ=WEEKLY;COUNT=5\r\n"
            "EXDATE;TZID=Europe/Paris:20260317T100000\r\n"
            "END:VEVENT\r\n"
            "BEGIN:VEVENT\r\nUID:standup\r\nDTSTAMP:20260101T000000Z\r\n"
            "RECURRENCE-ID;TZID=Europe/Paris:20260310T100000\r\n"
            "DTSTART;TZID=Europe/Paris:20260310T160000\r\n"
            "DTEND;TZID=Europe/Paris:20260310T170000\r\n"
            "END:VEVENT\r\nEND:VCALENDAR\r\n"
        )
        calendar.add_event(event("holiday", "DTSTART;VALUE=DATE:20260320"))
        # A series that began long before the window and never ends: Thursdays 07:00 UTC.
        calendar.add_event(
            event("old", "DTSTART:20250102T070000Z", "DURATION:PT15M", "RRULE:FREQ=WEEKLY")
        )
        calendar.add_event(
            event(
                "tentative-free", "DTSTART:20260305T090000Z", "DURATION:PT1H", "TRANSP:TRANSPARENT"
            )
        )
        calendar.add_event(
            event("called-off", "DTSTART:20260306T090000Z", "DURATION:PT1H", "STATUS:CANCELLED")
        )
    read = client.read_caldav(account, *MARCH, "Europe/Paris")
    assert read.etag is None and not read.not_modified
    thursdays = [b for b in read.busy if b.end - b.start == dt.timedelta(minutes=15)]
    assert [b.start.day for b in thursdays] == [5, 12, 19, 26]
    read = dataclasses.replace(read, busy=tuple(b for b in read.busy if b not in thursdays))
    # Paris moves its clocks on 29 March: 10:00 is 09:00 UTC until then, 08:00 UTC after.
    assert read.busy == (
        Busy(utc(2026, 3, 3, 9), utc(2026, 3, 3, 10)),
        Busy(utc(2026, 3, 10, 15), utc(2026, 3, 10, 16)),
        Busy(utc(2026, 3, 19, 23), utc(2026, 3, 20, 23)),  # the member's whole local day
        Busy(utc(2026, 3, 24, 9), utc(2026, 3, 24, 10)),
        Busy(utc(2026, 3, 31, 8), utc(2026, 3, 31, 9)),
    )


def test_a_booking_put_is_read_back_and_putting_it_again_replaces_it(
    radicale: RadicaleServer, account: CalDavAccount, client: CalendarClient
) -> None:
    client.put_event(
        account,
        "booking-1@meetbridge",
        booking("booking-1@meetbridge", "20260312T140000Z", "20260312T143000Z"),
    )
    read = client.read_caldav(account, *MARCH, "UTC")
    # Its UID comes back with it: the booking module tells its own copies by it.
    uid = "booking-1@meetbridge"
    assert read.busy == (Busy(utc(2026, 3, 12, 14), utc(2026, 3, 12, 14, 30), uid),)

    # Rescheduled: the same UID, a new time. One event, at the new time.
    client.put_event(
        account,
        "booking-1@meetbridge",
        booking("booking-1@meetbridge", "20260313T090000Z", "20260313T100000Z"),
    )
    client.put_event(
        account,
        "booking-1@meetbridge",
        booking("booking-1@meetbridge", "20260313T090000Z", "20260313T100000Z"),
    )
    read = client.read_caldav(account, *MARCH, "UTC")
    assert read.busy == (Busy(utc(2026, 3, 13, 9), utc(2026, 3, 13, 10), uid),)
    objects = stored(radicale, account)
    assert len(objects) == 1 and "20260313T090000Z" in objects[0]


def test_a_booking_replaces_an_event_another_client_stored_under_its_own_name(
    radicale: RadicaleServer, account: CalDavAccount, client: CalendarClient
) -> None:
    with radicale.client() as dav:
        dav.put(
            account.url + "some-other-name.ics",
            booking("booking-2", "20260312T140000Z", "20260312T150000Z"),
            {"Content-Type": "text/calendar; charset=utf-8"},
        )
    client.put_event(
        account, "booking-2", booking("booking-2", "20260314T140000Z", "20260314T150000Z")
    )
    objects = stored(radicale, account)
    assert len(objects) == 1 and "20260314T140000Z" in objects[0]


def test_deleting_a_booking_removes_it_and_deleting_again_is_fine(
    radicale: RadicaleServer, account: CalDavAccount, client: CalendarClient
) -> None:
    client.put_event(
        account, "booking-3", booking("booking-3", "20260312T140000Z", "20260312T150000Z")
    )
    client.put_event(account, "keep-me", booking("keep-me", "20260316T140000Z", "20260316T150000Z"))
    client.delete_event(account, "booking-3")
    assert client.read_caldav(account, *MARCH, "UTC").busy == (
        Busy(utc(2026, 3, 16, 14), utc(2026, 3, 16, 15)),
    )
    client.delete_event(account, "booking-3")
    client.delete_event(account, "never-written")
    assert len(stored(radicale, account)) == 1


def test_the_ics_must_hold_the_uid_it_is_put_under(
    account: CalDavAccount, client: CalendarClient
) -> None:
    with pytest.raises(ValueError, match="not only"):
        client.put_event(
            account, "booking-4", booking("another", "20260312T140000Z", "20260312T150000Z")
        )


def test_check_accepts_a_calendar_and_says_plainly_what_is_wrong(
    radicale: RadicaleServer, account: CalDavAccount, client: CalendarClient
) -> None:
    client.check_caldav(account)

    wrong = dataclasses.replace(account, password="not-the-password")
    for call in (
        lambda: client.check_caldav(wrong),
        lambda: client.read_caldav(wrong, *MARCH, "UTC"),
        lambda: client.put_event(wrong, "b", booking("b", "20260312T140000Z", "20260312T150000Z")),
        lambda: client.delete_event(wrong, "b"),
    ):
        with pytest.raises(CalendarError) as caught:
            call()
        assert caught.value.message == "CalDAV refused the password"

    theirs = radicale.new_calendar(username="someone-else")
    with pytest.raises(CalendarError) as caught:
        client.check_caldav(dataclasses.replace(account, url=theirs.url))
    assert caught.value.message == "CalDAV refused access to this calendar"

    missing = dataclasses.replace(account, url=radicale.url + "member/no-such-calendar/")
    with pytest.raises(CalendarError) as caught:
        client.check_caldav(missing)
    assert caught.value.message == "no CalDAV calendar at this address"

    for not_a_calendar in (radicale.url, radicale.url + "member/"):
        with pytest.raises(CalendarError) as caught:
            client.check_caldav(dataclasses.replace(account, url=not_a_calendar))
        assert caught.value.message.startswith("this address is not a calendar")


def test_an_unreachable_server_is_a_plain_error(client: CalendarClient) -> None:
    from tests.support import free_port

    nobody = CalDavAccount(f"http://127.0.0.1:{free_port()}/member/cal/", "member", "x")
    with pytest.raises(CalendarError) as caught:
        client.check_caldav(nobody)
    assert caught.value.message == "the CalDAV server could not be reached"


def test_a_caldav_server_on_a_private_address_is_refused_by_default(
    account: CalDavAccount,
) -> None:
    with pytest.raises(CalendarError) as caught:
        CalendarClient().check_caldav(account)
    assert caught.value.message == "the address is on a private network"

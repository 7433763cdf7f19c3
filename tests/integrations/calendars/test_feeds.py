"""Feeds read from a real HTTP server on loopback: recurrence, the free-time rules, all-day
days in the member's zone, ETags, and the errors a member sees on their card."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from meetbridge.core.calendars import Busy, CalendarError
from meetbridge.integrations.calendars import CalendarClient, feeds
from meetbridge.integrations.calendars.addresses import IpAddress, resolve
from meetbridge.integrations.calendars.feeds import feed_url
from tests.calendar_servers import FeedServer, make_tls_files

UTC = dt.UTC
MARCH = (dt.datetime(2026, 3, 1, tzinfo=UTC), dt.datetime(2026, 4, 1, tzinfo=UTC))


def utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


def vcalendar(*events: str) -> str:
    body = "".join(f"BEGIN:VEVENT\r\nDTSTAMP:20260101T000000Z\r\n{e}END:VEVENT\r\n" for e in events)
    return f"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//tests//EN\r\n{body}END:VCALENDAR\r\n"


def lines(*props: str) -> str:
    return "".join(p + "\r\n" for p in props)


@pytest.fixture
def client() -> CalendarClient:
    return CalendarClient(allow_private=True)  # the feed server listens on 127.0.0.1


def test_weekly_rule_with_exdate_rdate_and_a_moved_occurrence_across_dst(
    feed_server: FeedServer, client: CalendarClient
) -> None:
    # Mondays 09:00-10:00 New York from 2 March 2026; clocks go forward on 8 March, so the
    # same wall-clock time is 14:00 UTC before and 13:00 UTC after.
    feed_server.serve(
        vcalendar(
            lines(
                "UID:weekly",
                "DTSTART;TZID=America/New_York:20260302T090000",
                "DTEND;TZID=America/New_York:20260302T100000",
                "RRULE:FREQ=WEEKLY;COUNT=5",
                "EXDATE;TZID=America/New_York:20260309T090000",
                "RDATE;TZID=America/New_York:20260312T090000",
            ),
            lines(
                "UID:weekly",
                "RECURRENCE-ID;TZID=America/New_York:20260316T090000",
                "DTSTART;TZID=America/New_York:20260316T140000",
                "DTEND;TZID=America/New_York:20260316T153000",
            ),
        )
    )
    read = client.read_feed(feed_server.url(), None, *MARCH, "America/New_York")
    assert read.busy == (
        Busy(utc(2026, 3, 2, 14), utc(2026, 3, 2, 15)),
        Busy(utc(2026, 3, 12, 13), utc(2026, 3, 12, 14)),  # the RDATE, after the change
        Busy(utc(2026, 3, 16, 18), utc(2026, 3, 16, 19, 30)),  # moved to the afternoon
        Busy(utc(2026, 3, 23, 13), utc(2026, 3, 23, 14)),
        Busy(utc(2026, 3, 30, 13), utc(2026, 3, 30, 14)),
    )
    assert read.etag == feed_server.etag and not read.not_modified


def test_transparent_and_cancelled_events_are_free_and_duration_and_floating_are_read(
    feed_server: FeedServer, client: CalendarClient
) -> None:
    feed_server.serve(
        vcalendar(
            lines(
                "UID:free",
                "DTSTART:20260305T100000Z",
                "DTEND:20260305T110000Z",
                "TRANSP:TRANSPARENT",
            ),
            lines(
                "UID:off", "DTSTART:20260305T120000Z", "DTEND:20260305T130000Z", "STATUS:CANCELLED"
            ),
            lines("UID:long", "DTSTART:20260306T080000Z", "DURATION:PT2H30M"),
            # Floating: 09:00 on the member's own clock, wherever that is.
            lines("UID:floating", "DTSTART:20260307T090000", "DTEND:20260307T093000"),
            lines("UID:instant", "DTSTART:20260308T090000Z"),  # no end: takes no time
        )
    )
    read = client.read_feed(feed_server.url(), None, *MARCH, "Asia/Tokyo")
    assert read.busy == (
        Busy(utc(2026, 3, 6, 8), utc(2026, 3, 6, 10, 30)),
        Busy(utc(2026, 3, 7, 0), utc(2026, 3, 7, 0, 30)),
    )


def test_an_all_day_event_blocks_the_members_local_days(
    feed_server: FeedServer, client: CalendarClient
) -> None:
    feed_server.serve(
        vcalendar(
            lines("UID:day", "DTSTART;VALUE=DATE:20260320", "DTEND;VALUE=DATE:20260321"),
            # Two days over the European change of 29 March: 23:00 UTC, then 22:00 UTC.
            lines("UID:weekend", "DTSTART;VALUE=DATE:20260328", "DTEND;VALUE=DATE:20260330"),
            lines("UID:no-end", "DTSTART;VALUE=DATE:20260311"),  # one day, per RFC 5545
        )
    )
    read = client.read_feed(feed_server.url(), None, *MARCH, "Europe/Berlin")
    assert read.busy == (
        Busy(utc(2026, 3, 10, 23), utc(2026, 3, 11, 23)),
        Busy(utc(2026, 3, 19, 23), utc(2026, 3, 20, 23)),
        Busy(utc(2026, 3, 27, 23), utc(2026, 3, 29, 22)),
    )


def test_busy_times_are_clipped_to_the_window(
    feed_server: FeedServer, client: CalendarClient
) -> None:
    feed_server.serve(
        vcalendar(
            lines("UID:a", "DTSTART:20260310T080000Z", "DTEND:20260310T120000Z"),
            lines("UID:b", "DTSTART:20260310T130000Z", "DTEND:20260310T140000Z"),
            lines("UID:c", "DTSTART:20260309T080000Z", "DTEND:20260309T090000Z"),
        )
    )
    read = client.read_feed(
        feed_server.url(), None, utc(2026, 3, 10, 10), utc(2026, 3, 10, 13), "UTC"
    )
    assert read.busy == (Busy(utc(2026, 3, 10, 10), utc(2026, 3, 10, 12)),)


def test_events_with_uids_like_meetbridges_keep_them_and_others_are_one_per_time(
    feed_server: FeedServer, client: CalendarClient
) -> None:
    feed_server.serve(
        vcalendar(
            lines("UID:dentist", "DTSTART:20260310T090000Z", "DTEND:20260310T100000Z"),
            lines("UID:dentist-copy", "DTSTART:20260310T090000Z", "DTEND:20260310T100000Z"),
            lines(
                "UID:booking-b1@meetbridge", "DTSTART:20260310T090000Z", "DTEND:20260310T100000Z"
            ),
            lines(
                "UID:m1@meetbridge",
                "DTSTART:20260311T090000Z",
                "DTEND:20260311T100000Z",
                "RRULE:FREQ=DAILY;COUNT=2",
            ),
            lines("UID:x@meetbridge.example", "DTSTART:20260313T090000Z", "DTEND:20260313T100000Z"),
        )
    )
    read = client.read_feed(feed_server.url(), None, *MARCH, "UTC")
    assert read.busy == (
        Busy(utc(2026, 3, 10, 9), utc(2026, 3, 10, 10)),
        Busy(utc(2026, 3, 10, 9), utc(2026, 3, 10, 10), "booking-b1@meetbridge"),
        Busy(utc(2026, 3, 11, 9), utc(2026, 3, 11, 10), "m1@meetbridge"),
        Busy(utc(2026, 3, 12, 9), utc(2026, 3, 12, 10), "m1@meetbridge"),
        Busy(utc(2026, 3, 13, 9), utc(2026, 3, 13, 10)),  # another domain: not ours
    )


def test_an_unchanged_feed_answers_304_and_is_not_read_again(
    feed_server: FeedServer, client: CalendarClient
) -> None:
    feed_server.serve(vcalendar(lines("UID:a", "DTSTART:20260310T080000Z", "DURATION:PT1H")))
    first = client.read_feed(feed_server.url(), None, *MARCH, "UTC")
    assert len(first.busy) == 1 and first.etag == feed_server.etag

    again = client.read_feed(feed_server.url(), first.etag, *MARCH, "UTC")
    assert again.not_modified and again.busy == () and again.etag == first.etag
    assert feed_server.last_headers["If-None-Match"] == first.etag
    assert feed_server.requests == 2

    feed_server.serve(vcalendar(lines("UID:b", "DTSTART:20260311T080000Z", "DURATION:PT1H")))
    changed = client.read_feed(feed_server.url(), first.etag, *MARCH, "UTC")
    assert not changed.not_modified and changed.busy[0].start == utc(2026, 3, 11, 8)
    assert changed.etag == feed_server.etag != first.etag


def test_a_missing_feed_says_what_the_server_answered(
    feed_server: FeedServer, client: CalendarClient
) -> None:
    feed_server.status = 404
    with pytest.raises(CalendarError) as caught:
        client.read_feed(feed_server.url(), None, *MARCH, "UTC")
    assert caught.value.message == "the feed answered 404"


def test_a_page_that_is_not_icalendar_is_refused(
    feed_server: FeedServer, client: CalendarClient
) -> None:
    feed_server.content_type = "text/html"
    feed_server.serve("<!doctype html><html><body>Sign in to see your calendar</body></html>")
    with pytest.raises(CalendarError) as caught:
        client.read_feed(feed_server.url(), None, *MARCH, "UTC")
    assert caught.value.message == "not an iCalendar file"


def test_an_oversized_feed_is_refused(feed_server: FeedServer) -> None:
    small = CalendarClient(allow_private=True, feed_max_bytes=1024 * 1024)
    padding = "X-PAD:" + "x" * 60 + "\r\n"
    feed_server.serve(vcalendar(lines("UID:a", "DTSTART:20260310T080000Z") + padding * 20_000))
    with pytest.raises(CalendarError) as caught:
        small.read_feed(feed_server.url(), None, *MARCH, "UTC")
    assert caught.value.message == "the feed is larger than 1 MB"


def test_a_feed_on_a_private_address_is_refused_by_default(feed_server: FeedServer) -> None:
    feed_server.serve(vcalendar(lines("UID:a", "DTSTART:20260310T080000Z", "DURATION:PT1H")))
    guarded = CalendarClient()
    for url in (feed_server.url(), f"http://localhost:{feed_server.port}/member.ics"):
        with pytest.raises(CalendarError) as caught:
            guarded.read_feed(url, None, *MARCH, "UTC")
        assert caught.value.message == "the address is on a private network"
    assert feed_server.requests == 0  # refused before any connection


REFUSED = [
    *("127.0.0.1", "10.1.2.3", "172.16.5.4", "192.168.0.10", "169.254.169.254", "224.0.0.1"),
    *("0.0.0.0", "100.64.0.1", "240.0.0.1"),  # noqa: S104 - an address checked, not bound
    *("::1", "::ffff:127.0.0.1", "fd00::1", "fe80::1", "ff02::1", "::"),
]


@pytest.mark.parametrize("address", REFUSED)
def test_private_and_special_addresses_are_refused(address: str) -> None:
    with pytest.raises(CalendarError, match="private network"):
        resolve(address, 443, allow_private=False)
    assert resolve(address, 443, allow_private=True)


def test_public_addresses_pass() -> None:
    assert [str(ip) for ip in resolve("93.184.215.14", 443, allow_private=False)] == [
        "93.184.215.14"
    ]


def test_redirects_are_followed_at_most_three_times(
    feed_server: FeedServer, client: CalendarClient
) -> None:
    feed_server.redirect_to = feed_server.url("/again.ics")
    with pytest.raises(CalendarError) as caught:
        client.read_feed(feed_server.url(), None, *MARCH, "UTC")
    assert caught.value.message == "the feed redirects more than 3 times"
    assert feed_server.requests == 4


def test_a_redirect_to_another_scheme_is_refused(
    feed_server: FeedServer, client: CalendarClient
) -> None:
    feed_server.redirect_to = "file:///etc/passwd"
    with pytest.raises(CalendarError, match="redirects to a bad address"):
        client.read_feed(feed_server.url(), None, *MARCH, "UTC")


def test_a_redirect_to_a_private_address_is_refused(
    feed_server: FeedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Every address a test can serve from is private, so the guard is narrowed to let the
    # first hop (127.0.0.1) through and nothing else; the redirect's target is on loopback
    # too, so nothing leaves the machine if the check were missing.
    original = feeds.resolve

    def only_the_first_hop(host: str, port: int, *, allow_private: bool) -> list[IpAddress]:
        return original(host, port, allow_private=host == "127.0.0.1")

    monkeypatch.setattr(feeds, "resolve", only_the_first_hop)
    feed_server.redirect_to = f"http://127.0.0.2:{feed_server.port}/member.ics"
    with pytest.raises(CalendarError) as caught:
        CalendarClient().read_feed(feed_server.url(), None, *MARCH, "UTC")
    assert caught.value.message == "the address is on a private network"
    assert feed_server.requests == 1


@pytest.mark.parametrize(
    ("given", "fetched"),
    [
        ("webcal://calendar.example.org/u/1.ics", "https://calendar.example.org/u/1.ics"),
        ("WEBCAL://calendar.example.org/a", "https://calendar.example.org/a"),
        ("https://calendar.example.org/a?k=1", "https://calendar.example.org/a?k=1"),
    ],
)
def test_webcal_is_fetched_over_https(given: str, fetched: str) -> None:
    assert str(feed_url(given)) == fetched


@pytest.mark.parametrize(
    "url", ["file:///etc/passwd", "ftp://example.org/a.ics", "gopher://x/", "https://"]
)
def test_other_schemes_are_refused(url: str, client: CalendarClient) -> None:
    with pytest.raises(CalendarError):
        client.read_feed(url, None, *MARCH, "UTC")


def test_a_host_name_is_connected_to_at_its_checked_address_and_keeps_its_name(
    feed_server: FeedServer, client: CalendarClient
) -> None:
    feed_server.serve(vcalendar(lines("UID:a", "DTSTART:20260310T080000Z", "DURATION:PT1H")))
    read = client.read_feed(feed_server.url(host="localhost"), None, *MARCH, "UTC")
    assert len(read.busy) == 1
    assert feed_server.last_headers["Host"] == f"localhost:{feed_server.port}"


def test_https_checks_the_certificate_against_the_name_not_the_address(
    tmp_path: Path,
) -> None:
    ca, cert, key = make_tls_files(tmp_path, "localhost")
    server = FeedServer(tls=(cert, key))
    server.serve(vcalendar(lines("UID:a", "DTSTART:20260310T080000Z", "DURATION:PT1H")))
    server.start()
    try:
        trusting = CalendarClient(allow_private=True, tls_verify=str(ca))
        read = trusting.read_feed(server.url(host="localhost"), None, *MARCH, "UTC")
        assert read.busy == (Busy(utc(2026, 3, 10, 8), utc(2026, 3, 10, 9)),)
        # The certificate names localhost, not 127.0.0.1: asked for the IP it is refused.
        with pytest.raises(CalendarError) as caught:
            trusting.read_feed(server.url(host="127.0.0.1"), None, *MARCH, "UTC")
        assert caught.value.message == "the feed's certificate is not valid"
        # And with the system's CAs, the test CA is not trusted.
        with pytest.raises(CalendarError) as caught:
            CalendarClient(allow_private=True).read_feed(
                server.url(host="localhost"), None, *MARCH, "UTC"
            )
        assert caught.value.message == "the feed's certificate is not valid"
    finally:
        server.stop()


def test_a_feed_without_a_length_is_still_capped(feed_server: FeedServer) -> None:
    small = CalendarClient(allow_private=True, feed_max_bytes=64 * 1024)
    feed_server.send_length = False
    padding = "X-PAD:" + "x" * 60 + "\r\n"
    feed_server.serve(vcalendar(lines("UID:a", "DTSTART:20260310T080000Z") + padding * 2_000))
    with pytest.raises(CalendarError) as caught:
        small.read_feed(feed_server.url(), None, *MARCH, "UTC")
    assert caught.value.message == "the feed is larger than 64 KB"

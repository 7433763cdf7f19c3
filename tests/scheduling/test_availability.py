"""Working hours on a member's wall clock, and the open time they give in real time."""

from __future__ import annotations

import datetime as dt
import itertools
import zoneinfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from meetbridge.scheduling.availability import (
    Hours,
    MemberAvailability,
    open_hours,
    validate_hours,
)
from meetbridge.scheduling.intervals import Interval
from meetbridge.scheduling.timezones import BadZone
from tests.scheduling import oracle

UTC = dt.UTC
NINE_TO_FIVE = validate_hours([(9 * 60, 17 * 60)])
EVERY_DAY = dict.fromkeys(range(7), NINE_TO_FIVE)


def at(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=UTC)


def member(
    tz: str,
    weekly: dict[int, tuple[Hours, ...]] | None = None,
    overrides: dict[dt.date, tuple[Hours, ...]] | None = None,
) -> MemberAvailability:
    return MemberAvailability("m", tz, EVERY_DAY if weekly is None else weekly, overrides or {})


def days(first: dt.datetime, n: int) -> Interval:
    return Interval(first, first + dt.timedelta(days=n))


# -- validate_hours -----------------------------------------------------------------------


def test_hours_come_back_sorted() -> None:
    assert validate_hours([(780, 1020), (540, 720)]) == (Hours(540, 720), Hours(780, 1020))


def test_touching_hours_are_fine_and_the_end_of_the_day_is_1440() -> None:
    assert validate_hours([(0, 720), (720, 1440)]) == (Hours(0, 720), Hours(720, 1440))


@pytest.mark.parametrize(
    ("ranges", "message"),
    [
        ([(600, 600)], "10:00-10:00: a range must end after it starts"),
        ([(700, 600)], "must end after it starts"),
        ([(-1, 600)], "0..1440"),
        ([(600, 1441)], "0..1440"),
        ([(540, 720), (700, 800)], "09:00-12:00 and 11:40-13:20 overlap"),
        ([(540, 1020), (600, 660)], "overlap"),
    ],
)
def test_bad_hours_are_refused_with_a_clear_message(
    ranges: list[tuple[int, int]], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        validate_hours(ranges)


def test_minutes_are_whole_numbers() -> None:
    with pytest.raises(ValueError, match="whole minutes"):
        validate_hours([(540.5, 600)])  # type: ignore[list-item]


# -- open_hours: examples ----------------------------------------------------------------


def test_nine_to_five_stays_nine_to_five_local_on_both_sides_of_a_change() -> None:
    # London moves to BST on Sunday 2026-03-29.
    got = open_hours(member("Europe/London"), days(at(2026, 3, 28), 3))
    assert got == [
        Interval(at(2026, 3, 28, 9), at(2026, 3, 28, 17)),  # GMT
        Interval(at(2026, 3, 29, 8), at(2026, 3, 29, 16)),  # BST, the day of the change
        Interval(at(2026, 3, 30, 8), at(2026, 3, 30, 16)),
    ]


def test_a_range_over_the_spring_forward_gap_is_shorter_and_starts_after_it() -> None:
    # New York skips 02:00-03:00 on 2026-03-08; 02:30 does not exist, so it starts at 03:00.
    hours = {6: validate_hours([(150, 300)])}  # Sunday 02:30-05:00
    got = open_hours(member("America/New_York", hours), days(at(2026, 3, 8), 1))
    assert got == [Interval(at(2026, 3, 8, 7), at(2026, 3, 8, 9))]  # 03:00-05:00 EDT


def test_a_range_over_the_fall_back_is_longer_from_the_first_pass() -> None:
    # New York passes 01:00-02:00 twice on 2026-11-01; 01:30 starts on the first pass (EDT).
    hours = {6: validate_hours([(90, 180)])}  # Sunday 01:30-03:00
    got = open_hours(member("America/New_York", hours), days(at(2026, 11, 1), 1))
    assert got == [Interval(at(2026, 11, 1, 5, 30), at(2026, 11, 1, 8))]  # 2.5 hours


def test_lord_howe_moves_its_clocks_half_an_hour() -> None:
    # Lord Howe: +10:30 to +11 at 02:00 on 2026-10-04 (02:00-02:30 never happens).
    hours = {6: validate_hours([(60, 240)])}  # Sunday 01:00-04:00
    got = open_hours(member("Australia/Lord_Howe", hours), days(at(2026, 10, 3), 2))
    assert got == [Interval(at(2026, 10, 3, 14, 30), at(2026, 10, 3, 17))]  # 2.5 hours


def test_hours_running_through_midnight_read_as_one_range() -> None:
    weekly = {0: validate_hours([(1320, 1440)]), 1: validate_hours([(0, 120)])}
    got = open_hours(member("UTC", weekly), days(at(2026, 11, 30), 2))
    assert got == [Interval(at(2026, 11, 30, 22), at(2026, 12, 1, 2))]


def test_an_override_replaces_the_day_and_an_empty_one_is_a_day_off() -> None:
    overrides = {
        dt.date(2026, 12, 1): validate_hours([(600, 660)]),
        dt.date(2026, 12, 2): (),
    }
    got = open_hours(member("UTC", overrides=overrides), days(at(2026, 12, 1), 3))
    assert got == [
        Interval(at(2026, 12, 1, 10), at(2026, 12, 1, 11)),
        Interval(at(2026, 12, 3, 9), at(2026, 12, 3, 17)),
    ]


def test_ranges_are_clipped_to_the_window_given_in_any_zone() -> None:
    # The booker in Kiritimati (UTC+14) asks for their Tuesday 1 December: 30 Nov 10:00 UTC
    # to 1 Dec 10:00 UTC.
    kiritimati = zoneinfo.ZoneInfo("Pacific/Kiritimati")
    window = Interval(
        dt.datetime(2026, 12, 1, tzinfo=kiritimati), dt.datetime(2026, 12, 2, tzinfo=kiritimati)
    )
    got = open_hours(member("Europe/London"), window)
    assert got == [
        Interval(at(2026, 11, 30, 10), at(2026, 11, 30, 17)),
        Interval(at(2026, 12, 1, 9), at(2026, 12, 1, 10)),
    ]
    assert all(r.start.tzinfo is UTC for r in got)


def test_an_unknown_zone_is_refused() -> None:
    with pytest.raises(BadZone):
        open_hours(member("Mars/Olympus"), days(at(2026, 12, 1), 1))


# -- open_hours: property ----------------------------------------------------------------

ZONES = [
    "Europe/London",
    "America/New_York",
    "Australia/Lord_Howe",
    "America/Santiago",  # changes at midnight: some days start at 01:00
    "Asia/Kathmandu",
    "UTC",
]
BOUNDARIES = [0, 30, 60, 90, 120, 150, 180, 240, 540, 720, 1020, 1380, 1410, 1440]


@st.composite
def day_hours(draw: st.DrawFn) -> tuple[Hours, ...]:
    points = sorted(draw(st.sets(st.sampled_from(BOUNDARIES), max_size=6)))
    pairs = list(zip(points[::2], points[1::2], strict=False))
    return validate_hours(pairs)


def dst_days(tz: zoneinfo.ZoneInfo, year: int = 2026) -> list[dt.date]:
    out = []
    day = dt.date(year, 1, 1)
    while day.year == year:
        a = dt.datetime.combine(day, dt.time(12), tzinfo=tz).utcoffset()
        b = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(12), tzinfo=tz).utcoffset()
        if a != b:
            out.append(day + dt.timedelta(days=1))
        day += dt.timedelta(days=1)
    return out or [dt.date(year, 3, 29)]


@settings(max_examples=80, deadline=None)
@given(
    name=st.sampled_from(ZONES),
    weekly=st.dictionaries(st.integers(0, 6), day_hours(), max_size=7),
    which=st.integers(0, 1),
    offset_hours=st.integers(-30, 30),
    length_hours=st.integers(0, 60),
    booker=st.sampled_from(["Pacific/Kiritimati", "Pacific/Pago_Pago", "UTC", "Asia/Tokyo"]),
)
def test_open_hours_are_each_days_hours_in_real_time(
    name: str,
    weekly: dict[int, tuple[Hours, ...]],
    which: int,
    offset_hours: int,
    length_hours: int,
    booker: str,
) -> None:
    tz = zoneinfo.ZoneInfo(name)
    changes = dst_days(tz)
    day = changes[which % len(changes)]
    start = dt.datetime.combine(day, dt.time(), tzinfo=tz) + dt.timedelta(hours=offset_hours)
    start = start.astimezone(zoneinfo.ZoneInfo(booker))
    window = Interval(start, start + dt.timedelta(hours=length_hours))
    m = member(name, weekly)
    got = open_hours(m, window)
    want = [
        Interval(max(a, window.start), min(b, window.end))
        for a, b in oracle.open_ranges(m, window.start, window.end)
        if max(a, window.start) < min(b, window.end)
    ]
    assert got == want
    # sorted, merged, non-empty, inside the window
    for before, after in itertools.pairwise(got):
        assert before.end < after.start
    assert all(not r.empty and window.start <= r.start and r.end <= window.end for r in got)

"""Time zones a person can meet in, and wall-clock times that exist exactly once."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from meetbridge.scheduling.intervals import Interval
from meetbridge.scheduling.timezones import BadWallTime, BadZone, utc_to_wall, wall_to_utc, zone

PARIS = zoneinfo.ZoneInfo("Europe/Paris")
ZONES = sorted(
    z for z in zoneinfo.available_timezones() if z not in ("localtime", "Factory", "posixrules")
)


@pytest.mark.parametrize(
    "name", ["localtime", "posixrules", "Factory", "right/Europe/Paris", "posix/Europe/Paris"]
)
def test_files_of_the_tz_database_that_are_not_places_are_refused(name: str) -> None:
    with pytest.raises(BadZone):
        zone(name)


@pytest.mark.parametrize("name", ["Mars/Olympus", "", "../etc/passwd", "Europe/Paris\x00"])
def test_unknown_zones_are_refused(name: str) -> None:
    with pytest.raises(BadZone):
        zone(name)


def test_places_are_accepted() -> None:
    assert zone("Europe/Paris") == PARIS and zone("UTC").key == "UTC"


def test_the_repeated_hour_when_clocks_go_back_is_refused() -> None:
    # 2026-10-25: Paris goes from 03:00 CEST back to 02:00 CET; 02:30 happens twice.
    with pytest.raises(BadWallTime) as caught:
        wall_to_utc(dt.datetime(2026, 10, 25, 2, 30), PARIS)
    assert caught.value.kind == "repeated"


def test_the_skipped_hour_when_clocks_go_forward_is_refused() -> None:
    # 2026-03-29: Paris goes from 02:00 CET to 03:00 CEST; 02:30 never happens.
    with pytest.raises(BadWallTime) as caught:
        wall_to_utc(dt.datetime(2026, 3, 29, 2, 30), PARIS)
    assert caught.value.kind == "missing"


def test_times_either_side_of_a_change_are_accepted() -> None:
    assert wall_to_utc(dt.datetime(2026, 10, 25, 1, 59), PARIS) == dt.datetime(
        2026, 10, 24, 23, 59, tzinfo=dt.UTC
    )
    assert wall_to_utc(dt.datetime(2026, 10, 25, 3, 0), PARIS) == dt.datetime(
        2026, 10, 25, 2, 0, tzinfo=dt.UTC
    )


_DAYS = st.dates(min_value=dt.date(2025, 1, 1), max_value=dt.date(2031, 12, 31))
_MINUTES = st.integers(min_value=0, max_value=24 * 60 - 1)


@settings(max_examples=400, deadline=None)
@given(name=st.sampled_from(ZONES), day=_DAYS, minute=_MINUTES)
def test_an_accepted_wall_time_is_that_time_there_and_nothing_else(
    name: str, day: dt.date, minute: int
) -> None:
    tz = zoneinfo.ZoneInfo(name)
    wall = dt.datetime.combine(day, dt.time()) + dt.timedelta(minutes=minute)
    try:
        utc = wall_to_utc(wall, tz)
    except BadWallTime as exc:
        # Refused only where the clocks really change: the two readings differ.
        first, second = wall.replace(tzinfo=tz, fold=0), wall.replace(tzinfo=tz, fold=1)
        assert first.utcoffset() != second.utcoffset()
        back = first.astimezone(dt.UTC).astimezone(tz).replace(tzinfo=None)
        assert (back == wall) == (exc.kind == "repeated")
        return
    assert utc.tzinfo is dt.UTC
    assert utc_to_wall(utc, tz) == wall  # the instant reads as that wall time there
    # and no other instant within a day reads as it
    for hours in (-2, -1, 1, 2):
        other = utc + dt.timedelta(hours=hours)
        assert utc_to_wall(other, tz) != wall


def _dst_days(tz: zoneinfo.ZoneInfo, year: int) -> list[dt.date]:
    """The days of `year` on which `tz`'s offset changes."""
    days = []
    day = dt.date(year, 1, 1)
    while day.year == year:
        a = dt.datetime.combine(day, dt.time(), tzinfo=tz).utcoffset()
        b = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=tz).utcoffset()
        if a != b:
            days.append(day)
        day += dt.timedelta(days=1)
    return days


@settings(max_examples=200, deadline=None)
@given(
    name=st.sampled_from(["Europe/Paris", "America/New_York", "Australia/Sydney", "Asia/Tehran"]),
    year=st.integers(min_value=2025, max_value=2030),
    minute=_MINUTES,
    which=st.integers(min_value=0, max_value=1),
)
def test_on_dst_days_exactly_the_changed_hour_is_refused(
    name: str, year: int, minute: int, which: int
) -> None:
    tz = zoneinfo.ZoneInfo(name)
    days = _dst_days(tz, year)
    if not days:
        return  # the zone keeps one offset that year (Tehran since 2023)
    day = days[which % len(days)]
    wall = dt.datetime.combine(day, dt.time()) + dt.timedelta(minutes=minute)
    readings = {
        wall.replace(tzinfo=tz, fold=f).astimezone(dt.UTC)
        for f in (0, 1)
        if wall.replace(tzinfo=tz, fold=f).astimezone(dt.UTC).astimezone(tz).replace(tzinfo=None)
        == wall
    }
    if len(readings) == 1:
        assert wall_to_utc(wall, tz) in readings
    else:  # no reading (skipped) or two (repeated)
        with pytest.raises(BadWallTime):
            wall_to_utc(wall, tz)


@given(
    start=st.datetimes(timezones=st.just(dt.UTC)),
    a=st.integers(min_value=0, max_value=600),
    gap=st.integers(min_value=-600, max_value=600),
    b=st.integers(min_value=0, max_value=600),
)
def test_intervals_overlap_symmetrically_and_only_when_they_share_time(
    start: dt.datetime, a: int, gap: int, b: int
) -> None:
    try:
        first = Interval.lasting(start, a)
        second = Interval.lasting(start + dt.timedelta(minutes=gap), b)
    except OverflowError:
        return
    assert first.overlaps(second) == second.overlaps(first)
    shared = min(first.end, second.end) - max(first.start, second.start)
    assert first.overlaps(second) == (shared > dt.timedelta(0))

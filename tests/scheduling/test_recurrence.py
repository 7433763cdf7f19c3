"""Recurring series: each rule of scheduling/recurrence.py on its own, then the whole against a
literal reading of the rules (below: day by day over the calendar, and the instant found among
the readings a clock there can show) in zones whose clocks change at odd hours."""

from __future__ import annotations

import calendar
import datetime as dt
import zoneinfo

import pytest
from dateutil import rrule as du
from hypothesis import given, settings
from hypothesis import strategies as st

from meetbridge.scheduling.recurrence import (
    MAX_OCCURRENCES,
    BadSeries,
    Occurrence,
    Rule,
    expand,
    problems,
)

UTC = dt.UTC
NOW = dt.datetime(2026, 12, 2, 8, 0, tzinfo=UTC)
NINE = dt.time(9, 0)
D = dt.date


def rule(**changes: object) -> Rule:
    base: dict[str, object] = {
        "frequency": "daily",
        "start_date": D(2027, 1, 4),  # a Monday
        "start_time": NINE,
        "duration": 60,
        "timezone": "Europe/London",
    }
    base.update(changes)
    if "until" not in base and "count" not in base:
        base["count"] = 5
    return Rule(**base)  # type: ignore[arg-type]


def days(r: Rule) -> list[dt.date]:
    assert problems(r, NOW) == []
    return [o.day for o in expand(r)]


def fields(r: Rule) -> list[str]:
    return [f for f, _ in problems(r, NOW)]


def test_daily_every_other_day_for_a_count() -> None:
    assert days(rule(interval=2, count=4)) == [
        D(2027, 1, 4),
        D(2027, 1, 6),
        D(2027, 1, 8),
        D(2027, 1, 10),
    ]


def test_weekly_on_chosen_days_every_other_week_from_the_week_of_the_start() -> None:
    # Starts on a Wednesday: that week's Monday is before the start and is not in the series.
    r = rule(frequency="weekly", start_date=D(2027, 1, 6), weekdays=(0, 2), interval=2, count=5)
    assert days(r) == [D(2027, 1, 6), D(2027, 1, 18), D(2027, 1, 20), D(2027, 2, 1), D(2027, 2, 3)]


def test_monthly_on_the_31st_skips_the_months_without_one() -> None:
    r = rule(frequency="monthly", start_date=D(2027, 1, 31), count=4)
    assert days(r) == [D(2027, 1, 31), D(2027, 3, 31), D(2027, 5, 31), D(2027, 7, 31)]


def test_monthly_on_the_nth_weekday_and_a_fifth_one_skips_months_without_it() -> None:
    second_tuesday = rule(frequency="monthly", monthly_by="weekday", start_date=D(2027, 1, 12))
    assert days(second_tuesday) == [
        D(2027, 1, 12),
        D(2027, 2, 9),
        D(2027, 3, 9),
        D(2027, 4, 13),
        D(2027, 5, 11),
    ]
    fifth_friday = rule(
        frequency="monthly", monthly_by="weekday", start_date=D(2027, 1, 29), count=3
    )
    assert days(fifth_friday) == [D(2027, 1, 29), D(2027, 4, 30), D(2027, 7, 30)]


def test_until_is_inclusive_and_a_day_in_the_series_zone() -> None:
    # 23:00 in Auckland is the morning before in UTC: the until day is Auckland's.
    r = rule(timezone="Pacific/Auckland", start_time=dt.time(23, 0), until=D(2027, 1, 6))
    found = expand(r)
    assert problems(r, NOW) == []
    assert [o.day for o in found] == [D(2027, 1, 4), D(2027, 1, 5), D(2027, 1, 6)]
    assert found[-1].start == dt.datetime(2027, 1, 6, 10, 0, tzinfo=UTC)


def test_count_counts_the_days_left_out_as_icalendar_does() -> None:
    r = rule(count=4, exceptions=(D(2027, 1, 5),))
    assert days(r) == [D(2027, 1, 4), D(2027, 1, 6), D(2027, 1, 7)]


def test_an_exception_must_be_a_day_of_the_series() -> None:
    r = rule(frequency="weekly", weekdays=(0,), count=3, exceptions=(D(2027, 1, 5),))
    assert problems(r, NOW) == [("exceptions", "2027-01-05 is not a day of this series")]
    with pytest.raises(BadSeries):
        expand(r)


def test_leaving_out_every_day_is_refused() -> None:
    r = rule(count=2, exceptions=(D(2027, 1, 4), D(2027, 1, 5)))
    assert fields(r) == ["exceptions"]


def test_occurrences_are_utc_and_last_their_duration_in_real_time() -> None:
    # New York goes back an hour at 02:00 on 2027-11-07: 00:30 + 3 hours ends at 02:30 EST.
    r = rule(
        timezone="America/New_York",
        start_date=D(2027, 11, 6),
        start_time=dt.time(0, 30),
        duration=180,
        count=2,
    )
    found = expand(r)
    assert found == [
        Occurrence(
            D(2027, 11, 6),
            dt.datetime(2027, 11, 6, 4, 30, tzinfo=UTC),
            dt.datetime(2027, 11, 6, 7, 30, tzinfo=UTC),
        ),
        Occurrence(
            D(2027, 11, 7),
            dt.datetime(2027, 11, 7, 4, 30, tzinfo=UTC),
            dt.datetime(2027, 11, 7, 7, 30, tzinfo=UTC),
        ),
    ]


def test_a_wall_time_the_clocks_pass_twice_is_its_first_pass() -> None:
    # 01:30 on 2027-11-07 in New York is 05:30 UTC (EDT), then 06:30 UTC (EST).
    r = rule(
        frequency="weekly",
        weekdays=(6,),
        timezone="America/New_York",
        start_date=D(2027, 10, 31),
        start_time=dt.time(1, 30),
        count=3,
    )
    assert [o.start for o in expand(r)] == [
        dt.datetime(2027, 10, 31, 5, 30, tzinfo=UTC),
        dt.datetime(2027, 11, 7, 5, 30, tzinfo=UTC),
        dt.datetime(2027, 11, 14, 6, 30, tzinfo=UTC),
    ]


def test_a_wall_time_the_clocks_skip_is_refused_naming_the_days_and_an_exception_mends_it() -> None:
    # Lord Howe goes from 02:00 to 02:30 on 2027-10-03: 02:15 does not happen that day.
    r = rule(
        frequency="weekly",
        weekdays=(6,),
        timezone="Australia/Lord_Howe",
        start_date=D(2027, 9, 26),
        start_time=dt.time(2, 15),
        count=3,
    )
    assert problems(r, NOW) == [
        (
            "start_time",
            "02:15 does not exist on 2027-10-03 in Australia/Lord_Howe (the clocks go forward "
            "over it): choose another time or leave those days out",
        )
    ]
    with pytest.raises(BadSeries) as caught:
        expand(r)
    assert caught.value.problems == problems(r, NOW)
    mended = rule(**{**r.__dict__, "exceptions": (D(2027, 10, 3),)})
    assert [o.day for o in expand(mended)] == [D(2027, 9, 26), D(2027, 10, 10)]
    assert problems(mended, NOW) == []


def test_a_series_of_ten_thousand_is_refused_precisely() -> None:
    assert problems(rule(count=10_000), NOW) == [
        ("count", "must be a whole number from 1 to 500, not 10000")
    ]
    assert len(days(rule(count=MAX_OCCURRENCES))) == MAX_OCCURRENCES


def test_an_until_giving_more_than_500_is_refused_naming_the_501st() -> None:
    r = rule(until=D(2028, 6, 1))
    assert problems(r, NOW) == [
        (
            "until",
            "the series would have more than 500 occurrences (the 501st on 2028-05-18): end it "
            "sooner or repeat less often",
        )
    ]
    with pytest.raises(BadSeries):
        expand(r)


def test_more_than_two_years_ahead_is_refused_by_until_and_by_count() -> None:
    # Two years from 2026-12-02 is 2028-12-02 (in London, as now is there).
    assert problems(rule(until=D(2028, 12, 3)), NOW)[0] == (
        "until",
        "is more than 2 years ahead (at most 2028-12-02)",
    )
    assert problems(rule(frequency="weekly", weekdays=(0,), until=D(2028, 12, 2)), NOW) == []
    monthly = rule(frequency="monthly", interval=6, count=6)  # 2027-01 ... 2029-07
    assert problems(monthly, NOW) == [
        (
            "count",
            "the series would run more than 2 years ahead: only 4 of its 6 days fall on or before "
            "2028-12-02",
        )
    ]


def test_every_bad_field_is_reported_at_once() -> None:
    r = Rule(
        frequency="yearly",
        start_date=dt.datetime(2027, 1, 4, 9, 0),  # type: ignore[arg-type]
        start_time=dt.time(9, 0, tzinfo=UTC),
        duration=0,
        timezone="Mars/Olympus",
        interval=100,
        until=D(2027, 2, 1),
        count=3,
        exceptions=("2027-01-05",),  # type: ignore[arg-type]
    )
    assert problems(r, NOW) == [
        ("frequency", "must be daily, weekly or monthly, not 'yearly'"),
        ("interval", "must be a whole number from 1 to 99, not 100"),
        ("start_date", "must be a date"),
        ("start_time", "must be a time of day, without a zone (the series' zone is used)"),
        ("duration", "must be a whole number of minutes from 1 to 1440"),
        ("timezone", "unknown time zone 'Mars/Olympus'"),
        ("count", "give an until date or a number of occurrences, not both"),
        ("exceptions", "'2027-01-05' is not a date"),
    ]


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"interval": 0}, ("interval", "must be a whole number from 1 to 99, not 0")),
        ({"interval": True}, ("interval", "must be a whole number from 1 to 99, not True")),
        ({"frequency": "weekly"}, ("weekdays", "a weekly series repeats on at least one weekday")),
        (
            {"frequency": "weekly", "weekdays": (7,)},
            ("weekdays", "are 0 (Monday) to 6 (Sunday), not 7"),
        ),
        ({"weekdays": (1,)}, ("weekdays", "only a weekly series has weekdays")),
        (
            {"monthly_by": "week"},
            (
                "monthly_by",
                "must be 'day' (the same day of the month) or 'weekday' (the same nth weekday)",
            ),
        ),
        (
            {"count": None},
            ("until", "the series needs an end: an until date or a number of occurrences"),
        ),
        ({"count": 0}, ("count", "must be a whole number from 1 to 500, not 0")),
        (
            {"count": None, "until": D(2027, 1, 3)},
            ("until", "is before the start date, 2027-01-04"),
        ),
        ({"count": None, "until": "soon"}, ("until", "must be a date")),
        (
            {"exceptions": (dt.datetime(2027, 1, 5, 9, 0),)},
            ("exceptions", "datetime.datetime(2027, 1, 5, 9, 0) is not a date"),
        ),
        ({"exceptions": "2027-01-05"}, ("exceptions", "must be a list of dates")),
        (
            {"start_date": D(2028, 12, 3)},
            ("start_date", "is more than 2 years ahead (at most 2028-12-02)"),
        ),
    ],
)
def test_each_bad_field_alone(changes: dict[str, object], expected: tuple[str, str]) -> None:
    assert problems(rule(**changes), NOW) == [expected]


def test_a_rule_that_names_no_day_is_refused() -> None:
    # Mondays from a Wednesday, until the Sunday of that week.
    never = rule(
        frequency="weekly",
        weekdays=(0,),
        start_date=D(2027, 1, 6),
        count=None,
        until=D(2027, 1, 10),
    )
    assert problems(never, NOW) == [("until", "the rule gives no day before the end of the series")]
    # Every 29 February: the second is in 2032.
    leap = rule(frequency="monthly", start_date=D(2028, 2, 29), interval=12, count=2)
    assert problems(leap, NOW) == [
        (
            "count",
            "the series would run more than 2 years ahead: only 1 of its 2 days fall on or before "
            "2028-12-02",
        )
    ]


def test_json_round_trip_and_bad_json_values_are_named() -> None:
    r = rule(
        frequency="weekly",
        weekdays=(0, 3),
        count=None,
        until=D(2027, 3, 1),
        exceptions=(D(2027, 1, 7),),
    )
    assert Rule.from_json(r.to_json()) == r
    data = r.to_json() | {"start_date": "2027-02-30", "exceptions": ["2027-13-01"]}
    assert problems(Rule.from_json(data), NOW) == [
        ("start_date", "must be a date"),
        ("exceptions", "'2027-13-01' is not a date"),
    ]


def test_expand_refuses_what_it_cannot_expand() -> None:
    with pytest.raises(BadSeries) as caught:
        expand(rule(frequency="fortnightly"))
    assert caught.value.problems == [
        ("frequency", "must be daily, weekly or monthly, not 'fortnightly'")
    ]
    # A count the rule reaches only after ten years.
    with pytest.raises(BadSeries) as caught:
        expand(rule(frequency="monthly", interval=99, count=3))
    assert caught.value.problems[0][0] == "count"


# --- the literal reading ---------------------------------------------------------------------

ZONES = ["Europe/London", "America/New_York", "Australia/Lord_Howe", "America/Santiago"]
QUARTER = dt.timedelta(minutes=15)
# Every offset a clock in these zones can show is a whole number of quarter hours within a day.
OFFSETS = [QUARTER * k for k in range(-14 * 4, 14 * 4 + 1)]


def literal_instant(day: dt.date, at: dt.time, tz: zoneinfo.ZoneInfo) -> dt.datetime | None:
    """The earliest instant at which a clock there reads `at` on `day`, or None if none does."""
    wall = dt.datetime.combine(day, at)
    seen = []
    for offset in OFFSETS:
        instant = (wall - offset).replace(tzinfo=UTC)
        if instant.astimezone(tz).replace(tzinfo=None) == wall:
            seen.append(instant)
    return min(seen) if seen else None


def months_between(a: dt.date, b: dt.date) -> int:
    return (b.year - a.year) * 12 + b.month - a.month


def in_rule(r: Rule, day: dt.date) -> bool:
    if day < r.start_date:
        return False
    if r.frequency == "daily":
        return (day - r.start_date).days % r.interval == 0
    if r.frequency == "weekly":
        weeks = (
            (day - dt.timedelta(days=day.weekday()))
            - (r.start_date - dt.timedelta(days=r.start_date.weekday()))
        ).days // 7
        return day.weekday() in r.weekdays and weeks % r.interval == 0
    if months_between(r.start_date, day) % r.interval:
        return False
    if r.monthly_by == "day":
        return day.day == r.start_date.day
    same_nth = (day.day - 1) // 7 == (r.start_date.day - 1) // 7
    return day.weekday() == r.start_date.weekday() and same_nth


def literal(r: Rule, last: dt.date) -> tuple[list[Occurrence], list[dt.date]]:
    """The occurrences up to `last`, and the days whose wall time does not happen."""
    tz = zoneinfo.ZoneInfo(r.timezone)
    end = last if r.until is None else min(last, r.until)
    rule_days = []
    day = r.start_date
    while day <= end and (r.count is None or len(rule_days) < r.count):
        if in_rule(r, day):
            rule_days.append(day)
        day += dt.timedelta(days=1)
    occurrences, skipped = [], []
    for day in rule_days:
        if day in r.exceptions:
            continue
        start = literal_instant(day, r.start_time, tz)
        if start is None:
            skipped.append(day)
        else:
            occurrences.append(Occurrence(day, start, start + dt.timedelta(minutes=r.duration)))
    return occurrences, skipped


def _changes(name: str) -> list[tuple[dt.date, int, int]]:
    """Each day of 2027-2028 the clocks change there, with the wall-clock minutes [lo, hi) of
    that day they skip (going forward) or pass twice (going back)."""
    tz = zoneinfo.ZoneInfo(name)
    out = []
    at = dt.datetime(2027, 1, 1, tzinfo=UTC)
    before = at.astimezone(tz).utcoffset()
    while at.year < 2029:
        at += QUARTER
        local = at.astimezone(tz)
        after = local.utcoffset()
        assert before is not None and after is not None
        if after != before:
            jump = (after - before) // dt.timedelta(minutes=1)
            minute = local.hour * 60 + local.minute  # the first wall time after the change
            if jump > 0:  # forward: [minute - jump, minute) is skipped
                out.append((local.date(), minute - jump, minute))
            else:  # back: [minute, minute - jump) is passed twice
                out.append((local.date(), minute, minute - jump))
            before = after
    return out


CHANGES = {name: _changes(name) for name in ZONES}


@st.composite
def rules(draw: st.DrawFn) -> Rule:
    frequency = draw(st.sampled_from(["daily", "weekly", "monthly"]))
    name = draw(st.sampled_from(ZONES))
    near_change = draw(st.integers(0, 3)) > 0
    if near_change:
        # Around a day the clocks change, at the wall times they skip or pass twice.
        day, lo, hi = draw(st.sampled_from(CHANGES[name]))
        start = day - dt.timedelta(days=draw(st.sampled_from([0, 1, 7, 14, 28])))
        minutes = draw(st.integers(lo // 15 - 1, (hi - 1) // 15 + 1)) * 15 % 1440
        near: tuple[int, ...] = (day.weekday(),)
    else:
        start = draw(st.dates(min_value=D(2027, 1, 1), max_value=D(2028, 6, 30)))
        minutes = draw(st.integers(0, 1439))
        near = ()
    if near_change:
        interval = draw(st.sampled_from([1, 1, 1, 7] if frequency == "daily" else [1, 1, 2]))
    else:
        interval = draw(st.sampled_from([1, 2, 3, 7, 13]))
    weekdays: tuple[int, ...] = ()
    if frequency == "weekly":
        weekdays = tuple(sorted(set(near) | draw(st.sets(st.integers(0, 6), min_size=1))))
    if draw(st.booleans()):
        until, count = None, draw(st.integers(1, 60))
    else:
        until, count = start + dt.timedelta(days=draw(st.integers(0, 200))), None
    r = Rule(
        frequency=frequency,
        start_date=start,
        start_time=dt.time(minutes // 60, minutes % 60),
        duration=draw(st.integers(1, 180)),
        timezone=name,
        interval=interval,
        weekdays=weekdays,
        monthly_by=draw(st.sampled_from(["day", "weekday"])),
        until=until,
        count=count,
    )
    # Leave out some of the rule's own days.
    own = [d for d, _ in zip(_days_of(r), range(60), strict=False)]
    picked = draw(st.lists(st.sampled_from(own), max_size=4, unique=True)) if own else []
    return Rule(**{**r.__dict__, "exceptions": tuple(picked)})


def _days_of(r: Rule) -> list[dt.date]:
    out, day = [], r.start_date
    end = r.until or D(2028, 12, 2)
    while day <= end and len(out) < (r.count or 10**6):
        if in_rule(r, day):
            out.append(day)
        day += dt.timedelta(days=1)
    return out


def test_the_literal_reading_sees_the_clock_changes() -> None:
    lord_howe = zoneinfo.ZoneInfo("Australia/Lord_Howe")
    assert literal_instant(D(2027, 10, 3), dt.time(2, 15), lord_howe) is None
    assert literal_instant(D(2027, 4, 4), dt.time(1, 45), lord_howe) == dt.datetime(
        2027, 4, 3, 14, 45, tzinfo=UTC
    )
    santiago = zoneinfo.ZoneInfo("America/Santiago")
    assert literal_instant(D(2027, 9, 5), dt.time(0, 30), santiago) is None
    assert literal_instant(D(2027, 4, 3), dt.time(23, 30), santiago) == dt.datetime(
        2027, 4, 4, 2, 30, tzinfo=UTC
    )


@settings(max_examples=300, deadline=None)
@given(r=rules())
def test_expansion_is_the_literal_reading(r: Rule) -> None:
    limit = D(2028, 12, 2)
    occurrences, skipped = literal(r, limit)
    found = problems(r, NOW)
    by_field = dict(found)
    rule_days = len(_days_of(r))
    if r.count is not None and rule_days < r.count:
        assert "count" in by_field  # runs past two years ahead
        return
    if r.until is not None and r.until > limit:
        assert by_field.get("until", "").startswith("is more than 2 years ahead")
        return
    if skipped:
        assert "start_time" in by_field
        assert all(str(d) in by_field["start_time"] for d in skipped[:5])
        with pytest.raises(BadSeries):
            expand(r)
        return
    if not occurrences:
        assert found and found[0][0] in ("exceptions", "until", "start_date")
        return
    assert found == []
    assert expand(r) == occurrences


@settings(max_examples=100, deadline=None)
@given(r=rules(), extra=st.dates(min_value=D(2027, 1, 1), max_value=D(2028, 12, 31)))
def test_an_exception_off_the_series_is_named(r: Rule, extra: dt.date) -> None:
    if problems(r, NOW) or extra in _days_of(r):
        return
    wrong = Rule(**{**r.__dict__, "exceptions": (*r.exceptions, extra)})
    assert problems(wrong, NOW) == [("exceptions", f"{extra} is not a day of this series")]


def dateutil_days(r: Rule) -> list[dt.date]:
    """The days iCalendar's reading gives (dateutil's RRULE and EXDATE), naive wall times."""
    start = dt.datetime.combine(r.start_date, r.start_time)
    kwargs: dict[str, object] = {"dtstart": start, "interval": r.interval, "wkst": du.MO}
    if r.frequency == "daily":
        freq = du.DAILY
    elif r.frequency == "weekly":
        freq, kwargs["byweekday"] = du.WEEKLY, list(r.weekdays)
    else:
        freq = du.MONTHLY
        if r.monthly_by == "day":
            kwargs["bymonthday"] = r.start_date.day
        else:
            nth = (r.start_date.day - 1) // 7 + 1
            kwargs["byweekday"] = du.weekday(r.start_date.weekday(), nth)
    if r.count is not None:
        kwargs["count"] = r.count
    else:
        assert r.until is not None
        kwargs["until"] = dt.datetime.combine(r.until, dt.time(23, 59, 59))
    series = du.rruleset()
    series.rrule(du.rrule(freq, **kwargs))
    for day in r.exceptions:
        series.exdate(dt.datetime.combine(day, r.start_time))
    return [at.date() for at in series]


@settings(max_examples=200, deadline=None)
@given(r=rules())
def test_the_days_are_icalendars(r: Rule) -> None:
    """What a calendar reading the same RRULE and EXDATE would show, day for day."""
    if problems(r, NOW):
        return
    assert [o.day for o in expand(r)] == dateutil_days(r)


def test_monthly_days_exist_in_their_month() -> None:
    for start in (D(2027, 1, 29), D(2027, 1, 30), D(2027, 1, 31), D(2028, 1, 31)):
        for by in ("day", "weekday"):
            r = rule(
                frequency="monthly",
                start_date=start,
                monthly_by=by,
                count=None,
                until=D(2028, 11, 30),
            )
            for day in days(r):
                assert day.day <= calendar.monthrange(day.year, day.month)[1]
                assert in_rule(r, day)

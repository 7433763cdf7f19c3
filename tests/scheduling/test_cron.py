"""Cron schedules: each rule of scheduling/cron.py on its own, then next_fire against a literal
reading of the rules (day by day over the calendar, minute by minute through each matching day
in wall time, each time's instant found among the readings a clock there can show) for random
expressions in zones whose clocks change at odd hours, around the changes."""

from __future__ import annotations

import calendar
import datetime as dt
import itertools
import statistics
import time
import zoneinfo
from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from meetbridge.scheduling.cron import (
    Cron,
    CronRefused,
    describe,
    next_fire,
    parse,
)
from meetbridge.scheduling.timezones import BadZone
from tests.scheduling import oracle

UTC = dt.UTC
MINUTE = dt.timedelta(minutes=1)
DAY = dt.timedelta(days=1)
NY = "America/New_York"
LORD_HOWE = "Australia/Lord_Howe"  # clocks move by 30 minutes


def at(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0, us: int = 0
) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, second, us, tzinfo=UTC)


def fires(expr: str, after: dt.datetime, tz: str, n: int, **kw: dt.timedelta) -> list[str]:
    """The next `n` fires as local wall times with their offsets."""
    cron, out = parse(expr, **kw), []
    for _ in range(n):
        after = next_fire(cron, after, tz)
        out.append(after.astimezone(zoneinfo.ZoneInfo(tz)).isoformat(timespec="minutes"))
    return out


def refused(expr: str, **kw: dt.timedelta) -> list[tuple[str, str]]:
    with pytest.raises(CronRefused) as caught:
        parse(expr, **kw)
    assert str(caught.value) == "; ".join(f"{f}: {m}" for f, m in caught.value.problems)
    return caught.value.problems


# --- the fields ---------------------------------------------------------------------------------


def test_lists_ranges_steps_and_names_make_the_sets() -> None:
    c = parse("0,30 9-17/4 1-5/2,20 jan-MAR,Dec mon-fri")
    assert c.minutes == (0, 30)
    assert c.hours == (9, 13, 17)
    assert c.days_of_month == (1, 3, 5, 20)
    assert c.months == (1, 2, 3, 12)
    assert c.days_of_week == (1, 2, 3, 4, 5)
    assert not c.dom_star and not c.dow_star
    assert c.expr == "0,30 9-17/4 1-5/2,20 jan-MAR,Dec mon-fri"


def test_sunday_is_0_and_7_and_a_range_may_end_on_7() -> None:
    assert parse("0 0 * * 7").days_of_week == (0,)
    assert parse("0 0 * * 5-7").days_of_week == (0, 5, 6)
    assert parse("0 0 * * sun").days_of_week == (0,)


def test_spaces_are_tidied_in_the_expression_kept() -> None:
    assert parse("  0   9 *\t* 1 ").expr == "0 9 * * 1"


@pytest.mark.parametrize(
    ("macro", "same"),
    [
        ("@hourly", "0 * * * *"),
        ("@daily", "0 0 * * *"),
        ("@midnight", "0 0 * * *"),
        ("@weekly", "0 0 * * 0"),
        ("@monthly", "0 0 1 * *"),
        ("@yearly", "0 0 1 1 *"),
        ("@annually", "0 0 1 1 *"),
        ("@DAILY", "0 0 * * *"),
    ],
)
def test_macros_are_their_five_fields(macro: str, same: str) -> None:
    c, d = parse(macro), parse(same)
    assert c.expr == macro.lower()
    assert (c.minutes, c.hours, c.days_of_month, c.months, c.days_of_week) == (
        d.minutes,
        d.hours,
        d.days_of_month,
        d.months,
        d.days_of_week,
    )
    assert (c.dom_star, c.dow_star) == (d.dom_star, d.dow_star)


def test_both_day_fields_restricted_fire_on_either_as_vixie_cron_does() -> None:
    # 2027-02: the 1st is a Monday; Mondays are 1, 8, 15, 22; the 13th a Saturday.
    got = fires("0 9 13 * mon", at(2027, 1, 31), "UTC", 5)
    assert got == [
        "2027-02-01T09:00+00:00",
        "2027-02-08T09:00+00:00",
        "2027-02-13T09:00+00:00",
        "2027-02-15T09:00+00:00",
        "2027-02-22T09:00+00:00",
    ]


def test_a_day_field_written_with_a_star_makes_both_match_as_vixie_cron_does() -> None:
    # `*/2` starts with `*`: the odd-numbered days that are Mondays, not odd days or Mondays.
    c = parse("0 9 */2 * mon")
    assert c.dom_star and not c.dow_star
    assert fires("0 9 */2 * mon", at(2027, 1, 31), "UTC", 3) == [
        "2027-02-01T09:00+00:00",
        "2027-02-15T09:00+00:00",
        "2027-03-01T09:00+00:00",
    ]
    # Written as a range it is restricted: odd days or Mondays.
    assert fires("0 9 1-31/2 * mon", at(2027, 1, 31, 12), "UTC", 3) == [
        "2027-02-01T09:00+00:00",
        "2027-02-03T09:00+00:00",
        "2027-02-05T09:00+00:00",
    ]


# --- refusals -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expr", "field", "words"),
    [
        ("* * * * * *", "expression", "a cron that fires every second is not allowed"),
        ("0 0 9 * * * 2027", "expression", "has 7 fields"),
        ("0 9 * *", "expression", "has 4 fields; a cron has 5"),
        ("", "expression", "is empty"),
        ("@every 5m", "expression", "'*/5 * * * *'"),
        ("@reboot", "expression", "not a schedule"),
        ("@fortnightly", "expression", "no macro '@fortnightly'"),
        ("@daily 9", "expression", "no macro '@daily 9'"),
        ("60 * * * *", "minute", "60 is out of range (0-59)"),
        ("0 24 * * *", "hour", "24 is out of range (0-23)"),
        ("0 0 0 * *", "day-of-month", "0 is out of range (1-31)"),
        ("0 0 * 13 *", "month", "13 is out of range (1-12)"),
        ("0 0 * * 8", "day-of-week", "8 is out of range (0-7)"),
        ("0 0 * smarch *", "month", "'smarch' is not a month (jan-dec)"),
        ("0 0 * * funday", "day-of-week", "'funday' is not a day of the week (sun-sat)"),
        ("0 mon * * *", "hour", "only month and day-of-week take names"),
        ("5/15 * * * *", "minute", "write 5-59/15"),
        ("*/0 * * * *", "minute", "a step of 0"),
        ("*/90 * * * *", "minute", "steps count within the minute field (0-59)"),
        ("0 22-2 * * *", "hour", "ranges do not wrap round (write 22-23,0-2)"),
        ("0 0 * * fri-mon", "day-of-week", "(write fri-sat,sun-mon)"),
        ("0 0 * nov-feb *", "month", "(write nov-dec,jan-feb)"),
        ("0 9 * * 1,", "day-of-week", "an empty item"),
        ("0 9 ? * 1", "day-of-month", "'?' is not a value, a range (1-5) or a step"),
        ("0 9 L * *", "day-of-month", "'l' is not a number"),
        ("0 ٩ * * *", "hour", "is not a value"),  # an Arabic-Indic nine: int() would take it
        ("0 0 30 2 *", "day-of-month", "30 is not a day of February, so this schedule never"),
        (
            "0 0 31 apr,jun,sep,nov *",
            "day-of-month",
            "31 is not a day of April, June, September or November",
        ),
        ("0 0 30,31 2 *", "day-of-month", "30 and 31 are not a day of February"),
    ],
)
def test_what_is_refused_and_why(expr: str, field: str, words: str) -> None:
    problems = refused(expr)
    assert [f for f, _ in problems] == [field]
    assert words in problems[0][1]


def test_every_problem_is_named_at_once() -> None:
    problems = refused("61 25 0 13 8")
    assert [f for f, _ in problems] == ["minute", "hour", "day-of-month", "month", "day-of-week"]
    assert refused("x,99 * * * *") == [
        ("minute", "'x' is not a number; only month and day-of-week take names"),
        ("minute", "99 is out of range (0-59)"),
    ]


def test_29_february_fires_and_a_weekday_rescues_30_february() -> None:
    assert parse("0 0 29 2 *").days_of_month == (29,)
    parse("0 0 30 2 mon")  # both restricted: every Monday in February


def test_every_minute_is_refused_with_every_five_minutes_suggested() -> None:
    assert refused("* * * * *") == [
        (
            "minute",
            "fires 1 minute apart (00:00 and 00:01); fires must be at least 5 minutes apart: "
            "for one every 5 minutes write '*/5 * * * *'",
        )
    ]
    parse("*/5 * * * *")
    parse("* * * * *", min_interval=MINUTE)


def test_fires_close_across_midnight_are_refused() -> None:
    assert refused("0,58 0,23 * * *") == [
        (
            "minute",
            "fires 2 minutes apart (23:58 and 00:00 the next day); fires must be at least "
            "5 minutes apart: for one every 5 minutes write '*/5 0,23 * * *'",
        )
    ]
    # Across months: the 31st and the 1st are neighbours in January and February only.
    [(_, message)] = refused("0,58 0,23 1,31 1,2 *")
    assert message.startswith("fires 2 minutes apart (23:58 and 00:00 the next day)")
    parse("0,58 0,23 1,31 2,3 *")  # February has no 31st; 31 March and 1 February are far apart


def test_a_longer_minimum_suggests_an_hour_step() -> None:
    [(_, message)] = refused("0,30 * * * *", min_interval=dt.timedelta(hours=1))
    assert message.endswith("for one every hour write '0 * * * *'")
    [(field, message)] = refused("30 * * * *", min_interval=dt.timedelta(hours=2))
    assert field == "hour"
    assert message == (
        "fires 1 hour apart (00:30 and 01:30); fires must be at least 2 hours apart: "
        "for one every 2 hours write '30 */2 * * *'"
    )
    parse("30 */2 * * *", min_interval=dt.timedelta(hours=2))
    [(field, message)] = refused("0 9 * * 1", min_interval=dt.timedelta(days=8))
    assert message.startswith("fires 7 days apart (09:00 and 09:00 7 days later)")


def test_the_minimum_is_kept_on_the_wall_clock_and_a_jump_forward_can_squeeze_it() -> None:
    # 01:55 and 03:00 are 65 minutes apart on the clock; on 2027-03-14 in New York (02:00 EST
    # → 03:00 EDT) they are 5 minutes apart. The documented limit, once a year.
    cron = parse("0,55 1,3 * * *", min_interval=dt.timedelta(minutes=55))
    first = next_fire(cron, at(2027, 3, 14, 6, 30), NY)
    assert first == at(2027, 3, 14, 6, 55)  # 01:55 EST
    assert next_fire(cron, first, NY) - first == 5 * MINUTE  # 03:00 EDT


def test_a_minimum_that_is_no_interval_is_a_programming_error() -> None:
    for bad in (dt.timedelta(0), dt.timedelta(days=400)):
        with pytest.raises(ValueError, match="min_interval") as caught:
            parse("0 9 * * *", min_interval=bad)
        assert not isinstance(caught.value, CronRefused)


# --- next fire: examples ------------------------------------------------------------------------


def test_next_fire_is_strictly_after_and_utc() -> None:
    c = parse("0 9 * * *")
    got = next_fire(c, at(2027, 5, 3, 9, 0), "UTC")
    assert got == at(2027, 5, 4, 9, 0) and got.tzinfo is UTC
    assert next_fire(c, at(2027, 5, 3, 8, 59, 59, 999999), "UTC") == at(2027, 5, 3, 9, 0)


def test_after_may_be_in_any_zone_and_the_schedule_reads_the_organisations() -> None:
    tokyo = dt.datetime(2027, 5, 3, 12, 0, tzinfo=zoneinfo.ZoneInfo("Asia/Tokyo"))  # 03:00 UTC
    # 09:00 in Kolkata (+05:30) is 03:30 UTC.
    assert next_fire(parse("0 9 * * *"), tokyo, "Asia/Kolkata") == at(2027, 5, 3, 3, 30)


def test_a_skipped_wall_time_fires_once_at_the_end_of_the_gap() -> None:
    # New York, 2027-03-14: 02:00 EST → 03:00 EDT. 02:30 fires at 03:00 EDT (07:00 UTC).
    assert fires("30 2 * * *", at(2027, 3, 13, 12), NY, 2) == [
        "2027-03-14T03:00-04:00",
        "2027-03-15T02:30-04:00",
    ]
    # Every skipped time and the gap's end fire together, once.
    assert fires("*/20 * * * *", at(2027, 3, 14, 6, 30), NY, 3) == [
        "2027-03-14T01:40-05:00",
        "2027-03-14T03:00-04:00",
        "2027-03-14T03:20-04:00",
    ]


def test_a_repeated_wall_time_fires_once_at_its_first_pass() -> None:
    # New York, 2027-11-07: 02:00 EDT → 01:00 EST; the hour from 01:00 is passed twice.
    assert fires("0 * * * *", at(2027, 11, 7, 4, 30), NY, 3) == [
        "2027-11-07T01:00-04:00",
        "2027-11-07T02:00-05:00",
        "2027-11-07T03:00-05:00",
    ]
    # From inside the second pass, what comes next is after the repeated hour.
    second_pass = at(2027, 11, 7, 6, 10)  # 01:10 EST
    assert next_fire(parse("*/5 * * * *"), second_pass, NY) == at(2027, 11, 7, 7, 0)


def test_lord_howe_moves_by_half_an_hour() -> None:
    # 2027-10-03 02:00 → 02:30 (+10:30 → +11); 2027-04-04 02:00 → 01:30 (+11 → +10:30).
    assert fires("15 2 * * *", at(2027, 10, 2, 12), LORD_HOWE, 1) == ["2027-10-03T02:30+11:00"]
    assert fires("45 1 * * *", at(2027, 4, 3, 12), LORD_HOWE, 2) == [
        "2027-04-04T01:45+11:00",
        "2027-04-05T01:45+10:30",
    ]


def test_midnight_skipped_fires_at_one() -> None:
    # Santiago goes forward at 24:00 on 2027-09-04: 5 September begins at 01:00.
    assert fires("0 0 * * *", at(2027, 9, 4, 12), "America/Santiago", 2) == [
        "2027-09-05T01:00-03:00",
        "2027-09-06T00:00-03:00",
    ]


def test_29_february_is_found_in_a_few_steps_across_a_century_without_one() -> None:
    c = parse("0 0 29 2 *")
    after = at(2097, 3, 1)
    assert next_fire(c, after, "UTC") == at(2104, 2, 29)  # 2100 is not a leap year
    runs = []
    for _ in range(200):
        start = time.perf_counter()
        next_fire(c, after, LORD_HOWE)
        runs.append(time.perf_counter() - start)
    # Minute by minute it would be 3.7 million steps; field by field it is under a millisecond.
    assert statistics.median(runs) < 0.002


def test_bad_arguments() -> None:
    c = parse("0 9 * * *")
    with pytest.raises(ValueError, match="aware"):
        next_fire(c, dt.datetime(2027, 5, 3), "UTC")
    with pytest.raises(BadZone):
        next_fire(c, at(2027, 5, 3), "Mars/Olympus")
    with pytest.raises(ValueError, match="9999"):
        next_fire(c, dt.datetime(9999, 12, 31, 12, tzinfo=UTC), "UTC")


# --- describe -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expr", "words"),
    [
        ("0 9 * * *", "every day at 09:00"),
        ("0 * * * *", "at minute 0 past every hour"),
        ("* * * * *", "every minute"),
        ("*/15 * * * *", "every 15 minutes"),
        ("*/15 * * * mon-fri", "every 15 minutes on Monday to Friday"),
        ("0 */2 * * *", "every 2 hours at minute 0"),
        ("30 8,17 * * 1,5", "every Monday and Friday at 08:30 and 17:30"),
        ("0 10 * * 0,6", "every Saturday and Sunday at 10:00"),
        ("0 0 1,15 * *", "on days 1 and 15 of every month at 00:00"),
        ("0 0 1 1,7 *", "on day 1 of January and July at 00:00"),
        ("0 9 * jun-aug *", "every day in June to August at 09:00"),
        ("@weekly", "every Sunday at 00:00"),
        ("@monthly", "on day 1 of every month at 00:00"),
        ("@yearly", "on 1 January at 00:00"),
        ("0 9 1 * mon", "0 9 1 * mon"),  # either day: words would say it no better
        ("0 9-17 * * *", "0 9-17 * * *"),
        ("5 4 */2 * mon", "5 4 */2 * mon"),
    ],
)
def test_describe(expr: str, words: str) -> None:
    assert describe(parse(expr, min_interval=MINUTE)) == words


# --- next fire against a literal reading ----------------------------------------------------------

BOUNDS = ((0, 59), (0, 23), (1, 31), (1, 12), (0, 7))
NAMES = {
    3: ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"],
    4: ["sun", "mon", "tue", "wed", "thu", "fri", "sat"],
}
# Zones whose clocks change by an hour at 01:00 UTC (London), at 02:00 local (New York), by 30
# minutes (Lord Howe), at midnight (Santiago, Havana), by two hours (Troll), at 02:45 (Chatham),
# and never (Kolkata's +05:30, UTC).
ZONES = [
    "UTC",
    "Europe/London",
    NY,
    LORD_HOWE,
    "Asia/Kolkata",
    "America/Santiago",
    "America/Havana",
    "Antarctica/Troll",
    "Pacific/Chatham",
]


@dataclass(frozen=True)
class Spec:
    """An expression and what the rules say its fields mean, worked out here."""

    expr: str
    minutes: frozenset[int]
    hours: frozenset[int]
    doms: frozenset[int]
    months: frozenset[int]
    dows: frozenset[int]
    dom_star: bool
    dow_star: bool

    def day_fires(self, day: dt.date) -> bool:
        if day.month not in self.months:
            return False
        dom = day.day in self.doms
        dow = day.isoweekday() % 7 in self.dows
        return dom and dow if self.dom_star or self.dow_star else dom or dow


def _render(i: int, v: int, named: bool) -> str:
    if named and i in NAMES and (i, v) != (4, 7):
        return NAMES[i][v - 1 if i == 3 else v]
    return str(v)


@st.composite
def _item(draw: st.DrawFn, i: int) -> tuple[str, set[int]]:
    lo, hi = BOUNDS[i]
    kind = draw(st.sampled_from(["*", "*/k", "a", "a-b", "a-b/k"]))
    span = 7 if i == 4 else hi - lo + 1
    k = draw(st.integers(1, span))
    a = draw(st.integers(lo, hi))
    b = draw(st.integers(a, hi))
    named = draw(st.booleans())
    if kind == "*":
        return "*", set(range(lo, hi + 1))
    if kind == "*/k":
        return f"*/{k}", set(range(lo, hi + 1, k))
    if kind == "a":
        return _render(i, a, named), {a}
    text = f"{_render(i, a, named)}-{_render(i, b, named)}"
    if kind == "a-b":
        return text, set(range(a, b + 1))
    return f"{text}/{k}", set(range(a, b + 1, k))


@st.composite
def specs(draw: st.DrawFn, every_day: bool = False) -> Spec:
    """A random expression; with `every_day`, one that fires every day and every hour."""
    texts, sets = [], []
    for i in range(5):
        # Often `*`, so that a good share fire in the hours around a change of the clocks.
        if (every_day and i > 0) or draw(st.booleans()):
            text, values = "*", set(range(BOUNDS[i][0], BOUNDS[i][1] + 1))
        else:
            items = draw(st.lists(_item(i), min_size=1, max_size=3))
            text = ",".join(t for t, _ in items)
            values = set().union(*(v for _, v in items))
        texts.append(text)
        sets.append(frozenset(values))
    return Spec(
        " ".join(texts),
        sets[0],
        sets[1],
        sets[2],
        sets[3],
        frozenset(d % 7 for d in sets[4]),
        texts[2].startswith("*"),
        texts[4].startswith("*"),
    )


def literal_next(spec: Spec, after: dt.datetime, tz: str) -> dt.datetime:
    """Day by day from `after`'s (less 3 hours); through a day that fires, minute by minute on
    the wall clock; the first fire whose instant (the only reading of that wall time, the first
    of two, or after a gap the first minute past it) is after `after`."""
    zone = zoneinfo.ZoneInfo(tz)
    local = after.astimezone(zone).replace(tzinfo=None)
    # No zone here moves its clocks by more than 2 hours: a wall time 3 hours before `after`'s
    # is before it whatever the readings (this cut only saves time).
    early = local - dt.timedelta(hours=3)
    day = early.date()
    for _ in range(500 * 366):
        if spec.day_fires(day):
            first = early.hour * 60 + early.minute if day == early.date() else 0
            for minute in range(first, 24 * 60):
                if minute // 60 in spec.hours and minute % 60 in spec.minutes:
                    instant = oracle.resolve(day, minute, zone)
                    if instant > after:
                        return instant
        day += DAY
    raise AssertionError("no fire in 500 years")


def _changes(name: str) -> list[dt.datetime]:
    """The instants (to the minute) at which `name`'s offset changes, 2025-2030."""
    zone = zoneinfo.ZoneInfo(name)
    out = []
    t = at(2025, 1, 1)
    while t < at(2031, 1, 1):
        if (t + DAY).astimezone(zone).utcoffset() != t.astimezone(zone).utcoffset():
            lo, hi = t, t + DAY
            while hi - lo > MINUTE:
                mid = lo + (hi - lo) / 2
                mid = mid.replace(second=0, microsecond=0)
                if mid.astimezone(zone).utcoffset() == lo.astimezone(zone).utcoffset():
                    lo = mid
                else:
                    hi = mid
            out.append(hi)
        t += DAY
    return out


CHANGES = {name: _changes(name) for name in ZONES}
AFTER_ZONES = [UTC, dt.timezone(dt.timedelta(hours=-9, minutes=-30))] + [
    zoneinfo.ZoneInfo(z) for z in ZONES
]


@st.composite
def afters(draw: st.DrawFn, tz: str) -> dt.datetime:
    """An instant, mostly up to 3 hours (or a day and a half) before one of `tz`'s changes or
    an hour after, in any zone, sometimes between whole minutes."""
    changes = CHANGES[tz]
    if changes and draw(st.integers(0, 3)) > 0:
        base = draw(st.sampled_from(changes))
        hours = draw(st.sampled_from([3, 3, 36]))
        instant = base + dt.timedelta(minutes=draw(st.integers(-hours * 60, 60)))
    else:
        instant = draw(st.datetimes(dt.datetime(2025, 1, 1), dt.datetime(2030, 12, 31)))
        instant = instant.replace(tzinfo=UTC)
    if draw(st.booleans()):
        instant += dt.timedelta(seconds=draw(st.sampled_from([1, 30, 59.999999])))
    return instant.astimezone(draw(st.sampled_from(AFTER_ZONES)))


@settings(max_examples=500, deadline=None)
@given(spec=specs(), data=st.data())
def test_next_fire_is_the_literal_reading_of_the_rules(spec: Spec, data: st.DataObject) -> None:
    try:
        cron = parse(spec.expr, min_interval=MINUTE)
    except CronRefused as exc:
        # Only a day of the month that no month of the schedule has.
        assert [f for f, _ in exc.problems] == ["day-of-month"]
        assert spec.dom_star or spec.dow_star
        assert not any(d <= calendar.monthrange(2000, m)[1] for m in spec.months for d in spec.doms)
        return
    assert (frozenset(cron.minutes), frozenset(cron.hours), frozenset(cron.days_of_month)) == (
        spec.minutes,
        spec.hours,
        spec.doms,
    )
    assert (frozenset(cron.months), frozenset(cron.days_of_week)) == (spec.months, spec.dows)
    assert (cron.dom_star, cron.dow_star) == (spec.dom_star, spec.dow_star)
    tz = data.draw(st.sampled_from(ZONES))
    after = data.draw(afters(tz))
    for _ in range(4):  # and on from there: across the change
        got = next_fire(cron, after, tz)
        assert got.tzinfo is UTC and got > after
        assert got == literal_next(spec, after, tz), (spec.expr, tz, after)
        after = got
    assert describe(cron)


@settings(max_examples=200, deadline=None)
@given(spec=specs(every_day=True), data=st.data())
def test_through_the_changes_of_the_clocks_every_fire_is_the_literal_one(
    spec: Spec, data: st.DataObject
) -> None:
    # Every hour of every day, 12 fires from up to 2.5 hours before a change: through the gap
    # (or the repeated hour) and out the other side when the fires are not too close.
    tz = data.draw(st.sampled_from([z for z in ZONES if CHANGES[z]]))
    change = data.draw(st.sampled_from(CHANGES[tz]))
    after = change - dt.timedelta(minutes=data.draw(st.integers(0, 150)))
    cron = parse(spec.expr, min_interval=MINUTE)
    for _ in range(12):
        got = next_fire(cron, after, tz)
        assert got == literal_next(spec, after, tz), (spec.expr, tz, after)
        after = got


def _literal_closest(spec: Spec) -> int:
    """The fewest minutes between two fires on the wall clock, over 28 years (1901-2099 repeat
    every 28 years), from the days that fire and the times of day."""
    times = sorted(h * 60 + m for h in spec.hours for m in spec.minutes)
    days = []
    day = dt.date(2001, 1, 1)
    while day < dt.date(2029, 2, 1):
        if spec.day_fires(day):
            days.append(day.toordinal())
        day += DAY
    gaps = [b - a for a, b in itertools.pairwise(times)]
    gaps += [(b - a) * 1440 + times[0] - times[-1] for a, b in itertools.pairwise(days)]
    return min(gaps)


@settings(max_examples=150, deadline=None)
@given(spec=specs())
def test_a_schedule_is_refused_exactly_when_two_fires_come_closer_than_the_minimum(
    spec: Spec,
) -> None:
    try:
        parse(spec.expr, min_interval=MINUTE)
    except CronRefused:
        return  # never fires
    closest = _literal_closest(spec)
    if closest + 1 > 365 * 1440:
        return
    parse(spec.expr, min_interval=closest * MINUTE)
    with pytest.raises(CronRefused) as caught:
        parse(spec.expr, min_interval=(closest + 1) * MINUTE)
    [(_, message)] = caught.value.problems
    assert message.startswith("fires ")


def test_a_cron_can_be_compared_and_hashed() -> None:
    assert parse("0 9 * * *") == parse("0  9 * * *")
    assert isinstance(hash(parse("@daily")), int)
    assert isinstance(parse("@daily"), Cron)

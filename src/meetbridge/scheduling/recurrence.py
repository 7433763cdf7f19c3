"""Recurring series of requests: the rule, its checks, and its occurrences in real (UTC) time.

The rules (the requests module and its pages rely on every one):

- **Days.** A series starts on `start_date` (a date in the series' zone) and repeats every
  `interval` (1-99) days, weeks or months:
  - *daily*: start_date, start_date + interval days, ...
  - *weekly*: on the chosen `weekdays` (0 Monday ... 6 Sunday) of the week of start_date and of
    every `interval`-th week after it; weeks run Monday to Sunday (iCalendar's default WKST).
    Days of the first week before start_date are not in the series; start_date itself is in it
    only if it is one of the weekdays.
  - *monthly*, `monthly_by="day"`: the day of the month of start_date in every `interval`-th
    month. A month without that day (the 31st in a 30-day month, the 29th-31st in February) is
    **skipped**, not moved to its last day: that is what iCalendar (BYMONTHDAY) and the
    calendars reading our feed do, so both show the same days.
  - *monthly*, `monthly_by="weekday"`: the same nth weekday as start_date (the 2nd Tuesday when
    start_date is a 2nd Tuesday); a month without a 5th such weekday is skipped likewise.
- **End.** Exactly one of `until` (a date in the series' zone, inclusive: an occurrence on that
  day is in the series) or `count` (the first `count` days of the rule).
- **Exceptions** are days left out. As in iCalendar (COUNT with EXDATE), `count` counts the days
  of the rule before exceptions are taken out: "10 times, except 3 June" is 9 meetings, the same
  series a calendar client shows. Each exception must be a day of the series.
- **Time.** Every occurrence starts at the wall-clock `start_time` in the series' zone on its
  day and lasts `duration` minutes of real time (a meeting over a DST change keeps its length;
  its end's wall time moves). A wall time the clocks pass twice on that day (they go back over
  it) is its first pass, as iCalendar reads DTSTART and as availability.py reads hours. A wall
  time the clocks skip (they go forward over it) is **refused**, as meetings/inputs.py refuses a
  meeting at one: any instant we picked would put the meeting at a time nobody chose. The check
  names the days, so the person can pick another time or leave those days out as exceptions.
- **Limits.** At most MAX_OCCURRENCES (500) occurrences, by `count` or by `until`; start_date,
  `until` and every occurrence at most two years ahead (in the series' zone, from today
  there). A start in the past is not refused here: an ongoing series is checked again when a
  day is left out; making meetings in the past is the requests module's to refuse.

`problems(rule, now)` returns every broken field at once, as (field, message) pairs named as in
`Rule.to_json`; `expand(rule)` gives the occurrences, or raises BadSeries with the problems that
do not depend on the date (a rule that passes `problems` always expands).
"""

from __future__ import annotations

import calendar
import datetime as dt
import zoneinfo
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from .timezones import BadWallTime, BadZone, wall_to_utc, zone

MAX_OCCURRENCES = 500
MAX_INTERVAL = 99
MAX_EXCEPTIONS = 2 * MAX_OCCURRENCES
MAX_DURATION = 24 * 60  # minutes, as for a meeting (meetings/inputs.py)
HORIZON_YEARS = 2
# expand() looks no further than this after start_date (a count may take decades to reach: 5
# times every 29 February is 16 years; monthly every 99 months, 41 years for 5); a series not
# over by then is refused rather than cut short.
SCAN_YEARS = 10
FREQUENCIES = ("daily", "weekly", "monthly")
MONTHLY_BY = ("day", "weekday")

Problem = tuple[str, str]


@dataclass(frozen=True)
class Rule:
    """A series as a person gave it. Values are not checked on construction: `problems` says
    what is wrong with each (a form or a stored JSON may hold anything)."""

    frequency: str
    start_date: dt.date
    start_time: dt.time  # wall clock in `timezone`, naive
    duration: int  # minutes
    timezone: str
    interval: int = 1
    weekdays: tuple[int, ...] = ()  # weekly: 0 Monday ... 6 Sunday
    monthly_by: str = "day"  # monthly: "day" (same day of month) or "weekday" (same nth weekday)
    until: dt.date | None = None  # inclusive, in `timezone`
    count: int | None = None
    exceptions: tuple[dt.date, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """The rule as JSON (request_series.rule); `from_json` reads it back."""
        return {
            "frequency": self.frequency,
            "start_date": _iso(self.start_date),
            "start_time": _iso(self.start_time),
            "duration": self.duration,
            "timezone": self.timezone,
            "interval": self.interval,
            "weekdays": list(self.weekdays),
            "monthly_by": self.monthly_by,
            "until": None if self.until is None else _iso(self.until),
            "count": self.count,
            "exceptions": [_iso(d) for d in self.exceptions],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Rule:
        """A rule from JSON or a form's values: ISO dates and times are read; anything that is
        not one is kept as given, for `problems` to name."""
        exceptions = data.get("exceptions", ())
        if isinstance(exceptions, list | tuple):
            exceptions = tuple(_date(d) for d in exceptions)
        weekdays = data.get("weekdays", ())
        if isinstance(weekdays, list | tuple):
            weekdays = tuple(weekdays)
        until = data.get("until")
        return cls(
            frequency=data.get("frequency"),  # type: ignore[arg-type]
            start_date=_date(data.get("start_date")),
            start_time=_time(data.get("start_time")),
            duration=data.get("duration"),  # type: ignore[arg-type]
            timezone=data.get("timezone"),  # type: ignore[arg-type]
            interval=data.get("interval", 1),
            weekdays=weekdays,
            monthly_by=data.get("monthly_by", "day"),
            until=None if until is None else _date(until),
            count=data.get("count"),
            exceptions=exceptions,
        )


@dataclass(frozen=True)
class Occurrence:
    day: dt.date  # in the series' zone: the series' own name for it (exceptions use it)
    start: dt.datetime  # aware, UTC
    end: dt.datetime  # start + duration, UTC


class BadSeries(ValueError):
    """A rule that cannot be expanded; `problems` as from `problems()`."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(f"{f}: {m}" for f, m in problems))
        self.problems = problems


def _iso(value: object) -> object:
    return value.isoformat() if isinstance(value, dt.date | dt.time) else value


def _date(value: object) -> Any:
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            return value
    return value


def _time(value: object) -> Any:
    if isinstance(value, str):
        try:
            return dt.time.fromisoformat(value)
        except ValueError:
            return value
    return value


def _is_int(value: object) -> bool:
    # bool is an int; True as an interval is a bug upstream, not 1.
    return isinstance(value, int) and not isinstance(value, bool)


def _is_date(value: object) -> bool:
    # A datetime is a date too, but its time and zone would be silently dropped.
    return isinstance(value, dt.date) and not isinstance(value, dt.datetime)


def _years_after(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February in a year without one
        return day.replace(year=day.year + years, day=28)


def _plain(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


# --- the checks that do not depend on the date ----------------------------------------------


def _field_problems(rule: Rule) -> list[Problem]:
    out: list[Problem] = []
    if rule.frequency not in FREQUENCIES:
        out.append(("frequency", f"must be daily, weekly or monthly, not {_plain(rule.frequency)}"))
    if not _is_int(rule.interval) or not 1 <= rule.interval <= MAX_INTERVAL:
        out.append(
            (
                "interval",
                f"must be a whole number from 1 to {MAX_INTERVAL}, not {_plain(rule.interval)}",
            )
        )
    out.extend(_weekday_problems(rule))
    if rule.monthly_by not in MONTHLY_BY:
        out.append(
            (
                "monthly_by",
                "must be 'day' (the same day of the month) or 'weekday' (the same nth weekday)",
            )
        )
    if not _is_date(rule.start_date):
        out.append(("start_date", "must be a date"))
    if not isinstance(rule.start_time, dt.time) or rule.start_time.tzinfo is not None:
        out.append(
            ("start_time", "must be a time of day, without a zone (the series' zone is used)")
        )
    if not _is_int(rule.duration) or not 1 <= rule.duration <= MAX_DURATION:
        out.append(("duration", f"must be a whole number of minutes from 1 to {MAX_DURATION}"))
    try:
        zone(rule.timezone)
    except BadZone:
        out.append(("timezone", f"unknown time zone {_plain(rule.timezone)}"))
    out.extend(_end_problems(rule))
    out.extend(_exception_problems(rule))
    return out


def _weekday_problems(rule: Rule) -> list[Problem]:
    days = rule.weekdays
    if not isinstance(days, tuple | list | frozenset | set):
        return [("weekdays", "must be a list of weekdays, 0 (Monday) to 6 (Sunday)")]
    if rule.frequency == "weekly" and not days:
        return [("weekdays", "a weekly series repeats on at least one weekday")]
    if rule.frequency in ("daily", "monthly") and days:
        return [("weekdays", "only a weekly series has weekdays")]
    bad = [d for d in days if not _is_int(d) or not 0 <= d <= 6]
    if bad:
        return [("weekdays", f"are 0 (Monday) to 6 (Sunday), not {_plain(bad[0])}")]
    return []


def _end_problems(rule: Rule) -> list[Problem]:
    until, count = rule.until, rule.count
    if until is None and count is None:
        return [("until", "the series needs an end: an until date or a number of occurrences")]
    if until is not None and count is not None:
        return [("count", "give an until date or a number of occurrences, not both")]
    if count is not None and (not _is_int(count) or not 1 <= count <= MAX_OCCURRENCES):
        return [
            ("count", f"must be a whole number from 1 to {MAX_OCCURRENCES}, not {_plain(count)}")
        ]
    if until is not None:
        if not _is_date(until):
            return [("until", "must be a date")]
        if _is_date(rule.start_date) and until < rule.start_date:
            return [("until", f"is before the start date, {rule.start_date}")]
    return []


def _exception_problems(rule: Rule) -> list[Problem]:
    days = rule.exceptions
    if not isinstance(days, tuple | list | frozenset | set):
        return [("exceptions", "must be a list of dates")]
    if len(days) > MAX_EXCEPTIONS:
        return [("exceptions", f"at most {MAX_EXCEPTIONS} dates")]
    bad = [d for d in days if not _is_date(d)]
    if bad:
        return [("exceptions", f"{_plain(bad[0])} is not a date")]
    return []


# --- the days and their instants ------------------------------------------------------------


def _months(year: int, month: int, step: int) -> Iterator[tuple[int, int]]:
    index = year * 12 + month - 1
    while index < (dt.MAXYEAR + 1) * 12:
        year, rest = divmod(index, 12)
        yield year, rest + 1
        index += step


def _rule_days(rule: Rule, last: dt.date) -> Iterator[dt.date]:
    """The days of the rule from start_date on, in order, none after `last` (before exceptions
    and before the end)."""
    start, step = rule.start_date, rule.interval
    if rule.frequency == "daily":
        day, delta = start, dt.timedelta(days=step)
        while day <= last:
            yield day
            if last - day < delta:
                return
            day += delta
    elif rule.frequency == "weekly":
        monday = start - dt.timedelta(days=start.weekday())
        offsets = [dt.timedelta(days=d) for d in sorted(set(rule.weekdays))]
        delta = dt.timedelta(weeks=step)
        while monday <= last:
            for offset in offsets:
                day = monday + offset
                if start <= day <= last:
                    yield day
            if last - monday < delta:
                return
            monday += delta
    else:
        nth = (start.day - 1) // 7  # 0-based: the 2nd Tuesday is nth 1
        for year, month in _months(start.year, start.month, step):
            if dt.date(year, month, 1) > last:
                return
            length = calendar.monthrange(year, month)[1]
            if rule.monthly_by == "day":
                number = start.day
            else:
                first = dt.date(year, month, 1).weekday()
                number = 1 + (start.weekday() - first) % 7 + 7 * nth
            if number <= length:
                day = dt.date(year, month, number)
                if day <= last:
                    yield day


def _instant(wall: dt.datetime, tz: zoneinfo.ZoneInfo) -> dt.datetime | None:
    """The UTC start of `wall` there: its first pass when the clocks pass it twice, None when
    they skip it."""
    try:
        return wall_to_utc(wall, tz)
    except BadWallTime as exc:
        if exc.kind == "repeated":
            # fold=0 is the earlier of the two readings (PEP 495).
            return wall.replace(tzinfo=tz, fold=0).astimezone(dt.UTC)
        if exc.kind == "missing":
            return None
        raise


@dataclass
class _Expansion:
    occurrences: list[Occurrence]
    rule_days: int  # the rule's days counted toward `count` (exceptions included)
    skipped: list[dt.date]  # days whose wall time the clocks skip
    over: dt.date | None  # the first day past MAX_OCCURRENCES, if the series has more
    short: bool  # stopped at `last` before the series' own end
    unmatched: list[dt.date]  # exceptions that are no day of the series


def _expand(rule: Rule, last: dt.date) -> _Expansion:
    """The series up to `last` at most; the rule's fields are valid."""
    tz = zone(rule.timezone)
    end = last if rule.until is None else min(last, rule.until)
    left_out = set(rule.exceptions)
    length = dt.timedelta(minutes=rule.duration)
    occurrences: list[Occurrence] = []
    skipped: list[dt.date] = []
    seen = 0
    over = None
    hit: set[dt.date] = set()
    for day in _rule_days(rule, end):
        if rule.count is not None and seen == rule.count:
            break
        seen += 1
        if day in left_out:
            hit.add(day)
            continue
        if len(occurrences) == MAX_OCCURRENCES:
            over = day
            break
        try:
            start = _instant(dt.datetime.combine(day, rule.start_time), tz)
        except BadWallTime:  # out_of_range: year 9999 in a zone behind UTC
            raise BadSeries([("start_date", "is too far from now")]) from None
        if start is None:
            skipped.append(day)
            continue
        occurrences.append(Occurrence(day, start, start + length))
    if over is not None:
        short = False
    elif rule.count is not None:
        short = seen < rule.count
    else:
        short = rule.until is not None and rule.until > last
    unmatched = sorted(left_out - hit) if over is None and not short else []
    return _Expansion(occurrences, seen, skipped, over, short, unmatched)


def _scan_end(rule: Rule) -> dt.date:
    year = min(rule.start_date.year + SCAN_YEARS, dt.MAXYEAR)
    return dt.date(year, 12, 31)


def _series_problems(rule: Rule, found: _Expansion, limit: dt.date | None) -> list[Problem]:
    """What is wrong with a series whose fields are valid, seen up to `limit` (two years ahead;
    None: as far as expand() looks)."""
    out: list[Problem] = []
    if found.over is not None:
        out.append(
            (
                "until",
                f"the series would have more than {MAX_OCCURRENCES} occurrences (the "
                f"{MAX_OCCURRENCES + 1}st on {found.over}): end it sooner or repeat less often",
            )
        )
    elif found.short and rule.count is not None:
        if limit is not None:
            why = f"would run more than {HORIZON_YEARS} years ahead: only"
            where = f"on or before {limit}"
        else:
            why = f"would run for more than {SCAN_YEARS} years: only"
            where = f"by {_scan_end(rule)}"
        out.append(
            ("count", f"the series {why} {found.rule_days} of its {rule.count} days fall {where}")
        )
    elif found.short:
        out.append(("until", f"is more than {SCAN_YEARS} years after the start date"))
    if found.skipped:
        days = ", ".join(str(d) for d in found.skipped[:5])
        more = f" and {len(found.skipped) - 5} more days" if len(found.skipped) > 5 else ""
        out.append(
            (
                "start_time",
                f"{rule.start_time:%H:%M} does not exist on {days}{more} in {rule.timezone} "
                "(the clocks go forward over it): choose another time or leave those days out",
            )
        )
    if found.unmatched:
        out.append(("exceptions", f"{found.unmatched[0]} is not a day of this series"))
    if found.rule_days == 0 and not found.short:
        # Only an until can end a series before its first day (a count runs on to it).
        out.append(("until", "the rule gives no day before the end of the series"))
    elif not (found.occurrences or found.skipped or found.unmatched or found.short):
        out.append(("exceptions", "leave out every occurrence of the series"))
    return out


def problems(rule: Rule, now: dt.datetime) -> list[Problem]:
    """Everything wrong with `rule` at `now` (aware), every field at once; [] when it is a
    series that can be made."""
    if now.tzinfo is None:
        raise ValueError("needs an aware datetime")
    out = _field_problems(rule)
    if out:
        return out
    today = now.astimezone(zone(rule.timezone)).date()
    limit = _years_after(today, HORIZON_YEARS)
    if rule.start_date > limit:
        out.append(("start_date", f"is more than {HORIZON_YEARS} years ahead (at most {limit})"))
    if rule.until is not None and rule.until > limit:
        out.append(("until", f"is more than {HORIZON_YEARS} years ahead (at most {limit})"))
    if out:
        return out
    try:
        found = _expand(rule, limit)
    except BadSeries as exc:
        return exc.problems
    return _series_problems(rule, found, limit)


def expand(rule: Rule) -> list[Occurrence]:
    """The occurrences of `rule`, in order; BadSeries when its fields are wrong, when it would
    have more than MAX_OCCURRENCES, when a day's wall time does not exist, or when it is not
    over SCAN_YEARS after it starts. Whether it lies too far ahead is `problems`' to say."""
    found = _field_problems(rule)
    if found:
        raise BadSeries(found)
    expansion = _expand(rule, _scan_end(rule))
    wrong = _series_problems(rule, expansion, None)
    if wrong:
        raise BadSeries(wrong)
    return expansion.occurrences

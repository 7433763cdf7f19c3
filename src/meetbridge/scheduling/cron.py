"""Cron schedules (a workflow's schedule trigger): five fields, checked in full, and the next
time one fires in the organisation's time zone. Pure: no I/O, no clock.

The rules (the workflows module and its pages rely on every one):

- **Fields.** Five, separated by spaces: minute (0-59), hour (0-23), day-of-month (1-31), month
  (1-12 or jan-dec) and day-of-week (0-7 or sun-sat; 0 and 7 are both Sunday). Each is a comma
  list of `*`, a value, a range `a-b`, or a step over either, `*/15` or `1-5/2` (from the start
  of the range, every n-th value). Names are in any case and work in ranges (`mon-fri`).
  Refused: a step on a single value (`5/15`: write `5-59/15`), a range that runs backwards
  (ranges do not wrap round midnight or the week), a step of 0, and a step wider than the
  field (`*/90` in minutes cannot mean every 90 minutes: steps count within the hour).
- **Macros.** `@hourly`, `@daily` (and `@midnight`), `@weekly` (Sunday), `@monthly` (the 1st),
  `@yearly` and `@annually` (1 January), each at 00 minutes; nothing else (`@every 5m` and
  `@reboot` are other programs' inventions).
- **Days.** Vixie cron's rule, which every Linux cron keeps: when both day-of-month and
  day-of-week are restricted, a day matches when *either* does (`0 9 1 * mon` is the 1st and
  every Monday); otherwise both must. As there, a field counts as unrestricted when it is
  written starting with `*`: `*/2` as the day of the month with `mon` is the odd-numbered days
  that are Mondays. A crontab line pasted here fires on the days it fires on a server.
- **Time zones.** The fields are wall-clock time in the zone. On the day the clocks go forward,
  a wall time they skip fires once, at the first instant after the gap (`30 2 * * *` in New York
  on 14 March 2027 fires at 03:00 EDT); every skipped time and the gap's end fire as one. On the
  day they go back, a wall time they pass twice fires once, at its first pass: `*/5` fires
  01:00 ... 01:55 EDT, pauses during the repeated hour, and goes on at 02:00 EST. The same
  reading of wall times as availability.py (hours) and recurrence.py (series) make.
- **Refused** (CronRefused, naming every problem at once): anything but 5 fields (6 or 7 carry
  seconds, and a cron that fires every second is not allowed: the finest schedule is once a
  minute), unknown macros, values out of range, a schedule that never fires (30 February), and
  one whose fires can come closer together than `min_interval` (5 minutes unless told):
  `* * * * *` is refused with `*/5 * * * *` suggested. The closeness is measured on the wall
  clock: on the day the clocks go forward, the fires either side of the jump can be closer in
  real time by up to the jump (01:55 and 03:00, 65 minutes apart on the clock, are 5 minutes
  apart on the night New York goes forward); a cron cannot know its zone's jumps, and refusing every
  schedule an hour's jump could squeeze would refuse `0 * * * *`.

`next_fire` finds the next fire by matching fields (month, then day, hour, minute), never minute
by minute: `0 0 29 2 *` asked in 2097 finds 29 February 2104 in a few dozen steps.
"""

from __future__ import annotations

import bisect
import calendar
import datetime as dt
import functools
import itertools
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import NoReturn

from .timezones import zone

MINUTE = dt.timedelta(minutes=1)
DEFAULT_MIN_INTERVAL = dt.timedelta(minutes=5)
MAX_MIN_INTERVAL = dt.timedelta(days=365)  # _closest_days() looks no further than a year
MAX_LENGTH = 500  # every minute listed one by one is 170 characters

FIELDS = ("minute", "hour", "day-of-month", "month", "day-of-week")
_BOUNDS = ((0, 59), (0, 23), (1, 31), (1, 12), (0, 7))
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_WEEKDAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
_NAMES: dict[int, dict[str, int]] = {
    3: {name: i + 1 for i, name in enumerate(_MONTHS)},
    4: {name: i for i, name in enumerate(_WEEKDAYS)},
}
MONTH_NAMES = tuple(calendar.month_name)[1:]  # English whatever the locale: month_name is C
WEEKDAY_NAMES = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")
MACROS = {
    "@hourly": "0 * * * *",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@weekly": "0 0 * * 0",
    "@monthly": "0 0 1 * *",
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
}
# `*`, a value or a range, then an optional step. Digits are ASCII only: int() would read
# other scripts' digits ("٣") as numbers.
_ITEM = re.compile(r"(?:(\*)|([0-9a-z]+)(?:-([0-9a-z]+))?)(?:/([0-9]+))?", re.ASCII)

Problem = tuple[str, str]


class CronRefused(ValueError):
    """An expression that is not a schedule we run: `problems` as (field, message) pairs, the
    field one of FIELDS or "expression"; the message says them all, in words."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(f"{f}: {m}" for f, m in problems))
        self.problems = problems


@dataclass(frozen=True)
class Cron:
    """A parsed schedule; make one with `parse`. `expr` is the expression with its spaces
    tidied (what to store); the sets are sorted; `dom_star` and `dow_star` say whether
    day-of-month and day-of-week were written starting with `*` (the Days rule)."""

    expr: str
    minutes: tuple[int, ...]
    hours: tuple[int, ...]
    days_of_month: tuple[int, ...]
    months: tuple[int, ...]
    days_of_week: tuple[int, ...]  # 0 Sunday ... 6 Saturday
    dom_star: bool
    dow_star: bool
    # The days of a month that match, as bits 1-31, by the weekday of its 1st (0 Sunday).
    _day_bits: tuple[int, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        dom = sum(1 << d for d in self.days_of_month)
        masks = []
        for first in range(7):
            dow = sum(1 << d for d in range(1, 32) if (first + d - 1) % 7 in self.days_of_week)
            masks.append(dom & dow if self.dom_star or self.dow_star else dom | dow)
        object.__setattr__(self, "_day_bits", tuple(masks))


# --- parse ------------------------------------------------------------------------------------


def parse(expr: str, *, min_interval: dt.timedelta = DEFAULT_MIN_INTERVAL) -> Cron:
    """The schedule `expr` (5 fields or a macro), or CronRefused naming every problem.
    `min_interval` (at most a year) is the closest two fires may come, on the wall clock."""
    if not dt.timedelta(0) < min_interval <= MAX_MIN_INTERVAL:
        raise ValueError(f"min_interval must be more than 0 and at most a year: {min_interval}")
    if not isinstance(expr, str):
        raise CronRefused([("expression", "must be text")])
    words = expr.split()
    tidy = " ".join(words)
    if not words:
        _refuse("is empty: give 5 fields, minute hour day-of-month month day-of-week")
    if len(tidy) > MAX_LENGTH:
        _refuse(f"is {len(tidy)} characters long; at most {MAX_LENGTH}")
    if words[0].startswith("@"):
        macro = words[0].lower()
        if len(words) == 1 and macro in MACROS:
            fields = MACROS[macro].split()
            tidy = macro
        elif macro == "@every":
            _refuse(
                f"{tidy!r} is not a cron: give 5 fields, e.g. '*/5 * * * *' for every 5 minutes"
            )
        elif macro == "@reboot":
            _refuse("@reboot is not a schedule: a workflow starts at times, not at boots")
        else:
            _refuse(f"no macro {tidy!r}: use 5 fields or one of {', '.join(MACROS)}")
    elif len(words) in (6, 7):
        _refuse(
            f"has {len(words)} fields; a cron here has 5 (minute hour day-of-month month "
            "day-of-week): the extra ones are seconds (and a year), and a cron that fires "
            "every second is not allowed: the finest schedule is once a minute"
        )
    elif len(words) != 5:
        _refuse(
            f"has {len(words)} field{'s' if len(words) != 1 else ''}; a cron has 5: "
            "minute hour day-of-month month day-of-week"
        )
    else:
        fields = words

    problems: list[Problem] = []
    sets: list[tuple[int, ...]] = []
    for i, text in enumerate(fields):
        values, errors = _field(i, text.lower())
        problems.extend((FIELDS[i], e) for e in errors)
        sets.append(values)
    if problems:
        raise CronRefused(problems)
    dows = tuple(sorted({d % 7 for d in sets[4]}))  # 7 is Sunday too
    cron = Cron(
        tidy, sets[0], sets[1], sets[2], sets[3], dows, fields[2][0] == "*", fields[4][0] == "*"
    )
    never = _never_fires(cron)
    if never:
        raise CronRefused([("day-of-month", never)])
    close = _too_close(cron, fields, min_interval)
    if close:
        raise CronRefused([close])
    return cron


def _refuse(message: str) -> NoReturn:
    raise CronRefused([("expression", message)])


def _field(i: int, text: str) -> tuple[tuple[int, ...], list[str]]:
    """Field `i`'s values and what is wrong with it."""
    lo, hi = _BOUNDS[i]
    values: set[int] = set()
    errors: list[str] = []
    for item in text.split(","):
        if not item:
            errors.append("an empty item in the list (two commas, or one at an end)")
            continue
        m = _ITEM.fullmatch(item)
        if m is None:
            errors.append(f"{item!r} is not a value, a range (1-5) or a step (*/15, 1-5/2)")
            continue
        star, first, last, step_text = m.groups()
        start, end = lo, hi
        if star is None:
            start_v = _value(i, first, errors)
            end_v = start_v if last is None else _value(i, last, errors)
            if start_v is None or end_v is None:
                continue
            start, end = start_v, end_v
            if start > end:
                errors.append(
                    f"{item!r} runs backwards; ranges do not wrap round ({_wrap(i, item)})"
                )
                continue
        step = 1
        if step_text is not None:
            step = int(step_text)
            span = hi - lo + 1 if i != 4 else 7
            if step == 0:
                errors.append(f"{item!r} has a step of 0")
                continue
            if step > span:
                errors.append(
                    f"{item!r} cannot step by {step}: steps count within the {FIELDS[i]} field "
                    f"({lo}-{hi}), so it would be {start} alone"
                )
                continue
            if star is None and last is None:
                errors.append(
                    f"{item!r}: a step needs a range or *; for every {step} from {first} "
                    f"write {first}-{hi}/{step}"
                )
                continue
        values.update(range(start, end + 1, step))
    return tuple(sorted(values)), errors


def _wrap(i: int, item: str) -> str:
    """How to write the backwards range `item` of field `i` as two."""
    first, last = item.split("/")[0].split("-")
    lo, hi = _BOUNDS[i][0], 6 if i == 4 else _BOUNDS[i][1]  # day-of-week 7 is 0 again
    if not first.isdigit():
        lo_name, hi_name = (_MONTHS[0], _MONTHS[-1]) if i == 3 else (_WEEKDAYS[0], _WEEKDAYS[-1])
        return f"write {first}-{hi_name},{lo_name}-{last}"
    return f"write {first}-{hi},{lo}-{last}"


def _value(i: int, token: str, errors: list[str]) -> int | None:
    lo, hi = _BOUNDS[i]
    if token.isdigit():  # ASCII only: the pattern let nothing else through
        value = int(token)
        if not lo <= value <= hi:
            errors.append(f"{value} is out of range ({lo}-{hi})")
            return None
        return value
    names = _NAMES.get(i)
    if names is None:
        errors.append(f"{token!r} is not a number; only month and day-of-week take names")
        return None
    if token not in names:
        kind = "month (jan-dec)" if i == 3 else "day of the week (sun-sat)"
        errors.append(f"{token!r} is not a {kind}")
        return None
    return names[token]


def _never_fires(cron: Cron) -> str | None:
    """Why the schedule never fires, if it never does. Only a day of the month in none of the
    months can do that: when both day fields are restricted every chosen weekday matches, and
    over the 400 years of the Gregorian cycle every date (29 February too) falls on each
    weekday."""
    if not cron.dom_star and not cron.dow_star:
        return None
    longest = {m: calendar.monthrange(2000, m)[1] for m in cron.months}  # 2000: a leap year
    if any(d <= longest[m] for m in cron.months for d in cron.days_of_month):
        return None
    days = _join([str(d) for d in cron.days_of_month])
    verb = "is" if len(cron.days_of_month) == 1 else "are"
    months = _join([MONTH_NAMES[m - 1] for m in cron.months], "or")
    return f"{days} {verb} not a day of {months}, so this schedule never fires"


def _too_close(cron: Cron, fields: list[str], min_interval: dt.timedelta) -> Problem | None:
    """The problem if two fires can come closer than `min_interval` on the wall clock. Every
    firing day fires at the same times, so the closest two are neighbours within a day, or
    the last of one firing day and the first of the next."""
    need = -(-min_interval // MINUTE)  # whole minutes: a gap of g minutes is too close if g < need
    times = [h * 60 + m for h in cron.hours for m in cron.minutes]
    closest: tuple[int, int, int, int] | None = None  # gap, first, second, days between
    for a, b in itertools.pairwise(times):
        if b - a < need and (closest is None or b - a < closest[0]):
            closest = (b - a, a, b, 0)
    span = times[-1] - times[0]
    if closest is None and span + need > 1440:  # a next day's first fire could be too close
        limit = (span + need - 1) // 1440  # days apart that are still too close
        days = _closest_days(cron, limit)
        if days is not None:
            closest = (days * 1440 - span, times[-1], times[0], days)
    if closest is None:
        return None
    gap, a, b, days = closest
    when = f"{_hhmm(a)} and {_hhmm(b)}"
    if days == 1:
        when += " the next day"
    elif days > 1:
        when += f" {days} days later"
    message = (
        f"fires {_minutes(gap)} apart ({when}); fires must be at least "
        f"{_duration(min_interval)} apart"
    )
    suggestion = _suggest(cron, fields, need)
    if suggestion:
        every = _minutes(suggestion[0]).removeprefix("1 ")  # "every hour", not "every 1 hour"
        message += f": for one every {every} write {suggestion[1]!r}"
    name = "minute" if gap < 60 else "hour" if gap < 1440 else "day-of-month"
    return name, message


def _suggest(cron: Cron, fields: list[str], need: int) -> tuple[int, str] | None:
    """The same schedule with the minute (or hour) field stepped to fire often enough at most:
    a step that divides the hour (the day) keeps its gaps across hours (days) equal."""
    if need <= 60:
        step = next(k for k in (1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30, 60) if k >= need)
        minute = "0" if step == 60 else f"*/{step}"
        return step, " ".join([minute, *fields[1:]])
    if need <= 1440:
        step = next(k for k in (1, 2, 3, 4, 6, 8, 12, 24) if k * 60 >= need)
        hour = "0" if step == 24 else f"*/{step}"
        return step * 60, " ".join([str(cron.minutes[0]), hour, *fields[2:]])
    return None


def _closest_days(cron: Cron, limit: int) -> int | None:
    """The fewest days between two consecutive firing days, if at most `limit` (≤ 366).
    Which days fire in a year and the next depends only on the weekday of 1 January and which
    of the two are leap years, so one year of each kind in the 400-year cycle says it all."""
    kinds: set[tuple[int, bool, bool]] = set()
    best: int | None = None
    for year in range(2000, 2400):
        kind = (calendar.weekday(year, 1, 1), calendar.isleap(year), calendar.isleap(year + 1))
        if kind in kinds:
            continue
        kinds.add(kind)
        days = [d for y in (year, year + 1) for d in _firing_days(cron, y)]
        for a, b in itertools.pairwise(days):
            if b - a <= limit and (best is None or b - a < best):
                best = b - a
        if best == 1:
            break
    return best


def _firing_days(cron: Cron, year: int) -> list[int]:
    out: list[int] = []
    for month in cron.months:
        base = dt.date(year, month, 1).toordinal() - 1
        bits = _month_bits(cron, year, month)
        out.extend(base + d for d in range(1, 32) if bits >> d & 1)
    return out


# --- next fire --------------------------------------------------------------------------------


def next_fire(cron: Cron, after: dt.datetime, tz: str) -> dt.datetime:
    """The first instant strictly after the aware `after` (in any zone) at which `cron` fires,
    read in the IANA zone `tz` (BadZone if it is none): aware, in UTC. ValueError if it would
    fire only after the year 9999."""
    tzinfo = zone(tz)
    if after.tzinfo is None or after.utcoffset() is None:
        raise ValueError("after must be an aware datetime")
    after = after.astimezone(dt.UTC)  # compared in UTC: a repeated time compares oddly
    try:
        local = after.astimezone(tzinfo)
        wall = local.replace(tzinfo=None)
        if local.fold:
            first = wall.replace(tzinfo=tzinfo, fold=0)
            if first.utcoffset() != local.utcoffset():
                # `after` is in the second pass of a repeated hour, whose wall times all
                # fired at their first pass, before `after`: go on from where it ends.
                lo = first.astimezone(dt.UTC)
                wall += _change(lo, after, tzinfo) - lo
        at_wall = wall.replace(second=0, microsecond=0)
        while True:
            at_wall = _next_wall(cron, at_wall)
            at = _instant(at_wall, tzinfo)
            if at > after:
                return at
            at_wall += MINUTE  # the minute `after` is in, or another of a repeated hour
    except OverflowError:
        raise ValueError(f"{cron.expr!r} fires next only after the year 9999") from None


def _next_wall(cron: Cron, start: dt.datetime) -> dt.datetime:
    """The first naive wall time at or after `start` (whole minutes) that the fields match."""
    day, hour, minute = start.date(), start.hour, start.minute
    hours, minutes = cron.hours, cron.minutes
    while True:
        found = _next_day(cron, day)
        if found != day:
            return dt.datetime.combine(found, dt.time(hours[0], minutes[0]))
        i = bisect.bisect_left(hours, hour)
        if i < len(hours) and hours[i] == hour:
            j = bisect.bisect_left(minutes, minute)
            if j < len(minutes):
                return dt.datetime.combine(day, dt.time(hour, minutes[j]))
            i += 1
        if i < len(hours):
            return dt.datetime.combine(day, dt.time(hours[i], minutes[0]))
        day += dt.timedelta(days=1)  # OverflowError after 9999-12-31
        hour = minute = 0


def _next_day(cron: Cron, day: dt.date) -> dt.date:
    """The first day at or after `day` that the day fields match: month by month."""
    year, month, first = day.year, day.month, day.day
    while year <= dt.MAXYEAR:
        for m in cron.months[bisect.bisect_left(cron.months, month) :]:
            bits = _month_bits(cron, year, m) >> (first if m == month else 1)
            if bits:
                d = (first if m == month else 1) + (bits & -bits).bit_length() - 1
                return dt.date(year, m, d)
        year, month, first = year + 1, 1, 1
    raise OverflowError


def _month_bits(cron: Cron, year: int, month: int) -> int:
    """The days of that month that match, as bits 1-31."""
    first, days = _month_shape(year, month)
    return cron._day_bits[first] & days


@functools.lru_cache(maxsize=4096)
def _month_shape(year: int, month: int) -> tuple[int, int]:
    """The weekday of the month's 1st (0 Sunday) and its days as bits 1-28...31."""
    first = (calendar.weekday(year, month, 1) + 1) % 7  # Monday 0 → cron's Sunday 0
    return first, (1 << (calendar.monthrange(year, month)[1] + 1)) - 2


def _instant(wall: dt.datetime, tz: dt.tzinfo) -> dt.datetime:
    """The UTC instant at which wall time `wall` fires in `tz` (the Time zones rule)."""
    at = wall.replace(tzinfo=tz).astimezone(dt.UTC)  # fold=0: a repeated time's first pass
    if at.astimezone(tz).replace(tzinfo=None) == wall:
        return at
    # Skipped. fold=1 reads it with the offset after the change (an instant before the
    # change), fold=0 with the one before (an instant after): the change lies between.
    return _change(wall.replace(tzinfo=tz, fold=1).astimezone(dt.UTC), at, tz)


def _change(lo: dt.datetime, hi: dt.datetime, tz: dt.tzinfo) -> dt.datetime:
    """The first instant in (lo, hi] whose offset in `tz` is not lo's, to the second (the tz
    database changes offsets on whole seconds); lo and hi are UTC and hi's offset differs."""
    offset = lo.astimezone(tz).utcoffset()
    a, b = 0, int((hi - lo).total_seconds())
    while b - a > 1:
        mid = (a + b) // 2
        if (lo + dt.timedelta(seconds=mid)).astimezone(tz).utcoffset() == offset:
            a = mid
        else:
            b = mid
    return lo + dt.timedelta(seconds=b)


# --- describe ---------------------------------------------------------------------------------


def describe(cron: Cron) -> str:
    """Short English for the schedule ("every day at 09:00", "every 15 minutes on Monday to
    Friday", "at minute 0 past every hour"), or the expression itself where words would be
    longer than it."""
    times = _times_words(cron)
    days = _days_words(cron)
    if times is None or days is None:
        return cron.expr
    text, at = times
    every, on = days
    if at:
        return f"{every} at {text}"
    return text if every == "every day" else f"{text} {on}"


def _times_words(cron: Cron) -> tuple[str, bool] | None:
    """The times of day, and whether they are a list of clock times ("at 09:00")."""
    hours, minutes = cron.hours, cron.minutes
    every_hour = hours == tuple(range(24))
    if every_hour and minutes == tuple(range(60)):
        return "every minute", False
    step = _step(minutes, 60)
    if every_hour and step is not None:
        return f"every {step} minutes", False
    if every_hour and len(minutes) == 1:
        return f"at minute {minutes[0]} past every hour", False
    step = _step(hours, 24)
    if len(minutes) == 1 and step is not None:
        return f"every {step} hours at minute {minutes[0]}", False
    if len(hours) * len(minutes) <= 4:
        return _join([_hhmm(h * 60 + m) for h in hours for m in minutes]), True
    return None


def _days_words(cron: Cron) -> tuple[str, str] | None:
    """The days, as after "every day at" ("every Monday") and after "every 5 minutes"
    ("on Monday"), or None for a mix words would make no shorter."""
    all_dom = cron.days_of_month == tuple(range(1, 32))
    all_dow = cron.days_of_week == tuple(range(7))
    in_months = ""
    if cron.months != tuple(range(1, 13)):
        month_names = _runs(cron.months, lambda m: MONTH_NAMES[m - 1])
        if month_names is None:
            return None
        in_months = f" in {month_names}"
    if cron.dom_star or cron.dow_star:  # both must match
        kind = "day" if all_dom and all_dow else "weekday" if all_dom else "dom" if all_dow else ""
    else:  # either matches
        kind = "day" if all_dom or all_dow else ""
    if kind == "day":
        return f"every day{in_months}", in_months.strip() or "every day"
    if kind == "weekday":
        # Monday first, as people say a week; Sunday (0) last.
        monday_first = sorted(cron.days_of_week, key=_monday_first)
        names = _runs(monday_first, _weekday, rank=_monday_first)
        if names is None:
            return None
        return f"every {names}{in_months}", f"on {names}{in_months}"
    if kind == "dom":
        days = cron.days_of_month
        if len(days) == 1 and len(cron.months) == 1:
            text = f"on {days[0]} {MONTH_NAMES[cron.months[0] - 1]}"
            return text, text
        numbers = _runs(days, str)
        if numbers is None:
            return None
        of = in_months.replace(" in ", " of ", 1) if in_months else " of every month"
        text = f"on day{'s' if len(days) > 1 else ''} {numbers}{of}"
        return text, text
    return None


def _weekday(d: int) -> str:
    return WEEKDAY_NAMES[d]


def _monday_first(d: int) -> int:
    return (d + 6) % 7


def _step(values: tuple[int, ...], size: int) -> int | None:
    """k if `values` are 0, k, 2k ... for a k > 1 that divides `size`."""
    if len(values) < 2 or values[0] != 0:
        return None
    k = values[1]
    return k if size % k == 0 and values == tuple(range(0, size, k)) else None


def _runs(
    values: list[int] | tuple[int, ...],
    name: Callable[[int], str],
    rank: Callable[[int], int] = int,
) -> str | None:
    """`values` (in `rank` order) in words, three or more in a row as "a to b"; None past four
    pieces."""
    pieces: list[str] = []
    for _, group in itertools.groupby(enumerate(values), lambda p: rank(p[1]) - p[0]):
        run = [v for _, v in group]
        if len(run) >= 3:
            pieces.append(f"{name(run[0])} to {name(run[-1])}")
        else:
            pieces.extend(name(v) for v in run)
    return _join(pieces) if len(pieces) <= 4 else None


def _join(items: list[str], last: str = "and") -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} {last} {items[-1]}"


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _minutes(n: int) -> str:
    days, rest = divmod(n, 1440)
    hours, minutes = divmod(rest, 60)
    parts = [
        f"{v} {unit}{'s' if v != 1 else ''}"
        for v, unit in ((days, "day"), (hours, "hour"), (minutes, "minute"))
        if v
    ]
    return " ".join(parts)


def _duration(span: dt.timedelta) -> str:
    if span % MINUTE:
        return f"{span.total_seconds():g} seconds"
    return _minutes(span // MINUTE)

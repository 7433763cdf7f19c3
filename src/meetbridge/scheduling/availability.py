"""Members' working hours, and the open time they give in real (UTC) time.

Hours are wall-clock minutes on a member-local date: 09:00-17:00 stays 09:00-17:00 on the
member's clock on both sides of a DST change, so a range over a spring-forward gap is shorter in
real time and one over a fall-back longer. A boundary the clocks skip (in the gap) is the first
instant after the gap; one they pass twice is its first occurrence. Each date's hours come from
its override if it has one (`()` = a day off), else from the weekly pattern.

Inside the package, times are integers (microseconds since the Unix epoch, UTC): the slot search
does all its arithmetic on them and builds datetimes only for what it returns. `to_us`,
`from_us` and `day_ranges` are for the other modules of this package, not for callers.
"""

from __future__ import annotations

import datetime as dt
import functools
import itertools
import operator
import zoneinfo
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from .intervals import Interval
from .timezones import zone

DAY_MINUTES = 1440
MINUTE_US = 60_000_000
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_ONE_US = dt.timedelta(microseconds=1)
_ONE_DAY = dt.timedelta(days=1)


def _clock(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


@dataclass(frozen=True)
class Hours:
    """One wall-clock range on a day: minutes after local midnight, start < end <= 1440 (1440
    is the midnight that ends the day)."""

    start: int
    end: int

    def __post_init__(self) -> None:
        for value in (self.start, self.end):
            # bool is an int; True as a minute is a bug upstream, not 00:01.
            if not isinstance(value, int) or isinstance(value, bool):
                raise ValueError(f"hours are whole minutes after midnight, not {value!r}")
        if not (0 <= self.start <= DAY_MINUTES and 0 <= self.end <= DAY_MINUTES):
            raise ValueError(
                f"{self.start}-{self.end}: hours are minutes 0..1440 (00:00 to 24:00) of a day"
            )
        if self.start >= self.end:
            raise ValueError(f"{self}: a range must end after it starts")

    def __str__(self) -> str:
        return f"{_clock(self.start)}-{_clock(self.end)}"


@dataclass(frozen=True)
class MemberAvailability:
    member_id: str
    timezone: str  # IANA name
    # weekday 0=Monday..6=Sunday; a missing day is not available
    weekly: Mapping[int, tuple[Hours, ...]]
    # replaces that member-local date's hours; () is a day off
    overrides: Mapping[dt.date, tuple[Hours, ...]]
    # aware; any order, may overlap (meetings, calendar events, bookings)
    busy: tuple[Interval, ...] = ()
    # bookings of this type already counted on each member-local date (for the daily cap)
    booked_per_day: Mapping[dt.date, int] = field(default_factory=dict)

    @functools.cached_property
    def _busy_index(self) -> BusyIndex:
        # Built on first use and kept on the (frozen) object: a member's busy time is the
        # bulk of the slot search's input, and re-checking a booking (free_members) or asking
        # about another window with the same objects should not sort it again.
        return BusyIndex(self.busy)


def validate_hours(ranges: Sequence[tuple[int, int]]) -> tuple[Hours, ...]:
    """One day's hours from (start, end) minute pairs, sorted by start. ValueError naming the
    range on start >= end, a minute outside 0..1440, or two ranges that overlap (ranges that
    touch, 09:00-12:00 and 12:00-17:00, are fine: they read as one)."""
    hours = sorted((Hours(start, end) for start, end in ranges), key=lambda h: h.start)
    for before, after in itertools.pairwise(hours):
        if after.start < before.end:
            raise ValueError(f"{before} and {after} overlap")
    return tuple(hours)


_START = operator.attrgetter("start")
_END = operator.attrgetter("end")


# Stands for an empty busy interval: widened by any buffers, it still ends long before the
# first instant a datetime can hold, so it rules nothing out and the walk needs no test for it.
_NOTHING = (-(2**62), -(2**62))


class BusyIndex:
    """A member's busy intervals sorted by start, searched by bisection on the datetimes as
    given (sorting and bisecting run in C; converting each of hundreds of intervals to integers
    would not). `reach[k]` is the latest end among the first k + 1, so it rises: the intervals
    that may overlap [lo, hi) are those from bisect_right(reach, lo) to bisect_left(starts, hi),
    even when some overlap each other (a few in that run may end before lo). An interval's
    microseconds are worked out the first time it is looked at (`us`), and kept."""

    __slots__ = ("known", "reach", "spans", "starts")

    def __init__(self, busy: Sequence[Interval]) -> None:
        self.spans = sorted(busy, key=_START)
        self.starts: list[dt.datetime] = list(map(_START, self.spans))
        self.reach: list[dt.datetime] = list(itertools.accumulate(map(_END, self.spans), max))
        # (start, end) in microseconds once worked out; an empty interval is _NOTHING.
        self.known: list[tuple[int, int] | None] = [None] * len(self.spans)

    def us(self, k: int) -> tuple[int, int]:
        got = self.known[k]
        if got is None:
            at = self.spans[k]
            start, end = (at.start - _EPOCH) // _ONE_US, (at.end - _EPOCH) // _ONE_US
            got = self.known[k] = (start, end) if start < end else _NOTHING
        return got


def busy_index(member: MemberAvailability) -> BusyIndex:
    """The member's busy time, indexed (built once per MemberAvailability object)."""
    return member._busy_index


def to_us(at: dt.datetime) -> int:
    """Microseconds since the epoch of the aware instant `at`."""
    if at.tzinfo is None:
        raise ValueError("needs an aware datetime")
    return (at - _EPOCH) // _ONE_US


def from_us(us: int) -> dt.datetime:
    """The UTC datetime of `us` microseconds since the epoch."""
    return _EPOCH + _ONE_US * us


@functools.lru_cache(maxsize=16384)
def _day(tz: zoneinfo.ZoneInfo, day: dt.date) -> int | None:
    """The UTC microseconds of wall-clock 00:00 on `day` in `tz` if the whole day, 00:00 to
    24:00, keeps one UTC offset (then minute m of the day is that + m minutes); None on a day
    the offset changes. Cached: the slot search asks for the same few zones and dates over and
    over, and this is most of the zone work."""
    midnight = dt.datetime.combine(day, dt.time(), tzinfo=tz)
    offset = midnight.utcoffset()
    if offset is None or midnight.replace(fold=1).utcoffset() != offset:
        return None
    end = dt.datetime.combine(day + _ONE_DAY, dt.time(), tzinfo=tz)
    if end.utcoffset() != offset or end.replace(fold=1).utcoffset() != offset:
        return None
    # Equal offsets at both midnights could hide two changes inside one day that cancel out;
    # the tz database has none (every zone checked hour by hour, 2020-2035), so the fast path
    # takes the day whole.
    return to_us(midnight)


def _wall_us(tz: zoneinfo.ZoneInfo, day: dt.date, minute: int) -> int:
    """UTC microseconds of wall-clock `minute` after 00:00 on `day` in `tz`: a time the clocks
    skip is the first instant after the gap, one they pass twice its first occurrence."""
    base = _day(tz, day)
    if base is not None:
        return base + minute * MINUTE_US
    wall = dt.datetime.combine(day, dt.time()) + dt.timedelta(minutes=minute)
    first = wall.replace(tzinfo=tz, fold=0)
    second = wall.replace(tzinfo=tz, fold=1)
    if first.utcoffset() == second.utcoffset():
        return to_us(first)
    if first.astimezone(dt.UTC).astimezone(tz).replace(tzinfo=None) == wall:
        return to_us(first)  # repeated: fold=0 is the first time the clocks read it
    # In the gap: fold=1 reads it with the offset after the change (an instant before the
    # change), fold=0 with the one before (an instant after). Search between the two for the
    # first instant whose wall time is at or past `wall`: that is the change itself.
    lo, hi = to_us(second), to_us(first)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if from_us(mid).astimezone(tz).replace(tzinfo=None) >= wall:
            hi = mid
        else:
            lo = mid
    return hi


def local_date(tz: zoneinfo.ZoneInfo, us: int) -> dt.date:
    return from_us(us).astimezone(tz).date()


def midnight_us(tz: zoneinfo.ZoneInfo, day: dt.date) -> int:
    """When `day` begins in `tz` (its 00:00, or the first instant after it if skipped)."""
    return _wall_us(tz, day, 0)


def _merged_minutes(hours: tuple[Hours, ...]) -> list[tuple[int, int]]:
    """A day's hours as sorted minute ranges with touching and overlapping ones joined (hours
    not built by validate_hours may come in any order)."""
    out: list[tuple[int, int]] = []
    for h in sorted(hours, key=lambda h: h.start):
        if out and h.start <= out[-1][1]:
            if h.end > out[-1][1]:
                out[-1] = (out[-1][0], h.end)
        else:
            out.append((h.start, h.end))
    return out


@functools.lru_cache(maxsize=1024)
def _zone_days(
    tz: zoneinfo.ZoneInfo, first: dt.date, last: dt.date
) -> tuple[tuple[dt.date, int, int | None], ...]:
    """(date, weekday, `_day(tz, date)`) for each date from first to last: shared by the
    members of one zone, and by the calls that ask about the same dates."""
    out = []
    day = first
    while day <= last:
        out.append((day, day.weekday(), _day(tz, day)))
        day += _ONE_DAY
    return tuple(out)


def day_ranges(
    member: MemberAvailability, tz: zoneinfo.ZoneInfo, lo: int, hi: int
) -> list[tuple[int, int]]:
    """Each member-local day's open ranges, as UTC microsecond pairs, sorted: one pair per run
    of hours that touch in real time within a day, for every day whose hours may reach into
    [lo, hi). Ranges of consecutive days may touch at midnight (joined by `merge`), never
    overlap."""
    out: list[tuple[int, int]] = []
    overrides, weekly = member.overrides, member.weekly
    # A day's hours are usually one of a few tuples shared by every week: join each once. Keyed
    # by identity, which is safe while `member` holds them, i.e. for this call.
    joined: dict[int, list[tuple[int, int]]] = {}
    days = _zone_days(tz, local_date(tz, lo) - _ONE_DAY, local_date(tz, hi) + _ONE_DAY)
    for day, weekday, base in days:
        hours = overrides.get(day) if overrides else None
        if hours is None:
            hours = weekly.get(weekday)
        if not hours:
            continue
        minutes = joined.get(id(hours))
        if minutes is None:
            minutes = joined[id(hours)] = _merged_minutes(hours)
        if base is not None:
            for start, end in minutes:
                out.append((base + start * MINUTE_US, base + end * MINUTE_US))
            continue
        first = len(out)
        for start, end in minutes:
            a, b = _wall_us(tz, day, start), _wall_us(tz, day, end)
            if a >= b:
                continue  # hours wholly inside a skipped hour are no time at all
            if len(out) > first and a <= out[-1][1]:
                # 00:00-02:00 and 02:30-03:00 across a gap from 02:00 to 02:30 are one run of
                # real time: one range, one set of steps.
                out[-1] = (out[-1][0], b)
            else:
                out.append((a, b))
    return out


def merge(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Sorted ranges with touching and overlapping ones joined; `ranges` must be sorted by
    start."""
    out: list[tuple[int, int]] = []
    for a, b in ranges:
        if out and a <= out[-1][1]:
            if b > out[-1][1]:
                out[-1] = (out[-1][0], b)
        else:
            out.append((a, b))
    return out


def open_hours(member: MemberAvailability, window: Interval) -> list[Interval]:
    """The member's open ranges (UTC, sorted, merged: hours running through midnight into the
    next day's read as one range) that intersect `window`, clipped to it."""
    tz = zone(member.timezone)
    lo, hi = to_us(window.start), to_us(window.end)
    if lo >= hi:
        return []
    out = []
    for a, b in merge(day_ranges(member, tz, lo, hi)):
        a, b = max(a, lo), min(b, hi)
        if a < b:
            out.append(Interval(from_us(a), from_us(b)))
    return out

"""The times a booking page offers, and who is free for each.

The rules (they are the product's rules; the booking module relies on every one):

- **Free.** A member is free for [s, s + duration) when it lies wholly inside one of their open
  ranges (`availability.open_hours`: hours running through midnight into the next day's are one
  range), and [s - buffer_before, s + duration + buffer_after) overlaps none of their busy
  intervals (an empty busy interval overlaps nothing), and, with a daily cap, fewer than
  `daily_cap` bookings are counted on the member-local date of s (a slot from 23:30 to 00:30
  counts on the day it starts; a cap of 0 closes every day).
- **Candidate starts.** ONE and ROUND_ROBIN: each member's own starts run from the start of
  each of their open ranges, every `interval` of real elapsed time, up to the range's end (a
  start is a step only if the whole slot then fits, by the rule above). The steps start again
  at the member's local midnight when a range runs through it, so the starts
  of a day depend on that day's hours alone (not on how many days before it were open without
  a break), and asking about a shorter window never moves them. Across a DST change the steps
  keep real time: 09:00-17:00 by 30 minutes is 09:00, 09:30, ... on both sides, and a range
  over a spring-forward gap has fewer starts, one over a fall-back more (both passes of the
  repeated hour). No start is ever at a wall time the clocks skip: every start is an instant.
  COLLECTIVE: the same, from the start of each range of the intersection of all members' open
  ranges (cut at each member's local midnight, as above).
- **Limits.** A start is offered only when now + min_notice <= s < now + horizon, and only when
  s lies in the window asked about: window.start <= s < window.end. A slot that starts in the
  window and ends after it is included; one that starts at window.end is not. So the slots of
  two windows that meet are those of the window they make together, each exactly once, and a
  booker's "Monday" (midnight to midnight in the booker's zone) holds the slots that start on
  their Monday.
- **Assignment.** ONE (exactly one member, ValueError otherwise): that member's starts at which
  they are free. ROUND_ROBIN: the union of each member's ONE slots; a slot lists every member
  free for it, in input order, whether or not the start is one of their own steps (anyone free
  can take it; `assign.pick` chooses among them). COLLECTIVE: the collective starts at which
  every member is free; the slot lists all members. COLLECTIVE with no members: no slots.
- Member ids must be distinct (ValueError).

`free_members` answers for one start exactly as `slots` would for a window holding only that
start, so the booking's transaction can re-check the time it was offered.

Speed: each member's busy intervals are sorted once (in C, on the datetimes as given) and kept
on the MemberAvailability object, so a second call with the same objects skips it; each call
finds, by bisection, the few busy intervals near each open range, turns the open ranges into the
ranges of starts at which the member is free, and generates the steps inside those; members with
the same zone and hours share one grid of steps. Nothing scans members against candidates, or
busy intervals against candidates, one by one.
"""

from __future__ import annotations

import bisect
import datetime as dt
import zoneinfo
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from .availability import (
    MemberAvailability,
    busy_index,
    day_ranges,
    from_us,
    local_date,
    merge,
    midnight_us,
    open_hours,
    to_us,
)
from .intervals import Interval
from .timezones import zone

_ZERO = dt.timedelta(0)
_ONE_US = dt.timedelta(microseconds=1)
_ONE_DAY = dt.timedelta(days=1)


class Assignment(StrEnum):
    ONE = "one"
    ROUND_ROBIN = "round_robin"
    COLLECTIVE = "collective"


@dataclass(frozen=True)
class SlotRules:
    duration: dt.timedelta
    interval: dt.timedelta  # step between candidate starts (real elapsed time)
    buffer_before: dt.timedelta = _ZERO
    buffer_after: dt.timedelta = _ZERO
    min_notice: dt.timedelta = _ZERO  # no slot starts before now + min_notice
    horizon: dt.timedelta = dt.timedelta(days=60)  # no slot starts at or after now + horizon
    daily_cap: int | None = None  # per member: at most this many bookings on a member-local day

    def __post_init__(self) -> None:
        if self.duration <= _ZERO:
            raise ValueError("a slot lasts some time: duration must be positive")
        if self.interval < _ONE_US:
            raise ValueError("the step between starts must be at least a microsecond")
        if self.buffer_before < _ZERO or self.buffer_after < _ZERO:
            raise ValueError("buffers cannot be negative")
        if self.min_notice < _ZERO:
            raise ValueError("minimum notice cannot be negative")
        if self.daily_cap is not None and self.daily_cap < 0:
            raise ValueError("a daily cap cannot be negative")


@dataclass(frozen=True)
class Slot:
    start: dt.datetime  # aware, UTC
    end: dt.datetime
    # The members free for it: ONE the one; ROUND_ROBIN every free member, in input order;
    # COLLECTIVE all of them.
    members: tuple[str, ...]


Ranges = list[tuple[int, int]]


def _us(delta: dt.timedelta) -> int:
    return delta // _ONE_US


def _subtract(keep: Ranges, drop: Ranges) -> Ranges:
    """`keep` minus `drop`; both sorted and disjoint."""
    out: Ranges = []
    j, n = 0, len(drop)
    for a, b in keep:
        while j < n and drop[j][1] <= a:
            j += 1
        cur = a
        k = j
        while k < n and drop[k][0] < b:
            x, y = drop[k]
            if x > cur:
                out.append((cur, x))
            if y > cur:
                cur = y
            if cur >= b:
                break
            k += 1
        if cur < b:
            out.append((cur, b))
    return out


def _intersect(left: Ranges, right: Ranges) -> Ranges:
    """The time in both; each sorted and disjoint."""
    out: Ranges = []
    i = j = 0
    while i < len(left) and j < len(right):
        a, b = left[i]
        c, d = right[j]
        lo, hi = max(a, c), min(b, d)
        if lo < hi:
            out.append((lo, hi))
        if b <= d:
            i += 1
        else:
            j += 1
    return out


def _steps(anchors: Ranges, allowed: Ranges, step: int) -> list[int]:
    """Every anchor start + k * step (k >= 0) before that anchor range's end that lies in
    `allowed`; both sorted and disjoint."""
    out: list[int] = []
    i, n = 0, len(allowed)
    for r0, r1 in anchors:
        while i < n and allowed[i][1] <= r0:
            i += 1
        k = i
        while k < n and allowed[k][0] < r1:
            lo = max(r0, allowed[k][0])
            hi = min(r1, allowed[k][1])
            if lo < hi:
                first = r0 + -(-(lo - r0) // step) * step
                if first < hi:
                    out.extend(range(first, hi, step))
            k += 1
    return out


@dataclass
class _Member:
    member_id: str
    days: Ranges  # each local day's open ranges: where the steps start
    free: Ranges  # half-open ranges of the starts at which the member is free


def _prepare(
    member: MemberAvailability, rules: SlotRules, lo: int, hi: int, duration: int
) -> _Member:
    """The member's day ranges and the starts in [lo, hi) at which they are free."""
    tz = zone(member.timezone)
    days = day_ranges(member, tz, lo, hi + duration)
    free: Ranges = []
    if rules.daily_cap == 0 or not days:
        return _Member(member.member_id, days, free)
    before = _us(rules.buffer_before)
    # A busy [bs, be) rules out every s with s - before < be and bs < s + duration + after:
    # the half-open (bs - duration - after, be + before), i.e. [bs - shift, be + before).
    shift = duration + _us(rules.buffer_after) - 1
    busy = busy_index(member)
    # Bound locally: this loop is most of a call's time.
    busy_starts, reach, known, convert = busy.starts, busy.reach, busy.known, busy.us
    left, right = bisect.bisect_left, bisect.bisect_right
    for a, b in merge(days):
        # Starts s with [s, s + duration) inside the open range [a, b): a <= s <= b - duration,
        # the half-open [a, b - duration + 1) in whole microseconds; only those in [lo, hi).
        x = a if a > lo else lo
        y = b - duration + 1
        if y > hi:
            y = hi
        if x >= y:
            continue
        # The busy intervals that can rule out a start in [x, y) (end + before > x and
        # start - shift < y; see BusyIndex), in order of start. Widened, they may overlap each
        # other; `cur` walks over them.
        cur = x
        first = right(reach, from_us(x - before))
        for k in range(first, left(busy_starts, from_us(y + shift), first)):
            span = known[k] or convert(k)
            bx = span[0] - shift
            if bx > cur:
                free.append((cur, bx))
            by = span[1] + before
            if by > cur:
                cur = by
                if cur >= y:
                    break
        if cur < y:
            free.append((cur, y))
    if free and rules.daily_cap is not None and member.booked_per_day:
        full = _full_days(member, tz, rules.daily_cap, free[0][0], free[-1][1])
        if full:
            free = _subtract(free, merge(sorted(full)))
    return _Member(member.member_id, days, free)


def _full_days(
    member: MemberAvailability, tz: zoneinfo.ZoneInfo, cap: int, lo: int, hi: int
) -> Ranges:
    """The member-local days in reach of [lo, hi) whose cap is reached, as UTC ranges."""
    first = local_date(tz, lo)
    last = local_date(tz, hi)
    out: Ranges = []
    for day, count in member.booked_per_day.items():
        if count >= cap and first <= day <= last:
            out.append((midnight_us(tz, day), midnight_us(tz, day + _ONE_DAY)))
    return out


def _check_members(assignment: Assignment, members: Sequence[MemberAvailability]) -> None:
    if assignment is Assignment.ONE and len(members) != 1:
        raise ValueError(f"a one-member booking type needs exactly one member, not {len(members)}")
    ids = [m.member_id for m in members]
    if len(set(ids)) != len(ids):
        raise ValueError("members are listed once each")


def _collective(prepared: list[_Member], step: int) -> tuple[list[int], list[tuple[str, ...]]]:
    days, free = prepared[0].days, prepared[0].free
    for p in prepared[1:]:
        days = _intersect(days, p.days)
        free = _intersect(free, p.free)
    starts = _steps(days, free, step)
    return starts, [tuple(p.member_id for p in prepared)] * len(starts)


def _union(
    prepared: list[_Member], step: int, lo: int, hi: int
) -> tuple[list[int], list[tuple[str, ...]]]:
    """Every start that is one member's own step at which they are free, with every member free
    at it. Members with the same day ranges (same zone and hours: the usual team) share one
    grid of steps, worked out once."""
    grids: dict[tuple[tuple[int, int], ...], list[int]] = {}
    grid_of: dict[str, list[int]] = {}
    for p in prepared:
        key = tuple(p.days)
        grid = grids.get(key)
        if grid is None:
            grid = grids[key] = _steps(p.days, [(lo, hi)], step)
        grid_of[p.member_id] = grid
    if len(grids) == 1:
        candidates = next(iter(grids.values()))
    else:
        candidates = sorted(set().union(*grids.values()))
    # Each member goes into the candidates that start in their free ranges: work in proportion
    # to the answer, not to members x candidates.
    lists: list[list[str]] = [[] for _ in candidates]
    left = bisect.bisect_left
    for p in prepared:
        name = p.member_id
        for a, b in p.free:
            for index in range(left(candidates, a), left(candidates, b)):
                lists[index].append(name)
    starts: list[int] = []
    whos: list[tuple[str, ...]] = []
    if len(grids) == 1:
        # One grid: anyone free at a candidate has it as one of their own steps.
        for s, names in zip(candidates, lists, strict=True):
            if names:
                starts.append(s)
                whos.append(tuple(names))
        return starts, whos
    own = {id(g): set(g) for g in grids.values()}
    own_of = {name: own[id(grid)] for name, grid in grid_of.items()}
    for s, names in zip(candidates, lists, strict=True):
        # Offered when it is the own step of someone free at it (usually the first asked).
        for name in names:
            if s in own_of[name]:
                starts.append(s)
                whos.append(tuple(names))
                break
    return starts, whos


def slots(
    assignment: Assignment,
    members: Sequence[MemberAvailability],
    rules: SlotRules,
    window: Interval,
    now: dt.datetime,
) -> list[Slot]:
    """The slots offered in `window` (by start; see the module's rules), sorted by start, each
    start once."""
    assignment = Assignment(assignment)
    _check_members(assignment, members)
    if not members:
        return []
    step, duration = _us(rules.interval), _us(rules.duration)
    here = to_us(now)
    lo = max(to_us(window.start), here + _us(rules.min_notice))
    hi = min(to_us(window.end), here + _us(rules.horizon))
    if lo >= hi:
        return []
    prepared = [_prepare(m, rules, lo, hi, duration) for m in members]
    if assignment is Assignment.COLLECTIVE:
        starts, whos = _collective(prepared, step)
    else:
        starts, whos = _union(prepared, step, lo, hi)
    span = rules.duration
    out = []
    for s, who in zip(starts, whos, strict=True):
        start = from_us(s)
        out.append(Slot(start, start + span, who))
    return out


def free_members(
    assignment: Assignment,
    members: Sequence[MemberAvailability],
    rules: SlotRules,
    start: dt.datetime,
    now: dt.datetime,
) -> tuple[str, ...]:
    """The members free for a slot starting exactly at `start`, if `slots` offers it (its
    members); () if it does not."""
    window = Interval(start, start + _ONE_US)
    found = slots(assignment, members, rules, window, now)
    if found and found[0].start == start:
        return found[0].members
    return ()


class Clash(StrEnum):
    """Why a member is not free for a time that was not chosen from the slots (a meeting
    moved elsewhere): the rule of "Free" above it breaks."""

    HOURS = "hours"  # not wholly inside one of their open ranges
    BUSY = "busy"  # it (with the buffers) overlaps one of their busy intervals


def clash(
    member: MemberAvailability, rules: SlotRules, start: dt.datetime, end: dt.datetime
) -> Clash | None:
    """Whether the member is free for [start, end) by the rule "Free" (whatever its length,
    off the steps, without the limits or the daily cap, which are about offering a time), or
    why not."""
    wanted = Interval(start, end)
    if open_hours(member, wanted) != [wanted]:
        return Clash.HOURS
    reach = Interval(start - rules.buffer_before, end + rules.buffer_after)
    if any(reach.overlaps(b) for b in member.busy):
        return Clash.BUSY
    return None

"""A slow, literal reading of the slot rules (scheduling/slots.py's docstring), to check the
fast code against: datetimes throughout, minute by minute where the clocks change, no shared
code with the module beyond the data classes and Interval."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Sequence

from meetbridge.scheduling.availability import MemberAvailability
from meetbridge.scheduling.intervals import Interval
from meetbridge.scheduling.slots import SlotRules

MINUTE = dt.timedelta(minutes=1)
DAY = dt.timedelta(days=1)
Range = tuple[dt.datetime, dt.datetime]


def resolve(day: dt.date, minute: int, tz: zoneinfo.ZoneInfo) -> dt.datetime:
    """The instant of wall-clock `minute` on `day`: the only reading, the first of two, or, in
    a gap, the first minute whose wall time is past it."""
    wall = dt.datetime.combine(day, dt.time()) + dt.timedelta(minutes=minute)
    readings = []
    for fold in (0, 1):
        at = wall.replace(tzinfo=tz, fold=fold).astimezone(dt.UTC)
        if at.astimezone(tz).replace(tzinfo=None) == wall:
            readings.append(at)
    if readings:
        return min(readings)
    at = wall.replace(tzinfo=tz, fold=1).astimezone(dt.UTC)  # before the gap
    while at.astimezone(tz).replace(tzinfo=None) < wall:
        at += MINUTE
    return at


def _merge(ranges: list[Range]) -> list[Range]:
    out: list[Range] = []
    for a, b in sorted(ranges):
        if a >= b:
            continue
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(b, out[-1][1]))
        else:
            out.append((a, b))
    return out


def day_ranges(member: MemberAvailability, day: dt.date) -> list[Range]:
    """That local day's hours in real time, touching ones joined."""
    tz = zoneinfo.ZoneInfo(member.timezone)
    if day in member.overrides:
        hours = member.overrides[day]
    else:
        hours = member.weekly.get(day.weekday(), ())
    return _merge([(resolve(day, h.start, tz), resolve(day, h.end, tz)) for h in hours])


def _days(member: MemberAvailability, lo: dt.datetime, hi: dt.datetime) -> list[dt.date]:
    tz = zoneinfo.ZoneInfo(member.timezone)
    day = lo.astimezone(tz).date() - 2 * DAY
    last = hi.astimezone(tz).date() + 2 * DAY
    out = []
    while day <= last:
        out.append(day)
        day += DAY
    return out


def anchors(member: MemberAvailability, lo: dt.datetime, hi: dt.datetime) -> list[Range]:
    return [r for day in _days(member, lo, hi) for r in day_ranges(member, day)]


def open_ranges(member: MemberAvailability, lo: dt.datetime, hi: dt.datetime) -> list[Range]:
    return _merge(anchors(member, lo, hi))


def is_free(member: MemberAvailability, rules: SlotRules, start: dt.datetime) -> bool:
    end = start + rules.duration
    inside = any(a <= start and end <= b for a, b in open_ranges(member, start, end))
    widened = Interval(start - rules.buffer_before, end + rules.buffer_after)
    clear = not any(widened.overlaps(b) for b in member.busy)
    tz = zoneinfo.ZoneInfo(member.timezone)
    count = member.booked_per_day.get(start.astimezone(tz).date(), 0)
    capped = rules.daily_cap is not None and count >= rules.daily_cap
    return inside and clear and not capped


def allowed(rules: SlotRules, window: Interval, now: dt.datetime, start: dt.datetime) -> bool:
    return (
        window.start <= start < window.end and now + rules.min_notice <= start < now + rules.horizon
    )


def _steps(ranges: list[Range], step: dt.timedelta) -> list[dt.datetime]:
    out = []
    for a, b in ranges:
        at = a
        while at < b:
            out.append(at.astimezone(dt.UTC))
            at += step
    return out


def own_starts(
    member: MemberAvailability, rules: SlotRules, window: Interval, now: dt.datetime
) -> list[dt.datetime]:
    """The member's ONE slot starts."""
    return [
        s
        for s in _steps(anchors(member, window.start, window.end), rules.interval)
        if allowed(rules, window, now, s) and is_free(member, rules, s)
    ]


def round_robin(
    members: Sequence[MemberAvailability], rules: SlotRules, window: Interval, now: dt.datetime
) -> list[tuple[dt.datetime, tuple[str, ...]]]:
    starts = sorted({s for m in members for s in own_starts(m, rules, window, now)})
    return [(s, tuple(m.member_id for m in members if is_free(m, rules, s))) for s in starts]


def _intersect(left: list[Range], right: list[Range]) -> list[Range]:
    out = []
    for a, b in left:
        for c, d in right:
            lo, hi = max(a, c), min(b, d)
            if lo < hi:
                out.append((lo, hi))
    return sorted(out)


def collective(
    members: Sequence[MemberAvailability], rules: SlotRules, window: Interval, now: dt.datetime
) -> list[tuple[dt.datetime, tuple[str, ...]]]:
    if not members:
        return []
    common = anchors(members[0], window.start, window.end)
    for m in members[1:]:
        common = _intersect(common, anchors(m, window.start, window.end))
    everyone = tuple(m.member_id for m in members)
    return [
        (s, everyone)
        for s in _steps(common, rules.interval)
        if allowed(rules, window, now, s) and all(is_free(m, rules, s) for m in members)
    ]

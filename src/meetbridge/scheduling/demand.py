"""How many Zoom meetings hold a host at the same time: a sweep over the windows the requests
hold on their hosts ([start - lead, end + padding), half-open, as the host choice sees them),
clipped to a period. Pure: the report (reports/zoom_demand.py) reads the windows and passes
them in.

The sweep gives a step function: maximal spans of constant concurrency covering the whole
period. Everything the report shows comes from it: the peak and where it is reached, every
stretch above the pool's size (one meeting per host at a time, so that is when a conversion
finds no free host), and per bucket (an hour or a day of the organisation's zone) the highest
concurrency within it and how long it stayed above the pool."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterable
from dataclasses import dataclass

Window = tuple[dt.datetime, dt.datetime]
HOUR = dt.timedelta(hours=1)
DAY = dt.timedelta(days=1)
SECOND = dt.timedelta(seconds=1)
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
UNITS = ("hour", "day")
# Hourly bars beyond a week are too thin to read; a month of them is still allowed on request.
AUTO_HOURS_UP_TO_DAYS = 7
MAX_HOURLY_DAYS = 31


@dataclass(frozen=True)
class Span:
    """[start, end) at `count` concurrent windows: the step function's pieces have a constant
    count; a stretch above the pool gives the highest count within it."""

    start: dt.datetime
    end: dt.datetime
    count: int


@dataclass(frozen=True)
class Bucket:
    start: dt.datetime
    end: dt.datetime
    peak: int  # the highest concurrency at any moment of the bucket
    over: dt.timedelta  # how long within it concurrency was above the pool


@dataclass(frozen=True)
class Demand:
    start: dt.datetime
    end: dt.datetime
    capacity: int
    windows: int  # windows that overlap the period
    peak: int
    peaks: tuple[Span, ...]  # every stretch at the peak (none when nothing is held)
    over: tuple[Span, ...]  # every stretch above capacity, with its highest count
    buckets: tuple[Bucket, ...]

    @property
    def hosts_needed(self) -> int:
        """One meeting per host at a time: the peak is the pool size that never runs out."""
        return self.peak

    @property
    def shortfall(self) -> int:
        return max(0, self.peak - self.capacity)


def seconds(at: dt.datetime) -> int:
    """An aware instant as whole seconds since the epoch (windows are whole minutes)."""
    return (at - EPOCH) // SECOND


def instant(s: int) -> dt.datetime:
    return EPOCH + dt.timedelta(seconds=s)


def steps(windows: Iterable[Window], start: dt.datetime, end: dt.datetime) -> list[Span]:
    """The concurrency over [start, end) as maximal spans of constant count, in order, covering
    the period exactly (an empty period gives none). A window ending when another starts does
    not overlap it (both are half-open), so the count does not blip at that instant."""
    if end <= start:
        return []
    lo, hi = seconds(start), seconds(end)
    ts, cs = _pieces(counts_of(windows), lo, hi)
    return [Span(instant(a), instant(b), c) for a, b, c in zip(ts, [*ts[1:], hi], cs, strict=True)]


Counts = Iterable[tuple[int, int, int]]


def counts_of(windows: Iterable[Window]) -> list[tuple[int, int, int]]:
    """Per instant (epoch seconds): how many windows open and how many close there. What a
    database hands over already grouped (reports/zoom_demand.py), made here from windows.
    Empty windows hold nothing and are left out."""
    opens: dict[int, int] = {}
    closes: dict[int, int] = {}
    for a, b in windows:
        if a < b:
            sa, sb = seconds(a), seconds(b)
            opens[sa] = opens.get(sa, 0) + 1
            closes[sb] = closes.get(sb, 0) + 1
    return [(t, opens.get(t, 0), closes.get(t, 0)) for t in {*opens, *closes}]


def _pieces(counts: Counts, lo: int, hi: int) -> tuple[list[int], list[int]]:
    """The step function over [lo, hi) in seconds: piece k holds `cs[k]` windows from `ts[k]`
    to `ts[k + 1]` (the last to `hi`); neighbours differ. `counts` are of whole windows (each
    opens before it closes), in any order."""
    held = 0  # at lo: opened at or before it, not closed by then
    changes: list[tuple[int, int]] = []
    for t, opened, closed in counts:
        if t <= lo:
            held += opened - closed
        elif t < hi and opened != closed:
            changes.append((t, opened - closed))
    changes.sort()
    ts, cs = [lo], [held]
    for t, delta in changes:
        held += delta
        ts.append(t)
        cs.append(held)
    return ts, cs


def _above(ts: list[int], cs: list[int], hi: int, capacity: int) -> list[tuple[int, int, int]]:
    """The maximal stretches where the count is above `capacity`: (from, to, highest)."""
    out: list[tuple[int, int, int]] = []
    for k, c in enumerate(cs):
        if c <= capacity:
            continue
        a, b = ts[k], ts[k + 1] if k + 1 < len(ts) else hi
        if out and out[-1][1] == a:
            out[-1] = (out[-1][0], b, max(out[-1][2], c))
        else:
            out.append((a, b, c))
    return out


def _buckets(
    ts: list[int], cs: list[int], hi: int, bounds: list[int], capacity: int
) -> list[tuple[int, int]]:
    """Per bucket [bounds[k], bounds[k + 1]): (peak, seconds above `capacity`)."""
    out: list[tuple[int, int]] = []
    n = len(ts)
    j = 0
    for a, b in itertools.pairwise(bounds):
        while j + 1 < n and ts[j + 1] <= a:
            j += 1
        peak, over, k = 0, 0, j
        while k < n and ts[k] < b:
            c = cs[k]
            if c > peak:
                peak = c
            if c > capacity:
                end = ts[k + 1] if k + 1 < n else hi
                over += min(end, b) - max(ts[k], a)
            k += 1
        out.append((peak, over))
    return out


def demand(windows: Iterable[Window], edges: list[dt.datetime], capacity: int) -> Demand:
    """The whole report over [edges[0], edges[-1]), bucketed at `edges` (at least two)."""
    if len(edges) < 2:
        raise ValueError("a period needs at least one bucket")
    start, end = edges[0], edges[-1]
    held = [(a, b) for a, b in windows if a < end and b > start]
    return demand_counts(counts_of(held), len([1 for a, b in held if a < b]), edges, capacity)


def demand_counts(counts: Counts, windows: int, edges: list[dt.datetime], capacity: int) -> Demand:
    """`demand`, from how many windows open and close at each instant (`counts_of`), of the
    `windows` that overlap the period: what a database read groups in its own engine instead of
    handing over 100,000 rows."""
    if len(edges) < 2:
        raise ValueError("a period needs at least one bucket")
    bounds = [seconds(e) for e in edges]
    lo, hi = bounds[0], bounds[-1]
    ts, cs = _pieces(counts, lo, hi)
    peak = max(cs)
    ends_of = [*ts[1:], hi]
    return Demand(
        start=edges[0],
        end=edges[-1],
        capacity=capacity,
        windows=windows,
        peak=peak,
        peaks=tuple(
            Span(instant(a), instant(b), c)
            for a, b, c in zip(ts, ends_of, cs, strict=True)
            if c == peak
        )
        if peak
        else (),
        over=tuple(Span(instant(a), instant(b), c) for a, b, c in _above(ts, cs, hi, capacity)),
        buckets=tuple(
            Bucket(a, b, peak_k, dt.timedelta(seconds=over_k))
            for (a, b), (peak_k, over_k) in zip(
                itertools.pairwise(edges), _buckets(ts, cs, hi, bounds, capacity), strict=True
            )
        ),
    )


def auto_unit(days: int) -> str:
    """Hours for a week or less, days beyond: a bar per bucket stays readable."""
    return "hour" if days <= AUTO_HOURS_UP_TO_DAYS else "day"


def local_midnight(day: dt.date, tz: dt.tzinfo) -> dt.datetime:
    """The UTC instant a day begins in `tz`. Where the clocks skip midnight the day begins at
    the first instant after the gap, which this gives too (zoneinfo reads a skipped wall time
    with the offset before the gap)."""
    return dt.datetime.combine(day, dt.time(), tz).astimezone(dt.UTC)


def edges(first: dt.date, last: dt.date, tz: dt.tzinfo, unit: str) -> list[dt.datetime]:
    """Bucket boundaries (UTC) from the start of `first` to the end of `last` (both included)
    in `tz`: local midnights for days; for hours, every hour from the first midnight (a day
    the clocks change has 23 or 25 of them, as it has on the wall)."""
    if unit not in UNITS:
        raise ValueError(f"unknown bucket {unit!r}")
    if last < first:
        raise ValueError("the period ends before it starts")
    days = [first + dt.timedelta(days=k) for k in range((last - first).days + 2)]
    midnights = [local_midnight(d, tz) for d in days]
    if unit == "day":
        return midnights
    out: list[dt.datetime] = []
    at, end = midnights[0], midnights[-1]
    while at < end:
        out.append(at)
        at += HOUR
    out.append(end)
    return out

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


def steps(windows: Iterable[Window], start: dt.datetime, end: dt.datetime) -> list[Span]:
    """The concurrency over [start, end) as maximal spans of constant count, in order, covering
    the period exactly (an empty period gives none). A window ending when another starts does
    not overlap it (both are half-open), so the count does not blip at that instant."""
    if end <= start:
        return []
    opens: list[dt.datetime] = []
    closes: list[dt.datetime] = []
    for a, b in windows:
        if a < end and b > start and a < b:
            opens.append(a if a > start else start)
            closes.append(b if b < end else end)
    opens.sort()
    closes.sort()
    out: list[Span] = []
    count = 0
    at = start
    i = j = 0
    n = len(opens)
    while j < n:  # every window closes at or before `end`, after it opens
        nxt = opens[i] if i < n and opens[i] < closes[j] else closes[j]
        if nxt > at:
            _append(out, at, nxt, count)
            at = nxt
        while i < n and opens[i] == at:
            count += 1
            i += 1
        while j < n and closes[j] == at:
            count -= 1
            j += 1
    if at < end:
        _append(out, at, end, count)
    return out


def _append(out: list[Span], a: dt.datetime, b: dt.datetime, count: int) -> None:
    if out and out[-1].count == count:  # an end and a start at one instant: no change
        out[-1] = Span(out[-1].start, b, count)
    else:
        out.append(Span(a, b, count))


def above(spans: list[Span], capacity: int) -> list[Span]:
    """The maximal stretches where the count is above `capacity`, each with its highest count."""
    out: list[Span] = []
    for s in spans:
        if s.count <= capacity:
            continue
        if out and out[-1].end == s.start:
            last = out[-1]
            out[-1] = Span(last.start, s.end, max(last.count, s.count))
        else:
            out.append(s)
    return out


def buckets(spans: list[Span], edges: list[dt.datetime], capacity: int) -> list[Bucket]:
    """Per bucket [edges[k], edges[k+1]): its peak and its time above `capacity`. The spans
    must cover [edges[0], edges[-1]) in order (as `steps` gives them)."""
    out: list[Bucket] = []
    j = 0
    zero = dt.timedelta(0)
    for a, b in itertools.pairwise(edges):
        while j < len(spans) and spans[j].end <= a:
            j += 1
        peak, over, k = 0, zero, j
        while k < len(spans) and spans[k].start < b:
            s = spans[k]
            peak = max(peak, s.count)
            if s.count > capacity:
                over += min(s.end, b) - max(s.start, a)
            k += 1
        out.append(Bucket(a, b, peak, over))
    return out


def demand(windows: Iterable[Window], edges: list[dt.datetime], capacity: int) -> Demand:
    """The whole report over [edges[0], edges[-1]), bucketed at `edges` (at least two)."""
    if len(edges) < 2:
        raise ValueError("a period needs at least one bucket")
    start, end = edges[0], edges[-1]
    held = [(a, b) for a, b in windows if a < end and b > start and a < b]
    spans = steps(held, start, end)
    peak = max((s.count for s in spans), default=0)
    return Demand(
        start=start,
        end=end,
        capacity=capacity,
        windows=len(held),
        peak=peak,
        peaks=tuple(s for s in spans if s.count == peak) if peak else (),
        over=tuple(above(spans, capacity)),
        buckets=tuple(buckets(spans, edges, capacity)),
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

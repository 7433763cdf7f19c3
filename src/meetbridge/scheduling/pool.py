"""Choosing a host from a pool of shared Zoom users for a window, or for a whole series.

The rules (the requests module relies on every one):

- **Windows.** Every window here is a *held* window: a meeting's [start - lead, end + padding)
  (requests/hosting.py), for the one wanted as for the busy ones, which the caller has widened
  already. A host is busy for a window when one of its held windows overlaps it (half-open:
  windows that only touch do not; an empty one overlaps nothing), so two meetings on one host
  are at least lead + padding apart: Zoom runs one meeting per host at a time.
- **Daily limit.** Zoom counts each host's meeting creates and updates per UTC day *of the
  call* (reset at 00:00 UTC), `DAILY_LIMIT` a day; a host that has used them today is skipped.
- **Flags.** A host the caller flags (`Host.flag`: "deactivated", "unlicensed (Basic)", ...)
  is skipped with that reason.
- **One window** (`choose`): the hosts are tried in the caller's order (shuffled by the caller,
  so no host is everyone's first); the first that is neither flagged, busy nor at the limit is
  chosen, and every host tried before it is listed with why it was skipped.
- **A series** (`plan_series`): occurrences are placed one by one in order of their windows
  (ties in the order given); for each, among the hosts free for it, the one with the earliest
  day it can be created on, then the fewest creates counted that day (the day's earlier
  creates, `daily_used`, and the plan's own), then the caller's order. A create is made today
  or, when a host's day is full, on a later UTC day before the day its window starts (so the
  meeting exists before its host link opens), never past `last_create_day`. Each placement
  counts against its host's day and holds its window on the host for the occurrences after it:
  a plan never puts two overlapping windows on one host, nor more than the limit on a host's
  day. An occurrence no host can take gets None and, for every host, why.

Speed: `Busy` sorts each host's windows once (build it once per read: 100,000 windows take
~0.1 s) and keeps the running maximum of their ends, so whether a host is busy for a window,
and with which window first, is two bisections: a few microseconds per host asked, ~1 ms when
199 of 200 hosts holding 100,000 windows are busy. `plan_series` asks every host for every
occurrence (to find the least loaded) and writes reasons only for occurrences left unplaced.
"""

from __future__ import annotations

import bisect
import datetime as dt
import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from .intervals import Interval

DAILY_LIMIT = 100  # Zoom's meeting creates + updates per host per UTC day
_ONE_DAY = dt.timedelta(days=1)


@dataclass(frozen=True)
class Host:
    host_id: str
    # Why the account says this user cannot host now ("deactivated", "unlicensed (Basic)");
    # empty when it can.
    flag: str = ""


@dataclass(frozen=True)
class Skip:
    host_id: str
    reason: str  # for people: "busy: 2027-03-01 09:45 to 11:15 UTC", "at Zoom's 100 a day", ...
    conflict: Interval | None = None  # the held window that keeps the host busy, if that is why


@dataclass(frozen=True)
class Choice:
    host_id: str | None  # None: no host is free
    skipped: tuple[Skip, ...]  # the hosts tried before it (all of them when none is free)


@dataclass(frozen=True)
class Placement:
    window: Interval
    host_id: str | None  # None: no host could take it; `skipped` says why for each
    create_on: dt.date | None  # the UTC day its create is counted on
    skipped: tuple[Skip, ...] = ()


def describe(window: Interval) -> str:
    """A held window for people, in UTC: "2027-03-01 09:45 to 11:15 UTC"."""
    # isoformat, not strftime: a choice writes one of these per host skipped.
    start = window.start.astimezone(dt.UTC).isoformat(" ", "minutes")[:16]
    end = window.end.astimezone(dt.UTC).isoformat(" ", "minutes")[:16]
    if start[:10] == end[:10]:
        return f"{start} to {end[11:]} UTC"
    return f"{start} to {end} UTC"


def _bounds(window: Interval) -> tuple[dt.datetime, dt.datetime]:
    return window.start, window.end


def _at_limit(limit: int) -> str:
    return f"at Zoom's {limit} a day"


class Busy:
    """Each host's held windows, sorted once: build it once per read, ask it many times."""

    def __init__(self, windows: Mapping[str, Iterable[Interval]]) -> None:
        self._hosts: dict[str, tuple[list[dt.datetime], list[dt.datetime], list[Interval]]] = {}
        for host_id, held in windows.items():
            # Sorted on (start, end) tuples: the dataclass's own ordering is far slower.
            kept = sorted((w for w in held if not w.empty), key=_bounds)
            if not kept:
                continue
            starts = [w.start for w in kept]
            # reach[k]: the latest end among the first k + 1 windows, non-decreasing, so the
            # first window ending after a given instant is found by bisection.
            reach = list(itertools.accumulate((w.end for w in kept), max))
            self._hosts[host_id] = (starts, reach, kept)

    def conflict(self, host_id: str, window: Interval) -> Interval | None:
        """The first (by start, then end) of the host's windows that overlaps `window`."""
        entry = self._hosts.get(host_id)
        if entry is None or window.empty:
            return None
        starts, reach, kept = entry
        # Windows starting before window.end; among them the first whose end is after its start.
        before = bisect.bisect_left(starts, window.end)
        first = bisect.bisect_right(reach, window.start, 0, before)
        return kept[first] if first < before else None

    def __len__(self) -> int:
        return sum(len(entry[2]) for entry in self._hosts.values())


def _check_hosts(hosts: Sequence[Host]) -> None:
    ids = [h.host_id for h in hosts]
    if len(set(ids)) != len(ids):
        raise ValueError("hosts are listed once each")


def _check_window(window: Interval) -> None:
    if window.empty:
        raise ValueError("a window lasts some time")


def choose(
    window: Interval,
    hosts: Sequence[Host],
    busy: Busy | Mapping[str, Iterable[Interval]],
    used_today: Mapping[str, int],
    limit: int = DAILY_LIMIT,
) -> Choice:
    """The first host of `hosts` (in the caller's order) free for the held `window`, with every
    host skipped before it and why. `used_today`: each host's creates and updates counted today
    (UTC); a host missing from it has used none."""
    _check_window(window)
    _check_hosts(hosts)
    index = busy if isinstance(busy, Busy) else Busy(busy)
    skipped: list[Skip] = []
    for host in hosts:
        if host.flag:
            skipped.append(Skip(host.host_id, host.flag))
            continue
        clash = index.conflict(host.host_id, window)
        if clash is not None:
            skipped.append(Skip(host.host_id, f"busy: {describe(clash)}", clash))
            continue
        if used_today.get(host.host_id, 0) >= limit:
            skipped.append(Skip(host.host_id, _at_limit(limit)))
            continue
        return Choice(host.host_id, tuple(skipped))
    return Choice(None, tuple(skipped))


class _Own:
    """The windows a plan has put on one host: never overlapping each other, so sorted by start
    they are sorted by end too."""

    def __init__(self) -> None:
        self.starts: list[dt.datetime] = []
        self.windows: list[tuple[Interval, int]] = []  # (window, index of its occurrence)

    def conflict(self, window: Interval) -> tuple[Interval, int] | None:
        k = bisect.bisect_left(self.starts, window.end)
        if k and self.windows[k - 1][0].end > window.start:
            return self.windows[k - 1]
        return None

    def add(self, window: Interval, occurrence: int) -> None:
        k = bisect.bisect_left(self.starts, window.start)
        self.starts.insert(k, window.start)
        self.windows.insert(k, (window, occurrence))


def _skip(refused: tuple[str, str, Interval | None, int | None], limit: int) -> Skip:
    host_id, flag, clash, occurrence = refused
    if flag:
        return Skip(host_id, flag)
    if clash is None:
        return Skip(host_id, _at_limit(limit))
    if occurrence is None:
        return Skip(host_id, f"busy: {describe(clash)}", clash)
    return Skip(
        host_id, f"busy: {describe(clash)} (occurrence {occurrence + 1} of this series)", clash
    )


def plan_series(
    occurrences: Sequence[Interval],
    hosts: Sequence[Host],
    busy: Busy | Mapping[str, Iterable[Interval]],
    daily_used: Mapping[str, Mapping[dt.date, int]],
    limit: int = DAILY_LIMIT,
    *,
    today: dt.date,
    last_create_day: dt.date | None = None,
) -> list[Placement]:
    """A host and a create day for each held window of `occurrences` (in their order), by the
    module's rules. `daily_used`: each host's creates and updates already counted per UTC day
    (today's, and any later day's that other plans have booked); `today` is the UTC day now."""
    for w in occurrences:
        _check_window(w)
    _check_hosts(hosts)
    if last_create_day is not None and last_create_day < today:
        raise ValueError("the last day to create on is before today")
    index = busy if isinstance(busy, Busy) else Busy(busy)
    own = {h.host_id: _Own() for h in hosts}
    planned: dict[str, dict[dt.date, int]] = {h.host_id: {} for h in hosts}
    position = {h.host_id: k for k, h in enumerate(hosts)}

    def used(host_id: str, day: dt.date) -> int:
        return daily_used.get(host_id, {}).get(day, 0) + planned[host_id].get(day, 0)

    # The earliest day with room, per host: days only fill up, so it never moves back.
    first_room = {h.host_id: today for h in hosts}

    def room_day(host_id: str, deadline: dt.date) -> dt.date | None:
        day = first_room[host_id]
        while used(host_id, day) >= limit and day < deadline:
            day += _ONE_DAY
        first_room[host_id] = day
        return day if used(host_id, day) < limit else None

    out: list[Placement | None] = [None] * len(occurrences)
    order = sorted(range(len(occurrences)), key=lambda k: (occurrences[k], k))
    for k in order:
        window = occurrences[k]
        # Today, or a day before the window's first UTC day; not past last_create_day.
        deadline = max(today, window.start.astimezone(dt.UTC).date() - _ONE_DAY)
        if last_create_day is not None:
            deadline = min(deadline, last_create_day)
        best: tuple[dt.date, int, int, str] | None = None
        # Why each host cannot take it, as (host, flag, conflict, its occurrence): written out
        # only when no host can (most occurrences find one, and the text is most of the cost).
        refused: list[tuple[str, str, Interval | None, int | None]] = []
        for host in hosts:
            name = host.host_id
            if host.flag:
                refused.append((name, host.flag, None, None))
                continue
            clash = index.conflict(name, window)
            if clash is not None:
                refused.append((name, "", clash, None))
                continue
            mine = own[name].conflict(window)
            if mine is not None:
                refused.append((name, "", *mine))
                continue
            day = room_day(name, deadline)
            if day is None:
                refused.append((name, "", None, None))
                continue
            key = (day, used(name, day), position[name], name)
            if best is None or key < best:
                best = key
        if best is None:
            out[k] = Placement(window, None, None, tuple(_skip(r, limit) for r in refused))
            continue
        day, _, _, name = best
        own[name].add(window, k)
        planned[name][day] = planned[name].get(day, 0) + 1
        out[k] = Placement(window, name, day)
    return [p for p in out if p is not None]

"""Concurrent windows (scheduling/demand.py) against a brute-force count minute by minute: the
windows' ends are whole minutes, so counting at every minute sees every change."""

from __future__ import annotations

import datetime as dt
import itertools
import zoneinfo

from hypothesis import given, settings
from hypothesis import strategies as st

from meetbridge.scheduling.demand import (
    Span,
    auto_unit,
    demand,
    edges,
    local_midnight,
    steps,
)

UTC = dt.UTC
MIN = dt.timedelta(minutes=1)
BASE = dt.datetime(2026, 3, 28, tzinfo=UTC)  # the weekend Europe's clocks go forward
HORIZON = 3 * 24 * 60  # minutes the generated windows and periods live in


def at(minute: int) -> dt.datetime:
    return BASE + minute * MIN


def brute(windows: list[tuple[int, int]], minute: int) -> int:
    return sum(1 for a, b in windows if a <= minute < b)


def runs(counts: dict[int, int], keep: object) -> list[tuple[int, int, int]]:
    """Maximal runs of consecutive minutes whose count passes `keep`: (first, end, max)."""
    out: list[tuple[int, int, int]] = []
    for m in sorted(counts):
        c = counts[m]
        if not keep(c):  # type: ignore[operator]
            continue
        if out and out[-1][1] == m:
            a, _, top = out[-1]
            out[-1] = (a, m + 1, max(top, c))
        else:
            out.append((m, m + 1, c))
    return out


windows_st = st.lists(
    st.tuples(st.integers(-300, HORIZON), st.integers(0, 600)).map(lambda t: (t[0], t[0] + t[1])),
    max_size=40,
)


@settings(max_examples=300, deadline=None)
@given(
    windows=windows_st,
    period=st.tuples(st.integers(0, HORIZON - 1), st.integers(1, HORIZON)),
    capacity=st.integers(0, 6),
    cuts=st.lists(st.integers(1, HORIZON), max_size=8),
)
def test_the_sweep_matches_a_count_at_every_minute(
    windows: list[tuple[int, int]],
    period: tuple[int, int],
    capacity: int,
    cuts: list[int],
) -> None:
    lo, length = period
    hi = lo + length
    inner = sorted({c for c in cuts if lo < lo + c < hi})
    bounds = [lo, *(lo + c for c in inner), hi]
    got = demand([(at(a), at(b)) for a, b in windows], [at(m) for m in bounds], capacity)
    counts = {m: brute(windows, m) for m in range(lo, hi)}

    # The step function: covers the period, in order, no two neighbours with one count.
    spans = steps([(at(a), at(b)) for a, b in windows], at(lo), at(hi))
    assert spans[0].start == at(lo) and spans[-1].end == at(hi)
    for x, y in itertools.pairwise(spans):
        assert x.end == y.start and x.count != y.count
    for s in spans:
        for m in range(int((s.start - BASE) / MIN), int((s.end - BASE) / MIN)):
            assert counts[m] == s.count

    peak = max(counts.values())
    assert got.peak == got.hosts_needed == peak
    assert got.shortfall == max(0, peak - capacity)
    assert got.windows == sum(1 for a, b in windows if a < hi and b > lo and a < b)
    expect_peaks = runs(counts, lambda c: c == peak) if peak else []
    assert [(s.start, s.end, s.count) for s in got.peaks] == [
        (at(a), at(b), c) for a, b, c in expect_peaks
    ]
    assert [(s.start, s.end, s.count) for s in got.over] == [
        (at(a), at(b), c) for a, b, c in runs(counts, lambda c: c > capacity)
    ]
    assert [(b.start, b.end) for b in got.buckets] == [
        (at(a), at(b)) for a, b in itertools.pairwise(bounds)
    ]
    for bucket, (a, b) in zip(got.buckets, itertools.pairwise(bounds), strict=True):
        assert bucket.peak == max(counts[m] for m in range(a, b))
        assert bucket.over == MIN * sum(1 for m in range(a, b) if counts[m] > capacity)


def test_back_to_back_windows_do_not_overlap() -> None:
    # One host can take the next meeting the minute the last one's padding ends.
    got = demand([(at(0), at(60)), (at(60), at(120))], [at(0), at(120)], capacity=1)
    assert got.peak == 1 and got.over == ()
    assert got.peaks == (Span(at(0), at(120), 1),)


def test_three_at_once_over_a_pool_of_two() -> None:
    ws = [(at(0), at(90)), (at(30), at(60)), (at(45), at(120)), (at(200), at(230))]
    got = demand(ws, [at(0), at(60), at(240)], capacity=2)
    assert got.peak == 3 and got.shortfall == 1
    assert got.peaks == (Span(at(45), at(60), 3),)
    assert got.over == (Span(at(45), at(60), 3),)
    assert [b.peak for b in got.buckets] == [3, 2]
    assert got.buckets[0].over == 15 * MIN and got.buckets[1].over == dt.timedelta(0)


def test_windows_outside_the_period_are_not_counted() -> None:
    ws = [(at(-100), at(0)), (at(120), at(200)), (at(-10), at(10))]
    got = demand(ws, [at(0), at(120)], capacity=0)
    assert got.windows == 1 and got.peak == 1
    assert got.over == (Span(at(0), at(10), 1),)


def test_nothing_held() -> None:
    got = demand([], [at(0), at(60)], capacity=3)
    assert got.peak == 0 and got.peaks == () and got.over == ()
    assert [b.peak for b in got.buckets] == [0]


def test_days_and_hours_follow_the_wall_clock_of_the_zone() -> None:
    paris = zoneinfo.ZoneInfo("Europe/Paris")
    day = edges(dt.date(2026, 3, 29), dt.date(2026, 3, 29), paris, "day")
    assert day == [
        dt.datetime(2026, 3, 28, 23, tzinfo=UTC),
        dt.datetime(2026, 3, 29, 22, tzinfo=UTC),  # a 23-hour day
    ]
    hours = edges(dt.date(2026, 3, 29), dt.date(2026, 3, 29), paris, "hour")
    assert len(hours) == 24  # 23 buckets
    assert [h.astimezone(paris).hour for h in hours[:4]] == [0, 1, 3, 4]
    autumn = edges(dt.date(2026, 10, 25), dt.date(2026, 10, 25), paris, "hour")
    assert len(autumn) == 26  # 25 buckets
    kolkata = zoneinfo.ZoneInfo("Asia/Kolkata")
    assert edges(dt.date(2026, 1, 1), dt.date(2026, 1, 2), kolkata, "day") == [
        dt.datetime(2025, 12, 31, 18, 30, tzinfo=UTC),
        dt.datetime(2026, 1, 1, 18, 30, tzinfo=UTC),
        dt.datetime(2026, 1, 2, 18, 30, tzinfo=UTC),
    ]


def test_a_day_whose_midnight_the_clocks_skip_starts_after_the_gap() -> None:
    # Chile moved its clocks forward at midnight on 2026-09-06 (00:00 → 01:00).
    santiago = zoneinfo.ZoneInfo("America/Santiago")
    start = local_midnight(dt.date(2026, 9, 6), santiago)
    assert start.astimezone(santiago).replace(tzinfo=None) == dt.datetime(2026, 9, 6, 1)
    days = edges(dt.date(2026, 9, 5), dt.date(2026, 9, 7), santiago, "day")
    assert days == sorted(days) and len(set(days)) == 4


def test_the_bucket_follows_the_period_length() -> None:
    assert auto_unit(1) == auto_unit(7) == "hour"
    assert auto_unit(8) == auto_unit(366) == "day"

"""Choosing pool hosts: each rule of scheduling/pool.py on its own, then choose and plan_series
against a literal reading (every host against every window, one by one), and the speed of a
choice among 200 hosts holding 100,000 windows."""

from __future__ import annotations

import datetime as dt
import random
import statistics
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from meetbridge.scheduling.intervals import Interval
from meetbridge.scheduling.pool import (
    DAILY_LIMIT,
    Busy,
    Choice,
    Host,
    Placement,
    Skip,
    choose,
    describe,
    plan_series,
)

UTC = dt.UTC
TODAY = dt.date(2027, 3, 1)
MIN = dt.timedelta(minutes=1)


def at(day: int, hour: int, minute: int = 0, month: int = 3) -> dt.datetime:
    return dt.datetime(2027, month, day, hour, minute, tzinfo=UTC)


def w(day: int, h0: int, h1: int, month: int = 3) -> Interval:
    return Interval(at(day, h0, month=month), at(day, h1, month=month))


HOSTS = [Host("a"), Host("b"), Host("c")]


def test_the_first_free_host_in_the_callers_order_and_why_the_others_were_skipped() -> None:
    busy = {"a": [w(2, 9, 11)], "b": [w(2, 11, 13)]}
    choice = choose(w(2, 10, 12), HOSTS, busy, {})
    assert choice == Choice(
        "c",
        (
            Skip("a", "busy: 2027-03-02 09:00 to 11:00 UTC", w(2, 9, 11)),
            Skip("b", "busy: 2027-03-02 11:00 to 13:00 UTC", w(2, 11, 13)),
        ),
    )
    # Another order (the caller shuffles): another host.
    assert choose(w(2, 10, 12), [Host("c"), Host("a")], busy, {}) == Choice("c", ())


def test_touching_windows_do_not_conflict_and_empty_ones_never_do() -> None:
    busy = {"a": [w(2, 9, 10), w(2, 12, 13), Interval(at(2, 11), at(2, 11))]}
    assert choose(w(2, 10, 12), HOSTS, busy, {}) == Choice("a", ())


def test_a_host_at_zooms_daily_limit_is_skipped() -> None:
    choice = choose(w(2, 10, 12), HOSTS, {}, {"a": DAILY_LIMIT, "b": DAILY_LIMIT - 1})
    assert choice == Choice("b", (Skip("a", "at Zoom's 100 a day"),))


def test_flagged_hosts_are_skipped_with_their_flag() -> None:
    hosts = [Host("a", "deactivated"), Host("b", "unlicensed (Basic)"), Host("c")]
    choice = choose(w(2, 10, 12), hosts, {}, {})
    assert choice == Choice("c", (Skip("a", "deactivated"), Skip("b", "unlicensed (Basic)")))


def test_no_free_host_lists_every_host() -> None:
    busy = {"a": [w(2, 0, 23)], "c": [Interval(at(1, 23), at(2, 10, 30))]}
    choice = choose(w(2, 10, 12), HOSTS, busy, {"b": 100})
    assert choice == Choice(
        None,
        (
            Skip("a", "busy: 2027-03-02 00:00 to 23:00 UTC", w(2, 0, 23)),
            Skip("b", "at Zoom's 100 a day"),
            Skip("c", "busy: 2027-03-01 23:00 to 2027-03-02 10:30 UTC", busy["c"][0]),
        ),
    )


def test_the_conflict_named_is_the_first_overlapping_window_even_behind_a_long_one() -> None:
    # A long window starting early reaches past shorter ones that end before the wanted one.
    long_one = Interval(at(1, 0), at(3, 0))
    busy = Busy({"a": [w(1, 1, 2), long_one, w(2, 3, 4), w(2, 11, 12)]})
    assert busy.conflict("a", w(2, 10, 12)) == long_one
    assert busy.conflict("a", Interval(at(3, 0), at(3, 5))) is None
    assert len(busy) == 4


def test_describe_is_utc() -> None:
    paris = dt.timezone(dt.timedelta(hours=1))
    window = Interval(
        dt.datetime(2027, 3, 2, 10, 0, tzinfo=paris), dt.datetime(2027, 3, 2, 11, 0, tzinfo=paris)
    )
    assert describe(window) == "2027-03-02 09:00 to 10:00 UTC"


def test_bad_calls_are_refused() -> None:
    with pytest.raises(ValueError, match="once each"):
        choose(w(2, 10, 12), [Host("a"), Host("a")], {}, {})
    with pytest.raises(ValueError, match="some time"):
        choose(Interval(at(2, 10), at(2, 10)), HOSTS, {}, {})
    with pytest.raises(ValueError, match="before today"):
        plan_series(
            [w(2, 10, 12)], HOSTS, {}, {}, today=TODAY, last_create_day=TODAY - dt.timedelta(days=1)
        )


# --- a series ---------------------------------------------------------------------------------


def weekly(n: int, hour: int = 9) -> list[Interval]:
    return [Interval.lasting(at(2, hour) + dt.timedelta(weeks=k), 60) for k in range(n)]


def test_a_series_is_spread_over_the_hosts() -> None:
    plan = plan_series(weekly(9), HOSTS, {}, {}, today=TODAY)
    assert [p.host_id for p in plan] == ["a", "b", "c"] * 3
    assert {p.create_on for p in plan} == {TODAY}


def test_the_creates_already_counted_today_weigh_in() -> None:
    plan = plan_series(weekly(14), HOSTS, {}, {"a": {TODAY: 50}, "b": {TODAY: 10}}, today=TODAY)
    # c takes ten to reach b's 10 today, then they alternate (b first: the caller's order).
    assert [p.host_id for p in plan] == ["c"] * 10 + ["b", "c", "b", "c"]


def test_overlapping_occurrences_go_to_different_hosts_and_busy_ones_are_avoided() -> None:
    same_time = [w(2, 9, 10)] * 3 + [w(2, 9, 10)]
    plan = plan_series(same_time, HOSTS, {"b": [w(2, 8, 12)]}, {}, today=TODAY)
    assert [p.host_id for p in plan] == ["a", "c", None, None]
    assert plan[2].skipped == (
        Skip("a", "busy: 2027-03-02 09:00 to 10:00 UTC (occurrence 1 of this series)", w(2, 9, 10)),
        Skip("b", "busy: 2027-03-02 08:00 to 12:00 UTC", w(2, 8, 12)),
        Skip("c", "busy: 2027-03-02 09:00 to 10:00 UTC (occurrence 2 of this series)", w(2, 9, 10)),
    )


def test_a_full_day_moves_creates_to_a_later_day_before_the_window_but_never_past_the_last() -> (
    None
):
    one = [Host("a")]
    series = [w(10, 9, 10), w(11, 9, 10), w(12, 9, 10)]
    plan = plan_series(series, one, {}, {"a": {TODAY: 99}}, today=TODAY, limit=100)
    assert [(p.host_id, p.create_on) for p in plan] == [
        ("a", TODAY),
        ("a", TODAY + dt.timedelta(days=1)),
        ("a", TODAY + dt.timedelta(days=1)),
    ]
    capped = plan_series(series, one, {}, {"a": {TODAY: 99}}, today=TODAY, last_create_day=TODAY)
    assert [p.host_id for p in capped] == ["a", None, None]
    assert capped[1].skipped == (Skip("a", "at Zoom's 100 a day"),)
    # A window tomorrow can be created only today.
    soon = plan_series([w(2, 9, 10)], one, {}, {"a": {TODAY: 100}}, today=TODAY)
    assert soon == [Placement(w(2, 9, 10), None, None, (Skip("a", "at Zoom's 100 a day"),))]


# --- the literal reading ------------------------------------------------------------------------

HOUR = dt.timedelta(hours=1)
BASE = dt.datetime(2027, 3, 1, tzinfo=UTC)


@st.composite
def windows(draw: st.DrawFn, max_size: int) -> list[Interval]:
    out = []
    for _ in range(draw(st.integers(0, max_size))):
        start = BASE + draw(st.integers(0, 24 * 8)) * HOUR / 2
        out.append(Interval(start, start + draw(st.integers(0, 8)) * HOUR / 2))
    return out


@st.composite
def pools(
    draw: st.DrawFn,
) -> tuple[list[Host], dict[str, list[Interval]], dict[str, dict[dt.date, int]], int]:
    n = draw(st.integers(1, 5))
    hosts = [
        Host(f"h{k}", draw(st.sampled_from(["", "", "", "", "deactivated"]))) for k in range(n)
    ]
    busy = {h.host_id: draw(windows(6)) for h in hosts}
    limit = draw(st.integers(1, 4))
    days = [TODAY + dt.timedelta(days=k) for k in range(4)]
    used = {
        h.host_id: {d: draw(st.integers(0, limit + 1)) for d in days if draw(st.booleans())}
        for h in hosts
    }
    return hosts, busy, used, limit


def literal_conflict(busy: list[Interval], window: Interval) -> Interval | None:
    clashes = [b for b in busy if b.overlaps(window)]
    return min(clashes) if clashes else None


@settings(max_examples=300, deadline=None)
@given(pool=pools(), window=windows(1).filter(lambda ws: bool(ws) and not ws[0].empty))
def test_choose_is_the_literal_reading(
    pool: tuple[list[Host], dict[str, list[Interval]], dict[str, dict[dt.date, int]], int],
    window: list[Interval],
) -> None:
    hosts, busy, used, limit = pool
    today = {h: d.get(TODAY, 0) for h, d in used.items()}
    wanted = window[0]
    expected: list[Skip] = []
    chosen = None
    for h in hosts:
        clash = literal_conflict(busy[h.host_id], wanted)
        if h.flag:
            expected.append(Skip(h.host_id, h.flag))
        elif clash is not None:
            expected.append(Skip(h.host_id, f"busy: {describe(clash)}", clash))
        elif today[h.host_id] >= limit:
            expected.append(Skip(h.host_id, f"at Zoom's {limit} a day"))
        else:
            chosen = h.host_id
            break
    assert choose(wanted, hosts, busy, today, limit) == Choice(chosen, tuple(expected))


@settings(max_examples=300, deadline=None)
@given(
    pool=pools(),
    series=windows(12).map(lambda ws: [x for x in ws if not x.empty]),
    capped=st.booleans(),
)
def test_a_plan_keeps_every_rule(
    pool: tuple[list[Host], dict[str, list[Interval]], dict[str, dict[dt.date, int]], int],
    series: list[Interval],
    capped: bool,
) -> None:
    hosts, busy, used, limit = pool
    last = TODAY + dt.timedelta(days=1) if capped else None
    plan = plan_series(series, hosts, busy, used, limit, today=TODAY, last_create_day=last)
    assert [p.window for p in plan] == series
    by_id = {h.host_id: h for h in hosts}
    placed: dict[str, list[Interval]] = {h.host_id: [] for h in hosts}
    planned: dict[tuple[str, dt.date], int] = {}
    for p in plan:
        if p.host_id is None:
            continue
        assert p.create_on is not None and not p.skipped
        assert not by_id[p.host_id].flag
        # Created today or before the window's UTC day, never past the last day allowed.
        assert p.create_on >= TODAY
        assert p.create_on == TODAY or p.create_on < p.window.start.date()
        assert last is None or p.create_on <= last
        placed[p.host_id].append(p.window)
        planned[(p.host_id, p.create_on)] = planned.get((p.host_id, p.create_on), 0) + 1
    for host_id, mine in placed.items():
        # Never two overlapping windows on one host: the plan's own, nor with what it held.
        for i, a in enumerate(mine):
            assert literal_conflict(busy[host_id], a) is None
            assert not any(a.overlaps(b) for b in mine[i + 1 :])
    for (host_id, day), count in planned.items():
        # Never over the limit on a day the plan adds to.
        assert used[host_id].get(day, 0) + count <= limit
    for p in plan:
        if p.host_id is not None:
            continue
        # Really no free host, even at the end of the plan, and each host says why truly.
        assert [s.host_id for s in p.skipped] == [h.host_id for h in hosts]
        deadline = max(TODAY, p.window.start.date() - dt.timedelta(days=1))
        if last is not None:
            deadline = min(deadline, last)
        for s in p.skipped:
            h = by_id[s.host_id]
            if s.reason == h.flag and h.flag:
                continue
            if s.reason.startswith("busy"):
                assert s.conflict is not None and s.conflict.overlaps(p.window)
                assert s.conflict in busy[h.host_id] or s.conflict in placed[h.host_id]
                continue
            assert s.reason == f"at Zoom's {limit} a day"
            day = TODAY
            while day <= deadline:
                assert used[h.host_id].get(day, 0) + planned.get((h.host_id, day), 0) >= limit
                day += dt.timedelta(days=1)


@settings(max_examples=100, deadline=None)
@given(n=st.integers(1, 60), hosts=st.integers(1, 8))
def test_free_hosts_share_a_series_evenly(n: int, hosts: int) -> None:
    pool = [Host(f"h{k}") for k in range(hosts)]
    plan = plan_series(weekly(n), pool, {}, {}, today=TODAY)
    counts = [sum(p.host_id == h.host_id for p in plan) for h in pool]
    assert max(counts) - min(counts) <= 1 and sum(counts) == n


# --- speed ------------------------------------------------------------------------------------


def test_choosing_among_200_hosts_holding_100000_windows_is_well_under_5_ms() -> None:
    rng = random.Random(18)
    hosts = [Host(f"host{k:03d}@example.com") for k in range(200)]
    year = dt.datetime(2027, 1, 1, tzinfo=UTC)
    busy: dict[str, list[Interval]] = {h.host_id: [] for h in hosts}
    for k in range(100_000):
        start = year + dt.timedelta(minutes=15 * rng.randrange(4 * 24 * 365))
        busy[hosts[k % 200].host_id].append(Interval.lasting(start, rng.choice([45, 75, 105])))
    index = Busy(busy)
    assert len(index) == 100_000
    # The worst case: every host but the last is busy, and each is asked.
    wanted = Interval.lasting(dt.datetime(2027, 6, 1, 10, tzinfo=UTC), 90)
    for h in hosts[:-1]:
        busy[h.host_id].append(wanted)
    index = Busy(busy)
    used = {h.host_id: 0 for h in hosts}
    times = []
    for _ in range(50):
        t0 = time.perf_counter()
        choice = choose(wanted, hosts, index, used)
        times.append(time.perf_counter() - t0)
    assert choice.host_id == hosts[-1].host_id and len(choice.skipped) == 199
    assert statistics.median(times) < 0.005, times

"""Round-robin fairness: who takes a booking among the members free for it."""

from __future__ import annotations

import datetime as dt
import random
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from meetbridge.scheduling.assign import Candidate, pick

UTC = dt.UTC


def at(day: int) -> dt.datetime:
    return dt.datetime(2026, 11, day, 15, tzinfo=UTC)


def test_the_highest_priority_tier_goes_first_whatever_its_load() -> None:
    chosen = pick(
        [Candidate("low", priority=0), Candidate("high", priority=2, booked_this_month=40)]
    )
    assert chosen.member_id == "high"
    assert chosen.reason.startswith("round-robin: highest priority tier (2): 1 of 2 free members")


def test_inside_a_tier_the_fewest_bookings_per_weight() -> None:
    chosen = pick(
        [
            Candidate("a", booked_this_month=3),  # 3 per weight
            Candidate("b", weight=2, booked_this_month=4),  # 2 per weight
            Candidate("c", priority=-1),
        ]
    )
    assert chosen.member_id == "b"
    assert "4 bookings this month at weight 2 (2.0 per weight), fewest" in chosen.reason


def test_a_tie_goes_to_the_least_recently_booked_and_never_booked_first() -> None:
    tied = [
        Candidate("a", booked_this_month=2, last_booked_at=at(20)),
        Candidate("b", booked_this_month=2, last_booked_at=at(10)),
    ]
    chosen = pick(tied)
    assert chosen.member_id == "b"
    assert chosen.reason == (
        "round-robin: 2 free members, all in priority tier 0; 2 bookings this month at weight 1 "
        "(2.0 per weight), tied for fewest with 1; least recently booked 2026-11-10 15:00 UTC"
    )
    assert pick([*tied, Candidate("new", booked_this_month=2)]).member_id == "new"


def test_equal_loads_compare_exactly_and_the_last_tie_goes_by_id() -> None:
    # 1/3 and 2/6 are the same load; same recency; so the lower id.
    chosen = pick(
        [
            Candidate("z", weight=3, booked_this_month=1),
            Candidate("y", weight=6, booked_this_month=2),
        ]
    )
    assert chosen.member_id == "y"
    assert chosen.reason.endswith("never booked; then by member id")


def test_one_candidate() -> None:
    assert pick([Candidate("only")]).reason == (
        "round-robin: the only free member; 0 bookings this month at weight 1 (0.0 per weight)"
    )


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValueError, match="no free member"):
        pick([])
    with pytest.raises(ValueError, match="once each"):
        pick([Candidate("a"), Candidate("a")])
    with pytest.raises(ValueError, match="weight"):
        Candidate("a", weight=0)
    with pytest.raises(ValueError, match="negative"):
        Candidate("a", booked_this_month=-1)
    with pytest.raises(ValueError, match="aware"):
        Candidate("a", last_booked_at=dt.datetime(2026, 11, 1))


def _book(
    weights: list[int], bookings: int, available: list[list[bool]] | None = None
) -> list[int]:
    """Books `bookings` times in a row, each going to pick's member; returns the counts."""
    counts = [0] * len(weights)
    last: list[dt.datetime | None] = [None] * len(weights)
    clock = dt.datetime(2026, 11, 1, tzinfo=UTC)
    for n in range(bookings):
        free = range(len(weights)) if available is None else [
            i for i in range(len(weights)) if available[n][i]
        ]  # fmt: skip
        if not free:
            continue
        candidates = [Candidate(f"m{i}", weights[i], 0, counts[i], last[i]) for i in free]
        chosen = int(pick(candidates).member_id[1:])
        counts[chosen] += 1
        clock += dt.timedelta(minutes=30)
        last[chosen] = clock
        if available is None:
            loads = [Fraction(c, w) for c, w in zip(counts, weights, strict=True)]
            # each member within one booking's worth of their share, after every booking
            assert max(loads) - min(loads) <= Fraction(1, min(weights))
    return counts


@settings(max_examples=80, deadline=None)
@given(n=st.integers(1, 8), bookings=st.integers(0, 80))
def test_equal_weights_never_differ_by_more_than_one(n: int, bookings: int) -> None:
    counts = _book([1] * n, bookings)
    assert max(counts) - min(counts) <= 1 and sum(counts) == bookings


@settings(max_examples=60, deadline=None)
@given(weights=st.lists(st.integers(1, 4), min_size=1, max_size=6), bookings=st.integers(0, 120))
def test_weights_share_bookings_in_proportion(weights: list[int], bookings: int) -> None:
    counts = _book(weights, bookings)
    total = sum(weights)
    for count, weight in zip(counts, weights, strict=True):
        # Loads stay within 1 / min(weights) of each other, so of their weighted mean too.
        assert abs(count - Fraction(bookings * weight, total)) <= Fraction(weight, min(weights))


def test_weights_one_to_two_approach_one_to_two() -> None:
    assert _book([1, 2], 300) == [100, 200]


@settings(max_examples=80, deadline=None)
@given(
    candidates=st.lists(
        st.builds(
            Candidate,
            member_id=st.sampled_from("abcdefgh"),
            weight=st.integers(1, 3),
            priority=st.integers(0, 2),
            booked_this_month=st.integers(0, 5),
            last_booked_at=st.none() | st.integers(1, 5).map(at),
        ),
        min_size=1,
        max_size=6,
        unique_by=lambda c: c.member_id,
    ),
    seed=st.integers(0, 1000),
)
def test_the_pick_follows_the_rule_whatever_the_order(
    candidates: list[Candidate], seed: int
) -> None:
    chosen = pick(candidates).member_id
    shuffled = list(candidates)
    random.Random(seed).shuffle(shuffled)
    assert pick(shuffled).member_id == chosen
    top = max(c.priority for c in candidates)
    tier = [c for c in candidates if c.priority == top]
    best = min(c.booked_this_month / c.weight for c in tier)
    winner = next(c for c in candidates if c.member_id == chosen)
    assert winner.priority == top and winner.booked_this_month / winner.weight == best
    level = [c for c in tier if c.booked_this_month * 1.0 / c.weight == best]
    if winner.last_booked_at is not None:
        assert all(c.last_booked_at is not None for c in level)
        assert winner.last_booked_at == min(c.last_booked_at for c in level if c.last_booked_at)


def test_a_member_who_was_away_catches_up_first() -> None:
    away = [[True, True, False]] * 10 + [[True, True, True]] * 5
    assert _book([1, 1, 1], len(away), away) == [5, 5, 5]

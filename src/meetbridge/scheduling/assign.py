"""Who takes a round-robin booking among the members free for it.

The rule: the highest priority tier first; inside it, the fewest bookings this month per unit of
weight (a member of weight 2 takes twice the share of one of weight 1); a tie goes to the least
recently booked (never booked first), then to the lowest member id, so the same inputs always
give the same member. Picking the lowest bookings-per-weight each time keeps every member's
count within one booking's worth (1 / weight) of their share: with equal weights, counts never
differ by more than one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction


@dataclass(frozen=True)
class Candidate:
    member_id: str
    weight: int = 1  # >= 1; bookings are shared in proportion to weight
    priority: int = 0  # the higher tier is picked first (e.g. 2 high, 1 medium, 0 low)
    booked_this_month: int = 0
    last_booked_at: dt.datetime | None = None

    def __post_init__(self) -> None:
        if self.weight < 1:
            raise ValueError(f"{self.member_id}: a weight is at least 1, not {self.weight}")
        if self.booked_this_month < 0:
            raise ValueError(f"{self.member_id}: a count of bookings cannot be negative")
        if self.last_booked_at is not None and self.last_booked_at.tzinfo is None:
            raise ValueError(f"{self.member_id}: last_booked_at must be aware")

    @property
    def load(self) -> Fraction:
        # Exact: 2 bookings at weight 3 and 4 at weight 6 are the same load, not two floats.
        return Fraction(self.booked_this_month, self.weight)


@dataclass(frozen=True)
class Pick:
    member_id: str
    reason: str  # human-readable, recorded on the booking


_NEVER = dt.datetime.min.replace(tzinfo=dt.UTC)


def _recency(c: Candidate) -> dt.datetime:
    return _NEVER if c.last_booked_at is None else c.last_booked_at


def _per_weight(load: Fraction) -> str:
    text = f"{float(load):.2f}".rstrip("0")
    return text + "0" if text.endswith(".") else text


def pick(candidates: Sequence[Candidate]) -> Pick:
    """The member to book among `candidates` (the members free for the slot), with why."""
    if not candidates:
        raise ValueError("no free member to pick from")
    ids = [c.member_id for c in candidates]
    if len(set(ids)) != len(ids):
        raise ValueError("candidates are listed once each")
    top = max(c.priority for c in candidates)
    tier = [c for c in candidates if c.priority == top]
    chosen = min(tier, key=lambda c: (c.load, _recency(c), c.member_id))
    n = len(candidates)

    if n == 1:
        parts = ["the only free member"]
    elif len(tier) == n:
        parts = [f"{n} free members, all in priority tier {top}"]
    else:
        parts = [f"highest priority tier ({top}): {len(tier)} of {n} free members"]

    bookings = "booking" if chosen.booked_this_month == 1 else "bookings"
    load = (
        f"{chosen.booked_this_month} {bookings} this month at weight {chosen.weight} "
        f"({_per_weight(chosen.load)} per weight)"
    )
    level = [c for c in tier if c.load == chosen.load]
    if len(tier) > 1:
        load += ", fewest" if len(level) == 1 else f", tied for fewest with {len(level) - 1}"
    parts.append(load)

    if len(level) > 1:
        when = chosen.last_booked_at
        recent = [c for c in level if _recency(c) == _recency(chosen)]
        if when is None:
            parts.append("never booked")
        else:
            parts.append(f"least recently booked {when.astimezone(dt.UTC):%Y-%m-%d %H:%M} UTC")
        if len(recent) > 1:
            parts.append("then by member id")
    return Pick(chosen.member_id, "round-robin: " + "; ".join(parts))

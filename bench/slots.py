"""CPU time of `scheduling.slots.slots` for a round-robin booking type: 1, 10 and 50 members,
a 30-day window, 300 busy intervals per member (seeded random, 15 minutes to 2 hours, any time
of day, overlapping freely), 30-minute slots every 15 minutes, 09:00-17:00 on weekdays. Two
teams: "one zone" (everyone in London, no buffers, no cap) and "spread" (four zones, so the
union covers 03:30-22:00 UTC and the answer is twice as big, 5 + 10 minute buffers, a daily cap
of 6 with counts on every third day, a day off).

`.venv/bin/python bench/slots.py` (prefix `PYTHONPATH=<checkout>/src` to measure another
version). Prints p50 / p99 ms of process CPU per call and the 50:1 ratio of the medians, for
member objects already used once (their busy time sorted and kept on them) and for fresh ones
(as a request that loads its members anew sees it), and the re-check of one booking
(`free_members`). The first call of a process (zone work not cached yet) is shown apart."""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
import statistics
import time

from meetbridge.scheduling.availability import MemberAvailability, validate_hours
from meetbridge.scheduling.intervals import Interval
from meetbridge.scheduling.slots import Assignment, SlotRules, free_members, slots

ZONES = ("Europe/London", "America/New_York", "Europe/Berlin", "Asia/Kolkata")
START = dt.datetime(2026, 3, 2, tzinfo=dt.UTC)  # a Monday; the window spans both DST changes
WINDOW = Interval(START, START + dt.timedelta(days=30))
NOW = START - dt.timedelta(hours=1)
PLAIN = SlotRules(duration=dt.timedelta(minutes=30), interval=dt.timedelta(minutes=15))
SPREAD = SlotRules(
    duration=dt.timedelta(minutes=30),
    interval=dt.timedelta(minutes=15),
    buffer_before=dt.timedelta(minutes=5),
    buffer_after=dt.timedelta(minutes=10),
    daily_cap=6,
)


def member(index: int, rng: random.Random, spread: bool) -> MemberAvailability:
    nine_to_five = validate_hours([(9 * 60, 17 * 60)])
    busy = []
    for _ in range(300):
        start = START + dt.timedelta(minutes=rng.randrange(0, 30 * 24 * 60, 5))
        busy.append(Interval(start, start + dt.timedelta(minutes=rng.randrange(15, 121, 15))))
    booked = {(START + dt.timedelta(days=d)).date(): rng.randrange(0, 7) for d in range(0, 30, 3)}
    return MemberAvailability(
        member_id=f"member-{index:02d}",
        timezone=ZONES[index % len(ZONES)] if spread else ZONES[0],
        weekly=dict.fromkeys(range(5), nine_to_five),
        overrides={(START + dt.timedelta(days=11)).date(): ()} if spread else {},
        busy=tuple(busy),
        booked_per_day=booked if spread else {},
    )


def measure(
    members: list[MemberAvailability], rules: SlotRules, runs: int, fresh: bool
) -> tuple[float, float, int]:
    times = []
    found = 0
    for _ in range(runs):
        # A copy has no busy index yet: the call sorts and merges the busy time itself.
        team = [dataclasses.replace(m) for m in members] if fresh else members
        begin = time.process_time()
        found = len(slots(Assignment.ROUND_ROBIN, team, rules, WINDOW, NOW))
        times.append((time.process_time() - begin) * 1000)
    return _p50(times), _p99(times), found


def _p50(times: list[float]) -> float:
    return statistics.median(times)


def _p99(times: list[float]) -> float:
    times = sorted(times)
    return times[min(len(times) - 1, round(len(times) * 0.99))]


def main() -> None:
    for spread, rules in ((False, PLAIN), (True, SPREAD)):
        rng = random.Random(20261202)
        team = [member(i, rng, spread) for i in range(50)]
        print("spread team (4 zones, buffers, cap):" if spread else "one-zone team:")
        begin = time.process_time()
        offered = slots(Assignment.ROUND_ROBIN, team, rules, WINDOW, NOW)
        print(f"  first call, 50 members: {(time.process_time() - begin) * 1000:.2f} ms CPU")
        for fresh in (False, True):
            print("  fresh member objects:" if fresh else "  member objects used before:")
            medians = {}
            for n, runs in ((1, 200), (10, 100), (50, 60)):
                p50, p99, found = measure(team[:n], rules, runs, fresh)
                medians[n] = p50
                print(
                    f"    {n:>2} members: p50 {p50:6.2f} ms, p99 {p99:6.2f} ms CPU ({found} slots)"
                )
            print(f"    50:1 ratio of the medians: {medians[50] / medians[1]:.1f}")
        times = []
        for slot in offered[:: max(1, len(offered) // 200)]:
            begin = time.process_time()
            got = free_members(Assignment.ROUND_ROBIN, team, rules, slot.start, NOW)
            times.append((time.process_time() - begin) * 1000)
            assert got == slot.members
        print(f"  free_members, 50 members: p50 {_p50(times):.3f} ms, p99 {_p99(times):.3f} ms CPU")


if __name__ == "__main__":
    main()

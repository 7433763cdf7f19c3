"""The slots a booking page offers: each rule of scheduling/slots.py on its own, then the whole
against a literal reading of the rules (tests/scheduling/oracle.py) on DST days."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from meetbridge.scheduling.availability import Hours, MemberAvailability, validate_hours
from meetbridge.scheduling.intervals import Interval
from meetbridge.scheduling.slots import Assignment, Slot, SlotRules, free_members, slots
from meetbridge.scheduling.timezones import BadWallTime, utc_to_wall, wall_to_utc
from tests.scheduling import oracle
from tests.scheduling.test_availability import ZONES, day_hours, dst_days

UTC = dt.UTC
MIN = dt.timedelta(minutes=1)
NINE_TO_FIVE = validate_hours([(9 * 60, 17 * 60)])
WEEKDAYS = dict.fromkeys(range(5), NINE_TO_FIVE)
HALF_HOURS = SlotRules(duration=30 * MIN, interval=30 * MIN)
NOW = dt.datetime(2026, 3, 1, tzinfo=UTC)
AUTUMN = dt.datetime(2026, 10, 1, tzinfo=UTC)
ONE, RR, COLLECTIVE = Assignment.ONE, Assignment.ROUND_ROBIN, Assignment.COLLECTIVE


def at(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=UTC)


def member(
    member_id: str = "m",
    tz: str = "UTC",
    weekly: dict[int, tuple[Hours, ...]] | None = None,
    busy: tuple[Interval, ...] = (),
    booked: dict[dt.date, int] | None = None,
    overrides: dict[dt.date, tuple[Hours, ...]] | None = None,
) -> MemberAvailability:
    return MemberAvailability(
        member_id,
        tz,
        WEEKDAYS if weekly is None else weekly,
        overrides or {},
        busy,
        booked or {},
    )


def day(first: dt.datetime, n: int = 1) -> Interval:
    return Interval(first, first + dt.timedelta(days=n))


def starts(found: list[Slot]) -> list[dt.datetime]:
    return [s.start for s in found]


def walls(found: list[Slot], tz: str) -> list[str]:
    return [f"{utc_to_wall(s.start, zoneinfo.ZoneInfo(tz)):%H:%M}" for s in found]


# -- examples, one rule at a time ----------------------------------------------------------


def test_a_member_offers_each_step_of_their_hours_in_utc() -> None:
    found = slots(ONE, [member()], HALF_HOURS, day(at(2026, 3, 2)), NOW)  # a Monday
    assert starts(found)[0] == at(2026, 3, 2, 9) and starts(found)[-1] == at(2026, 3, 2, 16, 30)
    assert len(found) == 16
    assert all(s.end - s.start == 30 * MIN and s.members == ("m",) for s in found)
    assert all(s.start.tzinfo is UTC for s in found)


def test_steps_keep_the_wall_clock_across_a_dst_change() -> None:
    london = member(tz="Europe/London", weekly=dict.fromkeys(range(7), NINE_TO_FIVE))
    found = slots(ONE, [london], HALF_HOURS, day(at(2026, 3, 28), 3), NOW)
    assert set(walls(found, "Europe/London")) == {
        f"{h:02d}:{m}" for h in range(9, 17) for m in ("00", "30")
    }
    assert starts(found)[0] == at(2026, 3, 28, 9)  # GMT
    assert starts(found)[16] == at(2026, 3, 29, 8)  # BST from the Sunday


def test_no_slot_at_a_wall_time_the_clocks_skip() -> None:
    # London skips 01:00-02:00 on 2026-03-29: 00:00-04:00 is three real hours.
    early = member(tz="Europe/London", weekly={6: validate_hours([(0, 240)])})
    found = slots(ONE, [early], HALF_HOURS, day(at(2026, 3, 28), 2), NOW)
    assert walls(found, "Europe/London") == ["00:00", "00:30", "02:00", "02:30", "03:00", "03:30"]


def test_the_repeated_hour_offers_both_passes() -> None:
    # New York passes 01:00-02:00 twice on 2026-11-01: 00:00-03:00 is four real hours.
    early = member(tz="America/New_York", weekly={6: validate_hours([(0, 180)])})
    found = slots(ONE, [early], SlotRules(60 * MIN, 60 * MIN), day(at(2026, 11, 1), 1), AUTUMN)
    assert walls(found, "America/New_York") == ["00:00", "01:00", "01:00", "02:00"]
    assert starts(found) == [at(2026, 11, 1, h) for h in (4, 5, 6, 7)]


def test_lord_howe_half_hour_shift_shortens_the_day() -> None:
    # Lord Howe skips 02:00-02:30 on 2026-10-04; hours 01:00-04:00 are 2.5 real hours.
    lord_howe = member(tz="Australia/Lord_Howe", weekly={6: validate_hours([(60, 240)])})
    found = slots(ONE, [lord_howe], HALF_HOURS, day(at(2026, 10, 3), 2), AUTUMN)
    assert walls(found, "Australia/Lord_Howe") == ["01:00", "01:30", "02:30", "03:00", "03:30"]


def test_the_window_takes_slots_by_their_start() -> None:
    m = member()
    # Starts at 16:30, ends 17:00 after the window's end: in. Starting at 10:00 = end: out.
    found = slots(ONE, [m], HALF_HOURS, Interval(at(2026, 3, 2, 9), at(2026, 3, 2, 10)), NOW)
    assert starts(found) == [at(2026, 3, 2, 9), at(2026, 3, 2, 9, 30)]
    late = slots(ONE, [m], HALF_HOURS, Interval(at(2026, 3, 2, 16, 45), at(2026, 3, 3)), NOW)
    assert late == []
    tail = slots(
        ONE, [m], HALF_HOURS, Interval(at(2026, 3, 2, 16, 30), at(2026, 3, 2, 16, 31)), NOW
    )
    assert [(s.start, s.end) for s in tail] == [(at(2026, 3, 2, 16, 30), at(2026, 3, 2, 17))]


def test_steps_stay_on_the_grid_of_the_hours_whatever_the_window() -> None:
    m = member()
    found = slots(ONE, [m], HALF_HOURS, Interval(at(2026, 3, 2, 9, 10), at(2026, 3, 2, 11)), NOW)
    assert starts(found) == [at(2026, 3, 2, 9, 30), at(2026, 3, 2, 10), at(2026, 3, 2, 10, 30)]


def test_a_window_in_the_bookers_far_away_zone() -> None:
    # The booker in Kiritimati (UTC+14) looks at their Monday 30 March: 29 Mar 10:00 UTC to
    # 30 Mar 10:00 UTC, which holds the London member's Monday 09:00-11:00 BST.
    kiritimati = zoneinfo.ZoneInfo("Pacific/Kiritimati")
    monday = Interval(
        dt.datetime(2026, 3, 30, tzinfo=kiritimati), dt.datetime(2026, 3, 31, tzinfo=kiritimati)
    )
    found = slots(ONE, [member(tz="Europe/London")], HALF_HOURS, monday, NOW)
    assert starts(found) == [
        at(2026, 3, 30, 8),
        at(2026, 3, 30, 8, 30),
        at(2026, 3, 30, 9),
        at(2026, 3, 30, 9, 30),
    ]


def test_buffers_keep_slots_away_from_busy_time() -> None:
    busy = (Interval(at(2026, 3, 2, 11), at(2026, 3, 2, 12)),)
    rules = SlotRules(30 * MIN, 30 * MIN, buffer_before=15 * MIN, buffer_after=15 * MIN)
    found = slots(
        ONE, [member(busy=busy)], rules, Interval(at(2026, 3, 2, 9), at(2026, 3, 2, 14)), NOW
    )
    # 10:30-11:00 ends too near 11:00 (after-buffer); 12:00 starts too near (before-buffer).
    assert starts(found) == [
        at(2026, 3, 2, 9), at(2026, 3, 2, 9, 30), at(2026, 3, 2, 10), at(2026, 3, 2, 12, 30),
        at(2026, 3, 2, 13), at(2026, 3, 2, 13, 30),
    ]  # fmt: skip


def test_empty_busy_intervals_block_nothing() -> None:
    busy = (Interval(at(2026, 3, 2, 10), at(2026, 3, 2, 10)),)
    found = slots(ONE, [member(busy=busy)], HALF_HOURS, day(at(2026, 3, 2)), NOW)
    assert at(2026, 3, 2, 10) in starts(found) and len(found) == 16


def test_notice_and_horizon() -> None:
    now = at(2026, 3, 2, 10, 10)
    rules = SlotRules(30 * MIN, 30 * MIN, min_notice=60 * MIN, horizon=dt.timedelta(hours=5))
    found = slots(ONE, [member()], rules, day(at(2026, 3, 2), 2), now)
    assert starts(found)[0] == at(2026, 3, 2, 11, 30)  # not before 11:10
    assert starts(found)[-1] == at(2026, 3, 2, 15)  # before 15:10
    exactly = SlotRules(30 * MIN, 30 * MIN, min_notice=50 * MIN, horizon=dt.timedelta(hours=5))
    found = slots(ONE, [member()], exactly, day(at(2026, 3, 2), 2), now)
    assert starts(found)[0] == at(2026, 3, 2, 11) and starts(found)[-1] == at(2026, 3, 2, 15)


def test_the_daily_cap_counts_the_members_own_date() -> None:
    # Auckland is UTC+13 in March: its Tuesday 3 March is 2 Mar 11:00 UTC to 3 Mar 11:00 UTC.
    auckland = member(
        tz="Pacific/Auckland",
        weekly=dict.fromkeys(range(7), validate_hours([(0, 1440)])),
        booked={dt.date(2026, 3, 3): 2},
    )
    rules = SlotRules(60 * MIN, 60 * MIN, daily_cap=2)
    found = slots(ONE, [auckland], rules, Interval(at(2026, 3, 2), at(2026, 3, 4)), NOW)
    assert at(2026, 3, 2, 10) in starts(found)
    assert not any(at(2026, 3, 2, 11) <= s < at(2026, 3, 3, 11) for s in starts(found))
    assert at(2026, 3, 3, 11) in starts(found)
    closed = SlotRules(60 * MIN, 60 * MIN, daily_cap=0)
    assert slots(ONE, [auckland], closed, day(at(2026, 3, 2)), NOW) == []


def test_hours_through_midnight_give_a_slot_across_it_and_restart_the_steps() -> None:
    weekly = {0: validate_hours([(1380, 1440)]), 1: validate_hours([(0, 60)])}
    rules = SlotRules(60 * MIN, 40 * MIN)
    found = slots(ONE, [member(weekly=weekly)], rules, day(at(2026, 3, 2), 2), NOW)
    # 23:00 and 23:40 (over midnight, inside 23:00-01:00); from 00:00 the steps start again.
    assert starts(found) == [at(2026, 3, 2, 23), at(2026, 3, 2, 23, 40), at(2026, 3, 3)]


def test_round_robin_lists_every_free_member_in_input_order() -> None:
    busy = (Interval(at(2026, 3, 2, 9), at(2026, 3, 2, 10)),)
    b, a = member("b", busy=busy), member("a")
    found = slots(RR, [b, a], HALF_HOURS, Interval(at(2026, 3, 2, 9), at(2026, 3, 2, 11)), NOW)
    assert [(s.start, s.members) for s in found] == [
        (at(2026, 3, 2, 9), ("a",)),
        (at(2026, 3, 2, 9, 30), ("a",)),
        (at(2026, 3, 2, 10), ("b", "a")),
        (at(2026, 3, 2, 10, 30), ("b", "a")),
    ]


def test_round_robin_lists_free_members_off_their_own_steps() -> None:
    # b's hours start at 09:15, so 09:30 is not one of b's steps, nor 09:15 one of a's; each is
    # listed as free for the other's step all the same.
    a = member("a")
    b = member("b", weekly=dict.fromkeys(range(5), validate_hours([(555, 1020)])))
    found = slots(RR, [a, b], HALF_HOURS, Interval(at(2026, 3, 2, 9), at(2026, 3, 2, 10)), NOW)
    assert [(s.start, s.members) for s in found] == [
        (at(2026, 3, 2, 9), ("a",)),
        (at(2026, 3, 2, 9, 15), ("a", "b")),
        (at(2026, 3, 2, 9, 30), ("a", "b")),
        (at(2026, 3, 2, 9, 45), ("a", "b")),
    ]


def test_collective_needs_everyone_and_steps_from_the_shared_hours() -> None:
    a = member("a")
    b = member("b", weekly=dict.fromkeys(range(5), validate_hours([(615, 720)])))  # 10:15-12:00
    busy = (Interval(at(2026, 3, 2, 10, 45), at(2026, 3, 2, 11, 15)),)
    c = member("c", busy=busy)
    found = slots(COLLECTIVE, [a, b, c], HALF_HOURS, day(at(2026, 3, 2)), NOW)
    assert [(s.start, s.members) for s in found] == [
        (at(2026, 3, 2, 10, 15), ("a", "b", "c")),
        (at(2026, 3, 2, 11, 15), ("a", "b", "c")),
    ]  # 10:45 overlaps c's busy time; 11:45 would end after b's 12:00


def test_assignment_shapes() -> None:
    with pytest.raises(ValueError, match="exactly one member"):
        slots(ONE, [member("a"), member("b")], HALF_HOURS, day(at(2026, 3, 2)), NOW)
    with pytest.raises(ValueError, match="exactly one member"):
        slots(ONE, [], HALF_HOURS, day(at(2026, 3, 2)), NOW)
    with pytest.raises(ValueError, match="once each"):
        slots(RR, [member("a"), member("a")], HALF_HOURS, day(at(2026, 3, 2)), NOW)
    assert slots(COLLECTIVE, [], HALF_HOURS, day(at(2026, 3, 2)), NOW) == []
    assert slots(RR, [], HALF_HOURS, day(at(2026, 3, 2)), NOW) == []
    assert slots("round_robin", [member()], HALF_HOURS, day(at(2026, 3, 2)), NOW)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"duration": dt.timedelta(0), "interval": MIN},
        {"duration": MIN, "interval": dt.timedelta(0)},
        {"duration": MIN, "interval": MIN, "buffer_before": -MIN},
        {"duration": MIN, "interval": MIN, "min_notice": -MIN},
        {"duration": MIN, "interval": MIN, "daily_cap": -1},
    ],
)
def test_nonsense_rules_are_refused(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        SlotRules(**kwargs)  # type: ignore[arg-type]


def test_free_members_rechecks_one_start() -> None:
    busy = (Interval(at(2026, 3, 2, 9), at(2026, 3, 2, 10)),)
    team = [member("b", busy=busy), member("a")]
    assert free_members(RR, team, HALF_HOURS, at(2026, 3, 2, 10), NOW) == ("b", "a")
    assert free_members(RR, team, HALF_HOURS, at(2026, 3, 2, 9), NOW) == ("a",)
    assert free_members(RR, team, HALF_HOURS, at(2026, 3, 2, 9, 10), NOW) == ()  # off the grid
    assert free_members(RR, team, HALF_HOURS, at(2026, 3, 2, 17), NOW) == ()  # after hours
    assert free_members(RR, team, HALF_HOURS, at(2026, 3, 2, 9), at(2026, 3, 2, 9, 1)) == ()


# -- the whole, against the oracle, on DST days ----------------------------------------------

BOOKERS = ["Pacific/Kiritimati", "Pacific/Pago_Pago", "Asia/Tokyo", "UTC"]


@st.composite
def scenario(draw: st.DrawFn, max_members: int = 3) -> tuple[
    list[MemberAvailability], SlotRules, Interval, dt.datetime
]:  # fmt: skip
    """Members around a DST change of one of them (or a day near it), and a window given in a
    booker's zone, with busy time, overrides and counts near it."""
    home = zoneinfo.ZoneInfo(draw(st.sampled_from(ZONES)))
    changes = dst_days(home)
    change = changes[draw(st.integers(0, len(changes) - 1))]
    booker = zoneinfo.ZoneInfo(draw(st.sampled_from(BOOKERS)))
    start = dt.datetime.combine(change, dt.time(), tzinfo=home) + dt.timedelta(
        minutes=draw(st.integers(-36 * 60, 24 * 60)) // 15 * 15
    )
    window = Interval(
        start.astimezone(booker),
        (start + dt.timedelta(hours=draw(st.integers(1, 56)))).astimezone(booker),
    )
    n = draw(st.integers(1, max_members))
    members = []
    for i in range(n):
        tz = home.key if i == 0 or draw(st.booleans()) else draw(st.sampled_from(ZONES))
        if members and draw(st.booleans()):
            weekly = dict(members[0].weekly)  # a team often shares its hours
        else:
            weekly = draw(st.dictionaries(st.integers(0, 6), day_hours(), min_size=1, max_size=7))
        near = window.start.astimezone(zoneinfo.ZoneInfo(tz)).date()
        dates = st.integers(-1, 3).map(lambda k, near=near: near + dt.timedelta(days=k))
        overrides = draw(st.dictionaries(dates, day_hours(), max_size=2))
        booked = draw(st.dictionaries(dates, st.integers(0, 3), max_size=3))
        busy = []
        for _ in range(draw(st.integers(0, 8))):
            begin = window.start + dt.timedelta(
                minutes=draw(st.integers(-24 * 60, 60 * 60)) // 5 * 5
            )
            length = dt.timedelta(minutes=draw(st.sampled_from([0, 5, 20, 45, 60, 180, 3000])))
            busy.append(Interval(begin.astimezone(booker), begin + length))
        members.append(MemberAvailability(f"m{i}", tz, weekly, overrides, tuple(busy), booked))
    rules = SlotRules(
        duration=dt.timedelta(minutes=draw(st.sampled_from([15, 30, 45, 60, 90]))),
        interval=dt.timedelta(minutes=draw(st.sampled_from([10, 15, 25, 30, 60]))),
        buffer_before=dt.timedelta(minutes=draw(st.sampled_from([0, 5, 15]))),
        buffer_after=dt.timedelta(minutes=draw(st.sampled_from([0, 10]))),
        min_notice=dt.timedelta(hours=draw(st.sampled_from([0, 0, 2]))),
        horizon=dt.timedelta(hours=draw(st.sampled_from([30, 24 * 60]))),
        daily_cap=draw(st.sampled_from([None, None, 0, 1, 2])),
    )
    now = window.start + dt.timedelta(minutes=draw(st.integers(-12 * 60, 12 * 60)))
    return members, rules, window, now


def pairs(found: list[Slot]) -> list[tuple[dt.datetime, tuple[str, ...]]]:
    return [(s.start, s.members) for s in found]


def check_slot(
    s: Slot, members: list[MemberAvailability], rules: SlotRules, window: Interval, now: dt.datetime
) -> None:
    """What every offered slot must be, whoever offers it."""
    assert s.start.tzinfo is UTC and s.end - s.start == rules.duration
    assert oracle.allowed(rules, window, now, s.start)
    by_id = {m.member_id: m for m in members}
    for name in s.members:
        m = by_id[name]
        assert oracle.is_free(m, rules, s.start), (name, s)
        # its start reads as a wall time that exists where the member is
        tz = zoneinfo.ZoneInfo(m.timezone)
        try:
            assert wall_to_utc(utc_to_wall(s.start, tz), tz) == s.start
        except BadWallTime as exc:
            assert exc.kind == "repeated"


@settings(max_examples=80, deadline=None)
@given(case=scenario(max_members=1))
def test_one_member_slots_are_exactly_the_rules(
    case: tuple[list[MemberAvailability], SlotRules, Interval, dt.datetime],
) -> None:
    members, rules, window, now = case
    found = slots(ONE, members, rules, window, now)
    for s in found:
        check_slot(s, members, rules, window, now)
    want = [(s, (members[0].member_id,)) for s in oracle.own_starts(members[0], rules, window, now)]
    assert pairs(found) == want


@settings(max_examples=60, deadline=None)
@given(case=scenario())
def test_round_robin_is_the_union_of_each_members_slots(
    case: tuple[list[MemberAvailability], SlotRules, Interval, dt.datetime],
) -> None:
    members, rules, window, now = case
    found = slots(RR, members, rules, window, now)
    for s in found:
        check_slot(s, members, rules, window, now)
    own = {m.member_id: set(starts(slots(ONE, [m], rules, window, now))) for m in members}
    assert starts(found) == sorted(set().union(*own.values()))
    for s in found:  # everyone whose own slot it is, is listed
        assert all(name in s.members for name, mine in own.items() if s.start in mine)
    assert pairs(found) == oracle.round_robin(members, rules, window, now)


@settings(max_examples=60, deadline=None)
@given(case=scenario())
def test_collective_slots_are_everyones(
    case: tuple[list[MemberAvailability], SlotRules, Interval, dt.datetime],
) -> None:
    members, rules, window, now = case
    found = slots(COLLECTIVE, members, rules, window, now)
    ids = tuple(m.member_id for m in members)
    for s in found:
        assert s.members == ids
        check_slot(s, members, rules, window, now)
    assert pairs(found) == oracle.collective(members, rules, window, now)
    if all(m.timezone == members[0].timezone and m.weekly == members[0].weekly
           and m.overrides == members[0].overrides for m in members):  # fmt: skip
        # Same hours, same steps: a collective slot is each member's own slot too.
        for m in members:
            assert {s.start for s in found} <= set(starts(slots(ONE, [m], rules, window, now)))


@settings(max_examples=60, deadline=None)
@given(case=scenario(), how=st.sampled_from([RR, COLLECTIVE]), nudge=st.integers(1, 29))
def test_free_members_agrees_with_slots(
    case: tuple[list[MemberAvailability], SlotRules, Interval, dt.datetime],
    how: Assignment,
    nudge: int,
) -> None:
    members, rules, window, now = case
    found = slots(how, members, rules, window, now)
    offered = {s.start: s.members for s in found}
    for s in found:
        assert free_members(how, members, rules, s.start, now) == s.members
        off = s.start + dt.timedelta(minutes=nudge)
        assert free_members(how, members, rules, off, now) == offered.get(off, ())
    assert len(offered) == len(found)  # each start once


@settings(max_examples=60, deadline=None)
@given(case=scenario(), cut=st.floats(0, 1), how=st.sampled_from([RR, COLLECTIVE]))
def test_windows_that_meet_share_their_slots_out_exactly(
    case: tuple[list[MemberAvailability], SlotRules, Interval, dt.datetime],
    cut: float,
    how: Assignment,
) -> None:
    members, rules, window, now = case
    middle = window.start + (window.end - window.start) * cut
    first = slots(how, members, rules, Interval(window.start, middle), now)
    second = slots(how, members, rules, Interval(middle, window.end), now)
    assert first + second == slots(how, members, rules, window, now)

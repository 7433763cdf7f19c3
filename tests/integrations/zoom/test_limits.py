"""The shared counters never let more calls through than the limit, and the shared paces never
let two calls closer than their interval, across processes, in the database and in Redis."""

from __future__ import annotations

import os
import threading
import time
import uuid

import pytest

from meetbridge.container import Container
from meetbridge.integrations.zoom.limits import (
    Pace,
    RateLimiter,
    RedisRateLimiter,
    SqlRateLimiter,
)

REDIS_URL = os.environ.get("MEETBRIDGE_TEST_REDIS_URL")
WINDOW = 60


def _limiters(container: Container) -> list[RateLimiter]:
    out: list[RateLimiter] = [SqlRateLimiter(container.db), SqlRateLimiter(container.db)]
    if REDIS_URL:
        out += [RedisRateLimiter(REDIS_URL), RedisRateLimiter(REDIS_URL)]
    return out


def test_never_more_than_the_limit_per_window(container: Container) -> None:
    for a, b in zip(_limiters(container)[::2], _limiters(container)[1::2], strict=True):
        # Two limiters stand for two processes sharing one store. A minute's window, started
        # early: twenty hits on a loaded machine can take longer than a second, and hits that
        # cross into the next window are rightly let through again.
        while time.time() % WINDOW > WINDOW - 10:
            time.sleep(0.1)
        key = f"test:{uuid.uuid4()}"
        allowed = []
        lock = threading.Lock()

        def spend(
            limiter: RateLimiter,
            key: str = key,
            allowed: list[bool] = allowed,
            lock: threading.Lock = lock,
        ) -> None:
            ok = limiter.hit(key, 7, WINDOW) == 0
            with lock:
                allowed.append(ok)

        threads = [threading.Thread(target=spend, args=(a if i % 2 else b,)) for i in range(20)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sum(allowed) == 7  # exactly the limit, never over it
        assert 0 < a.hit(key, 7, WINDOW) <= WINDOW


def test_daily_window_is_the_utc_day(container: Container) -> None:
    limiter = SqlRateLimiter(container.db)
    key = f"test:{uuid.uuid4()}"
    for _ in range(3):
        assert limiter.hit(key, 3, 86_400) == 0
    wait = limiter.hit(key, 3, 86_400)
    assert wait == pytest.approx(86_400 - time.time() % 86_400, abs=2)
    assert limiter.used(key, 86_400) == 4


def test_paced_calls_are_spaced_by_the_interval_across_processes(container: Container) -> None:
    """Two limiters (two processes) and six threads reserve moments under one pace: every
    moment is its own, at least the interval after the one before, whoever reserved it; so a
    second of Zoom's, whatever its phase, holds no more calls than the pace allows."""
    for a, b in zip(_limiters(container)[::2], _limiters(container)[1::2], strict=True):
        pace = Pace.per_second(f"test:{uuid.uuid4()}", 21)  # 20 a second: 50 ms apart
        moments: list[float] = []
        lock = threading.Lock()

        def reserve(
            limiter: RateLimiter,
            pace: Pace = pace,
            moments: list[float] = moments,
            lock: threading.Lock = lock,
        ) -> None:
            for _ in range(10):
                reserved, wait = limiter.pace(pace, max_wait=60)
                assert reserved
                with lock:
                    moments.append(time.time() + wait)

        threads = [threading.Thread(target=reserve, args=(a if i % 2 else b,)) for i in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        moments.sort()
        # The moments are read back through each thread's own clock and scheduling (tens of
        # milliseconds on a loaded machine), so they are checked over a second: never more
        # than 20 in one. Two processes pacing apart would fit 40.
        assert len(moments) == 60
        assert (
            min(later - earlier for earlier, later in zip(moments, moments[20:], strict=False))
            > 0.7
        )
        # 60 calls at 20 a second: the last moment is about three seconds out.
        assert moments[-1] - moments[0] == pytest.approx(59 * pace.interval, abs=0.5)


def test_a_pace_further_than_the_wait_allowed_is_refused_and_reserves_nothing(
    container: Container,
) -> None:
    for limiter in _limiters(container)[::2]:
        pace = Pace(f"test:{uuid.uuid4()}", 1.0)
        assert limiter.pace(pace, max_wait=5) == (True, 0.0)
        reserved, wait = limiter.pace(pace, max_wait=5)
        assert reserved and 0.9 < wait <= 1.0
        reserved, wait = limiter.pace(pace, max_wait=0.5)  # the next moment is ~2 s away
        assert not reserved and 1.8 < wait <= 2.0
        reserved, wait = limiter.pace(pace, max_wait=5)  # the refusal took no moment
        assert reserved and 1.8 < wait <= 2.0


def test_a_hold_makes_every_limiter_wait_for_it(container: Container) -> None:
    """Zoom answered 429 "come back in 2 s" to one process: the next moment any process is
    given under that budget is 2 s away; a shorter hold does not bring it forward."""
    limiters = _limiters(container)
    for one, other in zip(limiters[::2], limiters[1::2], strict=True):
        pace = Pace(f"test:{uuid.uuid4()}", 0.05)
        one.hold(pace, 2.0)
        reserved, wait = other.pace(pace, max_wait=1.0)
        assert not reserved and 1.8 < wait <= 2.0
        one.hold(pace, 0.5)
        reserved, wait = other.pace(pace, max_wait=5.0)
        assert reserved and 1.8 < wait <= 2.0
        reserved, wait = one.pace(pace, max_wait=5.0)  # the next, one interval after
        assert reserved and 1.85 < wait <= 2.05


def test_the_pace_keeps_a_little_under_the_limit() -> None:
    assert Pace.per_second("k", 20).interval == pytest.approx(1 / 19)
    assert Pace.per_second("k", 1).interval == pytest.approx(2.0)

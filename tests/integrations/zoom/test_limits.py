"""The shared counters never let more calls through than the limit, however they are leased,
in the database and in Redis."""

from __future__ import annotations

import os
import threading
import time
import uuid

import pytest

from meetbridge.container import Container
from meetbridge.integrations.zoom.limits import RateLimiter, RedisRateLimiter, SqlRateLimiter

REDIS_URL = os.environ.get("MEETBRIDGE_TEST_REDIS_URL")
WINDOW = 60


def _limiters(container: Container) -> list[RateLimiter]:
    out: list[RateLimiter] = [SqlRateLimiter(container.db), SqlRateLimiter(container.db)]
    if REDIS_URL:
        out += [RedisRateLimiter(REDIS_URL), RedisRateLimiter(REDIS_URL)]
    return out


@pytest.mark.parametrize("lease", [1, 3])
def test_never_more_than_the_limit_per_window(container: Container, lease: int) -> None:
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
            ok = limiter.hit(key, 7, WINDOW, lease=lease) == 0
            with lock:
                allowed.append(ok)

        threads = [threading.Thread(target=spend, args=(a if i % 2 else b,)) for i in range(20)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sum(allowed) <= 7
        # Slots one side reserved and has not spent are still its own: spend them, then no
        # more. Exactly the limit in all, never over it.
        while a.hit(key, 7, WINDOW, lease=lease) == 0:
            allowed.append(True)
        while b.hit(key, 7, WINDOW, lease=lease) == 0:
            allowed.append(True)
        assert sum(allowed) == 7
        assert 0 < a.hit(key, 7, WINDOW) <= WINDOW


def test_daily_window_is_the_utc_day(container: Container) -> None:
    limiter = SqlRateLimiter(container.db)
    key = f"test:{uuid.uuid4()}"
    for _ in range(3):
        assert limiter.hit(key, 3, 86_400) == 0
    wait = limiter.hit(key, 3, 86_400)
    assert wait == pytest.approx(86_400 - time.time() % 86_400, abs=2)
    assert limiter.used(key, 86_400) == 4

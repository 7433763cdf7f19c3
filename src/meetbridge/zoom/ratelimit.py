"""Fixed-window counters shared by every process: in the database by default, in Redis when
MEETBRIDGE_REDIS_URL is set. Used for Zoom's per-account-and-label per-second limits and its
per-host 100 creates + updates per UTC day (a window of 86,400 s since the epoch starts at
00:00 UTC)."""

from __future__ import annotations

import datetime as dt
import threading
import time
from typing import Protocol

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from meetbridge.core.db import Database, utcnow
from meetbridge.core.models import RateCounter


class RateLimiter(Protocol):
    def hit(self, key: str, limit: int, window: int, lease: int = 1) -> float:
        """Counts one call. Returns 0 when it is within `limit` for the current window, else
        the seconds until the window ends. With `lease` > 1 the process reserves that many
        slots at once and spends them locally (fewer round trips; never over the limit, but
        slots reserved and not used in the window are lost, so only for per-second limits)."""

    def used(self, key: str, window: int) -> int: ...

    def prune(self) -> int:
        """Drops counters of windows that have ended; returns how many."""


def _window(window: int, now: float) -> tuple[int, float]:
    index = int(now // window)
    return index, (index + 1) * window - now


class _Leases:
    """Slots this process has reserved in the shared store and not yet spent."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.left: dict[tuple[str, int], int] = {}

    def take(self, key: str, index: int) -> bool:
        with self.lock:
            n = self.left.get((key, index), 0)
            if n > 0:
                self.left[(key, index)] = n - 1
                return True
            return False

    def add(self, key: str, index: int, n: int) -> None:
        with self.lock:
            if len(self.left) > 1000:
                self.left = {k: v for k, v in self.left.items() if k[1] >= index - 1}
            self.left[(key, index)] = self.left.get((key, index), 0) + n


def _granted(count: int, reserved: int, limit: int) -> int:
    """How many of `reserved` slots fit under `limit` once the shared count reached `count`."""
    return max(0, min(reserved, limit - (count - reserved)))


class SqlRateLimiter:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.leases = _Leases()

    def hit(self, key: str, limit: int, window: int, lease: int = 1) -> float:
        index, left = _window(window, time.time())
        if self.leases.take(key, index):
            return 0.0
        insert = sqlite_insert if self.db.is_sqlite else pg_insert
        values = insert(RateCounter).values(
            key=key,
            window=index,
            count=lease,
            expires_at=utcnow() + dt.timedelta(seconds=left + 1),
        )
        stmt = values.on_conflict_do_update(
            index_elements=["key", "window"], set_={"count": RateCounter.count + lease}
        ).returning(RateCounter.count)
        with self.db.write() as s:
            count = s.execute(stmt).scalar_one()
        granted = _granted(count, lease, limit)
        if granted == 0:
            return left
        self.leases.add(key, index, granted - 1)
        return 0.0

    def used(self, key: str, window: int) -> int:
        index, _ = _window(window, time.time())
        with self.db.read() as s:
            count = s.scalar(
                select(RateCounter.count).where(RateCounter.key == key, RateCounter.window == index)
            )
        return count or 0

    def prune(self) -> int:
        with self.db.write() as s:
            result = s.execute(delete(RateCounter).where(RateCounter.expires_at < utcnow()))
        return int(result.rowcount)  # type: ignore[attr-defined]


class RedisRateLimiter:
    def __init__(self, url: str) -> None:
        import redis

        self.redis = redis.Redis.from_url(url)
        self.leases = _Leases()

    def hit(self, key: str, limit: int, window: int, lease: int = 1) -> float:
        index, left = _window(window, time.time())
        if self.leases.take(key, index):
            return 0.0
        name = f"mb:rl:{key}:{index}"
        pipe = self.redis.pipeline(transaction=False)  # one round trip; no MULTI needed
        pipe.incrby(name, lease)
        pipe.expire(name, int(left) + 2)
        count = int(pipe.execute()[0])
        granted = _granted(count, lease, limit)
        if granted == 0:
            return left
        self.leases.add(key, index, granted - 1)
        return 0.0

    def used(self, key: str, window: int) -> int:
        index, _ = _window(window, time.time())
        value = self.redis.get(f"mb:rl:{key}:{index}")
        return int(value) if value else 0

    def prune(self) -> int:
        return 0  # keys expire by themselves

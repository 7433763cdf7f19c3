"""Fixed-window counters shared by every process: in the database by default, in Redis when
MEETBRIDGE_REDIS_URL is set. Used for Zoom's per-account-and-label per-second limits and its
per-host 100 creates + updates per UTC day (a window of 86,400 s since the epoch starts at
00:00 UTC)."""

from __future__ import annotations

import datetime as dt
import time
from typing import Protocol

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from meetbridge.core.db import Database, utcnow
from meetbridge.core.models import RateCounter


class RateLimiter(Protocol):
    def hit(self, key: str, limit: int, window: int) -> float:
        """Counts one call. Returns 0 when it is within `limit` for the current window, else
        the seconds until the window ends."""

    def used(self, key: str, window: int) -> int: ...

    def prune(self) -> int:
        """Drops counters of windows that have ended; returns how many."""


def _window(window: int, now: float) -> tuple[int, float]:
    index = int(now // window)
    return index, (index + 1) * window - now


class SqlRateLimiter:
    def __init__(self, db: Database) -> None:
        self.db = db

    def hit(self, key: str, limit: int, window: int) -> float:
        index, left = _window(window, time.time())
        insert = sqlite_insert if self.db.is_sqlite else pg_insert
        values = insert(RateCounter).values(
            key=key,
            window=index,
            count=1,
            expires_at=utcnow() + dt.timedelta(seconds=left + 1),
        )
        stmt = values.on_conflict_do_update(
            index_elements=["key", "window"], set_={"count": RateCounter.count + 1}
        ).returning(RateCounter.count)
        with self.db.write() as s:
            count = s.execute(stmt).scalar_one()
        return 0.0 if count <= limit else left

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

    def hit(self, key: str, limit: int, window: int) -> float:
        index, left = _window(window, time.time())
        name = f"mb:rl:{key}:{index}"
        pipe = self.redis.pipeline()
        pipe.incr(name)
        pipe.expire(name, int(left) + 2)
        count = int(pipe.execute()[0])
        return 0.0 if count <= limit else left

    def used(self, key: str, window: int) -> int:
        index, _ = _window(window, time.time())
        value = self.redis.get(f"mb:rl:{key}:{index}")
        return int(value) if value else 0

    def prune(self) -> int:
        return 0  # keys expire by themselves

"""Fixed-window counters shared by every process: in the database by default, in Redis when
MEETBRIDGE_REDIS_URL is set. Used for Zoom's per-account-and-label per-second limits and its
per-host 100 creates + updates per UTC day (a window of 86,400 s since the epoch starts at
00:00 UTC)."""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Sequence
from typing import NamedTuple, Protocol

from sqlalchemy import bindparam, delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from meetbridge.core.db import Database, utcnow
from meetbridge.core.models import RateCounter


class Hit(NamedTuple):
    """One call counted against `limit` calls per `window` seconds under `key`. With
    `lease` > 1 the process reserves that many slots at once and spends them locally (fewer
    round trips; never over the limit, but slots reserved and not used in the window are lost,
    so only for per-second limits)."""

    key: str
    limit: int
    window: int
    lease: int = 1


class RateLimiter(Protocol):
    def hit_all(self, hits: Sequence[Hit]) -> list[float]:
        """Counts each hit, in one round trip to the store. For each: 0 when it is within its
        limit for the current window, else the seconds until that window ends."""

    def hit(self, key: str, limit: int, window: int, lease: int = 1) -> float:
        """One hit (see `hit_all`)."""

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


class _Counting:
    """What both stores share: local leases first, then one round trip for the rest."""

    def __init__(self) -> None:
        self.leases = _Leases()

    def hit_all(self, hits: Sequence[Hit]) -> list[float]:
        now = time.time()
        waits = [0.0] * len(hits)
        todo = []  # (position, hit, window index, seconds left in the window)
        for i, h in enumerate(hits):
            index, left = _window(h.window, now)
            if not self.leases.take(h.key, index):
                todo.append((i, h, index, left))
        if todo:
            counts = self._add([(h.key, index, h.lease, left) for _i, h, index, left in todo])
            for (i, h, index, left), count in zip(todo, counts, strict=True):
                granted = _granted(count, h.lease, h.limit)
                if granted == 0:
                    waits[i] = left
                else:
                    self.leases.add(h.key, index, granted - 1)
        return waits

    def hit(self, key: str, limit: int, window: int, lease: int = 1) -> float:
        return self.hit_all([Hit(key, limit, window, lease)])[0]

    def _add(self, adds: list[tuple[str, int, int, float]]) -> list[int]:
        """Adds to each (key, window index) counter; returns the new counts."""
        raise NotImplementedError


class SqlRateLimiter(_Counting):
    def __init__(self, db: Database) -> None:
        super().__init__()
        self.db = db
        insert = sqlite_insert if db.is_sqlite else pg_insert
        values = insert(RateCounter).values(
            key=bindparam("key"),
            window=bindparam("window"),
            count=bindparam("n"),
            expires_at=bindparam("expires"),
        )
        self._upsert = values.on_conflict_do_update(
            index_elements=["key", "window"],
            set_={"count": RateCounter.count + values.excluded.count},
        ).returning(RateCounter.count)

    def _add(self, adds: list[tuple[str, int, int, float]]) -> list[int]:
        now = utcnow()
        with self.db.begin() as conn:  # one transaction for all
            return [
                conn.execute(
                    self._upsert,
                    {
                        "key": key,
                        "window": index,
                        "n": n,
                        "expires": now + dt.timedelta(seconds=left + 1),
                    },
                ).scalar_one()
                for key, index, n, left in adds
            ]

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


class RedisRateLimiter(_Counting):
    def __init__(self, url: str) -> None:
        import redis

        super().__init__()
        self.redis = redis.Redis.from_url(url)

    def _add(self, adds: list[tuple[str, int, int, float]]) -> list[int]:
        pipe = self.redis.pipeline(transaction=False)  # one round trip; no MULTI needed
        for key, index, n, left in adds:
            name = f"mb:rl:{key}:{index}"
            pipe.incrby(name, n)
            pipe.expire(name, int(left) + 2)
        return [int(count) for count in pipe.execute()[::2]]

    def used(self, key: str, window: int) -> int:
        index, _ = _window(window, time.time())
        value = self.redis.get(f"mb:rl:{key}:{index}")
        return int(value) if value else 0

    def prune(self) -> int:
        return 0  # keys expire by themselves

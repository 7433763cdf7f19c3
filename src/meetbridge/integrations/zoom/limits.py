"""Fixed-window counters shared by every process: in the database by default, in Redis when
MEETBRIDGE_REDIS_URL is set. Used for Zoom's per-account-and-label per-second limits and its
per-host 100 creates + updates per UTC day (a window of 86,400 s since the epoch starts at
00:00 UTC)."""

from __future__ import annotations

import datetime as dt
import email.utils
import threading
import time
from collections.abc import Sequence
from typing import Any, NamedTuple, Protocol

from sqlalchemy import Connection, bindparam, delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from meetbridge.core.db import Database, utcnow
from meetbridge.core.logging import get_logger
from meetbridge.integrations.zoom.tables import RateCounter

log = get_logger("meetbridge.integrations.zoom.limits")


def next_utc_midnight(now: dt.datetime | None = None) -> dt.datetime:
    now = now or dt.datetime.now(dt.UTC)
    return dt.datetime.combine(now.date() + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Seconds to wait: Zoom sends seconds, an HTTP date, an ISO date, or nothing."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max(0.0, when.timestamp() - now)


class Hit(NamedTuple):
    """One call counted against `limit` calls per `window` seconds under `key`. With
    `lease` > 1 the process reserves that many slots at once and spends them locally (fewer
    round trips; never over the limit, but slots reserved and not used in the window are lost,
    so only for per-second limits)."""

    key: str
    limit: int
    window: int
    lease: int = 1

    def counted_at(self, at: float) -> Counted:
        """This hit as counted at `at` (seconds since the epoch): its key and window."""
        return self.key, _window(self.window, at)[0]


# A hit counted in advance: (its key, the number of the window it was counted in).
Counted = tuple[str, int]


class Later(Protocol):
    """Hits sent to the store, its answer not read yet."""

    def waits(self) -> list[float]:
        """As `RateLimiter.hit_all`. Raises when the store does not answer (the hits then
        count as made)."""

    def cancel(self) -> None:
        """Takes the hits back (the call will not be made)."""


class RateLimiter(Protocol):
    def hit_all(self, hits: Sequence[Hit]) -> list[float]:
        """Counts each hit, in one round trip to the store. For each: 0 when it is within its
        limit for the current window, else the seconds until that window ends."""

    def hit(self, key: str, limit: int, window: int, lease: int = 1) -> float:
        """One hit (see `hit_all`)."""

    def hit_all_later(self, hits: Sequence[Hit]) -> Later | None:
        """Counts `hits` for a call a job will make, beside the caller's own write: the store
        is asked now and its answer read later, so the round trip overlaps what the caller
        does meanwhile. None when this store cannot (the SQL store counts in the caller's
        transaction instead: `hit_all_in`) or is unreachable: then nothing was counted.
        No slots are leased for later."""

    def hit_all_in(self, conn: Connection, hits: Sequence[Hit]) -> list[float] | None:
        """As `hit_all` in `conn`'s transaction, when the counters live in that database (a
        rollback takes the hits back); None (nothing counted) otherwise. No slots are leased
        for later."""

    def used(self, key: str, window: int) -> int: ...

    def used_many(self, keys: Sequence[str], window: int) -> dict[str, int]:
        """`used` for many keys in one round trip."""
        ...

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
        todo = self._local(hits)
        return self._waits(hits, todo, self._add(_adds(todo)) if todo else [])

    def hit(self, key: str, limit: int, window: int, lease: int = 1) -> float:
        return self.hit_all([Hit(key, limit, window, lease)])[0]

    def hit_all_later(self, hits: Sequence[Hit]) -> Later | None:
        return None

    def hit_all_in(self, conn: Connection, hits: Sequence[Hit]) -> list[float] | None:
        return None

    def _local(self, hits: Sequence[Hit]) -> list[_Todo]:
        """Spends this process's leased slots; returns the hits the store must count."""
        now = time.time()
        todo = []
        for i, h in enumerate(hits):
            index, left = _window(h.window, now)
            if not self.leases.take(h.key, index):
                todo.append(_Todo(i, h, index, left))
        return todo

    def _waits(self, hits: Sequence[Hit], todo: list[_Todo], counts: list[int]) -> list[float]:
        """The store's counts for `todo` → the wait for each hit; leases the spare slots."""
        waits = [0.0] * len(hits)
        for t, count in zip(todo, counts, strict=True):
            granted = _granted(count, t.hit.lease, t.hit.limit)
            if granted == 0:
                waits[t.position] = t.left
            else:
                self.leases.add(t.hit.key, t.window, granted - 1)
        return waits

    def _add(self, adds: list[tuple[str, int, int, float]]) -> list[int]:
        """Adds to each (key, window index) counter; returns the new counts."""
        raise NotImplementedError


class _Todo(NamedTuple):
    position: int
    hit: Hit
    window: int  # its number: seconds since the epoch // the window's length
    left: float  # seconds left in the window


def _adds(todo: list[_Todo]) -> list[tuple[str, int, int, float]]:
    return [(t.hit.key, t.window, t.hit.lease, t.left) for t in todo]


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
        with self.db.begin() as conn:  # one transaction for all
            return self._add_in(conn, adds)

    def hit_all_in(self, conn: Connection, hits: Sequence[Hit]) -> list[float] | None:
        if conn.engine.url != self.db.write_engine.url:  # counters in another database
            return None
        hits = [h._replace(lease=1) for h in hits]  # a rollback must not leave leased slots
        todo = self._local(hits)
        return self._waits(hits, todo, self._add_in(conn, _adds(todo)) if todo else [])

    def _add_in(self, conn: Connection, adds: list[tuple[str, int, int, float]]) -> list[int]:
        now = utcnow()
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

    def used_many(self, keys: Sequence[str], window: int) -> dict[str, int]:
        index, _ = _window(window, time.time())
        with self.db.read() as s:
            rows = s.execute(
                select(RateCounter.key, RateCounter.count).where(
                    RateCounter.key.in_(list(keys)), RateCounter.window == index
                )
            ).all()
        found = {key: int(count) for key, count in rows}
        return {key: found.get(key, 0) for key in keys}

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

    def hit_all_later(self, hits: Sequence[Hit]) -> Later | None:
        hits = [h._replace(lease=1) for h in hits]  # a cancel must not leave leased slots
        todo = self._local(hits)
        if not todo:
            return _Answered([0.0] * len(hits))
        names = [f"mb:rl:{key}:{index}" for key, index, _n, _left in _adds(todo)]
        commands: list[tuple[object, ...]] = []
        for name, t in zip(names, todo, strict=True):
            commands += [("INCRBY", name, 1), ("EXPIRE", name, int(t.left) + 2)]
        conn = self.redis.connection_pool.get_connection()
        try:
            conn.send_packed_command(conn.pack_commands(commands))
        except Exception as exc:  # nothing counted: the job counts for itself
            self._drop(conn, exc)
            return None
        return _RedisLater(self, conn, hits, todo, names)

    def _drop(self, conn: Any, exc: Exception) -> None:
        log.warning("zoom.rate_count_failed", error=str(exc))
        conn.disconnect()
        self.redis.connection_pool.release(conn)

    def used(self, key: str, window: int) -> int:
        index, _ = _window(window, time.time())
        value = self.redis.get(f"mb:rl:{key}:{index}")
        return int(value) if value else 0

    def used_many(self, keys: Sequence[str], window: int) -> dict[str, int]:
        if not keys:
            return {}
        index, _ = _window(window, time.time())
        values = self.redis.mget([f"mb:rl:{key}:{index}" for key in keys])
        return {key: int(v) if v else 0 for key, v in zip(keys, values, strict=True)}

    def prune(self) -> int:
        return 0  # keys expire by themselves


class _Answered:
    def __init__(self, waits: list[float]) -> None:
        self._waits = waits

    def waits(self) -> list[float]:
        return self._waits

    def cancel(self) -> None:
        pass


class _RedisLater:
    def __init__(
        self,
        store: RedisRateLimiter,
        conn: Any,
        hits: Sequence[Hit],
        todo: list[_Todo],
        names: list[str],
    ) -> None:
        self.store, self.conn, self.hits, self.todo, self.names = store, conn, hits, todo, names
        self._counts: list[int] | None = None

    def _read(self) -> list[int]:
        if self._counts is None:
            try:
                replies = [self.conn.read_response() for _ in range(2 * len(self.names))]
            except Exception as exc:
                self.store._drop(self.conn, exc)
                raise
            self.store.redis.connection_pool.release(self.conn)
            self._counts = [int(count) for count in replies[::2]]
        return self._counts

    def waits(self) -> list[float]:
        return self.store._waits(self.hits, self.todo, self._read())

    def cancel(self) -> None:
        try:
            self._read()
            pipe = self.store.redis.pipeline(transaction=False)
            for name in self.names:
                pipe.decr(name)
            pipe.execute()
        except Exception as exc:  # the hits stay counted: a slot lost, never one too many
            log.warning("zoom.rate_uncount_failed", error=str(exc))

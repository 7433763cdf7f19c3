"""Limits shared by every process: in the database by default, in Redis when
MEETBRIDGE_REDIS_URL is set.

- Fixed-window counters: Zoom's per-host 100 creates + updates per UTC day (a window of
  86,400 s since the epoch starts at 00:00 UTC), and the product's own limits.
- Paces, for Zoom's per-account-and-label per-second budgets: each call reserves the next free
  moment, one interval after the last one reserved. Counting those budgets in fixed one-second
  windows of our clock does not keep them: Zoom's seconds have another phase, so two of our
  full windows can fall in one of Zoom's, and it answers 429 (measured: 16 in a 500-create
  series). Calls spaced evenly at a little under the limit keep every second of Zoom's under
  it, whatever its phase."""

from __future__ import annotations

import datetime as dt
import email.utils
import time
from collections.abc import Sequence
from typing import Any, NamedTuple, Protocol

from sqlalchemy import Connection, bindparam, delete, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from meetbridge.core.db import Database, utcnow
from meetbridge.core.logging import get_logger
from meetbridge.integrations.zoom.tables import RateCounter, RatePace

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
    """One call counted against `limit` calls per `window` seconds under `key`."""

    key: str
    limit: int
    window: int

    def counted_at(self, at: float) -> Counted:
        """This hit as counted at `at` (seconds since the epoch): its key and window."""
        return self.key, _window(self.window, at)[0]


class Pace(NamedTuple):
    """Calls under `key` spaced at least `interval` seconds apart, across processes."""

    key: str
    interval: float

    @classmethod
    def per_second(cls, key: str, limit: int) -> Pace:
        """A pace that keeps `limit` calls a second: one call a second fewer, so a call that
        leaves a little late (a thread's wake-up, the network) still fits in Zoom's second
        with the next ones on time."""
        return cls(key, 1.0 / max(limit - 1, 0.5))


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

    def hit(self, key: str, limit: int, window: int) -> float:
        """One hit (see `hit_all`)."""

    def hit_all_later(self, hits: Sequence[Hit]) -> Later | None:
        """Counts `hits` for a call a job will make, beside the caller's own write: the store
        is asked now and its answer read later, so the round trip overlaps what the caller
        does meanwhile. None when this store cannot (the SQL store counts in the caller's
        transaction instead: `hit_all_in`) or is unreachable: then nothing was counted."""

    def hit_all_in(self, conn: Connection, hits: Sequence[Hit]) -> list[float] | None:
        """As `hit_all` in `conn`'s transaction, when the counters live in that database (a
        rollback takes the hits back); None (nothing counted) otherwise."""

    def pace(self, pace: Pace, max_wait: float) -> tuple[bool, float]:
        """Reserves the next moment free under `pace` for one call: (True, the seconds to wait
        until it). When that moment is more than `max_wait` away: (False, the seconds until
        it), and nothing is reserved."""

    def hold(self, pace: Pace, seconds: float) -> None:
        """No moment under `pace` is given for `seconds` from now (Zoom answered 429 and said
        when to come back): every process's next call waits for it instead of drawing its own
        429. A later moment already reserved stays."""

    def used(self, key: str, window: int) -> int: ...

    def used_many(self, keys: Sequence[str], window: int) -> dict[str, int]:
        """`used` for many keys in one round trip."""
        ...

    def prune(self) -> int:
        """Drops counters of windows that have ended; returns how many."""


def _window(window: int, now: float) -> tuple[int, float]:
    index = int(now // window)
    return index, (index + 1) * window - now


class _Counting:
    """What both stores share: one round trip counts every hit."""

    def hit_all(self, hits: Sequence[Hit]) -> list[float]:
        todo = _todo(hits)
        return _waits(hits, todo, self._add(_adds(todo)) if todo else [])

    def hit(self, key: str, limit: int, window: int) -> float:
        return self.hit_all([Hit(key, limit, window)])[0]

    def hit_all_later(self, hits: Sequence[Hit]) -> Later | None:
        return None

    def hit_all_in(self, conn: Connection, hits: Sequence[Hit]) -> list[float] | None:
        return None

    def _add(self, adds: list[tuple[str, int, float]]) -> list[int]:
        """Adds one to each (key, window index) counter; returns the new counts."""
        raise NotImplementedError


class _Todo(NamedTuple):
    position: int
    hit: Hit
    window: int  # its number: seconds since the epoch // the window's length
    left: float  # seconds left in the window


def _todo(hits: Sequence[Hit]) -> list[_Todo]:
    now = time.time()
    return [_Todo(i, h, *_window(h.window, now)) for i, h in enumerate(hits)]


def _waits(hits: Sequence[Hit], todo: list[_Todo], counts: list[int]) -> list[float]:
    """The store's counts for `todo` → the wait for each hit (0: within its limit)."""
    waits = [0.0] * len(hits)
    for t, count in zip(todo, counts, strict=True):
        if count > t.hit.limit:
            waits[t.position] = t.left
    return waits


def _adds(todo: list[_Todo]) -> list[tuple[str, int, float]]:
    return [(t.hit.key, t.window, t.left) for t in todo]


class SqlRateLimiter(_Counting):
    def __init__(self, db: Database) -> None:
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
        self._new_pace = (
            insert(RatePace)
            .values(key=bindparam("key"), next_at=0.0)
            .on_conflict_do_nothing(index_elements=["key"])
        )

    def _add(self, adds: list[tuple[str, int, float]]) -> list[int]:
        with self.db.begin() as conn:  # one transaction for all
            return self._add_in(conn, adds)

    def hit_all_in(self, conn: Connection, hits: Sequence[Hit]) -> list[float] | None:
        if conn.engine.url != self.db.write_engine.url:  # counters in another database
            return None
        todo = _todo(hits)
        return _waits(hits, todo, self._add_in(conn, _adds(todo)) if todo else [])

    def _add_in(self, conn: Connection, adds: list[tuple[str, int, float]]) -> list[int]:
        now = utcnow()
        return [
            conn.execute(
                self._upsert,
                {
                    "key": key,
                    "window": index,
                    "n": 1,
                    "expires": now + dt.timedelta(seconds=left + 1),
                },
            ).scalar_one()
            for key, index, left in adds
        ]

    def pace(self, pace: Pace, max_wait: float) -> tuple[bool, float]:
        params = {"key": pace.key, "interval": pace.interval, "max_wait": max_wait}
        for _ in range(3):
            now = time.time()
            with self.db.begin() as conn:
                reserved = conn.execute(_PACE_SQL, {**params, "now": now}).scalar()
                if reserved is not None:
                    return True, max(0.0, float(reserved) - pace.interval - now)
                next_at = conn.execute(
                    select(RatePace.next_at).where(RatePace.key == pace.key)
                ).scalar()
                if next_at is None:  # the key's first call: its row, then the update again
                    conn.execute(self._new_pace, {"key": pace.key})
                elif next_at - now > max_wait:
                    return False, float(next_at) - now
                # else another transaction wrote the row in between: ask again
        raise RuntimeError(f"the pace {pace.key} could not be read")  # pragma: no cover

    def hold(self, pace: Pace, seconds: float) -> None:
        until = time.time() + seconds
        with self.db.begin() as conn:
            conn.execute(self._new_pace, {"key": pace.key})
            conn.execute(_HOLD_SQL, {"key": pace.key, "until": until})

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


# One statement, so two processes never reserve the same moment: the row's lock (PostgreSQL) or
# the database's write lock (SQLite) orders them, and each moves the next free moment on.
_PACE_SQL = text(
    "UPDATE rate_paces SET next_at = "
    "(CASE WHEN next_at > :now THEN next_at ELSE :now END) + :interval "
    "WHERE key = :key AND next_at - :now <= :max_wait RETURNING next_at"
)

_HOLD_SQL = text("UPDATE rate_paces SET next_at = :until WHERE key = :key AND next_at < :until")

# The same in Redis, on Redis's clock (one clock for every machine): returns {1 reserved or 0,
# the wait in seconds as a string}. The key outlives its next free moment by a second.
_PACE_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local interval, max_wait = tonumber(ARGV[1]), tonumber(ARGV[2])
local free = math.max(tonumber(redis.call('GET', KEYS[1]) or '0'), now)
local wait = free - now
if wait > max_wait then return {0, tostring(wait)} end
local after = free + interval
local ttl = math.ceil((after - now) * 1000) + 1000
redis.call('SET', KEYS[1], string.format('%.6f', after), 'PX', ttl)
return {1, tostring(wait)}
"""

_HOLD_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local until_at = now + tonumber(ARGV[1])
if tonumber(redis.call('GET', KEYS[1]) or '0') >= until_at then return 0 end
local ttl = math.ceil(tonumber(ARGV[1]) * 1000) + 1000
redis.call('SET', KEYS[1], string.format('%.6f', until_at), 'PX', ttl)
return 1
"""


class RedisRateLimiter(_Counting):
    def __init__(self, url: str) -> None:
        import redis

        self.redis = redis.Redis.from_url(url)
        self._pace = self.redis.register_script(_PACE_LUA)
        self._hold = self.redis.register_script(_HOLD_LUA)

    def pace(self, pace: Pace, max_wait: float) -> tuple[bool, float]:
        reserved, wait = self._pace(keys=[f"mb:pace:{pace.key}"], args=[pace.interval, max_wait])
        return bool(int(reserved)), max(0.0, float(wait))

    def hold(self, pace: Pace, seconds: float) -> None:
        self._hold(keys=[f"mb:pace:{pace.key}"], args=[seconds])

    def _add(self, adds: list[tuple[str, int, float]]) -> list[int]:
        pipe = self.redis.pipeline(transaction=False)  # one round trip; no MULTI needed
        for key, index, left in adds:
            name = f"mb:rl:{key}:{index}"
            pipe.incr(name)
            pipe.expire(name, int(left) + 2)
        return [int(count) for count in pipe.execute()[::2]]

    def hit_all_later(self, hits: Sequence[Hit]) -> Later | None:
        todo = _todo(hits)
        if not todo:
            return _Answered([0.0] * len(hits))
        names = [f"mb:rl:{t.hit.key}:{t.window}" for t in todo]
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
        return _waits(self.hits, self.todo, self._read())

    def cancel(self) -> None:
        try:
            self._read()
            pipe = self.store.redis.pipeline(transaction=False)
            for name in self.names:
                pipe.decr(name)
            pipe.execute()
        except Exception as exc:  # the hits stay counted: a slot lost, never one too many
            log.warning("zoom.rate_uncount_failed", error=str(exc))

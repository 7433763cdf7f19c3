"""Background jobs on huey: SqliteHuey in its own file by default, RedisHuey with Redis.

huey delivers a task at most once. So every task is idempotent and keyed by a domain id: the
domain row's state is the truth, a task that finds its work done does nothing, and a periodic
reconciler re-enqueues work whose row is stuck (lost enqueue, killed worker).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from huey import Huey, RedisHuey, SqliteHuey, crontab
from huey.storage import SqliteStorage

from meetbridge.core.logging import get_logger
from meetbridge.core.settings import Settings

log = get_logger("meetbridge.jobs")


class _OnePollerStorage(SqliteStorage):  # type: ignore[misc]  # huey has no types
    """SQLite cannot wake a waiting worker, so the queue is polled. One thread of the process
    polls, every few milliseconds; the others wait their turn on a lock, using no CPU. A new
    job so starts within a few milliseconds, without dozens of threads polling (and
    contending for SQLite's lock) when there is nothing to do."""

    POLL_EVERY = 0.004
    WAIT_AT_MOST = 1.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._poller = threading.Lock()

    def _create_connection(self) -> Any:
        conn = super()._create_connection()
        # As the main database: WAL with synchronous=NORMAL (SQLite's default, FULL, waits
        # for the disk on every enqueue and dequeue). A lost job is re-queued by the
        # reconcilers; the work itself is recorded in the main database.
        conn.execute("pragma synchronous=1")
        return conn

    def dequeue(self) -> bytes | None:
        give_up = time.monotonic() + self.WAIT_AT_MOST
        if not self._poller.acquire(timeout=self.WAIT_AT_MOST):
            return None
        try:
            while True:
                data: bytes | None = super().dequeue()
                if data is not None or time.monotonic() >= give_up:
                    return data
                time.sleep(self.POLL_EVERY)
        finally:
            self._poller.release()


class _SqliteHuey(SqliteHuey):  # type: ignore[misc]
    storage_class = _OnePollerStorage


def make_huey(settings: Settings, immediate: bool = False) -> Huey:
    if settings.redis_url:
        return RedisHuey("meetbridge", url=settings.redis_url, immediate=immediate, results=False)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return _SqliteHuey(
        "meetbridge", filename=str(settings.huey_file), immediate=immediate, results=False
    )


class JobQueue:
    """Named tasks over one huey instance. Services enqueue by name, after their commit."""

    def __init__(self, huey: Huey) -> None:
        self.huey = huey
        self._tasks: dict[str, Any] = {}

    def task(self, name: str, fn: Callable[..., Any], retries: int = 0, delay: int = 0) -> None:
        self._tasks[name] = self.huey.task(name=name, retries=retries, retry_delay=delay)(fn)

    def periodic(self, name: str, fn: Callable[[], Any], minutes: str = "*") -> None:
        self._tasks[name] = self.huey.periodic_task(crontab(minute=minutes), name=name)(fn)

    def enqueue(self, name: str, *args: Any) -> bool:
        """Queue a task. A failure to enqueue is logged, not raised: the caller's change is
        already committed, and the reconciler will pick the work up."""
        try:
            self._tasks[name](*args)
            return True
        except Exception as exc:  # queue down; the reconciler covers it
            log.warning("jobs.enqueue_failed", task=name, error=str(exc))
            return False

    def ping(self) -> None:
        """Raises when the queue's storage cannot be reached (used by /readyz)."""
        self.huey.pending_count()

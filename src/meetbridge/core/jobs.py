"""Background jobs on huey: SqliteHuey in its own file by default, RedisHuey with Redis.

huey delivers a task at most once. So every task is idempotent and keyed by a domain id: the
domain row's state is the truth, a task that finds its work done does nothing, and a periodic
reconciler re-enqueues work whose row is stuck (lost enqueue, killed worker).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from huey import Huey, RedisHuey, SqliteHuey, crontab

from meetbridge.core.logging import get_logger
from meetbridge.core.settings import Settings

log = get_logger("meetbridge.jobs")


def make_huey(settings: Settings, immediate: bool = False) -> Huey:
    if settings.redis_url:
        return RedisHuey("meetbridge", url=settings.redis_url, immediate=immediate, results=False)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return SqliteHuey(
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

"""Background jobs on huey: SqliteHuey in its own file by default, RedisHuey with Redis.

huey delivers a task at most once. So every task is idempotent and keyed by a domain id: the
domain row's state is the truth, a task that finds its work done does nothing, and a periodic
reconciler re-enqueues work whose row is stuck (lost enqueue, killed worker).
"""

from __future__ import annotations

import atexit
import contextlib
import datetime as dt
import os
import select
import socket
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from huey import Huey, RedisHuey, SqliteHuey, crontab
from huey.storage import SqliteStorage

from meetbridge.core.files import private_dir, private_file
from meetbridge.core.logging import get_logger
from meetbridge.core.settings import Settings

log = get_logger("meetbridge.jobs")

# How long a reconciler leaves work that is due alone: until then its job is most likely still
# waiting in the queue, and queuing it again would double a backlog when workers are busiest.
RECONCILE_GRACE = dt.timedelta(seconds=30)


class Doorbell:
    """Wakes the SQLite queue's workers on this machine when a job is queued (SQLite cannot
    notify). Each worker process listens on a UNIX datagram socket in one folder; whoever
    queues a job sends one byte to every socket there. Best effort: a lost ring only means the
    job waits for the next poll."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._sender: socket.socket | None = None
        self._listener: socket.socket | None = None
        self._path: Path | None = None

    def ring(self) -> None:
        if self._sender is None:
            self._sender = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            self._sender.setblocking(False)
        # Its own socket too: a task this process queues (huey's scheduler moving a due one)
        # wakes this process's own waiting thread.
        for path in self.folder.glob("*.sock"):
            try:
                self._sender.sendto(b"!", str(path))
            except BlockingIOError:  # its buffer is full of rings: it is awake anyway
                pass
            except (ConnectionRefusedError, FileNotFoundError):
                path.unlink(missing_ok=True)  # its process is gone (a live one stays bound)
            except OSError as exc:
                log.debug("jobs.ring_failed", socket=str(path), error=str(exc))

    def wait(self, seconds: float) -> None:
        """Returns when rung, or after `seconds`."""
        if self._listener is None:
            self._listen()
        assert self._listener is not None
        ready, _, _ = select.select([self._listener], [], [], seconds)
        if ready:
            with contextlib.suppress(BlockingIOError):
                while self._listener.recv(64):  # drain: one wake-up for many rings
                    pass

    def _listen(self) -> None:
        private_dir(self.folder)
        self._path = self.folder / f"{os.getpid()}-{uuid.uuid4().hex[:8]}.sock"
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        listener.bind(str(self._path))
        listener.setblocking(False)
        self._listener = listener
        atexit.register(self.close)

    def close(self) -> None:
        if self._listener is not None:
            self._listener.close()
            self._listener = None
        if self._path is not None:
            self._path.unlink(missing_ok=True)


class _RungStorage(SqliteStorage):  # type: ignore[misc]  # huey has no types
    """The SQLite queue with a doorbell. One thread of the process looks at the queue at a
    time, each time it is rung and at least every `POLL_EVERY` seconds; the others wait their
    turn on a lock, using no CPU."""

    POLL_EVERY = 0.1
    WAIT_AT_MOST = 1.0

    def __init__(self, *args: Any, doorbell: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.doorbell = Doorbell(Path(doorbell))
        self._poller = threading.Lock()

    def _create_connection(self) -> Any:
        conn = super()._create_connection()
        # As the main database: WAL with synchronous=NORMAL (SQLite's default, FULL, waits
        # for the disk on every enqueue and dequeue). A lost job is re-queued by the
        # reconcilers; the work itself is recorded in the main database.
        conn.execute("pragma synchronous=1")
        return conn

    def enqueue(self, data: bytes, priority: Any = None) -> None:
        super().enqueue(data, priority)
        self.doorbell.ring()

    def dequeue(self) -> bytes | None:
        give_up = time.monotonic() + self.WAIT_AT_MOST
        if not self._poller.acquire(timeout=self.WAIT_AT_MOST):
            return None
        try:
            while True:
                data: bytes | None = super().dequeue()
                left = give_up - time.monotonic()
                if data is not None or left <= 0:
                    return data
                self.doorbell.wait(min(self.POLL_EVERY, left))
        finally:
            self._poller.release()


class _NoRevoking:
    """Tasks are never revoked here (a task's own row says whether its work is still wanted),
    so huey's look-up of a revocation flag before each task and its clean-up after it, two
    trips to the queue's store per task, are skipped."""

    REVOKE_PREFIX = "r:"  # huey's Task.revoke_id

    def is_revoked(self, task: Any, timestamp: Any = None, peek: bool = True) -> bool:
        return False

    def delete(self, key: str) -> Any:
        if key.startswith(self.REVOKE_PREFIX):
            return False
        return super().delete(key)  # type: ignore[misc]

    def revoke(self, *args: Any, **kwargs: Any) -> None:
        raise NotImplementedError("meetbridge does not revoke tasks")

    revoke_all = revoke_by_id = revoke


class _RedisHuey(_NoRevoking, RedisHuey):  # type: ignore[misc]  # huey has no types
    pass


class _SqliteHuey(_NoRevoking, SqliteHuey):  # type: ignore[misc]
    storage_class = _RungStorage


def make_huey(settings: Settings, immediate: bool = False) -> Huey:
    if settings.redis_url:
        return _RedisHuey("meetbridge", url=settings.redis_url, immediate=immediate, results=False)
    private_dir(settings.data_dir)
    private_file(settings.huey_file)
    return _SqliteHuey(
        "meetbridge",
        filename=str(settings.huey_file),
        doorbell=str(settings.data_dir / "doorbell"),
        immediate=immediate,
        results=False,
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
        return self._submit(name, lambda task: task(*args))

    def enqueue_in(self, seconds: float, name: str, *args: Any) -> bool:
        """Queue a task to run `seconds` from now (it carries its time; the worker that takes
        it early keeps it in huey's schedule until then). Failures as for `enqueue`."""
        return self._submit(name, lambda task: task.schedule(args=args, delay=max(0.0, seconds)))

    def _submit(self, name: str, send: Callable[[Any], Any]) -> bool:
        try:
            send(self._tasks[name])
            return True
        except Exception as exc:  # queue down; the reconciler covers it
            log.warning("jobs.enqueue_failed", task=name, error=str(exc))
            return False

    def ping(self) -> None:
        """Raises when the queue's storage cannot be reached (used by /readyz)."""
        self.huey.pending_count()

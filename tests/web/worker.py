"""A real background worker for the browser tests: a second container on the web's queue,
taking jobs off it in a thread as `meetbridge worker` does, which the test can pause (so a
page is seen in "creating…" or "updating…") and resume."""

from __future__ import annotations

import threading
import time
from types import TracebackType

from meetbridge.container import build_container
from meetbridge.core.settings import Settings


class Worker:
    def __init__(self, settings: Settings) -> None:
        self.c = build_container(settings)
        self.running = threading.Event()
        self._stop = threading.Event()
        self._idle = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        huey = self.c.jobs.huey
        while not self._stop.is_set():
            if not self.running.is_set():
                self._idle.set()
                time.sleep(0.02)
                continue
            self._idle.clear()
            job = huey.dequeue()
            if job is None:
                time.sleep(0.05)
            else:
                huey.execute(job)

    def resume(self) -> None:
        self.running.set()

    def pause(self) -> None:
        """Stops taking jobs; returns once the job in hand (if any) is done."""
        self.running.clear()
        self._idle.clear()
        self._idle.wait(10)

    def __enter__(self) -> Worker:
        self._thread.start()
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stop.set()
        self._thread.join(10)
        self.c.close()

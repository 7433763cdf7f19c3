"""Keeps the processes of `meetbridge run` alive: a child that exits is started again after a
back-off (1 s, doubling, at most 30 s); one that keeps dying (more than `max_restarts` times in
`window` seconds) stops everything with a message, rather than flapping unseen."""

from __future__ import annotations

import signal
import subprocess
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field


@dataclass
class Child:
    name: str
    cmd: list[str]
    proc: subprocess.Popen[bytes] | None = None
    deaths: deque[float] = field(default_factory=deque)
    start_at: float | None = None  # when a dead child is due to start again


class Supervisor:
    def __init__(
        self,
        children: Sequence[tuple[str, list[str]]],
        env: dict[str, str],
        say: Callable[[str], None],
        *,
        max_restarts: int = 5,
        window: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.children = [Child(name, cmd) for name, cmd in children]
        self.env = env
        self.say = say
        self.max_restarts = max_restarts
        self.window = window
        self.clock = clock

    def start(self) -> None:
        for child in self.children:
            self._spawn(child)

    def _spawn(self, child: Child) -> None:
        child.proc = subprocess.Popen(child.cmd, env=self.env)  # noqa: S603 (our own program)
        child.start_at = None

    def check(self) -> str | None:
        """Restarts children that died and are due; returns why everything must stop (a
        child that keeps dying), or None."""
        now = self.clock()
        for child in self.children:
            if child.start_at is not None:
                if now >= child.start_at:
                    self.say(f"Starting the {child.name} again.")
                    self._spawn(child)
                continue
            assert child.proc is not None
            code = child.proc.poll()
            if code is None:
                continue
            child.deaths.append(now)
            while child.deaths and child.deaths[0] < now - self.window:
                child.deaths.popleft()
            if len(child.deaths) > self.max_restarts:
                return (
                    f"The {child.name} exited {len(child.deaths)} times in "
                    f"{self.window:.0f} s (last exit code {code}); stopping. See its log above."
                )
            delay = min(30.0, 2.0 ** (len(child.deaths) - 1))
            self.say(f"The {child.name} exited (code {code}); starting it again in {delay:.0f} s.")
            child.start_at = now + delay
        return None

    def stop(self, grace: float = 10.0) -> None:
        running = [c.proc for c in self.children if c.proc is not None and c.proc.poll() is None]
        for proc in running:
            proc.send_signal(signal.SIGINT)
        deadline = time.monotonic() + grace
        for proc in running:
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()

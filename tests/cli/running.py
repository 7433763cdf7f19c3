"""Starting `meetbridge run` as a user does, for the CLI tests."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable

import httpx

from tests.conftest import PASSWORD
from tests.support import free_port


def until(predicate: Callable[[], bool], seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, "gave up waiting"
        time.sleep(0.05)


def start_run(env: dict[str, str], **extra: str) -> tuple[subprocess.Popen[str], str, int]:
    """`meetbridge run` in a process of its own, once it answers /readyz: the process, the
    web UI's address and the Zoom sandbox's port."""
    port, sandbox_port = free_port(), free_port()
    child_env = {k: v for k, v in os.environ.items() if not k.startswith("MEETBRIDGE_")}
    child_env.update(
        env,
        MEETBRIDGE_PORT=str(port),
        MEETBRIDGE_DEMO_PASSWORD=PASSWORD,
        MEETBRIDGE_SANDBOX_PORT=str(sandbox_port),
        **extra,
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "meetbridge", "run"],
        env=child_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"

    def ready() -> bool:
        assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
        try:
            return httpx.get(f"{base}/readyz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    until(ready, 90)
    return proc, base, sandbox_port

"""`meetbridge run` keeps its processes alive: a worker that dies is started again, a process
that keeps dying stops everything with a message, and production mode seeds no demo."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, func, select

from meetbridge.cli.supervise import Supervisor
from meetbridge.core.db import normalize_url
from meetbridge.core.models import Organization
from tests.cli.running import start_run, until
from tests.conftest import PASSWORD
from tests.support import free_port


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_child_that_exits_is_started_again_after_a_back_off() -> None:
    clock, said = Clock(), []
    crash = [sys.executable, "-c", "raise SystemExit(3)"]
    sup = Supervisor([("worker", crash)], dict(os.environ), said.append, clock=clock)
    sup.start()
    child = sup.children[0]
    assert child.proc is not None
    child.proc.wait(10)
    assert sup.check() is None
    assert said == ["The worker exited (code 3); starting it again in 1 s."]
    first = child.proc
    clock.now += 0.5
    assert sup.check() is None and child.proc is first  # not yet
    clock.now += 0.6
    assert sup.check() is None and child.proc is not first
    assert said[-1] == "Starting the worker again."
    sup.stop()


def test_a_child_that_keeps_dying_stops_everything_with_a_message() -> None:
    clock, said = Clock(), []
    crash = [sys.executable, "-c", "raise SystemExit(3)"]
    sup = Supervisor(
        [("worker", crash)], dict(os.environ), said.append, max_restarts=2, clock=clock
    )
    sup.start()
    problem = None
    for _ in range(20):
        assert sup.children[0].proc is not None
        sup.children[0].proc.wait(10)
        problem = sup.check()
        if problem:
            break
        clock.now += 5
        sup.check()  # starts it again
    assert problem == (
        "The worker exited 3 times in 60 s (last exit code 3); stopping. See its log above."
    )
    sup.stop()


def _children(pid: int) -> dict[int, str]:
    """Child processes of `pid`, with their command lines (from /proc)."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found[int(entry.name)] = cmdline
    return found


@pytest.mark.slow
def test_a_killed_worker_is_started_again_and_the_web_keeps_serving(
    env: dict[str, str],
) -> None:
    proc, base, _ = start_run(env)
    try:
        [worker] = [p for p, cmd in _children(proc.pid).items() if "meetbridge worker" in cmd]
        os.kill(worker, signal.SIGKILL)

        def new_worker() -> bool:
            workers = [p for p, c in _children(proc.pid).items() if "meetbridge worker" in c]
            return bool(workers) and workers != [worker]

        until(new_worker, 30)
        assert httpx.get(f"{base}/readyz", timeout=5).status_code == 200
    finally:
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=30)
    assert "The worker exited (code -9); starting it again in 1 s." in out
    assert "Starting the worker again." in out
    assert proc.returncode == 0, out


@pytest.mark.slow
def test_production_mode_seeds_no_demo_organisation(
    env: dict[str, str],
) -> None:
    production = {
        "MEETBRIDGE_MODE": "production",
        "MEETBRIDGE_SECRET_KEY": "k" * 40,
        "MEETBRIDGE_ENCRYPTION_KEYS": "Rk1tbmp2dHJ1Y2Vhb3NkZnF6eGN2Ym5tYXNkZmdoams=",
        "MEETBRIDGE_ZOOM_WEBHOOK_SECRET": "a-webhook-secret-of-our-own",
    }
    proc, _base, _ = start_run(env, **production)
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0, out
    assert "admin@demo.test" not in out and PASSWORD not in out
    assert "production mode" in out
    engine = create_engine(normalize_url(env["MEETBRIDGE_DATABASE_URL"]))
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(Organization)) == 0
    engine.dispose()


@pytest.mark.slow
def test_the_sandbox_command_stops_its_server_on_sigterm(tmp_path: Path) -> None:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "meetbridge", "sandbox", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )

    def up() -> bool:
        try:
            return httpx.get(f"http://127.0.0.1:{port}/_sandbox", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        until(up, 60)
        proc.send_signal(signal.SIGTERM)
        proc.wait(20)
    finally:
        if proc.poll() is None:
            proc.kill()
    until(lambda: not up(), 10)  # nothing left listening: no orphaned server

"""Real workers: `meetbridge worker` as a separate process delivers what the web side queued,
on SqliteHuey and on RedisHuey."""

from __future__ import annotations

import datetime as dt
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from meetbridge.container import build_container
from meetbridge.core.jobs import Doorbell
from meetbridge.core.settings import Settings
from tests.conftest import ORIGIN, PASSWORD, make_org, make_settings
from tests.support import SmtpServer

REDIS_URL = os.environ.get("MEETBRIDGE_TEST_REDIS_URL")


def _env(settings: Settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEETBRIDGE_")}
    env.update(
        MEETBRIDGE_DATA_DIR=str(settings.data_dir),
        MEETBRIDGE_DATABASE_URL=settings.effective_database_url,
        MEETBRIDGE_SMTP_HOST="127.0.0.1",
        MEETBRIDGE_SMTP_PORT=str(settings.smtp_port),
        MEETBRIDGE_WORKER_THREADS="2",
    )
    if settings.redis_url:
        env["MEETBRIDGE_REDIS_URL"] = settings.redis_url
    return env


@pytest.fixture(params=["sqlite-queue", "redis-queue"])
def queue_settings(
    request: pytest.FixtureRequest, tmp_path: Path, database_url: str, smtp: SmtpServer
) -> Iterator[Settings]:
    if request.param == "redis-queue":
        if not REDIS_URL:
            pytest.skip("MEETBRIDGE_TEST_REDIS_URL is not set")
        settings = make_settings(tmp_path, database_url, smtp, redis_url=REDIS_URL)
        c = build_container(settings)
        c.jobs.huey.flush()
        c.close()
    else:
        settings = make_settings(tmp_path, database_url, smtp)
    yield settings


@pytest.mark.slow
def test_worker_process_sends_the_welcome_email(queue_settings: Settings, smtp: SmtpServer) -> None:
    web = build_container(queue_settings)  # enqueues to the real queue; nothing runs here
    org = make_org(web, "Queued", "owner@queued.test")
    smtp.inbox.clear()
    web.accounts.create_member(
        org.owner,
        email="new@queued.test",
        name="New",
        role="member",
        password=PASSWORD,
        origin=ORIGIN,
    )
    assert smtp.inbox.to("new@queued.test") == []  # queued, not sent inline
    worker = subprocess.Popen(
        [sys.executable, "-m", "meetbridge", "worker"],
        env=_env(queue_settings),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        [mail] = smtp.inbox.wait_for("new@queued.test", timeout=30)
        assert "Welcome to Queued" in mail["Subject"]
    finally:
        worker.send_signal(2)
        _, errors = worker.communicate(timeout=20)
        web.close()
    assert worker.returncode == 0, errors.decode()[-2000:]


def test_a_ring_wakes_a_waiting_sqlite_worker_at_once(tmp_path: Path) -> None:
    """The SQLite queue's doorbell: a job queued in one process wakes the worker waiting in
    another (here: another Doorbell on the same folder, as a web process has) long before its
    next poll."""
    worker, web = Doorbell(tmp_path / "bell"), Doorbell(tmp_path / "bell")
    worker.wait(0)  # listening
    woke: list[float] = []

    def waiting() -> None:
        start = time.monotonic()
        worker.wait(5)
        woke.append(time.monotonic() - start)

    t = threading.Thread(target=waiting)
    t.start()
    time.sleep(0.05)
    web.ring()
    t.join(timeout=5)
    worker.close()
    assert woke and woke[0] < 1, woke
    assert list((tmp_path / "bell").glob("*.sock")) == []  # a worker that stops leaves none


def test_a_ring_clears_the_socket_of_a_worker_that_died(tmp_path: Path) -> None:
    folder = tmp_path / "bell"
    folder.mkdir()
    dead = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    dead.bind(str(folder / "1-dead.sock"))
    dead.close()  # a killed process leaves its socket file behind, with nobody bound
    Doorbell(folder).ring()
    assert not (folder / "1-dead.sock").exists()


def test_a_task_queued_for_later_carries_its_time(
    tmp_path: Path, database_url: str, smtp: SmtpServer
) -> None:
    """A meeting's retry is queued for its time (`enqueue_in`), not left to the reconciler's
    next round: the task carries its time, and huey runs it then."""
    c = build_container(make_settings(tmp_path, database_url, smtp))
    try:
        huey = c.jobs.huey
        huey.flush()
        assert c.jobs.enqueue_in(30, "meetings.work", "m-1")
        [task] = huey.pending()  # the worker that takes it puts it in the schedule
        assert task.args == ("m-1",)
        now = dt.datetime.now(dt.UTC).replace(tzinfo=None)  # huey keeps naive UTC
        assert 25 < (task.eta - now).total_seconds() <= 30
    finally:
        c.close()

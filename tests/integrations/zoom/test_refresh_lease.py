"""A token refresh holds a lease on the connection's row, not a transaction: while Zoom is slow
to answer, every other write goes ahead; a lease whose holder died is taken over."""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import update

from meetbridge.core.db import utcnow
from meetbridge.integrations.zoom.errors import ZoomUnavailable
from meetbridge.integrations.zoom.tables import ZoomConnection
from tests.support import SmtpServer
from tests.zoom_env import ZoomEnv, zoom_env


@pytest.fixture
def env(tmp_path: Path, database_url: str, smtp: SmtpServer) -> Iterator[ZoomEnv]:
    with zoom_env(tmp_path, database_url, smtp) as e:
        yield e


def _connected(env: ZoomEnv) -> ZoomConnection:
    env.connect(env.signed_in("ann@acme.test"), "maria@zoom-sandbox.test")
    conn = env.c.connections.my_connection(env.user("ann@acme.test"))
    assert conn is not None
    return conn


def _expire(env: ZoomEnv, conn: ZoomConnection, **values: object) -> None:
    with env.c.db.write() as s:
        s.execute(
            update(ZoomConnection)
            .where(ZoomConnection.id == conn.id)
            .values(access_expires_at=utcnow(), **values)
        )
    env.c.zoom.tokens.forget(conn.id)


def _row(env: ZoomEnv, conn: ZoomConnection) -> ZoomConnection:
    with env.c.db.read() as s:
        row = s.get(ZoomConnection, conn.id)
    assert row is not None
    return row


def test_writes_go_ahead_while_a_refresh_waits_on_a_slow_zoom(env: ZoomEnv) -> None:
    conn = _connected(env)
    _expire(env, conn)
    env.control("POST", "/faults", json={"path": "/oauth/token", "latency_ms": 2500})
    emails: list[str] = []
    caller = threading.Thread(
        target=lambda: emails.append(env.c.zoom.api(conn.id).get_user().email)
    )
    caller.start()
    deadline = time.monotonic() + 5
    while _row(env, conn).refresh_claim is None:  # the refresh is now waiting on Zoom
        assert time.monotonic() < deadline, "the refresh never started"
        time.sleep(0.01)
    start = time.monotonic()
    with env.c.db.write() as s:  # the very row being refreshed
        s.execute(
            update(ZoomConnection)
            .where(ZoomConnection.id == conn.id)
            .values(last_error_at=utcnow())
        )
    with env.c.db.write() as s:  # and any other row
        s.execute(
            update(ZoomConnection).where(ZoomConnection.id != conn.id).values(updated_at=utcnow())
        )
    assert httpx.get(f"{env.product}/healthz", timeout=5).status_code == 200
    took = time.monotonic() - start
    assert took < 1.0, f"writes waited {took:.2f} s for the refresh"
    assert caller.is_alive()  # Zoom has still not answered: the writes did not wait for it
    caller.join(10)
    assert emails == ["maria@zoom-sandbox.test"]
    after = _row(env, conn)
    assert after.token_version == conn.token_version + 1 and after.refresh_claim is None


def test_a_lease_whose_holder_died_is_taken_over(env: ZoomEnv) -> None:
    conn = _connected(env)
    _expire(
        env,
        conn,
        refresh_claim="a-worker-that-died",
        refresh_claimed_until=utcnow() + dt.timedelta(milliseconds=300),
    )
    assert env.c.zoom.api(conn.id).get_user().email == "maria@zoom-sandbox.test"
    after = _row(env, conn)
    assert after.token_version == conn.token_version + 1 and after.refresh_claim is None


def test_a_refresh_that_failed_elsewhere_fails_here_without_a_second_call(env: ZoomEnv) -> None:
    conn = _connected(env)
    _expire(
        env,
        conn,
        refresh_claim="another-process",
        refresh_claimed_until=utcnow() + dt.timedelta(seconds=30),
    )
    waiting: list[BaseException] = []
    polling = threading.Event()

    def sleep(seconds: float) -> None:  # the caller waits for the other's refresh
        polling.set()
        time.sleep(seconds)

    env.c.zoom.tokens.sleep = sleep

    def call() -> None:
        try:
            env.c.zoom.api(conn.id).get_user()
        except BaseException as exc:
            waiting.append(exc)

    caller = threading.Thread(target=call)
    caller.start()
    issued = len(env.control("GET", "/tokens"))
    assert polling.wait(5)
    with env.c.db.write() as s:  # the other process gave up: Zoom was down
        s.execute(
            update(ZoomConnection)
            .where(ZoomConnection.id == conn.id)
            .values(refresh_claim=None, refresh_claimed_until=None)
        )
    caller.join(5)
    assert len(waiting) == 1 and isinstance(waiting[0], ZoomUnavailable)
    assert len(env.control("GET", "/tokens")) == issued

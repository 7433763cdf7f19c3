"""No endpoint or dependency that runs on the event loop writes to the database: a write that
waits for the database's write lock there stalls every request of the process. The tests of
tests/api and tests/web run with such writes refused (`Database.refuse_loop_writes`)."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import threading
import time
from collections.abc import Callable, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import anyio.to_thread
import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text
from starlette.concurrency import run_in_threadpool

from meetbridge.app import create_app
from meetbridge.container import Container
from meetbridge.core.db import SERVING_REQUEST, WriteOnEventLoop
from meetbridge.core.models import ApiToken, WebhookEvent
from meetbridge_sandbox.webhooks import sign
from tests.conftest import Org
from tests.support import LiveServer


def _webhook(c: Container, zoom_id: int, event: str = "meeting.updated") -> dict[str, object]:
    """A signed Zoom webhook delivery: content and headers for httpx / TestClient."""
    secret = c.settings.zoom_webhook_secret.get_secret_value()
    body = json.dumps(
        {
            "event": event,
            "event_ts": zoom_id,
            "payload": {"object": {"id": zoom_id, "uuid": f"u{zoom_id}"}, "plainToken": "abc"},
        }
    )
    now = str(int(time.time()))
    return {
        "content": body.encode(),
        "headers": {
            "content-type": "application/json",
            "x-zm-request-timestamp": now,
            "x-zm-signature": sign(secret, now, body),
        },
    }


def _stale(c: Container, org: Org) -> None:
    """Makes the token's last-used stamp due, so the next request writes it."""
    with c.db.write() as s:
        s.execute(ApiToken.__table__.update().values(last_used_at=None))


def test_the_guard_refuses_a_write_on_the_event_loop_and_allows_one_in_a_thread(
    container: Container,
) -> None:
    assert container.db.refuse_loop_writes

    async def on_the_loop() -> None:
        with container.db.write() as s:  # a loop of the test's own: not refused
            s.execute(text("SELECT 1"))
        serving = SERVING_REQUEST.set(True)  # as the middleware does for a request
        try:
            with container.db.write() as s:
                s.execute(text("SELECT 1"))
        finally:
            SERVING_REQUEST.reset(serving)

    async def in_a_thread() -> None:
        SERVING_REQUEST.set(True)  # copied into the thread pool with the context

        def write() -> None:
            with container.db.begin() as conn:
                conn.execute(text("SELECT 1"))
            with container.db.single() as one:
                one.execute(text("SELECT 1"))

        await run_in_threadpool(write)

    with pytest.raises(WriteOnEventLoop):
        _run_in_a_fresh_thread(on_the_loop)
    _run_in_a_fresh_thread(in_a_thread)


def test_webhooks_and_token_stamps_write_off_the_event_loop(
    client: TestClient, container: Container, acme: Org
) -> None:
    """With the guard on: the webhook endpoint records (a write), answers the URL check, and
    an API request whose token stamp is due writes that stamp."""
    r = client.post("/webhooks/zoom", **_webhook(container, 11))  # type: ignore[arg-type]
    assert r.status_code == 200 and r.json() == {"status": "received"}, r.text
    r = client.post("/webhooks/zoom/deauthorize", **_webhook(container, 11))  # type: ignore[arg-type]
    assert r.json() == {"status": "duplicate"}
    check = client.post(
        "/webhooks/zoom",
        **_webhook(container, 12, "endpoint.url_validation"),  # type: ignore[arg-type]
    )
    assert check.status_code == 200 and check.json()["plainToken"] == "abc"
    for path in ("/api/v1/me", "/api/v1/meetings", "/api/v1/zoom/connections"):
        _stale(container, acme)
        assert client.get(path, headers=acme.headers).status_code == 200, path
        with container.db.read() as s:
            assert s.scalar(select(ApiToken.last_used_at)) is not None, path


@pytest.fixture
def live(container: Container) -> Iterator[str]:
    with LiveServer(create_app(container)) as server:
        yield server.url


def _hold_the_write_lock(path: Path, seconds: float, held: threading.Event) -> None:
    raw = sqlite3.connect(path, isolation_level=None)
    raw.execute("BEGIN IMMEDIATE")
    held.set()
    time.sleep(seconds)
    raw.execute("COMMIT")
    raw.close()


def test_a_held_write_lock_does_not_stall_the_other_requests(
    live: str, container: Container, acme: Org, database_url: str
) -> None:
    if not database_url.startswith("sqlite"):
        pytest.skip("SQLite's one write lock for the whole file")
    with httpx.Client(base_url=live, timeout=10) as warm:
        # Each path's first run compiles its SQL (and here runs the webhook's job inline):
        # hundreds of ms of CPU in a thread, which slows the loop through the GIL, lock or no
        # lock. Measured below is only what waiting for the lock costs.
        assert warm.post("/webhooks/zoom", **_webhook(container, 20)).status_code == 200
        assert warm.get("/api/v1/me", headers=acme.headers).status_code == 200
    _stale(container, acme)
    held = threading.Event()
    locker = threading.Thread(
        target=_hold_the_write_lock, args=(Path(database_url[len("sqlite:///") :]), 1.5, held)
    )
    locker.start()
    assert held.wait(5)
    with ThreadPoolExecutor(4) as pool, httpx.Client(base_url=live, timeout=10) as http:
        webhook = pool.submit(http.post, "/webhooks/zoom", **_webhook(container, 21))
        me = pool.submit(http.get, "/api/v1/me", headers=acme.headers)
        time.sleep(0.05)  # both are waiting for the lock now
        started = time.monotonic()
        assert http.get("/healthz").status_code == 200
        answered = time.monotonic() - started
        assert answered < 0.5, f"/healthz took {answered:.2f}s while a write waited"
        assert not webhook.done() and not me.done()  # they did wait for the lock
        assert webhook.result().json() == {"status": "received"}
        assert me.result().status_code == 200
    locker.join()
    with container.db.read() as s:
        assert s.scalar(select(WebhookEvent.id)) is not None
        assert s.scalar(select(ApiToken.last_used_at)) is not None


def test_the_hot_path_keeps_its_one_thread_hop(
    client: TestClient, acme: Org, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Scheduling over the API hops to the thread pool once (the endpoint); reads none. The
    token's stamp costs one more hop when it is due, once every few minutes per token."""
    hops: list[object] = []
    real = anyio.to_thread.run_sync

    async def counting(fn: Any, *args: Any, **kwargs: Any) -> Any:
        hops.append(fn)
        return await real(fn, *args, **kwargs)

    monkeypatch.setattr(anyio.to_thread, "run_sync", counting)
    body = {"title": "T", "start": "2030-01-01T10:00:00", "timezone": "UTC", "duration": 30}
    client.post("/api/v1/meetings", json=body, headers=acme.headers)
    assert len(hops) == 2  # the stamp was due (a new token), then the endpoint
    for _ in range(3):
        hops.clear()
        client.post("/api/v1/meetings", json=body, headers=acme.headers)
        assert len(hops) == 1
    hops.clear()
    assert client.get("/api/v1/me", headers=acme.headers).status_code == 200
    assert client.get("/api/v1/meetings", headers=acme.headers).status_code == 200
    assert hops == []


def _run_in_a_fresh_thread(coro: Callable[[], Coroutine[Any, Any, None]]) -> None:
    """`asyncio.run` on a thread of its own: the test's thread may hold another library's loop
    (Playwright's sync API keeps one once a browser test has run in this session)."""
    failure: list[BaseException] = []

    def main() -> None:
        try:
            asyncio.run(coro())
        except BaseException as exc:
            failure.append(exc)

    thread = threading.Thread(target=main)
    thread.start()
    thread.join(30)
    if failure:
        raise failure[0]

"""Sign-in throttling slows guessing down without locking anyone out, and holds under tries
sent all at once (both databases)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from meetbridge.container import Container, build_container
from meetbridge.core.audit import Origin
from meetbridge.core.clock import ManualClock
from meetbridge.core.db import utcnow
from meetbridge.core.errors import NotAuthenticated, Throttled
from meetbridge.core.models import AuditEvent
from meetbridge.core.settings import Settings
from tests.conftest import PASSWORD, make_org
from tests.support import free_port

EMAIL = "owner@acme.test"
ATTACKER = Origin(ip="203.0.113.66", via="web")
OWNER_ELSEWHERE = Origin(ip="198.51.100.7", via="web")


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(utcnow())


@pytest.fixture
def c(settings: Settings, clock: ManualClock) -> Iterator[Container]:
    container = build_container(settings, immediate_jobs=True, clock=clock)
    make_org(container, "Acme", EMAIL)
    yield container
    container.close()


def _try(c: Container, password: str, origin: Origin) -> str:
    try:
        c.accounts.authenticate(EMAIL, password, origin)
        return "ok"
    except Throttled as exc:
        return f"wait {exc.retry_after}"
    except NotAuthenticated:
        return "wrong"


def _checked(c: Container) -> int:
    with c.db.read() as s:
        return int(
            s.scalar(select(func.count()).where(AuditEvent.action == "auth.sign_in_failed")) or 0
        )


def test_misses_from_one_address_never_lock_the_owner_out_elsewhere(
    c: Container,
) -> None:
    assert [_try(c, "wrong-guess-1", ATTACKER) for _ in range(5)] == ["wrong"] * 5
    assert _try(c, "wrong-guess-1", ATTACKER).startswith("wait")
    assert _try(c, PASSWORD, OWNER_ELSEWHERE) == "ok"  # was a 429 for the whole window


def test_an_address_that_keeps_missing_waits_longer_each_time(
    c: Container, clock: ManualClock
) -> None:
    for _ in range(5):
        assert _try(c, "wrong-guess-1", ATTACKER) == "wrong"
    assert _try(c, "wrong-guess-1", ATTACKER) == "wait 31"
    clock.advance(seconds=31)
    assert _try(c, "wrong-guess-1", ATTACKER) == "wrong"  # checked again, after the pause
    assert _try(c, "wrong-guess-1", ATTACKER) == "wait 61"  # the next pause is doubled
    clock.advance(seconds=61)
    assert _try(c, PASSWORD, ATTACKER) == "ok"  # the owner, back at that address


def test_tries_sent_at_once_check_no_more_passwords_than_the_limit(c: Container) -> None:
    with ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(lambda _: _try(c, "wrong-guess-1", ATTACKER), range(40)))
    assert results.count("wrong") == 5 and _checked(c) == 5
    assert all(r.startswith("wait") for r in results if r != "wrong")


def test_one_login_guessed_from_many_addresses_is_slowed_not_closed(
    c: Container, clock: ManualClock
) -> None:
    assert _try(c, PASSWORD, OWNER_ELSEWHERE) == "ok"  # the owner's usual address
    for i in range(21):
        bot = Origin(ip=f"192.0.2.{i}", via="web")
        assert _try(c, "wrong-guess-1", bot) == "wrong"
        clock.advance(seconds=3)
    assert _try(c, "wrong-guess-1", Origin(ip="192.0.2.200", via="web")) == "wrong"
    assert _try(c, "wrong-guess-2", Origin(ip="192.0.2.201", via="web")) == "wait 3"
    assert _try(c, PASSWORD, OWNER_ELSEWHERE) == "ok"  # a known address is not spaced
    clock.advance(seconds=3)
    assert _try(c, PASSWORD, Origin(ip="192.0.2.250", via="web")) == "ok"  # a new one, soon


@pytest.mark.slow
def test_behind_a_trusted_proxy_the_client_address_is_the_forwarded_one(
    tmp_path: Path, settings: Settings
) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEETBRIDGE_")}
    env.update(
        MEETBRIDGE_DATA_DIR=str(tmp_path / "served"),
        MEETBRIDGE_DATABASE_URL=settings.effective_database_url,
        MEETBRIDGE_PORT=str(port),
        MEETBRIDGE_TRUSTED_PROXIES="127.0.0.1",
        MEETBRIDGE_LOG_LEVEL="WARNING",
    )
    c = build_container(settings)
    make_org(c, "Acme", EMAIL)
    proc = subprocess.Popen(
        [sys.executable, "-m", "meetbridge", "serve", "--workers", "1"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline and proc.poll() is None
            time.sleep(0.2)
        with httpx.Client(base_url=base, headers={"X-Forwarded-For": "203.0.113.9"}) as web:
            page = web.get("/signin")
            token = re.search(r'name="csrf_token" value="([0-9a-f]+)"', page.text)
            assert token
            r = web.post(
                "/signin",
                data={"email": EMAIL, "password": "wrong-guess-1", "csrf_token": token.group(1)},
            )
            assert r.status_code == 401
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(20)
    with c.db.read() as s:
        ips = s.scalars(
            select(AuditEvent.ip).where(AuditEvent.action == "auth.sign_in_failed")
        ).all()
    c.close()
    assert ips == ["203.0.113.9"]

"""The public limits count attempts, not bookings made: every POST to book counts against its
address and its e-mail, refused ones too (a robot trying times that are not offered, or
sending bad input, is held back as one that books), and listing slots is limited per client
address. A refusal is a 429 with Retry-After and says why."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from meetbridge.booking.tables import Booking
from meetbridge.core.errors import Throttled
from tests.booking.conftest import book, make_type, next_weekday, slots_on
from tests.support import SmtpServer
from tests.zoom_env import ZoomEnv, zoom_env

PER_ADDRESS = 6
PER_EMAIL = 3


@pytest.fixture
def env(tmp_path: Path, database_url: str, smtp: SmtpServer) -> Iterator[ZoomEnv]:
    with zoom_env(
        tmp_path,
        database_url,
        smtp,
        zoom_timeout=2.0,
        booking_link_wait_seconds=0.0,
        booking_attempts_per_address=PER_ADDRESS,
        booking_attempts_per_email=PER_EMAIL,
    ) as e:
        e.connect(e.signed_in("ann@acme.test"), "maria@zoom-sandbox.test")
        yield e


def _count(env: ZoomEnv) -> int:
    with env.c.db.read() as s:
        return int(s.scalar(select(func.count()).select_from(Booking)) or 0)


def test_refused_attempts_count_against_the_email(env: ZoomEnv) -> None:
    make_type(env, ["ann@acme.test"], duration=15, interval=15)
    offered = slots_on(env, next_weekday())
    night = dt.datetime.fromisoformat(offered[0]["start"]).replace(hour=2)  # not offered
    for _ in range(PER_EMAIL):
        assert book(env, night.isoformat(), email="same@example.test").status_code == 409
    # A time that is offered, from the same e-mail: the refused tries counted.
    r = book(env, offered[0]["start"], email="Same@Example.test")
    assert r.status_code == 429, r.text
    assert int(r.headers["Retry-After"]) > 0
    assert "too many" in r.json()["error"]["message"]
    assert _count(env) == 0
    # Another e-mail from the same address is still let through.
    assert book(env, offered[0]["start"], email="other@example.test").status_code == 201


def test_bad_input_counts_against_the_address(env: ZoomEnv) -> None:
    make_type(env, ["ann@acme.test"], duration=15, interval=15)
    offered = slots_on(env, next_weekday())
    for i in range(PER_ADDRESS):
        r = book(env, "tomorrow at nine", email=f"bad{i}@example.test")
        assert r.status_code == 422, r.text
    r = book(env, offered[0]["start"], email="fresh@example.test")
    assert r.status_code == 429 and int(r.headers["Retry-After"]) > 0, r.text
    assert "from this address" in r.json()["error"]["message"]
    assert _count(env) == 0


def test_the_honeypot_counts_too(env: ZoomEnv) -> None:
    make_type(env, ["ann@acme.test"], duration=15, interval=15)
    offered = slots_on(env, next_weekday())
    for _ in range(PER_EMAIL):
        r = book(env, offered[0]["start"], email="bot@example.test", website="http://spam")
        assert r.status_code == 422
    assert book(env, offered[0]["start"], email="bot@example.test").status_code == 429
    assert _count(env) == 0


def test_listing_slots_is_limited_per_client_address(env: ZoomEnv) -> None:
    make_type(env, ["ann@acme.test"])
    b = env.c.bookings.bookable("acme", "intro")
    now = dt.datetime.now(dt.UTC)
    limit = env.c.bookings.slots_per_minute
    assert limit == 4 * PER_ADDRESS
    if time.time() % 60 > 40:  # the counters' windows are whole minutes: start in a fresh one
        time.sleep(60.5 - time.time() % 60)
    for _ in range(limit):
        assert env.c.bookings.slots(b, now, now + dt.timedelta(days=7), client="203.0.113.7")
    with pytest.raises(Throttled) as refused:
        env.c.bookings.slots(b, now, now + dt.timedelta(days=7), client="203.0.113.7")
    assert 0 < refused.value.retry_after <= 61
    assert "slot listings" in refused.value.message
    # Another address, and the server's own reads (no client), are not held back.
    assert env.c.bookings.slots(b, now, now + dt.timedelta(days=7), client="203.0.113.8")
    assert env.c.bookings.slots(b, now, now + dt.timedelta(days=7))

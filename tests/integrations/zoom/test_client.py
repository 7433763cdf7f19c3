"""The Zoom client against the live sandbox: tokens, limits, retries and error mapping."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import update

from meetbridge.integrations.zoom.client import ZoomApi
from meetbridge.integrations.zoom.errors import (
    NeedsReconnect,
    ZoomAmbiguous,
    ZoomNotFound,
    ZoomRateLimited,
    ZoomScopeError,
    ZoomUnavailable,
    ZoomValidationError,
)
from meetbridge.integrations.zoom.limits import parse_retry_after
from meetbridge.integrations.zoom.tables import ZoomConnection
from meetbridge.integrations.zoom.tokens import SeenState
from tests.conftest import ORIGIN
from tests.support import SmtpServer
from tests.zoom_env import ZoomEnv, zoom_env

DEMO_S2S = ("mbDemoAccount01", "mbDemoS2SApp", "mb-demo-s2s-app-secret-0123456789")


@pytest.fixture
def env(tmp_path: Path, database_url: str, smtp: SmtpServer) -> Iterator[ZoomEnv]:
    with zoom_env(tmp_path, database_url, smtp, zoom_max_wait=4.0, zoom_timeout=1.5) as e:
        yield e


@pytest.fixture
def api(env: ZoomEnv) -> ZoomApi:
    owner = env.user("owner@acme.test")
    conn = env.c.connections.save_account(owner, *DEMO_S2S, origin=ORIGIN)
    return env.c.zoom.api(conn.id)


def _tokens(env: ZoomEnv) -> int:
    return len([t for t in env.control("GET", "/tokens") if t["client_id"] == "mbDemoS2SApp"])


def test_typed_calls_and_call_api(env: ZoomEnv, api: ZoomApi) -> None:
    m = api.create_meeting(
        {"topic": "Typed", "start_time": "2030-01-02T10:00:00Z"}, user_id="dana@zoom-sandbox.test"
    )
    assert m.id > 10**10 and m.join_url
    assert api.get_meeting(m.id).topic == "Typed"
    api.update_meeting(m.id, {"topic": "Typed 2"}, host="dana@zoom-sandbox.test")
    raw = api.call_api("GET", f"/meetings/{m.id}")
    assert raw["topic"] == "Typed 2"
    assert [x.id for x in api.iter_meetings("dana@zoom-sandbox.test")] == [m.id]
    api.delete_meeting(m.id)
    with pytest.raises(ZoomNotFound) as err:
        api.get_meeting(m.id)
    assert err.value.code == 3001


def test_an_expired_token_is_refreshed_once_and_the_call_retried(
    env: ZoomEnv, api: ZoomApi
) -> None:
    api.get_user("dana@zoom-sandbox.test")
    before = _tokens(env)
    env.control("POST", "/tokens/revoke", json={"client_id": "mbDemoS2SApp"})  # 124 at Zoom
    assert api.get_user("dana@zoom-sandbox.test").email == "dana@zoom-sandbox.test"
    assert _tokens(env) == before + 1


def test_429_waits_per_retry_after_or_backs_off_without_it(env: ZoomEnv, api: ZoomApi) -> None:
    for style in ("seconds", "date", "none"):
        env.control(
            "POST", "/faults", json={"path": "/v2/*", "burst_429": 1, "burst_retry_after": style}
        )
        start = time.monotonic()
        assert api.get_user("dana@zoom-sandbox.test").email
        assert time.monotonic() - start >= 0.3, style
    env.control(
        "POST", "/faults", json={"path": "/v2/*", "burst_429": 50, "burst_retry_after": "seconds"}
    )
    with pytest.raises(ZoomRateLimited) as err:
        api.get_user("dana@zoom-sandbox.test")
    assert not err.value.daily  # gave up after zoom_max_wait, with a time to retry


def test_the_hosts_daily_limit(env: ZoomEnv, api: ZoomApi) -> None:
    env.control("PATCH", "/accounts/mbDemoAccount01", json={"rate_limit_multiplier": 0})
    core = env.sandbox_app.state.sandbox
    dana = core.state.user_by_email("dana@zoom-sandbox.test")
    core.state.host_daily[f"{dana.id}/{core.clock.now().date().isoformat()}"] = 100
    with pytest.raises(ZoomRateLimited) as err:  # Zoom's 429 with no Retry-After
        api.create_meeting({"topic": "x"}, user_id="dana@zoom-sandbox.test")
    assert err.value.daily and err.value.retry_at.hour == 0
    # meetbridge counts too, so a host it has used up is refused without calling Zoom
    for i in range(100):
        try:
            api.create_meeting({"topic": str(i)}, user_id="sam@zoom-sandbox.test")
        except ZoomRateLimited:
            pytest.fail("Sam has his own budget")
    calls = len(env.control("GET", "/meetings?host=sam@zoom-sandbox.test"))
    with pytest.raises(ZoomRateLimited, match="100 meeting creates and updates"):
        api.create_meeting({"topic": "101"}, user_id="sam@zoom-sandbox.test")
    assert len(env.control("GET", "/meetings?host=sam@zoom-sandbox.test")) == calls == 100


def test_5xx_and_timeouts_are_retried_when_safe(env: ZoomEnv, api: ZoomApi) -> None:
    api.get_user("dana@zoom-sandbox.test")  # a token in hand
    env.control("POST", "/faults", json={"path": "/v2/*", "burst_error": 2, "error_status": 503})
    assert api.get_user("dana@zoom-sandbox.test").email  # two 503s, then success
    env.control("POST", "/faults", json={"path": "/v2/*", "error_rate": 1.0})
    with pytest.raises(ZoomUnavailable):
        api.get_user("dana@zoom-sandbox.test")


def test_a_create_is_never_repeated_blindly(env: ZoomEnv, api: ZoomApi) -> None:
    host = "/v2/users/dana@zoom-sandbox.test/meetings"
    env.control("POST", "/faults", json={"path": host, "method": "POST", "burst_error": 1})
    with pytest.raises(ZoomAmbiguous):
        api.create_meeting({"topic": "5xx"}, user_id="dana@zoom-sandbox.test")
    env.control(
        "POST",
        "/faults",
        json={"path": host, "method": "POST", "lost_response_rate": 1.0, "hang_seconds": 3},
    )
    with pytest.raises(ZoomAmbiguous):
        api.create_meeting({"topic": "lost"}, user_id="dana@zoom-sandbox.test")
    made = env.control("GET", "/meetings?host=dana@zoom-sandbox.test")
    assert [m["topic"] for m in made] == ["lost"]  # created once, not retried


def test_zoom_errors_become_the_projects_own(env: ZoomEnv, api: ZoomApi) -> None:
    with pytest.raises(ZoomValidationError) as err:
        api.create_meeting({"topic": "x" * 201}, user_id="dana@zoom-sandbox.test")
    assert err.value.errors[0]["field"] == "topic"
    env.control("PATCH", "/apps/mbDemoS2SApp", json={"scopes": ["user:read:admin"]})
    env.control("POST", "/tokens/revoke", json={"client_id": "mbDemoS2SApp"})
    with pytest.raises(ZoomScopeError) as scope:
        api.create_meeting({"topic": "x"}, user_id="dana@zoom-sandbox.test")
    assert scope.value.code == 4711


def test_zoom_unreachable(tmp_path: Path, database_url: str, smtp: SmtpServer) -> None:
    with zoom_env(tmp_path, database_url, smtp, zoom_timeout=1.0) as env:
        owner = env.user("owner@acme.test")
        conn = env.c.connections.save_account(owner, *DEMO_S2S, origin=ORIGIN)
        api = env.c.zoom.api(conn.id)
        api.get_user("dana@zoom-sandbox.test")
        env.c.zoom.config = type(env.c.zoom.config)(
            api_base="http://127.0.0.1:9/v2", retries=1, backoff=0.01
        )
        with pytest.raises(ZoomUnavailable, match="could not be reached"):
            api.get_user("dana@zoom-sandbox.test")


def test_retry_after_forms() -> None:
    now = dt.datetime(2027, 1, 15, 8, 0, 0, tzinfo=dt.UTC).timestamp()
    assert parse_retry_after("3", now) == 3
    assert parse_retry_after("2027-01-15T08:00:10Z", now) == 10
    assert parse_retry_after("2027-01-15T07:00:00Z", now) == 0  # already past
    assert parse_retry_after("Fri, 15 Jan 2027 08:00:30 GMT", now) == 30
    assert parse_retry_after(None, now) is None
    assert parse_retry_after("garbage", now) is None


def test_a_connection_state_read_with_the_job_overrides_the_token_cache(
    env: ZoomEnv, api: ZoomApi
) -> None:
    """A job's claim reads the connection's status and token version with the meeting; a
    connection that another process marked for reconnecting is refused at once, although this
    process still holds its token in its short cache."""
    assert next(api.iter_users())  # the token is now in this process's cache
    with env.c.db.write() as s:
        s.execute(
            update(ZoomConnection)
            .where(ZoomConnection.id == api.connection_id)
            .values(status="needs_reconnect")
        )
    assert next(api.iter_users())  # the cache alone: still served for up to 2 s
    with env.c.db.read() as s:
        conn = s.get(ZoomConnection, api.connection_id)
        assert conn is not None
    with pytest.raises(NeedsReconnect):
        seen = SeenState(conn.status, conn.token_version)
        env.c.zoom.api(api.connection_id, seen).get_user("me")

"""The client's rules on an injected transport (httpx.MockTransport), sleep and clock: no
network, no database, no waiting. Each test runs in milliseconds."""

from __future__ import annotations

import datetime as dt
import email.utils
import json
from dataclasses import dataclass, field
from typing import Any, cast

import httpx
import pytest

from meetbridge.core.clock import ManualClock
from meetbridge.integrations.zoom.client import ClientConfig, ZoomApi, ZoomClient
from meetbridge.integrations.zoom.errors import (
    ZoomAmbiguous,
    ZoomAuthError,
    ZoomRateLimited,
    ZoomUnavailable,
)
from meetbridge.integrations.zoom.limits import Hit, Pace, RateLimiter
from meetbridge.integrations.zoom.tokens import Credentials, TokenManager

NOW = dt.datetime(2027, 3, 4, 15, 30, 0, tzinfo=dt.UTC)
CREATE = ("POST", "/v2/users/me/meetings")


def _creds(version: int) -> Credentials:
    return Credentials("conn-1", "user", f"token-{version}", version, "acct-1", "zuser-1")


@dataclass
class Tokens:
    """The token store, as the client uses it: a current token, and refreshes counted."""

    version: int = 1
    refreshes: list[int] = field(default_factory=list)

    def current(self, connection_id: str, seen: object = None) -> Credentials:
        return _creds(self.version)

    def refresh(self, connection_id: str, seen_version: int) -> Credentials:
        self.refreshes.append(seen_version)
        self.version = seen_version + 1
        return _creds(self.version)


class NoLimits:
    """Zoom's limits never reached on meetbridge's side (the shared counters are tested
    in test_limits.py)."""

    def hit(self, key: str, limit: int, window: int) -> float:
        return 0.0

    def hit_all(self, hits: list[Hit]) -> list[float]:
        return [0.0 for _ in hits]

    held: list[tuple[Pace, float]]

    def __init__(self) -> None:
        self.held = []

    def pace(self, pace: Pace, max_wait: float) -> tuple[bool, float]:
        return True, 0.0

    def hold(self, pace: Pace, seconds: float) -> None:
        self.held.append((pace, seconds))


Reply = httpx.Response | Exception


@dataclass
class Zoom:
    """Answers requests from a script; records what was sent."""

    script: list[Reply]
    sent: list[httpx.Request] = field(default_factory=list)
    bearers: list[str] = field(default_factory=list)  # as sent (a retry reuses the request)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.sent.append(request)
        self.bearers.append(request.headers.get("authorization", ""))
        reply = self.script.pop(0) if len(self.script) > 1 else self.script[0]
        if isinstance(reply, Exception):
            raise reply
        return reply


@dataclass
class Rig:
    zoom: Zoom
    tokens: Tokens
    slept: list[float]
    clock: ManualClock
    api: ZoomApi
    limits: NoLimits


def rig(*script: Reply, retries: int = 3, max_wait: float = 30.0) -> Rig:
    zoom, tokens, slept, clock = Zoom(list(script)), Tokens(), [], ManualClock(NOW)
    limits = NoLimits()
    client = ZoomClient(
        ClientConfig(api_base="https://zoom.test/v2", retries=retries, max_wait=max_wait),
        cast(TokenManager, tokens),
        cast(RateLimiter, limits),
        httpx.Client(transport=httpx.MockTransport(zoom)),
        sleep=slept.append,
        clock=clock,
    )
    return Rig(zoom, tokens, slept, clock, client.api("conn-1"), limits)


def ok(body: Any = None, status: int = 200) -> httpx.Response:
    return httpx.Response(status, json=body if body is not None else {"id": 1, "email": "a@b.c"})


def zoom_error(status: int, code: int, message: str, **headers: str) -> httpx.Response:
    return httpx.Response(status, json={"code": code, "message": message}, headers=headers)


def get(r: Rig) -> Any:
    return r.api.call_api("GET", "/users/me")


def create(r: Rig) -> Any:
    return r.api.call_api("POST", "/users/me/meetings", json={"topic": "T"}, host="me")


def paths(r: Rig) -> list[tuple[str, str]]:
    return [(q.method, q.url.path) for q in r.zoom.sent]


# ---- 5xx and transport failures -----------------------------------------------------------


def test_a_safe_call_is_retried_on_5xx_with_growing_back_off() -> None:
    r = rig(zoom_error(503, 0, "busy"), zoom_error(502, 0, "bad gateway"), ok())
    assert get(r)["email"] == "a@b.c"
    assert len(r.zoom.sent) == 3
    assert len(r.slept) == 2 and 0.25 <= r.slept[0] < 0.375 and 0.5 <= r.slept[1] < 0.75


def test_a_safe_call_gives_up_after_its_retries() -> None:
    r = rig(zoom_error(500, 0, "down"), retries=2)
    with pytest.raises(ZoomUnavailable, match="500"):
        get(r)
    assert len(r.zoom.sent) == 3 and len(r.slept) == 2


@pytest.mark.parametrize(
    "failure",
    [
        zoom_error(500, 0, "internal error"),
        zoom_error(504, 0, "gateway timeout"),
        httpx.ReadTimeout("no answer"),
        httpx.RemoteProtocolError("connection reset"),
    ],
    ids=["500", "504", "read-timeout", "reset"],
)
def test_a_create_is_not_repeated_after_an_ambiguous_failure(failure: Reply) -> None:
    r = rig(failure, ok({"id": 99}, 201))
    with pytest.raises(ZoomAmbiguous):
        create(r)
    assert paths(r) == [CREATE] and r.slept == []


def test_a_create_that_never_reached_zoom_is_tried_again() -> None:
    r = rig(httpx.ConnectError("refused"), ok({"id": 99}, 201))
    assert create(r) == {"id": 99}
    assert paths(r) == [CREATE, CREATE] and len(r.slept) == 1


# ---- 429 -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("retry_after", "low", "high"),
    [
        ("2", 2.0, 2.25),  # seconds
        (email.utils.format_datetime(NOW + dt.timedelta(seconds=5), usegmt=True), 5.0, 5.25),
        ((NOW + dt.timedelta(seconds=3)).isoformat().replace("+00:00", "Z"), 3.0, 3.25),
        (None, 0.75, 1.0),  # none: meetbridge's own back-off
    ],
    ids=["seconds", "http-date", "iso-date", "none"],
)
def test_429_waits_as_retry_after_says(retry_after: str | None, low: float, high: float) -> None:
    headers = {"retry-after": retry_after} if retry_after else {}
    r = rig(zoom_error(429, 429, "Too many requests.", **headers), ok())
    assert get(r)["email"] == "a@b.c"
    assert len(r.zoom.sent) == 2
    [wait] = r.slept
    assert low <= wait < high
    # What Zoom said holds the account's budget for every process; its silence holds nothing.
    if retry_after is None:
        assert r.limits.held == []
    else:
        [(pace, seconds)] = r.limits.held
        assert pace.key.startswith("zoom:qps:"), pace.key  # the account's budget for the call
        assert low - 0.01 <= seconds <= low + 0.01


def test_429_longer_than_the_wait_allowed_is_raised_with_when() -> None:
    r = rig(zoom_error(429, 429, "Too many requests.", **{"retry-after": "60"}), max_wait=30)
    with pytest.raises(ZoomRateLimited) as err:
        get(r)
    assert not err.value.daily and r.slept == []
    [(_, seconds)] = r.limits.held  # the others do not try within the minute either
    assert seconds == pytest.approx(60, abs=0.01)
    assert NOW + dt.timedelta(seconds=60) <= err.value.retry_at <= NOW + dt.timedelta(seconds=61)


@pytest.mark.parametrize(
    "reply",
    [
        zoom_error(429, 429, "You have exceeded the daily rate limit of (100) for this user."),
        zoom_error(429, 429, "Too many requests.", **{"x-ratelimit-type": "Daily-limit"}),
    ],
    ids=["message", "header"],
)
def test_the_daily_limit_is_raised_at_once_until_midnight_utc(reply: httpx.Response) -> None:
    r = rig(reply, ok())
    with pytest.raises(ZoomRateLimited) as err:
        create(r)
    assert err.value.daily and r.slept == [] and len(r.zoom.sent) == 1
    assert err.value.retry_at == dt.datetime(2027, 3, 5, tzinfo=dt.UTC)


def test_the_daily_limit_with_retry_after_is_raised_with_that_time() -> None:
    r = rig(zoom_error(429, 429, "daily limit", **{"retry-after": "3600"}))
    with pytest.raises(ZoomRateLimited) as err:
        get(r)
    assert err.value.daily and err.value.retry_at == NOW + dt.timedelta(hours=1)


# ---- 401: refresh once -------------------------------------------------------------------


def test_a_401_refreshes_once_and_retries_with_the_new_token() -> None:
    r = rig(zoom_error(401, 124, "Access token is expired."), ok())
    assert get(r)["email"] == "a@b.c"
    assert r.tokens.refreshes == [1]
    assert r.zoom.bearers == ["Bearer token-1", "Bearer token-2"]


def test_a_second_401_is_zooms_answer() -> None:
    r = rig(zoom_error(401, 124, "Invalid access token."))
    with pytest.raises(ZoomAuthError):
        get(r)
    assert r.tokens.refreshes == [1] and len(r.zoom.sent) == 2


def test_a_create_refused_with_401_is_sent_again_after_the_refresh() -> None:
    """A 401 means Zoom did nothing: the retry cannot duplicate the meeting."""
    r = rig(zoom_error(401, 124, "Invalid access token."), ok({"id": 7}, 201))
    assert create(r) == {"id": 7}
    assert paths(r) == [CREATE, CREATE] and r.tokens.refreshes == [1]
    assert json.loads(r.zoom.sent[1].content) == {"topic": "T"}


def test_code_124_with_another_status_also_refreshes() -> None:
    r = rig(zoom_error(400, 124, "Invalid access token."), ok())
    assert get(r)["email"] == "a@b.c"
    assert r.tokens.refreshes == [1]


def test_each_call_may_refresh_once() -> None:
    r = rig(zoom_error(401, 124, "expired"), ok(), zoom_error(401, 124, "expired"), ok())
    get(r)
    get(r)
    assert r.tokens.refreshes == [1, 2]

"""Fault injection: latency, 5xx, timeouts, committed-but-lost responses, 429 bursts."""

from __future__ import annotations

import time

import httpx
import pytest

from tests.sandbox.conftest import Sandbox, bearer


@pytest.fixture
def admin(sandbox: Sandbox) -> httpx.Client:
    client = httpx.Client(base_url=sandbox.url, timeout=2)
    client.headers.update(bearer(sandbox.s2s_token()))
    return client


def test_latency_and_errors_per_route(sandbox: Sandbox, admin: httpx.Client) -> None:
    sandbox.control(
        "POST",
        "/faults",
        json={
            "rules": [
                {"path": "/v2/users", "latency_ms": 200},
                {"path": "/v2/meetings/*", "method": "GET", "error_rate": 1.0, "error_status": 502},
            ]
        },
    )
    start = time.monotonic()
    assert admin.get("/v2/users").status_code == 200
    assert time.monotonic() - start >= 0.2
    assert admin.get("/v2/meetings/12345678901").status_code == 502
    sandbox.control("DELETE", "/faults")
    assert admin.get("/v2/meetings/12345678901").status_code == 404


def test_timeouts_do_nothing_but_lost_responses_commit(
    sandbox: Sandbox, admin: httpx.Client
) -> None:
    host = "/v2/users/dana@zoom-sandbox.test/meetings"
    sandbox.control(
        "POST",
        "/faults",
        json={"path": host, "method": "POST", "timeout_rate": 1.0, "hang_seconds": 5},
    )
    with pytest.raises(httpx.TimeoutException):
        admin.post(host, json={"topic": "never made"})
    assert sandbox.control("GET", "/meetings?host=dana@zoom-sandbox.test") == []
    sandbox.control(
        "POST",
        "/faults",
        json={"path": host, "method": "POST", "lost_response_rate": 1.0, "hang_seconds": 5},
    )
    with pytest.raises(httpx.TimeoutException):
        admin.post(host, json={"topic": "made but unseen"})
    [made] = sandbox.control("GET", "/meetings?host=dana@zoom-sandbox.test")
    assert made["topic"] == "made but unseen"


def test_429_bursts_with_and_without_retry_after(sandbox: Sandbox, admin: httpx.Client) -> None:
    sandbox.control(
        "POST",
        "/faults",
        json={
            "rules": [
                {"burst_429": 1, "burst_retry_after": "seconds"},
            ]
        },
    )
    r = admin.get("/v2/users")
    assert r.status_code == 429 and r.headers["retry-after"] == "1"
    assert admin.get("/v2/users").status_code == 200
    sandbox.control("POST", "/faults", json={"burst_429": 2, "burst_retry_after": "none"})
    r = admin.get("/v2/users")
    assert r.status_code == 429 and "retry-after" not in r.headers
    sandbox.control("POST", "/faults", json={"burst_429": 1, "burst_retry_after": "date"})
    assert admin.get("/v2/users").headers["retry-after"].endswith("Z")


def test_error_rate_is_a_rate(sandbox: Sandbox, admin: httpx.Client) -> None:
    sandbox.control("PATCH", "/accounts/mbDemoAccount01", json={"rate_limit_multiplier": 0})
    sandbox.control("POST", "/faults", json={"rules": [{"error_rate": 0.3}], "seed": 7})
    codes = [admin.get("/v2/users/dana@zoom-sandbox.test").status_code for _ in range(100)]
    assert 15 <= codes.count(503) <= 45 and codes.count(200) == 100 - codes.count(503)


def test_revoked_tokens(sandbox: Sandbox) -> None:
    tokens = sandbox.user_tokens("li@zoom-sandbox.test")
    assert sandbox.control("POST", "/tokens/revoke", json={"kind": "access"})["revoked"] >= 1
    r = httpx.get(f"{sandbox.url}/v2/users/me", headers=bearer(tokens["access_token"]))
    assert r.json() == {"code": 124, "message": "Invalid access token."}


def test_unknown_fault_fields_are_refused(sandbox: Sandbox) -> None:
    r = httpx.post(f"{sandbox.url}/_sandbox/faults", json={"error_rte": 1})
    assert r.status_code == 400 and "error_rte" in r.json()["error"]

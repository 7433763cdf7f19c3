"""Zoom's limits: per-account per-label QPS by plan, daily caps on free accounts, and 100
meeting creates + updates per host per day (reset at 00:00 UTC, no Retry-After)."""

from __future__ import annotations

import datetime as dt

import httpx

from tests.sandbox.conftest import Sandbox, bearer


def _admin(sandbox: Sandbox) -> httpx.Client:
    client = sandbox.http()
    client.headers.update(bearer(sandbox.s2s_token()))
    return client


def test_per_second_limit_by_label_and_plan(sandbox: Sandbox) -> None:
    sandbox.control("PATCH", "/accounts/mbDemoAccount01", json={"plan": "basic"})
    admin = _admin(sandbox)
    statuses = [admin.get("/v2/users").status_code for _ in range(6)]  # Medium: 2/s on Free
    assert 429 in statuses and statuses[0] == 200
    r = admin.get("/v2/users")
    for _ in range(5):
        r = admin.get("/v2/users")
        if r.status_code == 429:
            break
    assert r.status_code == 429
    assert r.headers["x-ratelimit-category"] == "Medium"
    assert r.headers["x-ratelimit-type"] == "QPS"
    assert r.headers["retry-after"] == "1"
    assert r.json()["message"].startswith("You have reached the maximum per-second rate limit")


def test_rate_limits_can_be_lifted_for_benchmarks(sandbox: Sandbox) -> None:
    sandbox.control("PATCH", "/accounts/mbDemoAccount01", json={"rate_limit_multiplier": 0})
    admin = _admin(sandbox)
    assert {admin.get("/v2/users/me@x").status_code for _ in range(60)} == {404}


def test_free_plan_daily_cap_gives_a_retry_after_date(sandbox: Sandbox) -> None:
    core = sandbox.core
    sandbox.control("PATCH", "/accounts/mbDemoAccount01", json={"plan": "basic"})
    today = core.clock.now().date().isoformat()
    core.daily[("mbDemoAccount01", "Light", today)] = 6000
    r = _admin(sandbox).get("/v2/users/dana@zoom-sandbox.test")
    assert r.status_code == 429
    assert r.headers["x-ratelimit-type"] == "Daily-limit"
    tomorrow = core.clock.now().date() + dt.timedelta(days=1)
    assert r.headers["retry-after"] == f"{tomorrow.isoformat()}T00:00:00Z"


def test_host_daily_create_update_limit(sandbox: Sandbox) -> None:
    sandbox.control("PATCH", "/accounts/mbDemoAccount01", json={"rate_limit_multiplier": 0})
    admin = _admin(sandbox)
    host = "/v2/users/dana@zoom-sandbox.test/meetings"
    first = admin.post(host, json={"topic": "0"}).json()
    for i in range(1, 99):
        assert admin.post(host, json={"topic": str(i)}).status_code == 201
    assert admin.patch(f"/v2/meetings/{first['id']}", json={"topic": "100th"}).status_code == 204
    r = admin.post(host, json={"topic": "101st"})
    assert r.status_code == 429
    assert r.json()["message"].startswith("You have exceeded the daily rate limit (100)")
    assert "retry-after" not in r.headers and "x-ratelimit-type" not in r.headers
    assert admin.patch(f"/v2/meetings/{first['id']}", json={"topic": "x"}).status_code == 429
    # other hosts are not affected; reads are not counted
    assert admin.post("/v2/users/sam@zoom-sandbox.test/meetings", json={}).status_code == 201
    assert admin.get(f"/v2/meetings/{first['id']}").status_code == 200
    # 00:00 UTC resets it
    now = sandbox.core.clock.now()
    midnight = dt.datetime.combine(now.date() + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)
    sandbox.control("POST", "/clock", json={"advance": (midnight - now).total_seconds() + 1})
    admin = _admin(sandbox)
    assert admin.post(host, json={"topic": "next day"}).status_code == 201


def test_host_daily_limit_headers_are_the_accounts_quota_left(sandbox: Sandbox) -> None:
    """As seen in the field (DF-18928): the label's daily quota and what is left of it, not
    fixed numbers; on a plan without a daily quota, only the category."""
    core = sandbox.core
    admin = _admin(sandbox)
    m = admin.post("/v2/users/dana@zoom-sandbox.test/meetings", json={"topic": "t"}).json()
    dana = core.state.user_by_email("dana@zoom-sandbox.test")
    core.state.host_daily[f"{dana.id}/{core.clock.now().date().isoformat()}"] = 100
    r = admin.patch(f"/v2/meetings/{m['id']}", json={"topic": "u"})
    assert r.status_code == 429 and r.headers["x-ratelimit-category"] == "Light"
    assert "x-ratelimit-limit" not in r.headers  # Pro: no daily quota per label
    r = admin.post("/v2/users/dana@zoom-sandbox.test/meetings", json={"topic": "v"})
    assert r.status_code == 429 and r.headers["x-ratelimit-category"] == "Medium"
    sandbox.control("PATCH", "/accounts/mbDemoAccount01", json={"plan": "basic"})
    used = []
    for _ in range(2):
        r = admin.patch(f"/v2/meetings/{m['id']}", json={"topic": "w"})
        assert r.status_code == 429 and r.headers["x-ratelimit-limit"] == "6000"
        used.append(int(r.headers["x-ratelimit-remaining"]))
    today = core.clock.now().date().isoformat()
    assert used[1] == used[0] - 1 == 6000 - core.daily[("mbDemoAccount01", "Light", today)]

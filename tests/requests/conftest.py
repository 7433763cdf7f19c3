"""Service requests against the live sandbox: the organisation's Zoom account connected
(Server-to-Server), a scheduler, and a pool of licensed sandbox users."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import ORIGIN, PASSWORD
from tests.support import SmtpServer
from tests.zoom_env import ZoomEnv, zoom_env

ACCOUNT = ("mbDemoAccount01", "mbDemoS2SApp", "mb-demo-s2s-app-secret-0123456789")
POOL = ["dana@zoom-sandbox.test", "sam@zoom-sandbox.test"]


@pytest.fixture
def env(tmp_path: Path, database_url: str, smtp: SmtpServer) -> Iterator[ZoomEnv]:
    with zoom_env(tmp_path, database_url, smtp, zoom_timeout=2.0) as e:
        owner = e.user("owner@acme.test")
        e.c.connections.save_account(owner, *ACCOUNT, ORIGIN)
        e.c.accounts.create_member(
            owner,
            email="sched@acme.test",
            name="Sky Scheduler",
            role="scheduler",
            password=PASSWORD,
            origin=ORIGIN,
        )
        yield e


def api(env: ZoomEnv, email: str) -> httpx.Client:
    token = env.c.api_tokens.create_api_token(
        env.user(email), name=f"t-{uuid.uuid4()}", origin=ORIGIN
    ).secret
    return httpx.Client(
        base_url=f"{env.product}/api/v1", headers={"Authorization": f"Bearer {token}"}, timeout=30
    )


def save_pool(
    env: ZoomEnv, pool: list[str] = POOL, lead: int = 15, padding: int = 15, **more: Any
) -> httpx.Response:
    body = {"lead_minutes": lead, "padding_minutes": padding, "host_pool": pool, **more}
    return api(env, "owner@acme.test").put("/requests/settings", json=body)


def tomorrow(hour: int, minute: int = 0, days: int = 1) -> str:
    day = dt.date.today() + dt.timedelta(days=days)
    return dt.datetime.combine(day, dt.time(hour, minute)).isoformat()


def request_body(start: str, end: str, **more: Any) -> dict[str, Any]:
    return {
        "client": "Clinic North",
        "service": "Spanish interpreting",
        "start": start,
        "end": end,
        "timezone": "UTC",
        "status": "confirmed",
        "tags": ["Zoom"],
        "participants": [{"role": "provider", "email": "ann@acme.test", "name": "Ann"}],
        **more,
    }


def at_zoom(env: ZoomEnv, email: str) -> list[dict[str, Any]]:
    return list(env.control("GET", f"/meetings?host={email}"))

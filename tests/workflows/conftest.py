"""Workflows against the live sandbox: the organisation's Zoom account connected
(Server-to-Server), its owner, and helpers to build, run and watch workflows."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from meetbridge.core.models import User
from meetbridge.workflows.tables import RunStatus, WorkflowRun, WorkflowStep
from tests.conftest import ORIGIN
from tests.support import SmtpServer
from tests.zoom_env import ZoomEnv, zoom_env

ACCOUNT = ("mbDemoAccount01", "mbDemoS2SApp", "mb-demo-s2s-app-secret-0123456789")
HOST = "dana@zoom-sandbox.test"  # a licensed user of the sandbox's account


@pytest.fixture
def env(tmp_path: Path, database_url: str, smtp: SmtpServer) -> Iterator[ZoomEnv]:
    with zoom_env(tmp_path, database_url, smtp, zoom_timeout=2.0) as e:
        e.c.connections.save_account(e.user("owner@acme.test"), *ACCOUNT, ORIGIN)
        yield e


def owner(env: ZoomEnv) -> User:
    return env.user("owner@acme.test")


def api(env: ZoomEnv, email: str = "owner@acme.test") -> httpx.Client:
    token = env.c.api_tokens.create_api_token(
        env.user(email), name=f"t-{uuid.uuid4()}", origin=ORIGIN
    ).secret
    return httpx.Client(
        base_url=f"{env.product}/api/v1", headers={"Authorization": f"Bearer {token}"}, timeout=30
    )


def onboarding(host: str = HOST, **step_inputs: Any) -> dict[str, Any]:
    """The four-step onboarding workflow, on a member's data."""
    return {
        "trigger": {"kind": "member.onboarded"},
        "steps": [
            {
                "key": "zoom_user",
                "action": "zoom.create_user",
                "inputs": {"email": "{{ member.email }}", "first_name": "{{ member.name }}"},
            },
            {
                "key": "orientation",
                "action": "zoom.create_meeting",
                "inputs": {
                    "topic": "Day 1 orientation for {{ member.name }}",
                    "start": "{{ member.start_date }} 09:00",
                    "timezone": "{{ member.timezone }}",
                    "duration": 60,
                    "host": host,
                    "registration": True,
                },
            },
            {
                "key": "register",
                "action": "zoom.add_registrant",
                "inputs": {
                    "meeting_id": "{{ steps.orientation.zoom_id }}",
                    "email": "{{ member.email }}",
                    "first_name": "{{ member.name }}",
                    **step_inputs,
                },
            },
            {
                "key": "tell",
                "action": "email.send",
                "inputs": {
                    "to": "{{ member.email }}",
                    "subject": "Your Day 1 orientation",
                    "text": "Join: {{ steps.register.join_url }}",
                },
            },
        ],
    }


def member_data(email: str = "new.hire@acme.test", days: int = 7) -> dict[str, Any]:
    start = time.strftime("%Y-%m-%d", time.gmtime(time.time() + days * 86400))
    return {
        "member": {
            "member_id": "m1",
            "name": "Nia Newhire",
            "email": email,
            "role": "member",
            "timezone": "Europe/London",
            "start_date": start,
        }
    }


def wait_run(env: ZoomEnv, run_id: str, timeout: float = 30) -> WorkflowRun:
    """Runs the run's due work in this process until it finishes (the test's worker)."""
    deadline = time.monotonic() + timeout
    while True:
        with env.c.db.read() as s:
            run = s.get(WorkflowRun, run_id)
            assert run is not None
            s.expunge(run)
        if run.status != RunStatus.PENDING or time.monotonic() > deadline:
            return run
        env.c.workflows.engine.run(run_id)
        time.sleep(0.05)


def steps_of(env: ZoomEnv, run_id: str) -> list[WorkflowStep]:
    with env.c.db.read() as s:
        rows = list(
            s.query(WorkflowStep)
            .filter(WorkflowStep.run_id == run_id)
            .order_by(WorkflowStep.position, WorkflowStep.item)
        )
        s.expunge_all()
    return rows


def meetings_at_zoom(env: ZoomEnv, host: str = HOST) -> list[dict[str, Any]]:
    return list(env.control("GET", f"/meetings?host={host}"))


def zoom_users(env: ZoomEnv, email: str) -> list[dict[str, Any]]:
    return [u for u in env.control("GET", "")["users"] if u["email"].lower() == email.lower()]

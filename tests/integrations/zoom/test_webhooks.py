"""Zoom's webhooks: what intake keeps, what handlers receive, and how a failing handler is
retried to a final "failed" (a moved clock, not edited rows or sleeps)."""

from __future__ import annotations

import datetime as dt
import json
import time
from typing import Any, cast

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from meetbridge.container import Container
from meetbridge.core.clock import ManualClock
from meetbridge.core.db import utcnow
from meetbridge.core.jobs import JobQueue
from meetbridge.core.models import Meeting
from meetbridge.integrations.zoom.tables import WebhookEvent, WebhookStatus
from meetbridge.integrations.zoom.webhooks import (
    LEASE,
    MAX_ATTEMPTS,
    WEBHOOK_TASK,
    Handler,
    Intake,
    ZoomEvent,
    ZoomWebhooks,
    backoff,
)
from meetbridge_sandbox.webhooks import sign
from tests.conftest import Org


class Bell:
    """The queue, as far as webhooks use it: what was enqueued, and with what delay."""

    def __init__(self) -> None:
        self.rung: list[tuple[float, str, str]] = []

    def enqueue(self, name: str, *args: Any) -> bool:
        self.rung.append((0.0, name, args[0]))
        return True

    def enqueue_in(self, seconds: float, name: str, *args: Any) -> bool:
        self.rung.append((seconds, name, args[0]))
        return True


def _hooks(
    container: Container, handlers: dict[str, Handler], clock: ManualClock, bell: Bell
) -> Any:
    return ZoomWebhooks(container.db, container.settings, cast(JobQueue, bell), handlers, clock)


def _body(event: str, obj: dict[str, Any] | None = None, ts: int = 1_700_000_000_123) -> Any:
    payload: dict[str, Any] = {"account_id": "zoomAcct1", "object": obj or {}}
    return {"event": event, "event_ts": ts, "payload": payload}


def _post(client: TestClient, container: Container, body: Any) -> Any:
    raw = json.dumps(body)
    now = str(int(time.time()))
    secret = container.settings.zoom_webhook_secret.get_secret_value()
    r = client.post(
        "/webhooks/zoom",
        content=raw.encode(),
        headers={
            "content-type": "application/json",
            "x-zm-request-timestamp": now,
            "x-zm-signature": sign(secret, now, raw),
        },
    )
    assert r.status_code == 200, r.text
    return r.json()


def _stored(container: Container) -> int:
    with container.db.read() as s:
        return s.scalar(select(func.count()).select_from(WebhookEvent)) or 0


def test_unsupported_events_are_answered_and_dropped(
    client: TestClient, container: Container
) -> None:
    assert _post(client, container, _body("webinar.started", {"id": 5})) == {"status": "ignored"}
    assert _post(client, container, _body("user.updated", {"id": "u"})) == {"status": "ignored"}
    assert _stored(container) == 0


def test_a_signed_meeting_event_without_a_meeting_id_changes_nothing(
    client: TestClient, container: Container, acme: Org, globex: Org
) -> None:
    """Another organisation's meeting whose Zoom id is gone (its host's Zoom data was deleted)
    has zoom_meeting_id NULL; an event without `object.id` must not reach it."""
    with container.db.write() as s:
        m = Meeting(
            org_id=globex.owner.org_id,
            host_user_id=globex.owner.id,
            title="Board review",
            start_at=utcnow() + dt.timedelta(days=2),
            duration_min=30,
            timezone="UTC",
            status="scheduled",
            zoom_meeting_id=None,
        )
        s.add(m)
    for body in (
        _body("meeting.updated", {"topic": "Hijacked", "duration": 5}),
        _body("meeting.updated", {"id": None, "topic": "Hijacked"}),
        _body("meeting.deleted", {"uuid": "abc=="}),
        _body("meeting.deleted", {"id": "not-a-number"}),
    ):
        assert _post(client, container, body) == {"status": "ignored"}, body
    with container.db.read() as s:
        after = s.get(Meeting, m.id)
        assert after and after.title == "Board review" and after.status == "scheduled"
    assert _stored(container) == 0


def test_handlers_get_the_events_time_and_account(container: Container) -> None:
    seen: list[ZoomEvent] = []

    def handler(event: ZoomEvent) -> str:
        seen.append(event)
        return WebhookStatus.DONE

    clock, bell = ManualClock(), Bell()
    hooks = _hooks(container, {"meeting.updated": handler}, clock, bell)
    assert hooks.record(_body("meeting.updated", {"id": 85_000_000_001, "topic": "T"})) == (
        Intake.RECEIVED
    )
    [(_, task, event_id)] = bell.rung
    assert task == WEBHOOK_TASK
    assert hooks.process(event_id) == WebhookStatus.DONE
    [event] = seen
    assert event.event_ts == 1_700_000_000_123
    assert event.at == dt.datetime(2023, 11, 14, 22, 13, 20, 123_000, tzinfo=dt.UTC)
    assert event.account_id == "zoomAcct1" and event.meeting_id == 85_000_000_001
    assert event.object["topic"] == "T"
    assert hooks.process(event_id) == WebhookStatus.DONE  # handled once
    assert len(seen) == 1


def test_a_redelivery_is_a_duplicate_and_a_later_change_is_not(container: Container) -> None:
    clock, bell = ManualClock(), Bell()
    hooks = _hooks(container, {"meeting.updated": lambda e: "done"}, clock, bell)
    first = _body("meeting.updated", {"id": 9, "uuid": "u9"}, ts=1000)
    assert hooks.record(first) == Intake.RECEIVED
    assert hooks.record(first) == Intake.DUPLICATE
    assert hooks.record(_body("meeting.updated", {"id": 9, "uuid": "u9"}, ts=2000)) == (
        Intake.RECEIVED
    )
    assert _stored(container) == 2


def test_a_failing_handler_is_recorded_retried_with_back_off_and_ends_failed(
    container: Container,
) -> None:
    calls: list[int] = []

    def boom(event: ZoomEvent) -> str:
        calls.append(1)
        raise RuntimeError("the database said no")

    clock, bell = ManualClock(), Bell()
    hooks = _hooks(container, {"meeting.deleted": boom}, clock, bell)
    hooks.record(_body("meeting.deleted", {"id": 77}))
    [(_, _, event_id)] = bell.rung
    bell.rung.clear()
    for attempt in range(1, MAX_ATTEMPTS):
        assert hooks.process(event_id) == WebhookStatus.PENDING
        with container.db.read() as s:
            row = s.get(WebhookEvent, event_id)
        assert row and row.status == WebhookStatus.PENDING and row.attempts == attempt
        assert row.last_error == "RuntimeError: the database said no"
        assert row.next_attempt_at == clock.now() + backoff(attempt)
        assert bell.rung == [(backoff(attempt).total_seconds(), WEBHOOK_TASK, event_id)]
        bell.rung.clear()
        assert hooks.process(event_id) == WebhookStatus.PENDING  # not due yet: not run
        assert len(calls) == attempt
        assert hooks.reconcile() == 0
        clock.advance(backoff(attempt).total_seconds() + 31)
        assert hooks.reconcile() == 1  # the doorbell was lost: the reconciler rings again
        bell.rung.clear()
    assert backoff(1) < backoff(2) < backoff(4) <= dt.timedelta(hours=1)
    assert hooks.process(event_id) == WebhookStatus.FAILED
    assert len(calls) == MAX_ATTEMPTS and bell.rung == []
    [failed] = hooks.failed()
    assert failed.id == event_id and failed.attempts == MAX_ATTEMPTS
    assert failed.last_error == "RuntimeError: the database said no"
    clock.advance(days=1)
    assert hooks.reconcile() == 0 and hooks.process(event_id) == WebhookStatus.FAILED


class WorkerDied(BaseException):
    """Stands for a worker killed mid-handler: nothing after it runs."""


def test_an_event_whose_worker_died_is_taken_again_when_its_lease_ends(
    container: Container,
) -> None:
    outcomes: list[str] = []

    def dies_once(event: ZoomEvent) -> str:
        if not outcomes:
            outcomes.append("died")
            raise WorkerDied
        outcomes.append("done")
        return WebhookStatus.DONE

    clock, bell = ManualClock(), Bell()
    hooks = _hooks(container, {"meeting.updated": dies_once}, clock, bell)
    body = _body("meeting.updated", {"id": 12})
    hooks.record(body)
    [(_, _, event_id)] = bell.rung
    with pytest.raises(WorkerDied):
        hooks.process(event_id)
    assert hooks.record(body) == Intake.DUPLICATE  # Zoom's redelivery: still the same event
    assert hooks.process(event_id) == WebhookStatus.PENDING  # its lease is still running
    assert hooks.reconcile() == 0
    clock.advance(LEASE.total_seconds() + 1)
    bell.rung.clear()
    assert hooks.reconcile() == 1 and bell.rung == [(0.0, WEBHOOK_TASK, event_id)]
    assert hooks.process(event_id) == WebhookStatus.DONE
    assert outcomes == ["died", "done"]
    with container.db.read() as s:
        row = s.get(WebhookEvent, event_id)
    assert row and row.attempts == 2 and row.claimed_until is None


def test_a_worker_dying_on_every_attempt_ends_failed(container: Container) -> None:
    def dies(event: ZoomEvent) -> str:
        raise WorkerDied

    clock, bell = ManualClock(), Bell()
    hooks = _hooks(container, {"meeting.updated": dies}, clock, bell)
    hooks.record(_body("meeting.updated", {"id": 13}))
    [(_, _, event_id)] = bell.rung
    for _ in range(MAX_ATTEMPTS):
        with pytest.raises(WorkerDied):
            hooks.process(event_id)
        clock.advance(LEASE.total_seconds() + 1)
    assert hooks.reconcile() == 1  # due again, and the job gives up on it without running it
    assert hooks.process(event_id) == WebhookStatus.FAILED
    [failed] = hooks.failed()
    assert failed.id == event_id and failed.last_error and "stopped" in failed.last_error
    clock.advance(LEASE.total_seconds() + 1)
    assert hooks.reconcile() == 0

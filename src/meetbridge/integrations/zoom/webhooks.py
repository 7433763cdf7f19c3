"""Zoom's webhooks. Intake (in the request, within Zoom's 3 s): verify `x-zm-signature` over the
raw body (HMAC-SHA256 over "v0:{timestamp}:{raw body}", compared in constant time), refuse stale
timestamps, answer `endpoint.url_validation`, record the event (deduplicated) and enqueue it.
Processing (a job): hand the event to its handler."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError

from meetbridge.core.db import Database, utcnow
from meetbridge.core.errors import DomainError
from meetbridge.core.jobs import JobQueue
from meetbridge.core.logging import get_logger
from meetbridge.core.models import WebhookEvent
from meetbridge.core.settings import Settings

log = get_logger("meetbridge.integrations.zoom.webhooks")

WEBHOOK_TASK = "zoom.webhook"

MAX_AGE_SECONDS = 300


class WebhookRejected(Exception):
    pass


def verify_signature(
    secret: str, timestamp: str | None, signature: str | None, raw_body: bytes, now: float
) -> None:
    """Raises WebhookRejected unless the request is Zoom's, signed with `secret`, and fresh."""
    if not timestamp or not signature:
        raise WebhookRejected("missing x-zm-signature or x-zm-request-timestamp")
    if not timestamp.isdigit():
        raise WebhookRejected("malformed timestamp")
    ts = int(timestamp)
    if ts > 10**11:  # milliseconds
        ts //= 1000
    if abs(now - ts) > MAX_AGE_SECONDS:
        raise WebhookRejected("stale timestamp")
    message = b"v0:" + timestamp.encode() + b":" + raw_body
    expected = "v0=" + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, signature):
        raise WebhookRejected("bad signature")


def url_validation_reply(secret: str, plain_token: str) -> dict[str, str]:
    encrypted = hmac.new(secret.encode(), plain_token.encode(), hashlib.sha256).hexdigest()
    return {"plainToken": plain_token, "encryptedToken": encrypted}


class WebhookRefused(DomainError):
    status = 401
    code = "webhook_refused"


class ZoomWebhooks:
    def __init__(
        self,
        db: Database,
        settings: Settings,
        jobs: JobQueue,
        handlers: dict[str, Callable[[dict[str, Any]], str]],
    ) -> None:
        self.db = db
        self.settings = settings
        self.jobs = jobs
        self.handlers = handlers

    def verify(self, timestamp: str | None, signature: str | None, raw: bytes) -> None:
        try:
            verify_signature(
                self.settings.zoom_webhook_secret.get_secret_value(),
                timestamp,
                signature,
                raw,
                time.time(),
            )
        except WebhookRejected as exc:
            log.warning("zoom.webhook_rejected", reason=str(exc))
            raise WebhookRefused(str(exc)) from None

    def url_validation(self, plain_token: str) -> dict[str, str]:
        return url_validation_reply(
            self.settings.zoom_webhook_secret.get_secret_value(), plain_token
        )

    def record(self, body: dict[str, Any]) -> str | None:
        """Stores a verified event (deduplicated) and queues its handling. Returns the event id,
        or None for a redelivery already recorded."""
        event = str(body.get("event", ""))[:100]
        payload = body.get("payload") if isinstance(body.get("payload"), dict) else {}
        assert isinstance(payload, dict)
        obj = payload.get("object") if isinstance(payload.get("object"), dict) else {}
        assert isinstance(obj, dict)
        ident = (
            obj.get("uuid")
            or obj.get("id")
            or (
                f"{payload.get('account_id')}:{payload.get('user_id')}:"
                f"{payload.get('deauthorization_time')}"
            )
        )
        key = f"{event}:{ident}:{body.get('event_ts', '')}"[:300]
        row = WebhookEvent(dedupe_key=key, event=event, payload=payload)
        try:
            with self.db.write() as s:
                s.add(row)
        except IntegrityError:
            return None
        self.jobs.enqueue(WEBHOOK_TASK, row.id)
        return row.id

    def process(self, event_id: str) -> str:
        """The job: hands the event to its handler, once."""
        with self.db.write() as s:
            claimed = s.execute(
                update(WebhookEvent)
                .where(
                    WebhookEvent.id == event_id,
                    WebhookEvent.status == "pending",
                )
                .values(attempts=WebhookEvent.attempts + 1, status="working")
            )
            row = s.get(WebhookEvent, event_id)
        if row is None or claimed.rowcount == 0:  # type: ignore[attr-defined]
            return row.status if row else "missing"
        handler = self.handlers.get(row.event)
        status, error = "ignored", None
        if handler is not None:
            try:
                status = handler(row.payload)
            except Exception as exc:
                log.exception("zoom.webhook_failed", event=row.event, event_id=event_id)
                status, error = ("pending" if row.attempts < 5 else "failed"), str(exc)[:1000]
        with self.db.write() as s:
            s.execute(
                update(WebhookEvent)
                .where(WebhookEvent.id == event_id)
                .values(status=status, error=error, processed_at=utcnow())
            )
        return status

    def reconcile(self) -> int:
        """Re-enqueues events left pending, and those left working by a worker that died."""
        now = utcnow()
        with self.db.read() as s:
            events = s.scalars(
                select(WebhookEvent.id).where(
                    or_(
                        (WebhookEvent.status == "pending")
                        & (WebhookEvent.received_at <= now - dt.timedelta(seconds=30)),
                        (WebhookEvent.status == "working")
                        & (WebhookEvent.received_at <= now - dt.timedelta(minutes=10)),
                    )
                )
            ).all()
        with self.db.write() as s:
            s.execute(
                update(WebhookEvent)
                .where(WebhookEvent.id.in_(events), WebhookEvent.status == "working")
                .values(status="pending")
            )
        for eid in events:
            self.jobs.enqueue(WEBHOOK_TASK, eid)
        return len(events)

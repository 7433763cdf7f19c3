"""Zoom's webhooks.

Intake, in the request (Zoom wants an answer within 3 s): verify `x-zm-signature` over the raw
body (HMAC-SHA256 over "v0:{timestamp}:{raw body}", compared in constant time), refuse stale
timestamps, answer `endpoint.url_validation`, and record the event (deduplicated) and enqueue
it. Only events in the handler table are recorded: any other is answered and dropped, so an app
subscribed to more than meetbridge handles does not fill the table or the queue.

Processing, in a job, on the durable-work primitive (`core.work`): the event is claimed under a
lease, handed to its handler, and settled. A handler's error is recorded (`last_error`) and
the event retried with back-off (RETRY), then left "failed" for a person to look at
(`failed()`). An event whose worker died is taken again once its lease has run out, and ends
"failed" if its worker dies on every allowed attempt.

The table (event name -> handler) is built once, in the composition root, from the handlers
each module offers; a handler receives a `ZoomEvent` (payload, Zoom's event time, account)."""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import hmac
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Row
from sqlalchemy.exc import IntegrityError

from meetbridge.core.clock import Clock
from meetbridge.core.db import Database
from meetbridge.core.errors import DomainError
from meetbridge.core.jobs import JobQueue
from meetbridge.core.logging import get_logger
from meetbridge.core.retention import Rule
from meetbridge.core.security import same
from meetbridge.core.settings import Settings
from meetbridge.core.work import Done, Failed, Later, Outcome, Retry, WorkTable
from meetbridge.integrations.zoom.tables import WebhookEvent, WebhookStatus

log = get_logger("meetbridge.integrations.zoom.webhooks")

WEBHOOK_TASK = "zoom.webhook"
# A handler's error: tried again after 30 s, 1, 2 and 4 minutes, then failed.
RETRY = Retry(base=30, cap=3600, max_attempts=5)
MAX_ATTEMPTS = 5
# Longer than any handler takes (a few statements and an e-mail queued): a worker that holds
# an event this long has died, and another may take it.
LEASE = dt.timedelta(minutes=5)


class Intake(enum.StrEnum):
    """What the webhook endpoint answers (with 200) for a verified event."""

    RECEIVED = "received"
    DUPLICATE = "duplicate"  # a redelivery of an event already recorded
    IGNORED = "ignored"  # an event meetbridge does not handle, or one it cannot act on


@dataclass(frozen=True)
class ZoomEvent:
    """One event as a handler sees it."""

    name: str
    payload: dict[str, Any]
    # Zoom's `event_ts`: when the event happened at Zoom, in milliseconds since the epoch.
    # Zoom redelivers late (5, 20, 60 minutes later): compare it, not the arrival time.
    event_ts: int | None

    @property
    def at(self) -> dt.datetime | None:
        if self.event_ts is None:
            return None
        return dt.datetime.fromtimestamp(self.event_ts / 1000, dt.UTC)

    @property
    def account_id(self) -> str | None:
        """The Zoom account the event is about: restrict matches to its connections."""
        value = self.payload.get("account_id")
        return str(value) if value else None

    @property
    def object(self) -> dict[str, Any]:
        obj = self.payload.get("object")
        return obj if isinstance(obj, dict) else {}

    @property
    def meeting_id(self) -> int | None:
        """`object.id` of a meeting event, or None when it is missing or not a meeting id."""
        return _meeting_id(self.object.get("id"))


# What a handler returns: WebhookStatus.DONE, or IGNORED when nothing of ours matched.
Handler = Callable[[ZoomEvent], str]


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
    if not same(expected, signature):
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
        handlers: Mapping[str, Handler],
        clock: Clock,
    ) -> None:
        self.db = db
        self.settings = settings
        self.jobs = jobs
        self.handlers: Mapping[str, Handler] = MappingProxyType(dict(handlers))
        self.clock = clock
        self.work = WorkTable(
            WebhookEvent,
            pending=[WebhookStatus.PENDING],
            failed=WebhookStatus.FAILED,
            retry=RETRY,
            lease=LEASE,
        )

    # ---- intake ----------------------------------------------------------------------------

    def verify(self, timestamp: str | None, signature: str | None, raw: bytes) -> None:
        try:
            verify_signature(
                self.settings.zoom_webhook_secret.get_secret_value(),
                timestamp,
                signature,
                raw,
                self.clock.now().timestamp(),
            )
        except WebhookRejected as exc:
            log.warning("zoom.webhook_rejected", reason=str(exc))
            raise WebhookRefused(str(exc)) from None

    def url_validation(self, plain_token: str) -> dict[str, str]:
        return url_validation_reply(
            self.settings.zoom_webhook_secret.get_secret_value(), plain_token
        )

    def record(self, body: dict[str, Any]) -> Intake:
        """Stores a verified event (deduplicated) and queues its handling, when there is a
        handler for it and it names what it is about."""
        name = str(body.get("event", ""))[:100]
        if name not in self.handlers:
            log.info("zoom.webhook_unsupported", zoom_event=name)
            return Intake.IGNORED
        payload = body.get("payload")
        event = ZoomEvent(name, payload if isinstance(payload, dict) else {}, _ms(body))
        if not _actionable(event):
            # Signed, but about no meeting: matching it on a missing id would find rows whose
            # Zoom id is NULL, of any organisation.
            log.warning("zoom.webhook_without_meeting_id", zoom_event=name)
            return Intake.IGNORED
        now = self.clock.now()
        row = WebhookEvent(
            dedupe_key=_dedupe_key(event),
            event=name,
            payload=event.payload,
            event_ts=event.event_ts,
            received_at=now,
            next_attempt_at=now,
        )
        try:
            with self.db.write() as s:
                s.add(row)
        except IntegrityError:
            return Intake.DUPLICATE
        self.jobs.enqueue(WEBHOOK_TASK, row.id)
        return Intake.RECEIVED

    # ---- processing ------------------------------------------------------------------------

    def process(self, event_id: str) -> str:
        """The job: claims the event, hands it to its handler, settles it. Returns the
        event's status afterwards (a job that finds it claimed, settled or not due does
        nothing)."""
        attempt = self.work.attempt(self.db, self.clock, event_id, self._handle)
        if attempt.status == WebhookStatus.PENDING and attempt.ran:  # to be tried again
            with self.db.read() as s:
                due = s.scalar(
                    select(WebhookEvent.next_attempt_at).where(WebhookEvent.id == event_id)
                )
            if due is not None:
                wait = (due - self.clock.now()).total_seconds()
                self.jobs.enqueue_in(wait, WEBHOOK_TASK, event_id)
        return attempt.status

    def _handle(self, row: Row[Any]) -> Outcome:
        if row.attempts > MAX_ATTEMPTS:
            # Every allowed attempt ended with its worker gone (killed mid-handler).
            return Failed("the worker handling it stopped, on every allowed attempt")
        event = ZoomEvent(row.event, row.payload, row.event_ts)
        handler = self.handlers.get(row.event)
        if handler is None or not _actionable(event):  # recorded before these rules
            return Done(WebhookStatus.IGNORED, {"processed_at": self.clock.now()})
        try:
            outcome = handler(event)
        except Exception as exc:
            # `event` is structlog's own key: the event's name goes as zoom_event.
            log.exception(
                "zoom.webhook_failed",
                zoom_event=row.event,
                event_id=row.id,
                attempt=row.attempts,
                final=RETRY.exhausted(row.attempts),
            )
            error = f"{type(exc).__name__}: {exc}"
            if RETRY.exhausted(row.attempts):
                return Failed(error, {"processed_at": self.clock.now()})
            return Later(error)
        status = WebhookStatus.IGNORED if outcome == WebhookStatus.IGNORED else WebhookStatus.DONE
        return Done(status, {"processed_at": self.clock.now()})

    def reconcile(self, batch: int = 500) -> int:
        """Re-enqueues events that are due (their enqueue was lost, or their back-off is over)
        and those whose worker died (lease over). Returns how many."""
        due = self.work.due_ids(self.db, self.clock.now(), limit=batch)
        for eid in due:
            self.jobs.enqueue(WEBHOOK_TASK, eid)
        return len(due)

    def failed(self, limit: int = 100) -> Sequence[WebhookEvent]:
        """The events given up on, newest first, with the handler's last error."""
        with self.db.read() as s:
            return s.scalars(
                select(WebhookEvent)
                .where(WebhookEvent.status == WebhookStatus.FAILED)
                .order_by(WebhookEvent.received_at.desc())
                .limit(limit)
            ).all()


def retention_rule() -> Rule:
    """Handled events are pruned after the retention period; pending ones never."""
    finished = (WebhookStatus.DONE, WebhookStatus.IGNORED, WebhookStatus.FAILED)
    return Rule(
        "webhook_events",
        WebhookEvent,
        WebhookEvent.received_at,
        WebhookEvent.status.in_(finished),
    )


def backoff(attempts: int) -> dt.timedelta:
    """The wait after the `attempts`-th failed attempt."""
    return RETRY.delay(attempts)


def _actionable(event: ZoomEvent) -> bool:
    """Meeting events must name their meeting (Zoom always sends `object.id`)."""
    return not event.name.startswith("meeting.") or event.meeting_id is not None


def _meeting_id(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value > 0 else None
    if isinstance(value, str) and value.isdigit() and int(value) > 0:
        return int(value)
    return None


def _ms(body: dict[str, Any]) -> int | None:
    value = body.get("event_ts")
    if isinstance(value, bool) or not isinstance(value, int | str):
        return None
    try:
        return int(value)
    except ValueError:
        return None


def _dedupe_key(event: ZoomEvent) -> str:
    """Zoom redelivers an event with the same object and `event_ts`; two different changes to
    one meeting differ in `event_ts`. Without one, the payload itself tells them apart."""
    obj, p = event.object, event.payload
    ident = (
        obj.get("uuid")
        or obj.get("id")
        or f"{p.get('account_id')}:{p.get('user_id')}:{p.get('deauthorization_time')}"
    )
    when: Any = event.event_ts
    if when is None:
        canonical = json.dumps(p, sort_keys=True, separators=(",", ":"), default=str)
        when = hashlib.sha256(canonical.encode()).hexdigest()[:32]
    return f"{event.name}:{ident}:{when}"[:300]

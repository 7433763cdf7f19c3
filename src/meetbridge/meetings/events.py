"""The meeting's domain events (status.MeetingEvent), written in the change's own transaction
when anyone subscribes (core/events.py), and published once it has committed."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection
from sqlalchemy.orm import Session

from meetbridge.core.events import EventBus
from meetbridge.core.models import Meeting
from meetbridge.meetings.status import MeetingEvent


def event_data(m: Meeting | dict[str, Any], **more: Any) -> dict[str, Any]:
    """What subscribers get: enough to act without a read (the row is the truth)."""
    get = m.get if isinstance(m, dict) else lambda k: getattr(m, k)
    start = get("start_at")
    return {
        "title": get("title"),
        "start_at": start.isoformat() if start is not None else None,
        "host_user_id": get("host_user_id"),
        "source": {"kind": str(get("source_kind") or "own"), "id": get("source_id")},
        **more,
    }


def record(
    events: EventBus | None,
    s: Session | Connection,
    name: MeetingEvent,
    m: Meeting,
    more: dict[str, Any] | None = None,
) -> str | None:
    """Writes the event in `s`'s transaction; its id for `publish`, or None (nobody listens)."""
    if events is None:
        return None
    return events.record(
        s,
        name,
        org_id=m.org_id,
        subject_type="meeting",
        subject_id=m.id,
        data=event_data(m, **(more or {})),
    )


def publish(events: EventBus | None, event_id: str | None) -> None:
    if events is not None and event_id is not None:
        events.publish([event_id])

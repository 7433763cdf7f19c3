"""The service-requests module's domain events, written in the change's own transaction when
anyone subscribes (core/events.py) and published once it has committed.

A subscriber (a workflow) must be able to act on the event's data alone: it may not read the
requests' tables. So the data is the request as it is after the change, under "request"."""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Sequence
from typing import Any

from meetbridge.requests.tables import RequestParticipant, ServiceRequest


class RequestEvent(enum.StrEnum):
    CONVERTED = "request.converted"  # made a Zoom meeting on a host of the pool
    CONVERTED_BACK = "request.converted_back"  # a regular request again: its meeting deleted
    CANCELLED = "request.cancelled"  # its status became "canceled" (a Zoom one's meeting goes)


# For the composition root's subscriptions.
REQUEST_CONVERTED = RequestEvent.CONVERTED.value
REQUEST_CONVERTED_BACK = RequestEvent.CONVERTED_BACK.value
REQUEST_CANCELLED = RequestEvent.CANCELLED.value
REQUEST_EVENTS: tuple[str, ...] = tuple(e.value for e in RequestEvent)

SUBJECT = "request"


def iso(at: dt.datetime | None) -> str | None:
    return at.astimezone(dt.UTC).isoformat() if at is not None else None


def request_data(
    r: ServiceRequest,
    people: Sequence[RequestParticipant],
    tags: Sequence[str],
    **more: Any,
) -> dict[str, Any]:
    """The event's data: `people` and `tags` are the request's, as written in this change."""
    return {
        "request": {
            "id": r.id,
            "service": r.service,
            "client": r.client,
            "requester": r.requester or "",
            "start_at": iso(r.start_at),
            "end_at": iso(r.end_at),
            "timezone": r.timezone,
            "status": r.status,
            "kind": r.kind,  # "zoom" or "regular"
            "zoom_host_email": r.zoom_host_email,  # the pool host; None unless a Zoom one
            "meeting_id": r.meeting_id,  # the meetbridge meeting; None unless a Zoom one
            "location": r.location or "",  # a regular request's place
            "notes": r.notes or "",
            "participants": [p.email for p in people],
            # The same people with their role (provider: a member; client: a contact).
            "people": [{"email": p.email, "name": p.name, "role": p.role} for p in people],
            "tags": list(tags),
            "series_id": r.series_id,
            "occurrence": r.occurrence,
            **more,
        }
    }

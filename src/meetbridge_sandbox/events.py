"""The events the sandbox sends, in the shapes Zoom publishes for them.

Sources (each shape below follows one): the type definitions of Zoom's own SDK, Rivet for
JavaScript (github.com/zoom/rivet-javascript @7309ea34, `meetings/meetings.d.ts`:
MeetingCreatedEvent, MeetingUpdatedEvent, MeetingDeletedEvent, MeetingStartedEvent,
MeetingEndedEvent, RecordingCompletedEvent, MeetingRegistration{Created,Approved,Denied,
Cancelled}Event; `marketplace/marketplace.d.ts`: AppDeauthorizedEvent), and Zoom's webhook
reference (developers.zoom.us/docs/api/marketplace/events/ for app_deauthorized,
/docs/api/webhooks/ for the body's serialisation). The same shapes, as example payloads, are
tests/integrations/zoom/fixtures/; tests/sandbox/test_event_shapes.py holds the sandbox to them.

Times: `event_ts`, `time_stamp` and `deauthorization_time` say when Zoom made the event, on the
wall clock (the sandbox's movable clock moves schedules, never the events' own time).
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
import time
from typing import Any

from meetbridge_sandbox.state import UTC, Meeting, Registrant, User

# The settings Zoom's meeting.created carries (Rivet's MeetingCreatedEvent.object.settings).
CREATED_SETTINGS = ("use_pmi", "alternative_hosts", "join_before_host", "jbh_time")
# What meeting.updated compares (Rivet's MeetingUpdatedEvent.object).
UPDATABLE = ("topic", "type", "start_time", "duration", "timezone", "agenda", "password")
RECURRENCE_KEYS = (
    "type",
    "repeat_interval",
    "weekly_days",
    "monthly_day",
    "monthly_week_day",
    "end_times",
    "end_date_time",
    "monthly_week",
)


def wall_ms() -> int:
    return int(time.time() * 1000)


def body(event: str, payload: dict[str, Any], **top: Any) -> str:
    """The body as Zoom serialises it: compact JSON (no spaces, non-ASCII as is), so a
    receiver that verifies `JSON.stringify(request.body)`, as Zoom's own sample does
    (developers.zoom.us/docs/api/webhooks/, "Verify webhook events"), gets the same bytes.
    app_deauthorized carries its `event_ts` inside `payload` and none beside it."""
    doc: dict[str, Any] = {"event": event, "payload": payload}
    if event != "app_deauthorized":
        doc["event_ts"] = wall_ms()
    doc.update(top)
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False)


def iso_ts(ts: float | None) -> str:
    return dt.datetime.fromtimestamp(ts or 0, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _about(m: Meeting) -> dict[str, Any]:
    return {
        "uuid": m.uuid,
        "id": m.id,
        "host_id": m.host_id,
        "topic": m.topic,
        "type": m.type,
        "start_time": iso_ts(m.start_time),
        "duration": m.duration,
        "timezone": m.timezone,
    }


def _by(m: Meeting, operator: User, obj: dict[str, Any]) -> dict[str, Any]:
    return {
        "account_id": m.account_id,
        "operator": operator.email,
        "operator_id": operator.id,
        "object": obj,
    }


def view(m: Meeting, join_url: str) -> dict[str, Any]:
    """What meeting.updated compares, as Zoom writes each field."""
    out: dict[str, Any] = {k: getattr(m, k) for k in UPDATABLE}
    out["start_time"] = iso_ts(m.start_time)
    out["join_url"] = join_url
    out["settings"] = dict(m.settings)
    return out


def meeting_created(m: Meeting, operator: User, join_url: str) -> dict[str, Any]:
    obj = {**_about(m), "join_url": join_url, "password": m.password}
    obj["settings"] = {k: m.settings.get(k) for k in CREATED_SETTINGS}
    obj["settings"]["alternative_hosts"] = str(obj["settings"]["alternative_hosts"] or "")
    if m.recurrence:
        obj["recurrence"] = {k: v for k, v in m.recurrence.items() if k in RECURRENCE_KEYS}
    return _by(m, operator, obj)


def meeting_updated(
    m: Meeting, operator: User, before: dict[str, Any], after: dict[str, Any]
) -> dict[str, Any] | None:
    """`object` holds what changed (with id and uuid), `old_object` the same fields as they
    were; None when nothing changed."""
    new: dict[str, Any] = {}
    old: dict[str, Any] = {}
    for key, value in after.items():
        if key == "settings":
            changed = {k for k, v in value.items() if before["settings"].get(k) != v}
            if changed:
                new["settings"] = {k: value[k] for k in sorted(changed)}
                old["settings"] = {k: before["settings"].get(k) for k in sorted(changed)}
        elif before.get(key) != value:
            new[key], old[key] = value, before.get(key)
    if not new:
        return None
    ident = {"id": m.id, "uuid": m.uuid}
    payload = _by(m, operator, {**ident, **new})
    payload["time_stamp"] = wall_ms()
    payload["old_object"] = {**ident, **old}
    return payload


def meeting_deleted(m: Meeting, operator: User) -> dict[str, Any]:
    return _by(m, operator, _about(m))


def meeting_started(m: Meeting) -> dict[str, Any]:
    # Zoom's meeting.started and meeting.ended carry the id as a string (Rivet's types).
    obj = {**_about(m), "id": str(m.id), "start_time": iso_ts(m.started_at)}
    return {"account_id": m.account_id, "object": obj}


def meeting_ended(m: Meeting) -> dict[str, Any]:
    payload = meeting_started(m)
    payload["object"]["end_time"] = iso_ts(m.ended_at)
    return payload


def recording_completed(m: Meeting, host: User, share_url: str) -> dict[str, Any]:
    obj = {
        "id": m.id,
        "uuid": m.uuid,
        "host_id": m.host_id,
        "account_id": m.account_id,
        "topic": m.topic,
        "type": m.type,
        "start_time": iso_ts(m.started_at),
        "password": m.recording_password,
        "timezone": m.timezone,
        "host_email": host.email,
        "duration": max(1, int(((m.ended_at or 0) - (m.started_at or 0)) // 60)),
        "share_url": share_url,
        "total_size": sum(f["file_size"] for f in m.recording_files),
        "recording_count": len(m.recording_files),
        "recording_files": m.recording_files,
    }
    return {"account_id": m.account_id, "object": obj}


def registration(
    event: str, m: Meeting, r: Registrant, operator: User | None = None
) -> dict[str, Any]:
    """meeting.registration_created (no operator: the registrant did it), _approved, _denied
    and _cancelled (by the host: with operator)."""
    who: dict[str, Any] = {
        "id": r.id,
        "first_name": r.first_name,
        "last_name": r.last_name,
        "email": r.email,
    }
    if event in ("meeting.registration_created", "meeting.registration_approved"):
        who["join_url"] = r.join_url
        who["participant_pin_code"] = r.participant_pin_code
    if event == "meeting.registration_created":
        who["status"] = r.status
    obj = {**_about(m), "registrant": who}
    if operator is None:
        return {"account_id": m.account_id, "object": obj}
    return _by(m, operator, obj)


def app_deauthorized(client_id: str, user: User, user_data_retention: bool) -> dict[str, Any]:
    """Zoom's marketplace reference: account_id, user_id, signature, deauthorization_time,
    client_id and event_ts, inside `payload`; `user_data_retention` from its Data Compliance
    guide (marketplace.zoom.us/docs/guides/publishing/data-compliance)."""
    now = time.time()
    stamp = dt.datetime.fromtimestamp(now, UTC)
    return {
        "account_id": user.account_id,
        "user_id": user.id,
        "signature": secrets.token_hex(32),
        "deauthorization_time": stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{stamp:%f}"[:3] + "Z",
        "client_id": client_id,
        "user_data_retention": str(user_data_retention).lower(),
        "event_ts": int(now * 1000),
    }

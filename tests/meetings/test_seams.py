"""The engine's typed seams: statuses and their moves, the job's payload, a meeting's source."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest

from meetbridge.core.platform import Reservation
from meetbridge.meetings.inputs import MeetingInput
from meetbridge.meetings.payload import FirstAttempt
from meetbridge.meetings.source import Source, SourceKind
from meetbridge.meetings.status import PENDING, TRANSITIONS, IllegalMove, Status, move
from tests.conftest import ORIGIN
from tests.meetings.test_meetings import BODY, _api, _wait
from tests.zoom_env import ZoomEnv


def test_every_status_has_its_moves_written_down() -> None:
    assert set(TRANSITIONS) == set(Status)
    assert TRANSITIONS[Status.CANCELLED] == TRANSITIONS[Status.DELETED_IN_ZOOM] == frozenset()
    # Whatever is pending can end; nothing comes back from cancelled.
    for status in PENDING:
        assert TRANSITIONS[status] - set(PENDING), status
    assert move(Status.UPDATING, Status.FAILED) is Status.FAILED
    assert move(Status.FAILED, Status.UPDATING) is Status.UPDATING
    with pytest.raises(IllegalMove):
        move(Status.CANCELLED, Status.SCHEDULED)
    with pytest.raises(IllegalMove):
        move(Status.CANCELLING, Status.SCHEDULED)


def test_the_first_attempts_payload_survives_json() -> None:
    now = dt.datetime(2026, 12, 1, 21, 0, tzinfo=dt.UTC)
    job = FirstAttempt(
        row={"id": "m1", "status": Status.CREATING, "start_at": now, "claimed_until": now},
        seen=("connected", 3),
        reservation=Reservation((("zoom:host-daily:a:u", 20423), ("zoom:qps:a:Medium", 17))),
    )
    back = FirstAttempt.from_json(json.loads(json.dumps(job.to_json())))
    assert back == job and back.claimed_until == now


def test_a_source_names_its_owner() -> None:
    assert Source().kind is SourceKind.OWN and Source().id is None
    assert Source(SourceKind.WORKFLOW, "run-7").id == "run-7"
    with pytest.raises(ValueError):
        Source(SourceKind.BOOKING)  # a booking's meeting names the booking
    with pytest.raises(ValueError):
        Source(SourceKind.OWN, "x")


def test_a_module_lists_the_meetings_it_owns(env: ZoomEnv, held: list[tuple[Any, ...]]) -> None:
    ann = env.user("ann@acme.test")
    start = dt.datetime.now() + dt.timedelta(days=3)

    def schedule(title: str, source: Source) -> str:
        data = MeetingInput(title=title, start=start, timezone="UTC", duration=30, source=source)
        return env.c.meetings.schedule(ann, data, ORIGIN).id

    booked = schedule("Booked", Source(SourceKind.BOOKING, "booking-1"))
    schedule("Other booking", Source(SourceKind.BOOKING, "booking-2"))
    own = schedule("Own", Source())
    mine = env.c.meetings.list_by_source(ann.org_id, Source(SourceKind.BOOKING, "booking-1"))
    assert [m.id for m in mine] == [booked]
    assert len(env.c.meetings.list_by_source(ann.org_id, Source(SourceKind.BOOKING, "x"))) == 0
    listed = env.c.meetings.list_meetings(ann, source=Source())
    assert [m.id for m in listed] == [own]


def test_meeting_events_are_written_with_each_change(env: ZoomEnv) -> None:
    got: list[tuple[str, str, dict[str, Any]]] = []
    for name in ("meeting.scheduled", "meeting.updated", "meeting.cancelled", "meeting.failed"):
        env.c.events.subscribe(name, "test", lambda e: got.append((e.name, e.subject_id, e.data)))
    api = _api(env)
    # Nobody invited: on PostgreSQL the meeting, its audit row and its event are one statement.
    m = _wait(api, api.post("/meetings", json=BODY | {"invitees": []}).json()["id"], "scheduled")
    env.control(
        "POST",
        "/faults",
        json={"path": "/v2/meetings/*", "method": "PATCH", "burst_error": 1, "error_status": 400},
    )
    api.patch(f"/meetings/{m['id']}", json={"title": "Refused"})
    _wait(api, m["id"], "failed")
    api.delete(f"/meetings/{m['id']}")
    _wait(api, m["id"], "cancelled")
    assert [(name, subject) for name, subject, _ in got] == [
        ("meeting.scheduled", m["id"]),
        ("meeting.updated", m["id"]),
        ("meeting.failed", m["id"]),
        ("meeting.cancelled", m["id"]),
    ]
    assert got[0][2]["title"] == "Kick-off" and got[0][2]["source"] == {"kind": "own", "id": None}
    assert "Zoom refused" in got[2][2]["error"]

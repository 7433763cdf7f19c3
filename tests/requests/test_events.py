"""A service request's domain events against the live sandbox: converted to Zoom, converted
back, cancelled — each written once with its change (a change that fails or is refused writes
none) and delivered to a subscriber after the commit, carrying the request as a workflow
templates on it."""

from __future__ import annotations

import datetime as dt
import time
import types
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from meetbridge.core import audit
from meetbridge.core.events import Event
from meetbridge.core.models import DomainEvent
from meetbridge.requests import service as requests_service
from meetbridge.requests.events import REQUEST_EVENTS, RequestEvent
from meetbridge.requests.tables import ServiceRequest
from tests.conftest import ORIGIN
from tests.requests.conftest import POOL, api, request_body, save_pool, tomorrow
from tests.zoom_env import ZoomEnv

KEYS = {
    *("id", "service", "client", "requester", "start_at", "end_at", "timezone", "status"),
    *("kind", "zoom_host_email", "meeting_id", "location", "notes", "participants", "people"),
    *("tags", "series_id", "occurrence"),
}
PEOPLE = [
    {"role": "provider", "email": "ann@acme.test", "name": "Ann"},
    {"role": "client", "email": "carla@clinic.test", "name": "Carla"},
]


@dataclass
class Seen:
    """What a subscriber got, and the request as committed when it got it."""

    env: ZoomEnv
    events: list[Event] = field(default_factory=list)
    committed: list[tuple[str, str] | None] = field(default_factory=list)

    def __call__(self, e: Event) -> None:
        with self.env.c.db.read() as s:
            r = s.get(ServiceRequest, e.subject_id)
            self.committed.append(None if r is None else (r.kind, r.status))
        self.events.append(e)


def _subscribe(env: ZoomEnv) -> Seen:
    seen = Seen(env)
    for name in REQUEST_EVENTS:
        env.c.events.subscribe(name, "tests.workflows", seen)
    return seen


def _rows(env: ZoomEnv) -> list[DomainEvent]:
    with env.c.db.read() as s:
        return list(
            s.scalars(
                select(DomainEvent)
                .where(DomainEvent.subject_type == "request")
                .order_by(DomainEvent.occurred_at)
            ).all()
        )


def _new(http: httpx.Client, start: str, end: str, **more: Any) -> dict[str, Any]:
    r = http.post("/requests", json=request_body(start, end, **more))
    assert r.status_code == 201, r.text
    return dict(r.json())


def _scheduled(http: httpx.Client, rid: str) -> None:
    deadline = time.monotonic() + 15
    while http.get(f"/requests/{rid}").json()["meeting_status"] != "scheduled":
        assert time.monotonic() < deadline
        time.sleep(0.1)


def _utc(naive: str) -> str:
    return dt.datetime.fromisoformat(naive).replace(tzinfo=dt.UTC).isoformat()


def test_converted_back_and_cancelled_each_tell_a_subscriber_once_after_the_commit(
    env: ZoomEnv,
) -> None:
    assert save_pool(env, POOL[:1]).status_code == 200
    seen = _subscribe(env)
    s = api(env, "sched@acme.test")
    a = _new(
        s,
        tomorrow(10),
        tomorrow(11),
        client="Clinic North",
        requester="Dr Reyes",
        notes="Bring the forms",
        participants=PEOPLE,
        tags=["Zoom", "Spanish"],
    )
    assert seen.events == []  # making a request is no event
    r = s.post(f"/requests/{a['id']}/convert-to-zoom")
    assert r.status_code == 200, r.text

    # immediate_jobs: the dispatch ran when the event was published, after the commit.
    [converted] = seen.events
    assert seen.committed == [("zoom", "confirmed")]
    assert (converted.name, converted.subject_type) == ("request.converted", "request")
    assert converted.subject_id == a["id"]
    assert converted.org_id == env.user("sched@acme.test").org_id
    assert set(converted.data) == {"request"}
    data = converted.data["request"]
    assert set(data) == KEYS
    assert data == {
        "id": a["id"],
        "service": "Spanish interpreting",
        "client": "Clinic North",
        "requester": "Dr Reyes",
        "start_at": _utc(tomorrow(10)),
        "end_at": _utc(tomorrow(11)),
        "timezone": "UTC",
        "status": "confirmed",
        "kind": "zoom",
        "zoom_host_email": POOL[0],
        "meeting_id": data["meeting_id"],
        "location": "",
        "notes": "Bring the forms",
        "participants": ["ann@acme.test", "carla@clinic.test"],
        "people": PEOPLE,
        "tags": ["Spanish", "Zoom"],
        "series_id": None,
        "occurrence": None,
    }
    assert data["meeting_id"]
    # Running the dispatch again delivers nothing twice.
    assert env.c.events.dispatch(converted.id) == "done"
    assert len(seen.events) == 1
    # Converting a Zoom request again changes nothing: no second event.
    assert s.post(f"/requests/{a['id']}/convert-to-zoom").status_code == 200
    assert len(seen.events) == 1

    _scheduled(s, a["id"])
    assert s.post(f"/requests/{a['id']}/convert-to-regular").status_code == 200
    [_, back] = seen.events
    assert back.name == "request.converted_back" and seen.committed[1] == ("regular", "confirmed")
    data = back.data["request"]
    assert set(data) == KEYS | {"previous"}
    assert data["kind"] == "regular" and data["meeting_id"] is None
    assert data["zoom_host_email"] is None
    assert data["previous"] == {
        "status": "confirmed",
        "kind": "zoom",
        "zoom_host_email": POOL[0],
        "meeting_id": converted.data["request"]["meeting_id"],
    }

    assert s.post(f"/requests/{a['id']}/convert-to-zoom").status_code == 200
    _scheduled(s, a["id"])
    r = s.post(f"/requests/{a['id']}/status", json={"status": "canceled"})
    assert r.status_code == 200, r.text
    assert s.post(f"/requests/{a['id']}/status", json={"status": "canceled"}).status_code == 200
    names = [e.name for e in seen.events]
    assert names == [
        "request.converted",
        "request.converted_back",
        "request.converted",
        "request.cancelled",
    ]
    cancelled = seen.events[3]
    assert seen.committed[3] == ("regular", "canceled")
    data = cancelled.data["request"]
    assert data["status"] == "canceled" and data["kind"] == "regular"
    assert data["previous"]["kind"] == "zoom" and data["previous"]["zoom_host_email"] == POOL[0]
    assert data["previous"]["meeting_id"] == seen.events[2].data["request"]["meeting_id"]

    # Cancelled by an edit (a regular request): the same event.
    b = _new(s, tomorrow(14), tomorrow(15), client="Clinic South")
    body = request_body(tomorrow(14), tomorrow(15), client="Clinic South", status="canceled")
    assert s.put(f"/requests/{b['id']}", json=body).status_code == 200
    last = seen.events[-1]
    assert last.name == "request.cancelled" and last.subject_id == b["id"]
    assert last.data["request"]["previous"] == {
        "status": "confirmed",
        "kind": "regular",
        "zoom_host_email": None,
        "meeting_id": None,
    }

    rows = _rows(env)
    assert [row.id for row in rows] == [e.id for e in seen.events]
    assert all(row.status == "done" and "tests.workflows" in row.delivered for row in rows)


def test_a_conversion_that_fails_or_is_refused_writes_no_event(
    env: ZoomEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert save_pool(env, POOL[:1]).status_code == 200
    seen = _subscribe(env)
    s = api(env, "sched@acme.test")
    a = _new(s, tomorrow(10), tomorrow(11))
    sched = env.user("sched@acme.test")

    def write(*args: Any, **kw: Any) -> None:
        raise RuntimeError("the audit log is full")

    with monkeypatch.context() as m:
        # The audit row fails: the conversion's transaction, its event's too, rolls back.
        m.setattr(requests_service, "audit", types.SimpleNamespace(by=audit.by, write=write))
        with pytest.raises(RuntimeError, match="audit log"):
            env.c.requests.convert_to_zoom(sched, a["id"], ORIGIN)
    with env.c.db.read() as db:
        row = db.get(ServiceRequest, a["id"])
        assert row is not None and row.kind == "regular" and row.meeting_id is None
    assert _rows(env) == [] and seen.events == []

    assert s.post(f"/requests/{a['id']}/convert-to-zoom").status_code == 200
    # The pool's only host is taken then: refused, nothing written.
    b = _new(s, tomorrow(10, 30), tomorrow(11, 30))
    assert s.post(f"/requests/{b['id']}/convert-to-zoom").status_code == 409
    assert [(e.name, e.subject_id) for e in seen.events] == [(RequestEvent.CONVERTED, a["id"])]
    assert [row.name for row in _rows(env)] == ["request.converted"]

"""A booking's domain events against the live sandbox: made, moved, given to another member and
cancelled, each is written once with its change (a change that fails writes none) and reaches
a subscriber after the commit, carrying the booking as a workflow templates on it — and never
the booker's manage link."""

from __future__ import annotations

import datetime as dt
import json
import types
from dataclasses import dataclass, field
from typing import Any

import pytest
from sqlalchemy import select

from meetbridge.booking import service as booking_service
from meetbridge.booking.events import BOOKING_EVENTS, BookingEvent
from meetbridge.booking.inputs import BookingInput
from meetbridge.booking.tables import Booking
from meetbridge.core import audit
from meetbridge.core.events import Event
from meetbridge.core.models import DomainEvent
from tests.booking.conftest import (
    api_as,
    book,
    mail_about,
    make_type,
    next_weekday,
    public,
    slots_on,
)
from tests.conftest import ORIGIN
from tests.support import SmtpServer
from tests.zoom_env import ZoomEnv

KEYS = {
    *("id", "meeting_type", "meeting_type_id", "start_at", "end_at", "timezone"),
    *("attendee_name", "attendee_email", "notes", "host_user_id", "host_email", "host_name"),
    *("member_emails", "meeting_id", "location", "location_value", "join_url", "status"),
}


@dataclass
class Seen:
    """What a subscriber got, and the booking as committed when it got it."""

    env: ZoomEnv
    events: list[Event] = field(default_factory=list)
    committed: list[dict[str, Any] | None] = field(default_factory=list)

    def __call__(self, e: Event) -> None:
        with self.env.c.db.read() as s:
            bk = s.get(Booking, e.subject_id)
            self.committed.append(
                None if bk is None else {"status": bk.status, "start": bk.start_at}
            )
        self.events.append(e)


def _subscribe(env: ZoomEnv) -> Seen:
    seen = Seen(env)
    for name in BOOKING_EVENTS:
        env.c.events.subscribe(name, "tests.workflows", seen)
    return seen


def _rows(env: ZoomEnv) -> list[DomainEvent]:
    with env.c.db.read() as s:
        return list(
            s.scalars(
                select(DomainEvent)
                .where(DomainEvent.subject_type == "booking")
                .order_by(DomainEvent.occurred_at)
            ).all()
        )


def _at(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value)


def test_made_moved_and_cancelled_each_tell_a_subscriber_once_after_the_commit(
    env: ZoomEnv, smtp: SmtpServer
) -> None:
    seen = _subscribe(env)
    view = make_type(env, ["ann@acme.test"])
    ann = env.user("ann@acme.test")
    offered = slots_on(env, next_weekday())
    r = book(env, offered[0]["start"], notes="About the renewal")
    assert r.status_code == 201, r.text
    created = r.json()
    bid, token = created["manage_url"].rsplit("/", 2)[-2:]

    # immediate_jobs: the dispatch ran when the event was published, after the commit.
    [made] = seen.events
    assert seen.committed == [{"status": "confirmed", "start": _at(offered[0]["start"])}]
    assert (made.name, made.subject_type, made.subject_id) == ("booking.created", "booking", bid)
    assert made.org_id == ann.org_id
    data = made.data["booking"]
    assert set(made.data) == {"booking"} and set(data) == KEYS
    assert data == {
        "id": bid,
        "meeting_type": "Intro call",
        "meeting_type_id": view.type.id,
        "start_at": data["start_at"],
        "end_at": data["end_at"],
        "timezone": "Europe/Paris",
        "attendee_name": "Cleo Client",
        "attendee_email": "client@example.test",
        "notes": "About the renewal",
        "host_user_id": ann.id,
        "host_email": "ann@acme.test",
        "host_name": "Ann",
        "member_emails": ["ann@acme.test"],
        "meeting_id": data["meeting_id"],
        "location": "zoom",
        "location_value": "",
        "join_url": None,  # the meeting is made after the commit: not known yet
        "status": "confirmed",
    }
    assert data["start_at"].endswith("+00:00") and _at(data["start_at"]) == _at(offered[0]["start"])
    assert _at(data["end_at"]) - _at(data["start_at"]) == dt.timedelta(minutes=30)
    assert data["meeting_id"]

    # Running the dispatch again delivers nothing twice.
    assert env.c.events.dispatch(made.id) == "done"
    assert len(seen.events) == 1

    mail_about(smtp, "client@example.test", "Confirmed: Intro call")  # the meeting exists
    (zoom,) = env.control("GET", "/meetings")
    with public(env) as api:
        r = api.post(f"/manage/{bid}/{token}/reschedule", json={"start": offered[3]["start"]})
        assert r.status_code == 200, r.text
    [_, moved] = seen.events
    assert moved.name == "booking.rescheduled" and moved.subject_id == bid
    assert seen.committed[1] == {"status": "confirmed", "start": _at(offered[3]["start"])}
    data = moved.data["booking"]
    assert set(data) == KEYS | {"moved_by", "previous"}
    assert data["moved_by"] == "booker"
    assert _at(data["start_at"]) == _at(offered[3]["start"])
    assert data["meeting_id"] == made.data["booking"]["meeting_id"]  # the same meeting, moved
    assert data["join_url"] == zoom["join_url"]
    assert data["previous"] == {
        "start_at": made.data["booking"]["start_at"],
        "end_at": made.data["booking"]["end_at"],
        "host_user_id": ann.id,
        "host_email": "ann@acme.test",
        "host_name": "Ann",
        "meeting_id": data["meeting_id"],
    }

    with public(env) as api:
        assert api.post(f"/manage/{bid}/{token}/cancel").status_code == 200
        # Cancelling again changes nothing: no second event.
        assert api.post(f"/manage/{bid}/{token}/cancel").status_code in (200, 409)
    [_, _, cancelled] = seen.events
    assert cancelled.name == "booking.cancelled"
    assert seen.committed[2] is not None and seen.committed[2]["status"] == "cancelled"
    data = cancelled.data["booking"]
    assert set(data) == KEYS | {"cancelled_by"}
    assert data["status"] == "cancelled" and data["cancelled_by"] == "booker"
    assert data["join_url"] is None and data["attendee_email"] == "client@example.test"

    # A member's cancel says so (a second booking).
    r = book(env, offered[5]["start"], email="dee@example.test")
    assert r.status_code == 201, r.text
    env.c.bookings.cancel(ann, r.json()["id"], ORIGIN)
    assert [e.name for e in seen.events][3:] == ["booking.created", "booking.cancelled"]
    assert seen.events[4].data["booking"]["cancelled_by"] == "member"

    # One row per change, each delivered; the manage link is in none of them.
    rows = _rows(env)
    assert [(row.name, row.status) for row in rows] == [
        ("booking.created", "done"),
        ("booking.rescheduled", "done"),
        ("booking.cancelled", "done"),
        ("booking.created", "done"),
        ("booking.cancelled", "done"),
    ]
    assert all("tests.workflows" in row.delivered for row in rows)
    assert [row.id for row in rows] == [e.id for e in seen.events]
    assert all(token not in json.dumps(row.data) for row in rows)
    assert all("manage" not in json.dumps(row.data) for row in rows)


def _failing_audit(monkeypatch: pytest.MonkeyPatch) -> None:
    """The booking service's audit row fails: its transaction (the event's too) rolls back."""

    def write(*a: Any, **kw: Any) -> None:
        raise RuntimeError("the audit log is full")

    monkeypatch.setattr(booking_service, "audit", types.SimpleNamespace(row=audit.row, write=write))


def test_a_change_that_fails_writes_no_event(
    env: ZoomEnv, smtp: SmtpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen = _subscribe(env)
    make_type(env, ["ann@acme.test"])
    ann = env.user("ann@acme.test")
    offered = slots_on(env, next_weekday())
    data = BookingInput(
        start=offered[0]["start"], name="Cleo Client", email="c@example.test", timezone="UTC"
    )
    with monkeypatch.context() as m:
        _failing_audit(m)
        with pytest.raises(RuntimeError, match="audit log"):
            env.c.bookings.book("acme", "intro", data, ORIGIN)
    with env.c.db.read() as s:
        assert s.scalars(select(Booking)).all() == []
    assert _rows(env) == [] and seen.events == []

    # A time someone else took is refused before anything is written.
    assert book(env, offered[0]["start"]).status_code == 201
    assert book(env, offered[0]["start"], email="late@example.test").status_code == 409
    [made] = seen.events
    bid = made.subject_id

    with monkeypatch.context() as m:
        _failing_audit(m)
        with pytest.raises(RuntimeError, match="audit log"):
            env.c.bookings.cancel(ann, bid, ORIGIN)
        with pytest.raises(RuntimeError, match="audit log"):
            env.c.bookings.reschedule(ann, bid, _at(offered[2]["start"]), ORIGIN)
    with env.c.db.read() as s:
        bk = s.get(Booking, bid)
        assert bk is not None and bk.status == "confirmed"
        assert bk.start_at == _at(offered[0]["start"])
    assert [row.name for row in _rows(env)] == ["booking.created"]
    assert len(seen.events) == 1


def test_a_booking_given_to_another_member_says_who_had_it(env: ZoomEnv, smtp: SmtpServer) -> None:
    env.connect(env.signed_in("bob@acme.test"), "sam@zoom-sandbox.test")
    seen = _subscribe(env)
    make_type(env, ["ann@acme.test", "bob@acme.test"], assignment="round_robin")
    offered = slots_on(env, next_weekday())
    r = book(env, offered[0]["start"])
    assert r.status_code == 201, r.text
    [made] = seen.events
    first = made.data["booking"]
    owner = env.user("owner@acme.test")
    env.c.bookings.reassign(owner, made.subject_id, ORIGIN)
    [_, given] = seen.events
    assert given.name == BookingEvent.REASSIGNED == "booking.reassigned"
    data = given.data["booking"]
    assert set(data) == KEYS | {"moved_by", "previous"}
    assert data["moved_by"] == "member"
    assert {data["host_email"], first["host_email"]} == {"ann@acme.test", "bob@acme.test"}
    assert data["member_emails"] == [data["host_email"]]
    assert data["previous"]["host_email"] == first["host_email"]
    assert data["previous"]["meeting_id"] == first["meeting_id"]
    # A new meeting on the new host's Zoom, made after the commit: its link is not known yet.
    assert data["meeting_id"] not in (None, first["meeting_id"]) and data["join_url"] is None
    assert data["start_at"] == first["start_at"] and data["status"] == "confirmed"
    assert [row.name for row in _rows(env)] == ["booking.created", "booking.reassigned"]


def test_a_booking_that_follows_its_meeting_says_the_meeting_moved_it(
    env: ZoomEnv, smtp: SmtpServer
) -> None:
    """A workflow on "booking rescheduled" can tell a move of the booking's meeting (on the
    Meetings page, or at Zoom) from the booker's or a member's reschedule."""
    seen = _subscribe(env)
    make_type(env, ["ann@acme.test"])
    ann = env.user("ann@acme.test")
    offered = slots_on(env, next_weekday())
    assert book(env, offered[0]["start"]).status_code == 201
    mail_about(smtp, "client@example.test", "Confirmed: Intro call")  # the meeting exists
    [made] = seen.events
    env.c.bookings.reschedule(ann, made.subject_id, _at(offered[2]["start"]), ORIGIN)
    with env.c.db.read() as s:
        bk = s.get(Booking, made.subject_id)
        assert bk is not None and bk.meeting_id is not None
        meeting_id = bk.meeting_id
    with api_as(env, "ann@acme.test") as api:
        r = api.patch(f"/meetings/{meeting_id}", json={"start": offered[6]["start"]})
        assert r.status_code == 202, r.text
    [_, by_member, followed] = seen.events
    assert by_member.data["booking"]["moved_by"] == "member"
    assert followed.name == "booking.rescheduled"
    data = followed.data["booking"]
    assert data["moved_by"] == "meeting" and _at(data["start_at"]) == _at(offered[6]["start"])
    assert _at(data["previous"]["start_at"]) == _at(offered[2]["start"])
    assert data["meeting_id"] == meeting_id

"""The scheduling fast path (one prepared INSERT … SELECT, on PostgreSQL one statement with
its audit row as a CTE) writes exactly what a plain ORM implementation of the same rules
writes: the meeting row, its invitees, its audit row, and Zoom's counters (once per meeting,
whether the request or the job counts it)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import select

from meetbridge.core import audit
from meetbridge.core.models import AuditEvent, Meeting, MeetingInvitee, Project, User, new_id
from meetbridge.integrations.zoom.tables import ZoomConnection
from meetbridge.meetings import inputs
from meetbridge.meetings.inputs import MeetingInput
from meetbridge.meetings.lifecycle import WORK_TASK
from meetbridge.meetings.source import Source, SourceKind
from tests.conftest import ORIGIN
from tests.zoom_env import ZoomEnv

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(seconds=1)
START = (NOW + dt.timedelta(days=20)).replace(tzinfo=None, hour=10, minute=0, second=0)


def _plainly(env: ZoomEnv, actor: User, data: MeetingInput) -> str:
    """The same rules through the ORM, step by step: the reference for the fast path."""
    c = env.c
    invitees = inputs.invitees(data.invitees)
    with c.db.write() as s:
        conn = s.scalar(
            select(ZoomConnection).where(
                ZoomConnection.kind == "user",
                ZoomConnection.user_id == actor.id,
                ZoomConnection.status.not_in(("ended", "needs_reconnect")),
            )
        )
        assert conn is not None and conn.zoom_account_id and conn.zoom_user_id
        if data.project_id is not None:
            project = s.get(Project, data.project_id)
            assert project is not None and project.org_id == actor.org_id
        m = Meeting(
            id=new_id(),
            org_id=actor.org_id,
            project_id=data.project_id,
            host_user_id=actor.id,
            connection_id=conn.id,
            title=inputs.title(data.title),
            agenda=inputs.agenda(data.agenda),
            start_at=inputs.start(data.start, inputs.tz(data.timezone), NOW),
            duration_min=inputs.duration(data.duration),
            timezone=data.timezone,
            passcode=inputs.passcode(data.passcode),
            waiting_room=data.waiting_room,
            join_before_host=data.join_before_host,
            status="creating",
            sequence=0,
            attempts=1,
            claimed_until=NOW + dt.timedelta(seconds=c.settings.effective_meetings_lease),
            ambiguous=False,
            had_ambiguity=False,
            invitee_count=len(invitees),
            next_attempt_at=NOW,
            created_by=actor.id,
            created_at=NOW,
            updated_at=NOW,
            source_kind=data.source.kind,
            source_id=data.source.id,
            changed_at=NOW,
        )
        s.add(m)
        s.flush()
        for email in invitees:
            s.add(MeetingInvitee(meeting_id=m.id, email=email, created_at=NOW))
        what = {"title": m.title}
        audit.write(s, audit.by(actor, "meeting.scheduled", ORIGIN, "meeting", m.id, what))
        # Zoom's counter: the host's creates today, in this transaction when it lives in
        # this database, else after it.
        hits = c.zoom.meeting_write_hits(conn.zoom_account_id, conn.zoom_user_id)
        counted = c.limiter.hit_all_in(s.connection(), hits)
        meeting_id = m.id
    if counted is None:
        c.limiter.hit_all(hits)
    return meeting_id


def _daily(env: ZoomEnv, actor: User) -> int:
    with env.c.db.read() as s:
        conn = s.scalar(select(ZoomConnection).where(ZoomConnection.user_id == actor.id))
    assert conn is not None and conn.zoom_account_id and conn.zoom_user_id
    (daily,) = env.c.zoom.meeting_write_hits(conn.zoom_account_id, conn.zoom_user_id)
    return env.c.limiter.used(daily.key, daily.window)


def _written(env: ZoomEnv, meeting_id: str) -> dict[str, Any]:
    """Everything scheduling wrote for a meeting, without its id."""
    with env.c.db.read() as s:
        m = s.get(Meeting, meeting_id)
        assert m is not None
        row = {c.name: getattr(m, c.key) for c in Meeting.__table__.c if c.name != "id"}
        invitees = [
            (i.email, i.name, i.created_at)
            for i in s.scalars(
                select(MeetingInvitee)
                .where(MeetingInvitee.meeting_id == meeting_id)
                .order_by(MeetingInvitee.email)
            )
        ]
        audited = [
            {c.name: getattr(a, c.key) for c in AuditEvent.__table__.c if c.name != "id"}
            for a in s.scalars(select(AuditEvent).where(AuditEvent.target_id == meeting_id))
        ]
    for a in audited:
        a.pop("target_id")
    return {"row": row, "invitees": invitees, "audit": audited}


@pytest.mark.parametrize("with_project", [False, True])
@pytest.mark.parametrize("with_invitees", [False, True])
def test_the_fast_path_writes_what_the_plain_orm_path_writes(
    env: ZoomEnv, monkeypatch: pytest.MonkeyPatch, with_project: bool, with_invitees: bool
) -> None:
    ann = env.user("ann@acme.test")
    project_id = None
    if with_project:
        project_id = env.c.projects.create(ann, name="Launch", description="", origin=ORIGIN).id
    data = MeetingInput(
        title="  Parity   check ",
        start=START,
        timezone="Europe/Paris",
        duration=30,
        agenda="Both ways",
        passcode="abc123",
        project_id=project_id,
        invitees=["b@example.test", "A@example.test"] if with_invitees else [],
        source=Source(SourceKind.BOOKING, "booking-1"),
    )
    monkeypatch.setattr("meetbridge.meetings.service.utcnow", lambda: NOW)
    monkeypatch.setattr("meetbridge.core.audit.utcnow", lambda: NOW)
    jobs: list[tuple[Any, ...]] = []
    monkeypatch.setattr(env.c.jobs, "enqueue", lambda *job: jobs.append(job) or True)

    day0 = _daily(env, ann)
    fast = env.c.meetings.schedule(ann, data, ORIGIN).id
    fast_written = _written(env, fast)
    [(task, meeting_id, claim)] = [j for j in jobs if j[0] == WORK_TASK]
    monkeypatch.undo()  # the job runs at its own time
    monkeypatch.setattr(env.c.jobs, "enqueue", lambda *job: True)
    assert env.c.meetings.work(meeting_id, claim) == "done"
    fast_counted = _daily(env, ann) - day0

    monkeypatch.setattr("meetbridge.core.audit.utcnow", lambda: NOW)
    day1 = _daily(env, ann)
    plain = _plainly(env, ann, data)
    plain_counted = _daily(env, ann) - day1

    assert task == WORK_TASK and meeting_id == fast
    assert _written(env, plain) == fast_written
    assert fast_counted == plain_counted == 1

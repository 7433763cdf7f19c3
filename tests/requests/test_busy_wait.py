"""A request moved while its Zoom meeting is still being made (CREATING: Zoom has not made it,
e.g. the host is at Zoom's daily limit) waits for it without spending its attempts, asking
again less and less often, and a long wait shows on the request's page."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from sqlalchemy import insert, select

from meetbridge.container import Container, build_container
from meetbridge.core.clock import ManualClock
from meetbridge.core.models import Meeting, User, new_id
from meetbridge.core.settings import Settings
from meetbridge.requests.tables import (
    RequestKind,
    RequestStatus,
    RequestWork,
    ServiceRequest,
    WorkStatus,
)
from tests.conftest import ORIGIN, PASSWORD

START = dt.datetime(2027, 5, 3, 9, tzinfo=dt.UTC)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(dt.datetime(2027, 5, 1, 8, tzinfo=dt.UTC))


@pytest.fixture
def c(settings: Settings, clock: ManualClock) -> Iterator[Container]:
    container = build_container(settings, immediate_jobs=True, clock=clock)
    yield container
    container.close()


def _moved_while_creating(c: Container, clock: ManualClock) -> tuple[User, str, str]:
    """A Zoom request whose meeting is still CREATING (as the engine leaves it while Zoom
    refuses to make it), then moved an hour later: its sync work, not yet run."""
    _org, owner = c.orgs.create_organization(
        name="Interpreters",
        owner_email="owner@interp.test",
        owner_name="Olive",
        owner_password=PASSWORD,
        origin=ORIGIN,
    )
    rid, mid = new_id(), new_id()
    now = clock.now()
    with c.db.write() as s:
        s.execute(
            insert(Meeting).values(
                id=mid,
                org_id=owner.org_id,
                host_user_id=owner.id,
                title="Interpreting — Client",
                agenda="",
                start_at=START,
                duration_min=60,
                timezone="UTC",
                status="creating",
                sequence=0,
                source_kind="request",
                source_id=rid,
                created_at=now,
                updated_at=now,
                next_attempt_at=now,
            )
        )
        r = ServiceRequest(
            id=rid,
            org_id=owner.org_id,
            client="Client",
            service="Interpreting",
            start_at=START + dt.timedelta(hours=1),  # moved: the meeting must follow
            end_at=START + dt.timedelta(hours=2),
            timezone="UTC",
            status=RequestStatus.CONFIRMED,
            kind=RequestKind.ZOOM,
            meeting_id=mid,
            created_by=owner.id,
        )
        s.add(r)
        s.flush()
        work = c.requests.sync.add(s, r, owner)
    return owner, rid, work


def _work(c: Container, work_id: str) -> RequestWork:
    with c.db.read() as s:
        w = s.scalar(select(RequestWork).where(RequestWork.id == work_id))
        assert w is not None
        s.expunge(w)
    return w


def test_the_wait_backs_off_costs_no_attempt_and_shows_when_long(
    c: Container, clock: ManualClock
) -> None:
    owner, rid, work = _moved_while_creating(c, clock)
    gaps: list[int] = []
    shown: list[tuple[dt.timedelta, list[str]]] = []
    began = clock.now()
    until = began + dt.timedelta(hours=2)
    while clock.now() < until:
        assert c.requests.sync.run(work) == WorkStatus.PENDING
        w = _work(c, work)
        assert w.attempts == 0  # a wait, not a failure: it never runs out of attempts
        gaps.append(int((w.next_attempt_at - clock.now()).total_seconds()))
        view = c.requests.views(owner.org_id, [c.requests.get(owner, rid)])[0]
        shown.append((clock.now() - began, view.problems))
        clock.set(w.next_attempt_at)
    # Soon at first, then doubling, then every five minutes; not every 5 s for two hours.
    assert gaps[:6] == [5, 5, 10, 20, 40, 80]
    assert max(gaps) == 300 and gaps[-3:] == [300, 300, 300]
    assert len(gaps) == 30, gaps
    # Nothing on the page for the first quarter of an hour; then the wait and why.
    quarter = dt.timedelta(minutes=15)
    assert all(problems == [] for waited, problems in shown if waited < quarter)
    assert all(len(problems) == 1 for waited, problems in shown if waited >= quarter)
    assert shown[-1][1] == [
        "Still trying after 115 minutes: waiting for Zoom to make the meeting, to move it"
    ]

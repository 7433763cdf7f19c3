"""The durable work that makes a request's meetings match the request, through the meetings
service: the meeting the request holds (`meeting_id`, on `zoom_host_id`) is scheduled with
that id (a retry finds it: never two), moved when the request moves, and every other meeting
of the request — a host it left, a conversion back, a cancel — is cancelled, which deletes
it at Zoom. Work that keeps failing ends `failed` with its reason on the request's page."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Row
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from meetbridge.core.audit import Origin
from meetbridge.core.clock import Clock
from meetbridge.core.db import Database
from meetbridge.core.errors import Conflict, DomainError
from meetbridge.core.models import User, new_id
from meetbridge.core.work import Done, Later, Outcome, Retry, WorkTable, waited_wait
from meetbridge.meetings.inputs import MeetingChanges, MeetingInput
from meetbridge.meetings.service import Meetings
from meetbridge.meetings.source import Source, SourceKind
from meetbridge.meetings.status import Status
from meetbridge.notify.outbox import MailDelivery, queue_email
from meetbridge.requests.tables import (
    RequestKind,
    RequestParticipant,
    RequestStatus,
    RequestWork,
    ServiceRequest,
    WorkStatus,
)
from meetbridge.scheduling.timezones import utc_to_wall, zone

WORK_TASK = "requests.work"
RECONCILE_TASK = "requests.reconcile"
ORIGIN = Origin(via="requests")
# A meeting still being made (CREATING) is asked again after as long as the work has waited,
# from BUSY_RETRY to BUSY_RETRY_AT_MOST: soon for the usual few seconds, every few minutes
# when Zoom holds it for hours (a host at its daily limit).
BUSY_RETRY = dt.timedelta(seconds=5)
BUSY_RETRY_AT_MOST = dt.timedelta(minutes=5)
# Work still pending this long after it was written shows on the request's page with its
# last error (RequestView.problems).
STUCK_AFTER = dt.timedelta(minutes=15)
LINK_WAIT = dt.timedelta(seconds=3)  # a notice waiting for the join link looks again
LINK_WAIT_AT_MOST = dt.timedelta(minutes=15)  # then it goes without the link


def title_of(r: ServiceRequest) -> str:
    return f"{r.service} — {r.client}"[:200]


class Sync:
    def __init__(
        self, db: Database, meetings: Meetings, mail: MailDelivery, jobs: Any, clock: Clock
    ) -> None:
        self.db = db
        self.meetings = meetings
        self.mail = mail
        self.jobs = jobs
        self.clock = clock
        self.work = WorkTable(
            RequestWork,
            pending=[WorkStatus.PENDING],
            failed=WorkStatus.FAILED,
            retry=Retry(base=5, cap=900, max_attempts=20),
            lease=dt.timedelta(seconds=120),
        )

    def add(self, s: Session, r: ServiceRequest, actor: User, kind: str = "sync") -> str:
        """In the request's transaction: the work that makes its meetings match it ("sync")
        or tells its people ("notify")."""
        w = RequestWork(
            id=new_id(),
            request_id=r.id,
            kind=kind,
            actor_id=actor.id,
            status=WorkStatus.PENDING,
            attempts=0,
            next_attempt_at=self.clock.now(),
            created_at=self.clock.now(),  # how long it has waited is measured from here
        )
        s.add(w)
        return w.id

    def run_now(self, *work_ids: str | None) -> None:
        """After the commit, in this process: the meeting row exists before the answer; a
        run lost here is found again by the reconciler."""
        for work_id in work_ids:
            if work_id is not None:
                self.run(work_id)

    def run(self, work_id: str) -> str:
        done = self.work.attempt(self.db, self.clock, work_id, self._handle)
        outcome = done.outcome
        if isinstance(outcome, Later) and outcome.at is not None and done.status == "pending":
            delay = max(0.0, (outcome.at - self.clock.now()).total_seconds())
            self.jobs.enqueue_in(delay, WORK_TASK, work_id)
        return done.status

    def reconcile(self) -> int:
        ids = self.work.due_ids(self.db, self.clock.now())
        for wid in ids:
            self.jobs.enqueue(WORK_TASK, wid)
        return len(ids)

    def _handle(self, w: Row[Any]) -> Outcome:
        with self.db.read() as s:
            r = s.get(ServiceRequest, w.request_id)
            actor = s.get(User, w.actor_id) if w.actor_id else None
            s.expunge_all()
        if r is None:
            return Done(WorkStatus.DONE)
        if w.kind == "notify":
            return self._notify(r)
        wanted = (
            r.meeting_id
            if r.kind == RequestKind.ZOOM and r.status != RequestStatus.CANCELED
            else None
        )
        mine = self.meetings.list_by_source(r.org_id, Source(SourceKind.REQUEST, r.id))
        for other in mine:
            if other.id != wanted and not Status(other.status).gone:
                self._cancel(other)
        if wanted is None:
            return Done(WorkStatus.DONE)
        m = next((m for m in mine if m.id == wanted), None)
        length = int((r.end_at - r.start_at).total_seconds() // 60)
        if m is None:
            if actor is None:
                return Done(WorkStatus.FAILED, {"last_error": "whoever converted it is gone"})
            data = MeetingInput(
                title=title_of(r),
                start=r.start_at,
                timezone=r.timezone,
                duration=length,
                agenda=r.notes[:2000],
                join_before_host=False,  # one meeting per host at a time: never early starts
                source=Source(SourceKind.REQUEST, r.id),
                host=r.zoom_host_id,
            )
            try:
                self.meetings.schedule(actor, data, ORIGIN, meeting_id=wanted)
            except IntegrityError:
                pass  # an earlier attempt made it: the id is the request's choice
            except DomainError as exc:
                return Done(WorkStatus.FAILED, {"last_error": f"Zoom meeting: {exc.message}"})
            return Done(WorkStatus.DONE)
        if Status(m.status).gone:
            return Done(WorkStatus.DONE)
        if (m.start_at, m.duration_min, m.title) != (r.start_at, length, title_of(r)):
            owner = self._owner(m)
            if owner is None:
                return Done(WorkStatus.FAILED, {"last_error": "the meeting's owner is gone"})
            try:
                self.meetings.update(
                    owner,
                    m.id,
                    MeetingChanges(
                        title=title_of(r), start=r.start_at, duration=length, agenda=r.notes
                    ),
                    ORIGIN,
                )
            except Conflict as exc:
                if Status(m.status) is Status.CREATING:
                    now = self.clock.now()
                    wait = waited_wait(now - w.created_at, BUSY_RETRY, BUSY_RETRY_AT_MOST)
                    return Later(
                        "waiting for Zoom to make the meeting, to move it", at=now + wait, free=True
                    )
                return Done(WorkStatus.FAILED, {"last_error": f"Zoom meeting: {exc.message}"})
        return Done(WorkStatus.DONE)

    def _notify(self, r: ServiceRequest) -> Outcome:
        """The request's people get its e-mail (the "request" template): once its Zoom
        meeting has its join link, when it is one. One e-mail per person and change."""
        if r.status == RequestStatus.DRAFT:
            return Done(WorkStatus.DONE)
        zoom = r.kind == RequestKind.ZOOM and r.meeting_id is not None
        join_url = ""
        if zoom:
            m = next(
                (
                    m
                    for m in self.meetings.list_by_source(
                        r.org_id, Source(SourceKind.REQUEST, r.id)
                    )
                    if m.id == r.meeting_id
                ),
                None,
            )
            live = m is not None and m.status in (Status.SCHEDULED, Status.UPDATING)
            if live and m is not None and m.join_url:
                join_url = m.join_url
            elif (m is None or Status(m.status) is Status.CREATING) and (
                self.clock.now() < r.updated_at + LINK_WAIT_AT_MOST
            ):
                # Not made at Zoom yet: the e-mail waits for the link a while (then, or for a
                # failed meeting, it goes without one; the request's page says why).
                return Later(
                    "waiting for the Zoom meeting's link",
                    at=self.clock.now() + LINK_WAIT,
                    free=True,
                )
        tz = zone(r.timezone)
        start, end = utc_to_wall(r.start_at, tz), utc_to_wall(r.end_at, tz)
        context = {
            "service": r.service,
            "client": r.client,
            "when": start.strftime("%A %d %B %Y, %H:%M"),
            "until": end.strftime("%H:%M")
            if end.date() == start.date()
            else end.strftime("%A %d %B %Y, %H:%M"),
            "timezone": r.timezone,
            "location": r.location,
            "join_url": join_url,
            "zoom": zoom,
            "notes": r.notes,
            "request_id": r.id,
            "sequence": r.sequence,
            "cancelled": r.status == RequestStatus.CANCELED,
        }
        queued = []
        with self.db.write() as s:
            people = s.scalars(
                select(RequestParticipant.email).where(RequestParticipant.request_id == r.id)
            ).all()
            for email in dict.fromkeys(people):
                msg = queue_email(
                    s,
                    org_id=r.org_id,
                    dedupe_key=f"request:{r.id}:{r.sequence}:{email}",
                    to=email,
                    template="request",
                    context=context,
                )
                if msg is not None:
                    s.flush()
                    queued.append(msg.id)
        for mid in queued:
            self.mail.enqueue(mid)
        return Done(WorkStatus.DONE)

    def _owner(self, m: Any) -> User | None:
        with self.db.read() as s:
            owner = s.get(User, m.host_user_id)
            if owner is not None:
                s.expunge(owner)
        return owner

    def _cancel(self, m: Any) -> None:
        owner = self._owner(m)
        if owner is not None:
            self.meetings.cancel(owner, m.id, ORIGIN)

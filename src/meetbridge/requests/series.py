"""Recurring series of requests, and making every occurrence a Zoom meeting at once ("Update
recurring requests" with Clone Zoom Settings: Yes).

A series is written in one transaction: its rule (scheduling/recurrence.py) and every
occurrence as a request of its own. Converting the occurrences is a durable job with
progress (`SeriesJob`): each occurrence is converted as a single request is (its own free
pool host, checked as in `hosting.py`, under the organisation's lock), one after the other,
and the job records after each how far it got and every occurrence it could not place, with
why — never failing half-silently. The creates it asks of each host today are counted as it
goes, so a host is not given more than Zoom's 100 a day before Zoom has counted them, and
the least used hosts go first, which spreads a series over the pool. Zoom's per-second
budget is kept by the meetings engine, which makes every create through the shared rate
counters. A worker that dies mid-job leaves its claim (`LEASE`) to run out; the job runs again and
counts what is already a Zoom meeting as placed."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.engine import Row
from sqlalchemy.orm import Session

from meetbridge.core import audit
from meetbridge.core.audit import Origin
from meetbridge.core.clock import Clock
from meetbridge.core.db import Database
from meetbridge.core.errors import Conflict, DomainError, FieldError, NotFound, ValidationFailed
from meetbridge.core.models import User, new_id
from meetbridge.core.work import Done, Outcome, Retry, WorkTable
from meetbridge.requests import inputs
from meetbridge.requests.inputs import RequestInput
from meetbridge.requests.service import Requests
from meetbridge.requests.tables import (
    RequestKind,
    RequestSeries,
    RequestStatus,
    SeriesJob,
    ServiceRequest,
    WorkStatus,
)
from meetbridge.scheduling import recurrence
from meetbridge.scheduling.timezones import utc_to_wall, zone

SERIES_TASK = "requests.series"
SERIES_RECONCILE_TASK = "requests.series_reconcile"
ORIGIN = Origin(via="requests")
# The job's claim: longer than a 500-occurrence job takes (a create is queued in tens of
# milliseconds); a worker that dies leaves it to run out, and the job is taken up again.
LEASE = dt.timedelta(minutes=30)


class Series:
    def __init__(self, db: Database, requests: Requests, jobs: Any, clock: Clock) -> None:
        self.db = db
        self.requests = requests
        self.jobs = jobs
        self.clock = clock
        self.work = WorkTable(
            SeriesJob,
            pending=[WorkStatus.PENDING],
            failed=WorkStatus.FAILED,
            retry=Retry(base=10, cap=600, max_attempts=10),
            lease=LEASE,
        )

    # ---- a series ------------------------------------------------------------------------------

    def create(
        self, actor: User, data: RequestInput, repeat: dict[str, Any], origin: Origin
    ) -> tuple[RequestSeries, list[ServiceRequest]]:
        """The series whose first occurrence is `data` (its start and end), repeating by
        `repeat` (recurrence.Rule's fields: frequency, interval, weekdays, monthly_by,
        until or count, exceptions). Every bad field — the request's and the rule's
        ("repeat.<field>") — at once; nothing written."""
        if not actor.is_scheduler:
            raise ValidationFailed("repeat", "only schedulers and admins make series")
        errors: list[FieldError] = []
        ok = None
        try:
            ok = inputs.checked(data)
        except ValidationFailed as exc:
            errors.extend(exc.errors)
        rule = None
        if ok is not None:
            wall = utc_to_wall(ok.start, zone(ok.timezone))
            minutes = int((ok.end - ok.start).total_seconds() // 60)
            fields = {
                **{k: v for k, v in repeat.items() if k in _RULE_FIELDS},
                "start_date": wall.date().isoformat(),
                "start_time": wall.time().isoformat(),
                "duration": minutes,
                "timezone": ok.timezone,
            }
            rule = recurrence.Rule.from_json(fields)
            for name, message in recurrence.problems(rule, self.clock.now()):
                errors.append(FieldError(f"repeat.{name}", message))
        if errors:
            raise ValidationFailed.many(errors)
        assert ok is not None and rule is not None
        occurrences = recurrence.expand(rule)
        now = self.clock.now()
        with self.db.write() as s:
            series = RequestSeries(
                id=new_id(),
                org_id=actor.org_id,
                rule=rule.to_json(),
                timezone=ok.timezone,
                created_by=actor.id,
                created_at=now,
            )
            s.add(series)
            rows = []
            for i, occ in enumerate(occurrences):
                r = ServiceRequest(
                    id=new_id(),
                    org_id=actor.org_id,
                    client=ok.client,
                    requester=ok.requester,
                    service=ok.service,
                    location=ok.location,
                    start_at=occ.start,
                    end_at=occ.end,
                    timezone=ok.timezone,
                    notes=ok.notes,
                    status=ok.status,
                    kind=RequestKind.REGULAR,
                    series_id=series.id,
                    occurrence=i,
                    sequence=0,
                    created_by=actor.id,
                    created_at=now,
                    updated_at=now,
                )
                s.add(r)
                rows.append(r)
            s.flush()
            for r in rows:
                self.requests.set_people(s, r, ok)
            audit.write(
                s,
                audit.by(
                    actor,
                    "request.series_created",
                    origin,
                    "request_series",
                    series.id,
                    {"occurrences": len(rows), "service": ok.service},
                ),
            )
            s.flush()
            s.expunge_all()
        return series, rows

    def occurrences(self, actor: User, series_id: str) -> list[ServiceRequest]:
        with self.db.read() as s:
            _series(s, actor, series_id)
            rows = list(
                s.scalars(
                    select(ServiceRequest)
                    .where(ServiceRequest.series_id == series_id)
                    .order_by(ServiceRequest.start_at)
                ).all()
            )
            s.expunge_all()
        return rows

    def size(self, actor: User, series_id: str) -> int:
        """How many occurrences the series has (a request's page says so: a count, not the
        rows of a series of hundreds)."""
        with self.db.read() as s:
            _series(s, actor, series_id)
            return int(
                s.scalar(
                    select(func.count())
                    .select_from(ServiceRequest)
                    .where(ServiceRequest.series_id == series_id)
                )
                or 0
            )

    # ---- Clone Zoom Settings: every occurrence a Zoom meeting ----------------------------------

    def clone_zoom(self, actor: User, series_id: str, origin: Origin) -> SeriesJob:
        """Starts the job that makes every occurrence still to come a Zoom meeting."""
        rows = self.occurrences(actor, series_id)
        job = SeriesJob(
            id=new_id(),
            org_id=actor.org_id,
            series_id=series_id,
            actor_id=actor.id,
            total=len(rows),
            done=0,
            placed=0,
            report=[],
            status=WorkStatus.PENDING,
            attempts=0,
            next_attempt_at=self.clock.now(),
        )
        with self.db.write() as s:
            # The series' row is the lock: two clicks (or API calls) at the same moment queue
            # one job, and the second is told the first runs rather than doubling its work.
            s.get(RequestSeries, series_id, with_for_update=True)
            running = s.scalar(
                select(SeriesJob.id).where(
                    SeriesJob.series_id == series_id, SeriesJob.status == WorkStatus.PENDING
                )
            )
            if running is not None:
                raise Conflict(
                    "clone_zoom_settings",
                    f"an update of this series is already running (job {running}): its "
                    "progress is on the series' page and at "
                    f"/api/v1/requests/series-jobs/{running}",
                )
            s.add(job)
            audit.write(
                s,
                audit.by(
                    actor,
                    "request.series_zoom",
                    origin,
                    "request_series",
                    series_id,
                    {"occurrences": len(rows)},
                ),
            )
            s.flush()
            s.expunge(job)
        self.jobs.enqueue(SERIES_TASK, job.id)
        return job

    def job(self, actor: User, job_id: str) -> SeriesJob:
        with self.db.read() as s:
            job = s.get(SeriesJob, job_id)
            if job is None or job.org_id != actor.org_id or not actor.is_scheduler:
                raise NotFound("no such job")
            s.expunge(job)
        return job

    def latest_job(self, series_id: str) -> SeriesJob | None:
        with self.db.read() as s:
            job = s.scalars(
                select(SeriesJob)
                .where(SeriesJob.series_id == series_id)
                .order_by(SeriesJob.created_at.desc())
                .limit(1)
            ).first()
            if job is not None:
                s.expunge(job)
        return job

    def run(self, job_id: str) -> str:
        return self.work.attempt(self.db, self.clock, job_id, self._handle).status

    def reconcile(self) -> int:
        ids = self.work.due_ids(self.db, self.clock.now())
        for jid in ids:
            self.jobs.enqueue(SERIES_TASK, jid)
        return len(ids)

    def _handle(self, j: Row[Any]) -> Outcome:
        with self.db.read() as s:
            actor = s.get(User, j.actor_id) if j.actor_id else None
            rows = list(
                s.scalars(
                    select(ServiceRequest)
                    .where(ServiceRequest.series_id == j.series_id)
                    .order_by(ServiceRequest.start_at)
                ).all()
            )
            s.expunge_all()
        if actor is None or not actor.is_active:
            return Done(WorkStatus.FAILED, {"last_error": "whoever started it is gone"})
        spent: dict[str, int] = {}
        report: list[dict[str, Any]] = []
        placed = 0
        for done, r in enumerate(rows, start=1):
            why = None
            if r.kind == RequestKind.ZOOM:
                placed += 1  # already one (or placed before a restart)
            elif r.status in (RequestStatus.DRAFT, RequestStatus.CANCELED):
                why = f"{r.status}: not converted"
            elif r.start_at <= self.clock.now():
                why = "has started or is over"
            else:
                try:
                    _row, choice = self.requests.convert(actor, r.id, ORIGIN, spent, tell=False)
                except DomainError as exc:
                    why = exc.message
                else:
                    placed += 1
                    if choice is not None:
                        spent[choice.host.id] = spent.get(choice.host.id, 0) + 1
            if why is not None:
                report.append({"request_id": r.id, "start": r.start_at.isoformat(), "reason": why})
            self._progress(j.id, done, placed, report)
        return Done(
            WorkStatus.DONE,
            {
                "done": len(rows),
                "placed": placed,
                "report": report,
                "finished_at": self.clock.now(),
            },
        )

    def _progress(self, job_id: str, done: int, placed: int, report: list[dict[str, Any]]) -> None:
        """After every occurrence: how far the job got (the page's progress bar)."""
        with self.db.write() as s:
            s.execute(
                update(SeriesJob)
                .where(SeriesJob.id == job_id)
                .values(
                    done=done,
                    placed=placed,
                    report=list(report),
                )
            )


_RULE_FIELDS = ("frequency", "interval", "weekdays", "monthly_by", "until", "count", "exceptions")


def _series(s: Session, actor: User, series_id: str) -> RequestSeries:
    """The series, for a scheduler of its organisation; NotFound for anyone else."""
    series = s.get(RequestSeries, series_id)
    if series is None or series.org_id != actor.org_id or not actor.is_scheduler:
        raise NotFound("no such series")
    return series

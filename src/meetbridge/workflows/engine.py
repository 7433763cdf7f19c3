"""Runs workflows, durably. A run is a work row (core.work): a job claims it for a lease, does
its steps from the one it is on, and settles it. Each step is a row written *before* its side
effect (status running, its inputs) and settled *after* (its output, Zoom's request id), in the
transaction that moves the run to the next step — so a worker killed mid-run leaves the run to
be claimed again at the step it was on, and that step knows an earlier attempt may have reached
Zoom (`StepContext.resumed`: it looks its object up before doing it again).

Waiting is not failing: a Zoom 429 waits until Retry-After, a meeting still being made at Zoom
or a "wait until" step waits for its time — none of these use up attempts. 5xx and timeouts
retry with back-off; after the last attempt, or on a refusal that retrying cannot fix (the
connection was revoked, a scope is missing, Zoom refused the input), the run fails at that step,
its owner gets an e-mail saying what to do, and a retry starts again from that step."""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any, cast

from sqlalchemy import and_, or_, select, update
from sqlalchemy.engine import Row
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from meetbridge.core.clock import Clock
from meetbridge.core.db import Database
from meetbridge.core.jobs import JobQueue
from meetbridge.core.logging import get_logger
from meetbridge.core.models import Organization, User, new_id
from meetbridge.core.work import Done, Failed, Later, Outcome, Retry, WorkTable
from meetbridge.integrations.zoom.passthrough import ZoomPassthrough
from meetbridge.meetings.service import Meetings
from meetbridge.notify.outbox import MailDelivery, queue_email
from meetbridge.notify.render import TemplateRefused, evaluate, render_value
from meetbridge.workflows.actions import ACTIONS, Action, Ok, StepContext, StepError, Wait
from meetbridge.workflows.definition import MAX_ITEMS
from meetbridge.workflows.fields import FieldRefused, coerce, redact, redact_output
from meetbridge.workflows.tables import (
    RunStatus,
    StepStatus,
    Workflow,
    WorkflowRun,
    WorkflowStep,
    WorkflowVersion,
)

log = get_logger("meetbridge.workflows")

RUN_TASK = "workflows.run"
RECONCILE_TASK = "workflows.reconcile"
SCHEDULE_TASK = "workflows.schedule"  # every minute: the scheduled workflows that are due
LEASE = dt.timedelta(minutes=5)
# A run gives its claim back after this long at a step boundary (a long loop), so no step
# starts near the end of its lease and other runs get their turn.
YIELD_AFTER = 60.0
MAX_DEPTH = 5  # runs that start runs (a meeting a workflow made firing another workflow)
# Kinds of failure that a re-connect fixes: the runs they stopped are retried when the
# organisation's Zoom account is connected again.
FIXED_BY_RECONNECT = ("auth", "refresh", "not_connected", "scope")

ADVICE: dict[str, tuple[str, str]] = {
    "auth": (
        "Authentication failure: Zoom refused meetbridge's connection to the account.",
        "Re-connect Zoom in Settings → Integrations → Zoom. meetbridge retries this run from "
        "the failed step when the account is connected again.",
    ),
    "not_connected": (
        "Authentication failure: the organisation's Zoom account is not connected.",
        "Connect Zoom in Settings → Integrations → Zoom (an admin). meetbridge retries this run "
        "from the failed step when the account is connected.",
    ),
    "refresh": (
        "Token refresh failure: Zoom no longer accepts the connection's refresh token (it "
        "expired or was revoked).",
        "Re-authenticate: connect Zoom again in Settings → Integrations → Zoom. meetbridge "
        "retries this run from the failed step when you do.",
    ),
    "zoom_5xx": (
        "Zoom's API is having trouble (5xx errors or no answer).",
        "meetbridge retried with back-off. Check Zoom's status page (https://status.zoom.us) "
        "and retry the run when Zoom is back.",
    ),
    "scope": (
        "The Zoom connection lacks a permission (scope) this step needs.",
        "Re-connect Zoom granting the scopes the workflow's editor lists as missing; the run "
        "is retried from the failed step.",
    ),
    "unclear": (
        "A call may have reached Zoom but its answer was lost.",
        "Check at Zoom whether it took effect, then retry the run (or fix the workflow).",
    ),
}
_REFUSED = (
    "Zoom, or meetbridge, refused the step.",
    "Fix the workflow or the data it was given, then retry the run from the failed step.",
)


@dataclass(frozen=True)
class StepDone:
    output: Any


@dataclass(frozen=True)
class StepWaits:
    until: dt.datetime
    reason: str


@dataclass(frozen=True)
class StepFails:
    kind: str
    message: str
    retry_at: dt.datetime | None = None


StepResult = StepDone | StepWaits | StepFails


class LostClaim(Exception):
    """Another attempt holds the run now (this one's lease ran out)."""


class Engine:
    def __init__(
        self,
        db: Database,
        zoom: ZoomPassthrough,
        meetings: Meetings,
        mail: MailDelivery,
        jobs: JobQueue,
        clock: Clock,
        base_url: str,
        retry: Retry | None = None,
    ) -> None:
        self.db = db
        self.zoom = zoom
        self.meetings = meetings
        self.mail = mail
        self.jobs = jobs
        self.clock = clock
        self.base_url = base_url.rstrip("/")
        self.work = WorkTable(
            WorkflowRun,
            pending=[RunStatus.PENDING],
            failed=RunStatus.FAILED,
            retry=retry or Retry(base=5, cap=600, max_attempts=8),
            lease=LEASE,
        )

    # ---- starting ----------------------------------------------------------------------------

    def start(
        self,
        s: Session,
        wf: Workflow,
        data: dict[str, Any],
        *,
        dedupe_key: str | None,
        depth: int = 0,
        started_by: str | None = None,
        dry_run: bool = False,
    ) -> str | None:
        """In the caller's transaction: a run of `wf`'s current version. None when a run with
        `dedupe_key` exists already (a redelivered event, a replayed fire)."""
        now = self.clock.now()
        run = WorkflowRun(
            id=new_id(),
            org_id=wf.org_id,
            workflow_id=wf.id,
            version=wf.version,
            trigger=wf.trigger,
            data=data,
            dedupe_key=dedupe_key,
            dry_run=dry_run,
            depth=depth,
            started_by=started_by,
            status=RunStatus.PENDING,
            step=0,
            attempts=0,
            next_attempt_at=now,
            created_at=now,
        )
        if depth > MAX_DEPTH:
            run.status = RunStatus.FAILED
            run.error_kind = "input"
            run.finished_at = now
            run.last_error = (
                f"Not started: {depth} workflow runs in a row started each other (at most "
                f"{MAX_DEPTH}). A workflow's own meetings are starting workflows again."
            )
        if dedupe_key is not None:
            try:
                with s.begin_nested():
                    s.add(run)
                    s.flush()
            except IntegrityError:
                return None
        else:
            s.add(run)
            s.flush()
        return run.id if run.status == RunStatus.PENDING else None

    def ring(self, run_ids: list[str | None]) -> None:
        """After the commit: the job for each new run (a lost ring: the reconciler)."""
        for run_id in run_ids:
            if run_id is not None:
                self.jobs.enqueue(RUN_TASK, run_id)

    def wake(self, run_id: str) -> None:
        """Something a waiting run waits for happened (its meeting exists at Zoom): due now."""
        now = self.clock.now()
        with self.db.write() as s:
            woke = s.execute(
                update(WorkflowRun)
                .where(
                    WorkflowRun.id == run_id,
                    WorkflowRun.status == RunStatus.PENDING,
                    or_(WorkflowRun.claimed_until.is_(None), WorkflowRun.claimed_until <= now),
                )
                .values(next_attempt_at=now)
            ).rowcount  # type: ignore[attr-defined]
        if woke:
            self.jobs.enqueue(RUN_TASK, run_id)

    # ---- the job -----------------------------------------------------------------------------

    def run(self, run_id: str) -> str:
        now = self.clock.now()
        row = self.work.claim(self.db, run_id, now)
        if row is None:
            with self.db.read() as s:
                return s.scalar(select(WorkflowRun.status).where(WorkflowRun.id == run_id)) or (
                    "missing"
                )
        progressed = False
        try:
            outcome, progressed = self._advance(row)
        except LostClaim:
            return "claimed_elsewhere"
        except Exception as exc:  # a bug or the database: counted, retried, then visible
            log.exception("workflows.run_failed", run_id=run_id)
            outcome = Later(f"{type(exc).__name__}: {exc}")
        # A run that got further this attempt starts its count of failed attempts again.
        held = SimpleNamespace(
            id=row.id,
            status=row.status,
            attempts=1 if progressed else row.attempts,
            claimed_until=row.claimed_until,
        )
        status = self.work.settle(self.db, cast(Row[Any], held), outcome, self.clock.now())
        if status == RunStatus.FAILED:
            self._failed(run_id)
        elif status == RunStatus.PENDING and isinstance(outcome, Later):
            at = outcome.at or self.clock.now() + self.work.retry.delay(held.attempts)
            self.jobs.enqueue_in(
                max(0.0, (at - self.clock.now()).total_seconds()), RUN_TASK, run_id
            )
        return status or "claimed_elsewhere"

    def reconcile(self) -> int:
        ids = self.work.due_ids(self.db, self.clock.now())
        for run_id in ids:
            self.jobs.enqueue(RUN_TASK, run_id)
        return len(ids)

    def _advance(self, row: Row[Any]) -> tuple[Outcome, bool]:
        with self.db.read() as s:
            wf = s.get(Workflow, row.workflow_id)
            version = s.scalar(
                select(WorkflowVersion).where(
                    WorkflowVersion.workflow_id == row.workflow_id,
                    WorkflowVersion.version == row.version,
                )
            )
            org = s.get(Organization, row.org_id)
            owner = s.get(User, wf.owner_id) if wf is not None and wf.owner_id else None
            done = {
                (st.position, st.item): st
                for st in s.scalars(select(WorkflowStep).where(WorkflowStep.run_id == row.id))
            }
            s.expunge_all()
        if wf is None or version is None or org is None:
            return Failed("the workflow was deleted", {"error_kind": "input"}), False
        steps = version.definition["steps"]
        context = self._context(row, wf, org, owner)
        for (position, item), st in done.items():
            if item == -1 and st.status == StepStatus.SUCCEEDED and position < len(steps):
                context["steps"][steps[position]["key"]] = st.output
        began = time.monotonic()
        progressed = False
        now = self.clock.now()
        for position in range(row.step, len(steps)):
            if progressed and time.monotonic() - began > YIELD_AFTER:
                return Later("gave its turn", at=self.clock.now(), free=True), progressed
            got = self._step(row, position, steps[position], context, done, org, owner, began)
            if isinstance(got, StepDone):
                context["steps"][steps[position]["key"]] = got.output
                progressed = True
                continue
            values = {"step": position}
            if isinstance(got, StepWaits):
                return Later(got.reason, at=got.until, free=True, values=values), progressed
            if got.kind == "rate_limited":
                return (
                    Later(got.message, at=got.retry_at, free=True, values=values),
                    progressed,
                )
            if got.kind in ("unavailable", "internal"):
                kind = "zoom_5xx" if got.kind == "unavailable" else "internal"
                return Later(got.message, values={**values, "error_kind": kind}), progressed
            return (
                Failed(got.message, {**values, "error_kind": got.kind, "finished_at": now}),
                progressed,
            )
        return (
            Done(
                RunStatus.SUCCEEDED,
                {"step": len(steps), "finished_at": self.clock.now(), "error_kind": None},
            ),
            progressed,
        )

    def _context(
        self, row: Row[Any], wf: Workflow, org: Organization, owner: User | None
    ) -> dict[str, Any]:
        return {
            **dict(row.data or {}),
            "org": {"name": org.name, "timezone": org.timezone},
            "owner": {"name": owner.name, "email": owner.email} if owner else {},
            "run": {
                "id": row.id,
                "started_at": row.created_at.isoformat(),
                "workflow": wf.name,
                "dry_run": row.dry_run,
            },
            "steps": {},
        }

    def _step(
        self,
        row: Row[Any],
        position: int,
        sd: dict[str, Any],
        context: dict[str, Any],
        done: dict[tuple[int, int], WorkflowStep],
        org: Organization,
        owner: User | None,
        began: float,
    ) -> StepResult:
        action = ACTIONS[sd["action"]]
        if not sd.get("for_each"):
            return self._one(row, position, -1, sd, action, context, done, org, owner)
        try:
            items = evaluate(sd["for_each"], context)
        except TemplateRefused as exc:
            return StepFails("input", f"step {position + 1}: its list: {exc}")
        if not isinstance(items, list | tuple):
            return StepFails(
                "input", f"step {position + 1} loops over {type(items).__name__}, not a list"
            )
        if len(items) > MAX_ITEMS:
            return StepFails(
                "input",
                f"step {position + 1} would loop over {len(items):,} items; a step loops over "
                f"at most {MAX_ITEMS:,}. Nothing of it was done.",
            )
        outputs: list[Any] = []
        for index, item in enumerate(items):
            if outputs and time.monotonic() - began > YIELD_AFTER:
                return StepWaits(self.clock.now(), "gave its turn")
            got = self._one(
                row, position, index, sd, action, {**context, "item": item}, done, org, owner
            )
            if not isinstance(got, StepDone):
                return got
            outputs.append(got.output)
        whole = {"results": outputs, "count": len(outputs)}  # definition.LOOP_OUTPUT
        self._record(
            row, position, -1, sd, None, StepStatus.SUCCEEDED, {}, output=whole, advance=True
        )
        return StepDone(whole)

    def _one(
        self,
        row: Row[Any],
        position: int,
        item: int,
        sd: dict[str, Any],
        action: Action,
        context: dict[str, Any],
        done: dict[tuple[int, int], WorkflowStep],
        org: Organization,
        owner: User | None,
    ) -> StepResult:
        before = done.get((position, item))
        if before is not None and before.status == StepStatus.SUCCEEDED:
            return StepDone(before.output)
        advance = item == -1
        values, problems = render_inputs(action, sd.get("inputs") or {}, context)
        step_id = self._record(row, position, item, sd, before, StepStatus.RUNNING, values)
        if problems:
            message = f"step {position + 1} ({action.label}): " + "; ".join(problems)
            self._record(row, position, item, sd, before, StepStatus.FAILED, values, error=message)
            return StepFails("input", message)
        if row.dry_run:
            output = action.sample(values)
            self._record(
                row, position, item, sd, before, StepStatus.SUCCEEDED, values, output=output,
                advance=advance,
            )  # fmt: skip
            return StepDone(output)
        ctx_now = self.clock.now()
        ctx = StepContext(
            org_id=row.org_id,
            org_timezone=org.timezone,
            run_id=row.id,
            step_id=step_id,
            owner=owner,
            zoom=self.zoom,
            meetings=self.meetings,
            mail=self.mail,
            db=self.db,
            now=ctx_now,
            resumed=before is not None,
            step_started=before.started_at if before is not None else ctx_now,
        )
        try:
            result = action.run(ctx, values)
        except StepError as exc:
            ids = [*ctx.request_ids, *([exc.request_id] if exc.request_id else [])]
            final = exc.kind not in ("rate_limited", "unavailable")
            self._record(
                row, position, item, sd, before,
                StepStatus.FAILED if final else StepStatus.RUNNING, values,
                error=exc.message, request_ids=ids,
            )  # fmt: skip
            return StepFails(exc.kind, f"step {position + 1} ({action.label}): {exc.message}",
                             exc.retry_at)  # fmt: skip
        except Exception as exc:
            log.exception("workflows.step_crashed", run_id=row.id, position=position)
            self._record(row, position, item, sd, before, StepStatus.RUNNING, values,
                         error=f"{type(exc).__name__}: {exc}")  # fmt: skip
            return StepFails("internal", f"step {position + 1}: {type(exc).__name__}: {exc}")
        if isinstance(result, Wait):
            self._record(row, position, item, sd, before, StepStatus.WAITING, values,
                         error=None, note=result.reason, request_ids=ctx.request_ids)  # fmt: skip
            return StepWaits(result.until, result.reason)
        assert isinstance(result, Ok)
        output = redact_output(result.output)
        self._record(
            row, position, item, sd, before, StepStatus.SUCCEEDED, values, output=output,
            request_ids=ctx.request_ids, advance=advance,
        )  # fmt: skip
        return StepDone(output)

    def _record(
        self,
        row: Row[Any],
        position: int,
        item: int,
        sd: dict[str, Any],
        before: WorkflowStep | None,
        status: StepStatus,
        values: dict[str, Any],
        *,
        output: Any = None,
        error: str | None = None,
        note: str | None = None,
        request_ids: list[str] | None = None,
        advance: bool = False,
    ) -> str:
        """Writes the step's row (and, when it is done, moves the run on) — only while this
        attempt still holds the run."""
        now = self.clock.now()
        action = ACTIONS[sd["action"]]
        with self.db.write() as s:
            held = s.execute(
                update(WorkflowRun)
                .where(WorkflowRun.id == row.id, WorkflowRun.claimed_until == row.claimed_until)
                .values(
                    step=position + 1 if advance and status == StepStatus.SUCCEEDED else position
                )
            ).rowcount  # type: ignore[attr-defined]
            if not held:
                raise LostClaim(row.id)
            st = s.scalar(
                select(WorkflowStep).where(
                    WorkflowStep.run_id == row.id,
                    WorkflowStep.position == position,
                    WorkflowStep.item == item,
                )
            )
            if st is None:
                st = WorkflowStep(
                    id=new_id(),
                    run_id=row.id,
                    position=position,
                    item=item,
                    key=sd["key"],
                    action=sd["action"],
                    attempts=0,
                    started_at=now,
                )
                s.add(st)
            resumed = st.status == StepStatus.WAITING  # taking up what it waited for
            if status == StepStatus.RUNNING and error is None and note is None and not resumed:
                st.attempts += 1  # an attempt begins
            st.status = status
            st.inputs = redact(action.fields, values) if values else st.inputs or {}
            if output is not None:
                st.output = output
            st.error = error if error is not None else (note if note else None)
            if request_ids:
                st.zoom_request_id = ", ".join(dict.fromkeys(request_ids))[-200:]
            if status in (StepStatus.SUCCEEDED, StepStatus.FAILED):
                st.finished_at = now
            s.flush()
            return st.id

    # ---- failure, retry, cancel ----------------------------------------------------------------

    def _failed(self, run_id: str) -> None:
        """The run failed for good: it says when, and its owner is told once (not for a test
        run)."""
        now = self.clock.now()
        with self.db.write() as s:
            run = s.get(WorkflowRun, run_id)
            if run is None or run.status != RunStatus.FAILED:
                return
            run.finished_at = run.finished_at or now
            if run.owner_told_at is not None or run.dry_run:
                return
            run.owner_told_at = now
            wf = s.get(Workflow, run.workflow_id)
            owner = s.get(User, wf.owner_id) if wf is not None and wf.owner_id else None
            if wf is None or owner is None or not owner.is_active:
                return
            version = s.scalar(
                select(WorkflowVersion).where(
                    WorkflowVersion.workflow_id == wf.id, WorkflowVersion.version == run.version
                )
            )
            steps = version.definition["steps"] if version is not None else []
            sd = steps[run.step] if run.step < len(steps) else {"action": "?"}
            headline, advice = ADVICE.get(run.error_kind or "", _REFUSED)
            action = ACTIONS.get(str(sd.get("action")))
            msg = queue_email(
                s,
                org_id=run.org_id,
                dedupe_key=f"workflow_failed:{run.id}:{run.attempts}:{now.isoformat()}",
                to=owner.email,
                template="workflow_failed",
                context={
                    "name": owner.name,
                    "workflow": wf.name,
                    "step": run.step + 1,
                    "action": action.label if action else str(sd.get("action")),
                    "headline": headline,
                    "error": run.last_error or "",
                    "advice": advice,
                    "link": f"{self.base_url}/workflows/{wf.id}/runs/{run.id}",
                },
            )
        if msg is not None:
            self.mail.enqueue(msg.id)

    def retry(self, run_id: str) -> bool:
        """A failed run, again from the step that failed. False: it had not failed."""
        now = self.clock.now()
        with self.db.write() as s:
            changed = s.execute(
                update(WorkflowRun)
                .where(WorkflowRun.id == run_id, WorkflowRun.status == RunStatus.FAILED)
                .values(
                    status=RunStatus.PENDING,
                    attempts=0,
                    next_attempt_at=now,
                    claimed_until=None,
                    last_error=None,
                    error_kind=None,
                    owner_told_at=None,
                    finished_at=None,
                )
            ).rowcount  # type: ignore[attr-defined]
        if changed:
            self.jobs.enqueue(RUN_TASK, run_id)
        return bool(changed)

    def cancel(self, run_id: str) -> bool:
        """A run that has not finished stops before its next step (a step at work finishes)."""
        now = self.clock.now()
        with self.db.write() as s:
            changed = s.execute(
                update(WorkflowRun)
                .where(
                    WorkflowRun.id == run_id,
                    WorkflowRun.status.in_((RunStatus.PENDING, RunStatus.FAILED)),
                )
                .values(status=RunStatus.CANCELLED, finished_at=now, claimed_until=None)
            ).rowcount  # type: ignore[attr-defined]
        return bool(changed)

    def retry_after_reconnect(self, org_id: str, since: dt.timedelta = dt.timedelta(days=7)) -> int:
        """The organisation's Zoom account is connected again: the runs a lost connection
        stopped go on from their failed step."""
        now = self.clock.now()
        with self.db.read() as s:
            ids = list(
                s.scalars(
                    select(WorkflowRun.id).where(
                        and_(
                            WorkflowRun.org_id == org_id,
                            WorkflowRun.status == RunStatus.FAILED,
                            WorkflowRun.error_kind.in_(FIXED_BY_RECONNECT),
                            WorkflowRun.created_at >= now - since,
                        )
                    )
                ).all()
            )
        return sum(self.retry(run_id) for run_id in ids)


def render_inputs(
    action: Action, inputs: dict[str, Any], context: dict[str, Any]
) -> tuple[dict[str, Any], list[str]]:
    """The step's inputs with their templates rendered and each value made what its field
    takes; every problem, in words."""
    values: dict[str, Any] = {}
    problems: list[str] = []
    for f in action.fields:
        raw = inputs.get(f.name, f.default)
        try:
            rendered = _render(raw, context)
            values[f.name] = coerce(f, rendered)
        except (TemplateRefused, FieldRefused) as exc:
            problems.append(f"{f.label} {exc}")
            values[f.name] = None
    return values, problems


def _render(value: Any, context: dict[str, Any]) -> Any:
    if isinstance(value, str):
        return render_value(value, context)
    if isinstance(value, dict):
        return {k: _render(v, context) for k, v in value.items()}
    if isinstance(value, list):
        return [_render(v, context) for v in value]
    return value

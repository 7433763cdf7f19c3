"""Workflows: what the faces call. An admin builds a workflow (a trigger and steps, checked in
full when saved: definition.py), switches it on, tests it with sample data (a dry run that
never touches Zoom), runs it now, reads its runs step by step, retries a failed run from its
failed step. Triggers arrive here: meetbridge's domain events, Zoom's webhook events, the
schedule, the signed inbound webhook. The runs themselves are the engine's (engine.py)."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from meetbridge.core import audit
from meetbridge.core.audit import Origin
from meetbridge.core.clock import Clock
from meetbridge.core.crypto import Crypto
from meetbridge.core.db import Database
from meetbridge.core.errors import (
    Conflict,
    DomainError,
    FieldError,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from meetbridge.core.events import Event
from meetbridge.core.models import Organization, User, new_id
from meetbridge.integrations.zoom.passthrough import CallFailed, ZoomPassthrough
from meetbridge.scheduling import cron
from meetbridge.scheduling.timezones import zone
from meetbridge.workflows import definition as defs
from meetbridge.workflows.actions import ACTIONS, Ok, StepContext, StepError, create_user
from meetbridge.workflows.engine import Engine
from meetbridge.workflows.fields import FieldRefused, coerce
from meetbridge.workflows.tables import (
    HookDelivery,
    RunStatus,
    StepStatus,
    Workflow,
    WorkflowRun,
    WorkflowStep,
    WorkflowVersion,
)
from meetbridge.workflows.templates import TEMPLATES

# meetbridge's events a workflow can start on (the composition root subscribes to each).
EVENT_TRIGGERS = tuple(k for k, t in defs.TRIGGERS.items() if t.group == "meetbridge")
ZOOM_TRIGGERS = tuple(
    k.removeprefix("zoom:") for k, t in defs.TRIGGERS.items() if t.group == "zoom"
)
HOOK_TOLERANCE = dt.timedelta(minutes=5)  # an inbound webhook's timestamp, either way
MAX_HOOK_BODY = 256 * 1024
MAX_SAMPLE = 1024 * 1024  # what a person gives a run (a list of 10,000 hires fits)


class HookRefused(DomainError):
    """An inbound webhook delivery was refused; the message says why (never which secret)."""

    status = 401
    code = "hook_refused"


@dataclass(frozen=True)
class Summary:
    workflow: Workflow
    definition: dict[str, Any]
    last_run: WorkflowRun | None
    runs: int
    failed: int


class Workflows:
    def __init__(
        self,
        db: Database,
        engine: Engine,
        zoom: ZoomPassthrough,
        crypto: Crypto,
        clock: Clock,
    ) -> None:
        self.db = db
        self.engine = engine
        self.zoom = zoom
        self.crypto = crypto
        self.clock = clock

    # ---- the editor --------------------------------------------------------------------------

    def granted_scopes(self, actor: User) -> frozenset[str] | None:
        """The account connection's scopes (None: the account is not connected)."""
        _admin(actor)
        return self.zoom.account_scopes(actor.org_id)

    def check(self, actor: User, definition: Any) -> defs.Checked:
        """Every problem of a definition, and the Zoom scopes its steps lack (for the editor,
        before anything is saved)."""
        _admin(actor)
        return defs.check(definition, self.zoom.account_scopes(actor.org_id))

    def create(
        self,
        actor: User,
        name: str,
        definition: Any,
        origin: Origin,
        *,
        enabled: bool = False,
    ) -> Workflow:
        _admin(actor)
        checked = self._checked(actor, name, definition, enabled, None)
        now = self.clock.now()
        with self.db.write() as s:
            wf = Workflow(
                id=new_id(),
                org_id=actor.org_id,
                owner_id=actor.id,
                name=name.strip(),
                enabled=enabled,
                version=1,
                trigger=checked.definition["trigger"]["kind"],
                hook_secret_enc=self.crypto.encrypt(_new_secret()),
                created_at=now,
                updated_at=now,
            )
            s.add(wf)
            s.flush()
            s.add(
                WorkflowVersion(
                    workflow_id=wf.id,
                    version=1,
                    definition=checked.definition,
                    created_by=actor.id,
                    created_at=now,
                )
            )
            wf.next_fire_at = self._next_fire(s, wf, checked.definition)
            audit.write(s, audit.by(actor, "workflow.created", origin, "workflow", wf.id))
            s.flush()
            s.expunge(wf)
        return wf

    def update(
        self,
        actor: User,
        workflow_id: str,
        name: str,
        definition: Any,
        origin: Origin,
        *,
        enabled: bool,
    ) -> Workflow:
        """Saves a new version; runs already started keep the version they started with."""
        _admin(actor)
        checked = self._checked(actor, name, definition, enabled, workflow_id)
        now = self.clock.now()
        with self.db.write() as s:
            wf = self._mine(s, actor, workflow_id, lock=True)
            wf.version += 1
            wf.name = name.strip()
            wf.enabled = enabled
            wf.trigger = checked.definition["trigger"]["kind"]
            wf.updated_at = now
            s.add(
                WorkflowVersion(
                    workflow_id=wf.id,
                    version=wf.version,
                    definition=checked.definition,
                    created_by=actor.id,
                    created_at=now,
                )
            )
            wf.next_fire_at = self._next_fire(s, wf, checked.definition)
            audit.write(
                s,
                audit.by(
                    actor, "workflow.saved", origin, "workflow", wf.id, {"version": wf.version}
                ),
            )
            s.flush()
            s.expunge(wf)
        return wf

    def set_enabled(self, actor: User, workflow_id: str, enabled: bool, origin: Origin) -> Workflow:
        _admin(actor)
        with self.db.read() as s:
            wf = self._mine(s, actor, workflow_id)
            current = self._definition(s, wf.id, wf.version)
        return self.update(actor, workflow_id, wf.name, current, origin, enabled=enabled)

    def delete(self, actor: User, workflow_id: str, origin: Origin) -> None:
        _admin(actor)
        with self.db.write() as s:
            wf = self._mine(s, actor, workflow_id, lock=True)
            s.delete(wf)
            audit.write(s, audit.by(actor, "workflow.deleted", origin, "workflow", workflow_id))

    def all(self, actor: User) -> list[Summary]:
        _admin(actor)
        with self.db.read() as s:
            wfs = list(
                s.scalars(
                    select(Workflow).where(Workflow.org_id == actor.org_id).order_by(Workflow.name)
                ).all()
            )
            counts = {
                (wid, status): n
                for wid, status, n in s.execute(
                    select(WorkflowRun.workflow_id, WorkflowRun.status, func.count())
                    .where(WorkflowRun.org_id == actor.org_id)
                    .group_by(WorkflowRun.workflow_id, WorkflowRun.status)
                ).all()
            }
            # The page lists every workflow: a fixed number of queries, not a few per row.
            definitions: dict[str, Any] = dict(
                s.execute(
                    select(WorkflowVersion.workflow_id, WorkflowVersion.definition)
                    .join(Workflow, Workflow.id == WorkflowVersion.workflow_id)
                    .where(
                        Workflow.org_id == actor.org_id,
                        WorkflowVersion.version == Workflow.version,
                    )
                ).all()
            )
            newest = (
                select(WorkflowRun.workflow_id, func.max(WorkflowRun.created_at).label("at"))
                .where(WorkflowRun.org_id == actor.org_id)
                .group_by(WorkflowRun.workflow_id)
                .subquery()
            )
            last = {
                run.workflow_id: run
                for run in s.scalars(
                    select(WorkflowRun).join(
                        newest,
                        (WorkflowRun.workflow_id == newest.c.workflow_id)
                        & (WorkflowRun.created_at == newest.c.at),
                    )
                )
            }
            out = [
                Summary(
                    wf,
                    dict(definitions.get(wf.id) or {}),
                    last.get(wf.id),
                    sum(n for (wid, _), n in counts.items() if wid == wf.id),
                    counts.get((wf.id, RunStatus.FAILED), 0),
                )
                for wf in wfs
            ]
            s.expunge_all()
        return out

    def get(self, actor: User, workflow_id: str) -> tuple[Workflow, dict[str, Any]]:
        _admin(actor)
        with self.db.read() as s:
            wf = self._mine(s, actor, workflow_id)
            d = self._definition(s, wf.id, wf.version)
            s.expunge(wf)
        return wf, d

    def versions(self, actor: User, workflow_id: str) -> list[WorkflowVersion]:
        _admin(actor)
        with self.db.read() as s:
            self._mine(s, actor, workflow_id)
            rows = list(
                s.scalars(
                    select(WorkflowVersion)
                    .where(WorkflowVersion.workflow_id == workflow_id)
                    .order_by(WorkflowVersion.version.desc())
                ).all()
            )
            s.expunge_all()
        return rows

    def from_template(self, actor: User, key: str, origin: Origin) -> Workflow:
        template = TEMPLATES.get(key)
        if template is None:
            raise NotFound(f"no workflow template {key!r}")
        return self.create(actor, template.name, template.definition(actor), origin)

    def hook_secret(self, actor: User, workflow_id: str, *, rotate: bool = False) -> str:
        """The inbound webhook's signing secret (an admin sees it to configure the sender)."""
        _admin(actor)
        with self.db.write() as s:
            wf = self._mine(s, actor, workflow_id, lock=rotate)
            if rotate or not wf.hook_secret_enc:
                wf.hook_secret_enc = self.crypto.encrypt(_new_secret())
            return self.crypto.decrypt(wf.hook_secret_enc)

    def _checked(
        self, actor: User, name: str, definition: Any, enabled: bool, workflow_id: str | None
    ) -> defs.Checked:
        checked = self.check(actor, definition)
        problems = list(checked.problems)
        if not name or not name.strip():
            problems.append(FieldError("name", "give the workflow a name"))
        elif len(name.strip()) > 200:
            problems.append(FieldError("name", "at most 200 characters"))
        if enabled and checked.missing_scopes:
            problems.append(
                FieldError(
                    "enabled",
                    "the Zoom connection lacks scopes these steps need — "
                    + "; ".join(checked.missing_scopes)
                    + ". Connect Zoom with them (Settings → Integrations → Zoom), or save it off.",
                )
            )
        if enabled and not problems:
            cycle = self._cycle(actor.org_id, workflow_id, checked.definition)
            if cycle:
                problems.append(FieldError("trigger.kind", cycle))
        if problems:
            raise ValidationFailed.many(problems)
        return checked

    def _cycle(self, org_id: str, workflow_id: str | None, d: dict[str, Any]) -> str | None:
        me = workflow_id or "this"
        graph: dict[str, tuple[str, set[str]]] = {me: (d["trigger"]["kind"], defs.emits(d))}
        names = {me: "this workflow"}
        with self.db.read() as s:
            for wf in s.scalars(
                select(Workflow).where(Workflow.org_id == org_id, Workflow.enabled.is_(True))
            ):
                if wf.id != workflow_id:
                    other = self._definition(s, wf.id, wf.version)
                    graph[wf.id] = (wf.trigger, defs.emits(other))
                    names[wf.id] = repr(wf.name)
        chain = defs.find_cycle(graph, me)
        if chain is None:
            return None
        return (
            "this workflow would start itself again: "
            + " → ".join(names[c] for c in chain)
            + " (each step's meetings or registrants fire the next one's trigger)"
        )

    def _next_fire(self, s: Session, wf: Workflow, d: dict[str, Any]) -> dt.datetime | None:
        if not wf.enabled or d["trigger"]["kind"] != "schedule":
            return None
        org = s.get(Organization, wf.org_id)
        tz = org.timezone if org is not None else "UTC"
        return cron.next_fire(cron.parse(d["trigger"]["cron"]), self.clock.now(), tz)

    # ---- runs ----------------------------------------------------------------------------------

    def run_now(
        self,
        actor: User,
        workflow_id: str,
        data: Any,
        origin: Origin,
        *,
        dry_run: bool = False,
    ) -> WorkflowRun:
        """Runs the workflow with `data` as its trigger's (the trigger's sample when None). A
        dry run renders and checks every step with sample outputs and touches nothing: it
        finishes before this returns."""
        _admin(actor)
        with self.db.read() as s:
            wf = self._mine(s, actor, workflow_id)
            s.expunge(wf)
        if data is None:
            data = dict(defs.TRIGGERS[wf.trigger].sample)
        if not isinstance(data, dict):
            raise ValidationFailed("data", "the trigger's data is a JSON object")
        if len(json.dumps(data, default=str)) > MAX_SAMPLE:
            raise ValidationFailed("data", f"at most {MAX_SAMPLE // 1024 // 1024} MB of data")
        if wf.trigger == "manual" and "data" not in data:
            data = {"data": data}
        with self.db.write() as s:
            run_id = self.engine.start(s, wf, data, dedupe_key=None, started_by=actor.id,
                                       dry_run=dry_run)  # fmt: skip
            audit.write(
                s,
                audit.by(
                    actor,
                    "workflow.dry_run" if dry_run else "workflow.run_now",
                    origin,
                    "workflow",
                    wf.id,
                    {"run_id": run_id},
                ),
            )
        assert run_id is not None
        if dry_run:
            self.engine.run(run_id)
        else:
            self.engine.ring([run_id])
        return self.run(actor, run_id)[0]

    def runs(
        self,
        actor: User,
        workflow_id: str | None = None,
        *,
        status: str | None = None,
        limit: int = 50,
        before: dt.datetime | None = None,
    ) -> list[WorkflowRun]:
        _admin(actor)
        query = select(WorkflowRun).where(WorkflowRun.org_id == actor.org_id)
        if workflow_id is not None:
            query = query.where(WorkflowRun.workflow_id == workflow_id)
        if status:
            if status not in set(RunStatus):
                raise ValidationFailed("status", f"one of {', '.join(RunStatus)}")
            query = query.where(WorkflowRun.status == status)
        if before is not None:
            query = query.where(WorkflowRun.created_at < before)
        with self.db.read() as s:
            rows = list(
                s.scalars(
                    query.order_by(WorkflowRun.created_at.desc()).limit(max(1, min(limit, 500)))
                ).all()
            )
            s.expunge_all()
        return rows

    def run(self, actor: User, run_id: str) -> tuple[WorkflowRun, list[WorkflowStep]]:
        _admin(actor)
        with self.db.read() as s:
            r = s.get(WorkflowRun, run_id)
            if r is None or r.org_id != actor.org_id:
                raise NotFound("no such run")
            steps = list(
                s.scalars(
                    select(WorkflowStep)
                    .where(WorkflowStep.run_id == run_id)
                    .order_by(WorkflowStep.position, WorkflowStep.item)
                ).all()
            )
            s.expunge_all()
        return r, steps

    def retry(self, actor: User, run_id: str, origin: Origin) -> WorkflowRun:
        r, _ = self.run(actor, run_id)
        if not self.engine.retry(run_id):
            raise Conflict("status", f"only a failed run can be retried; this one is {r.status}")
        with self.db.write() as s:
            audit.write(s, audit.by(actor, "workflow.retried", origin, "workflow_run", run_id))
        return self.run(actor, run_id)[0]

    def cancel(self, actor: User, run_id: str, origin: Origin) -> WorkflowRun:
        r, _ = self.run(actor, run_id)
        if not self.engine.cancel(run_id):
            raise Conflict("status", f"this run has finished ({r.status})")
        with self.db.write() as s:
            audit.write(s, audit.by(actor, "workflow.cancelled", origin, "workflow_run", run_id))
        return self.run(actor, run_id)[0]

    # ---- triggers ------------------------------------------------------------------------------

    def on_event(self, event: Event) -> None:
        """A meetbridge event: a run of each of the organisation's workflows it starts (once
        per event: a redelivery finds the runs)."""
        if event.org_id is None:
            return
        data = self._event_data(event)
        depth = self._depth_of(event)
        self._start_all(event.org_id, event.name, data, f"event:{event.id}", depth)

    def on_zoom_event(
        self, org_ids: Sequence[str], name: str, payload: dict[str, Any], event_ts: int | None
    ) -> str:
        """A Zoom webhook event (verified at intake) for the organisations on its account."""
        obj = dict(payload.get("object") or {})
        registrant = obj.pop("registrant", None)
        data: dict[str, Any] = {
            "meeting": obj,
            "event": {
                "name": name,
                "at": dt.datetime.fromtimestamp(event_ts / 1000, dt.UTC).isoformat()
                if event_ts
                else None,
            },
        }
        if registrant is not None:
            data["registrant"] = registrant
        key = f"zoom:{name}:{obj.get('uuid') or obj.get('id')}:{event_ts}"
        started = 0
        for org_id in org_ids:
            started += self._start_all(org_id, f"zoom:{name}", data, key, 0)
        return "started" if started else "ignored"

    def on_meeting_event(self, event: Event) -> None:
        """A meeting a workflow step made exists at Zoom (or failed): wake its run."""
        source = (event.data or {}).get("source") or {}
        if source.get("kind") != "workflow" or not source.get("id"):
            return
        with self.db.read() as s:
            run_id = s.scalar(
                select(WorkflowStep.run_id).where(
                    WorkflowStep.id == source["id"], WorkflowStep.status == StepStatus.WAITING
                )
            )
        if run_id:
            self.engine.wake(run_id)

    def fire_schedules(self) -> int:
        """The periodic job: each scheduled workflow whose time has come runs once (fires
        missed while nothing ran are not made up), and its next time is set."""
        now = self.clock.now()
        fired: list[str | None] = []
        with self.db.read() as s:
            due = list(
                s.scalars(
                    select(Workflow.id).where(
                        Workflow.enabled.is_(True),
                        Workflow.trigger == "schedule",
                        Workflow.next_fire_at <= now,
                    )
                ).all()
            )
        for wid in due:
            with self.db.write() as s:
                wf = s.get(Workflow, wid, with_for_update=True)
                if wf is None or wf.next_fire_at is None or wf.next_fire_at > now:
                    continue  # another worker fired it
                org = s.get(Organization, wf.org_id)
                tz = org.timezone if org is not None else "UTC"
                local = wf.next_fire_at.astimezone(zone(tz))
                data = {
                    "schedule": {
                        "fire_at": wf.next_fire_at.isoformat(),
                        "local_date": local.date().isoformat(),
                        "local_time": local.strftime("%H:%M"),
                        "timezone": tz,
                    }
                }
                key = f"schedule:{wf.id}:{wf.next_fire_at.isoformat()}"
                fired.append(self.engine.start(s, wf, data, dedupe_key=key))
                d = self._definition(s, wf.id, wf.version)
                wf.next_fire_at = cron.next_fire(cron.parse(d["trigger"]["cron"]), now, tz)
        self.engine.ring(fired)
        return sum(1 for f in fired if f)

    def hook(
        self, workflow_id: str, timestamp: str | None, signature: str | None, raw: bytes
    ) -> str:
        """An inbound webhook delivery: `X-Meetbridge-Signature: v1=<hex>`, the HMAC-SHA256 of
        `<timestamp>.<body>` with the workflow's secret; the timestamp (Unix seconds) within
        five minutes; each signature taken once. Returns the run's id."""
        if len(raw) > MAX_HOOK_BODY:
            raise HookRefused(f"the body is larger than {MAX_HOOK_BODY // 1024} KB")
        with self.db.read() as s:
            wf = s.get(Workflow, workflow_id)
            if wf is not None:
                s.expunge(wf)
        if wf is None or wf.trigger != "webhook" or not wf.hook_secret_enc:
            raise NotFound("no workflow takes webhooks here")
        now = self.clock.now()
        try:
            sent = dt.datetime.fromtimestamp(int(timestamp or ""), dt.UTC)
        except (ValueError, OverflowError, OSError):
            raise HookRefused("X-Meetbridge-Timestamp is missing or not Unix seconds") from None
        if abs(now - sent) > HOOK_TOLERANCE:
            raise HookRefused("the timestamp is more than 5 minutes from now: a replay, or a "
                              "clock that is wrong")  # fmt: skip
        secret = self.crypto.decrypt(wf.hook_secret_enc)
        expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + raw, hashlib.sha256)
        given = (signature or "").strip().removeprefix("v1=")
        if not hmac.compare_digest(expected.hexdigest(), given):
            raise HookRefused("the signature does not match (X-Meetbridge-Signature)")
        if not wf.enabled:
            raise Conflict("workflow", "this workflow is switched off")
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            raise ValidationFailed("body", "the body is not JSON") from None
        digest = hashlib.sha256(given.encode()).hexdigest()
        with self.db.write() as s:
            s.execute(
                delete(HookDelivery).where(HookDelivery.received_at < now - 2 * HOOK_TOLERANCE)
            )
            if s.get(HookDelivery, digest) is not None:
                raise Conflict("signature", "this delivery was taken already (a replay)")
            s.add(HookDelivery(digest=digest, workflow_id=wf.id, received_at=now))
            s.flush()
            run_id = self.engine.start(
                s, wf, {"body": body, "received_at": now.isoformat()}, dedupe_key=f"hook:{digest}"
            )
        self.engine.ring([run_id])
        return run_id or ""

    def _start_all(
        self, org_id: str, trigger: str, data: dict[str, Any], key: str, depth: int
    ) -> int:
        with self.db.write() as s:
            wfs = list(
                s.scalars(
                    select(Workflow).where(
                        Workflow.org_id == org_id,
                        Workflow.trigger == trigger,
                        Workflow.enabled.is_(True),
                    )
                ).all()
            )
            started = [
                self.engine.start(s, wf, data, dedupe_key=f"{key}:{wf.id}", depth=depth)
                for wf in wfs
            ]
        self.engine.ring(started)
        return sum(1 for r in started if r)

    def _event_data(self, event: Event) -> dict[str, Any]:
        data = dict(event.data or {})
        if event.name.startswith("member."):
            member = {k: data.get(k) for k in defs.MEMBER}
            member["member_id"] = data.get("member_id") or event.subject_id
            if not member.get("name"):
                with self.db.read() as s:
                    u = s.get(User, event.subject_id)
                    if u is not None:
                        member.update(
                            name=u.name,
                            timezone=u.timezone,
                            start_date=u.start_date.isoformat() if u.start_date else None,
                        )
            return {"member": member}
        if event.name.startswith("meeting."):
            return {"meeting": {"id": event.subject_id, **data}}
        return data  # booking / request events carry their object under its name

    def _depth_of(self, event: Event) -> int:
        """How many runs led to this event: a meeting a workflow step made carries its step."""
        source = (event.data or {}).get("source") or {}
        if source.get("kind") != "workflow" or not source.get("id"):
            return 0
        with self.db.read() as s:
            parent = s.scalar(
                select(WorkflowRun.depth)
                .join(WorkflowStep, WorkflowStep.run_id == WorkflowRun.id)
                .where(WorkflowStep.id == source["id"])
            )
        return (parent or 0) + 1

    # ---- the Zoom directory ----------------------------------------------------------------------

    def directory(
        self,
        actor: User,
        *,
        status: str = "active",
        page_token: str | None = None,
        page_size: int = 30,
    ) -> dict[str, Any]:
        """One page of the account's Zoom users (the list users action), for the admin."""
        _admin(actor)
        if status not in ("active", "inactive", "pending"):
            raise ValidationFailed("status", "one of active, inactive, pending")
        params: dict[str, Any] = {"status": status, "page_size": max(1, min(page_size, 300))}
        if page_token:
            params["next_page_token"] = page_token
        try:
            reply = self.zoom.for_org(actor.org_id, "GET", "/users", params=params)
        except CallFailed as exc:
            raise _zoom_failed(exc) from None
        body = reply.body or {}
        return {
            "users": body.get("users") or [],
            "next_page_token": body.get("next_page_token") or None,
            "total_records": body.get("total_records"),
        }

    def create_zoom_user(
        self, actor: User, values: dict[str, Any], origin: Origin
    ) -> dict[str, Any]:
        """The create user action, from the directory page: every field checked at once."""
        _admin(actor)
        action = ACTIONS["zoom.create_user"]
        clean: dict[str, Any] = {}
        problems = []
        for f in action.fields:
            try:
                clean[f.name] = coerce(f, values.get(f.name, f.default))
            except FieldRefused as exc:
                problems.append(FieldError(f.name, f"{f.label} {exc}"))
        if problems:
            raise ValidationFailed.many(problems)
        ctx = StepContext(
            org_id=actor.org_id,
            org_timezone=actor.org.timezone,
            run_id="",
            step_id="",
            owner=actor,
            zoom=self.zoom,
            meetings=self.engine.meetings,
            mail=self.engine.mail,
            db=self.db,
            now=self.clock.now(),
            resumed=False,
        )
        try:
            made = create_user(ctx, clean)
        except StepError as exc:
            raise _zoom_failed(CallFailed(exc.kind, exc.message)) from None
        output = dict(made.output) if isinstance(made, Ok) else {}
        with self.db.write() as s:
            audit.write(
                s,
                audit.by(actor, "zoom.user_created", origin, "zoom_user", str(output.get("id")),
                         {"email": clean["email"], "existed": output.get("existed")}),
            )  # fmt: skip
        return output

    # ---- reads -----------------------------------------------------------------------------------

    @staticmethod
    def _mine(s: Session, actor: User, workflow_id: str, *, lock: bool = False) -> Workflow:
        wf = s.get(Workflow, workflow_id, with_for_update=lock)
        if wf is None or wf.org_id != actor.org_id:
            raise NotFound("no such workflow")
        return wf

    @staticmethod
    def _definition(s: Session, workflow_id: str, version: int) -> dict[str, Any]:
        d = s.scalar(
            select(WorkflowVersion.definition).where(
                WorkflowVersion.workflow_id == workflow_id, WorkflowVersion.version == version
            )
        )
        return dict(d or {})


class ZoomCallFailed(DomainError):
    status = 502
    code = "zoom_failed"


def _zoom_failed(exc: CallFailed) -> DomainError:
    failed = ZoomCallFailed(f"Zoom: {exc.message}")
    if exc.kind in ("not_connected", "auth", "refresh"):
        failed.status = 409
    elif exc.kind in ("refused", "scope"):
        failed.status = 400
    elif exc.kind == "not_found":
        failed.status = 404
    return failed


def _admin(actor: User) -> None:
    if not actor.is_admin:
        raise PermissionDenied("only an owner or admin can manage workflows")


def _new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)

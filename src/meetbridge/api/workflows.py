"""Workflows under /api/v1 (admins): the catalogue of triggers and actions, checking a
definition, the workflows and their versions, running now or as a dry run, the runs with each
step, retry and cancel, the inbound webhook's secret, and the Zoom directory. The signed
inbound webhook itself is public: `POST /webhooks/workflows/{id}`."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, Field

from meetbridge.api.deps import ERRORS, Actor, C, From
from meetbridge.api.schemas import Input
from meetbridge.workflows.actions import ACTIONS
from meetbridge.workflows.definition import TRIGGERS
from meetbridge.workflows.tables import Workflow, WorkflowRun, WorkflowStep
from meetbridge.workflows.templates import TEMPLATES

router = APIRouter(prefix="/api/v1", responses=ERRORS, tags=["workflows"])
hooks = APIRouter(include_in_schema=False)


class FieldOut(BaseModel):
    name: str
    label: str
    kind: str
    required: bool
    default: Any
    choices: list[str]
    help: str


class ActionOut(BaseModel):
    name: str
    label: str
    summary: str
    fields: list[FieldOut]
    scopes: list[list[str]] = Field(description="Each need is met by any one of its scopes")
    output: list[str]


class TriggerOut(BaseModel):
    kind: str
    label: str
    group: str
    gives: dict[str, list[str] | None]
    sample: dict[str, Any]


class CatalogueOut(BaseModel):
    triggers: list[TriggerOut]
    actions: list[ActionOut]
    templates: list[dict[str, str]]
    granted_scopes: list[str] | None = Field(description="The account connection's; null: none")


class WorkflowIn(Input):
    name: str = Field(max_length=200)
    definition: dict[str, Any] = Field(description="{trigger: {kind, cron?}, steps: [...]}")
    enabled: bool = False


class CheckIn(Input):
    definition: dict[str, Any]


class ProblemOut(BaseModel):
    field: str
    reason: str


class CheckOut(BaseModel):
    ok: bool
    problems: list[ProblemOut]
    missing_scopes: list[str]


class WorkflowOut(BaseModel):
    id: str
    name: str
    enabled: bool
    version: int
    trigger: str
    definition: dict[str, Any]
    next_fire_at: dt.datetime | None
    hook_url: str | None = Field(description="Where an inbound webhook posts (webhook trigger)")
    created_at: dt.datetime
    updated_at: dt.datetime


class RunIn(Input):
    data: dict[str, Any] | None = Field(None, description="The trigger's data; null: its sample")
    dry_run: bool = Field(False, description="Check every step with sample outputs; no Zoom")


class StepOut(BaseModel):
    position: int
    item: int = Field(description="The loop item, or -1 for the step as a whole")
    key: str
    action: str
    status: str
    inputs: dict[str, Any]
    output: Any
    zoom_request_id: str | None
    error: str | None
    attempts: int
    started_at: dt.datetime
    finished_at: dt.datetime | None


class RunOut(BaseModel):
    id: str
    workflow_id: str
    version: int
    trigger: str
    status: str
    dry_run: bool
    step: int
    attempts: int
    last_error: str | None
    error_kind: str | None
    data: dict[str, Any]
    created_at: dt.datetime
    finished_at: dt.datetime | None
    duration_ms: int | None
    steps: list[StepOut] | None = None


class SecretOut(BaseModel):
    secret: str
    hook_url: str
    signing: str


class ZoomUserIn(Input):
    email: str = Field(max_length=254)
    first_name: str = Field("", max_length=64)
    last_name: str = Field("", max_length=64)
    display_name: str = Field("", max_length=128)
    password: str = Field("", max_length=32)
    user_type: Literal["basic", "licensed", "unassigned"] = "basic"
    how: Literal["create", "autoCreate", "custCreate", "ssoCreate"] = "create"


def _hook_url(c: C, wf: Workflow) -> str | None:
    if wf.trigger != "webhook":
        return None
    return f"{c.settings.effective_base_url}/webhooks/workflows/{wf.id}"


def _wf(c: C, wf: Workflow, definition: dict[str, Any]) -> WorkflowOut:
    return WorkflowOut(
        id=wf.id,
        name=wf.name,
        enabled=wf.enabled,
        version=wf.version,
        trigger=wf.trigger,
        definition=definition,
        next_fire_at=wf.next_fire_at,
        hook_url=_hook_url(c, wf),
        created_at=wf.created_at,
        updated_at=wf.updated_at,
    )


def _run(r: WorkflowRun, steps: list[WorkflowStep] | None = None) -> RunOut:
    end = r.finished_at
    return RunOut(
        id=r.id,
        workflow_id=r.workflow_id,
        version=r.version,
        trigger=r.trigger,
        status=r.status,
        dry_run=r.dry_run,
        step=r.step,
        attempts=r.attempts,
        last_error=r.last_error,
        error_kind=r.error_kind,
        data=r.data,
        created_at=r.created_at,
        finished_at=end,
        duration_ms=int((end - r.created_at).total_seconds() * 1000) if end else None,
        steps=None
        if steps is None
        else [
            StepOut(
                position=st.position,
                item=st.item,
                key=st.key,
                action=st.action,
                status=st.status,
                inputs=st.inputs,
                output=st.output,
                zoom_request_id=st.zoom_request_id,
                error=st.error,
                attempts=st.attempts,
                started_at=st.started_at,
                finished_at=st.finished_at,
            )
            for st in steps
        ],
    )


@router.get("/workflows/catalogue", response_model=CatalogueOut)
def catalogue(c: C, actor: Actor) -> CatalogueOut:
    """What a workflow can start on and do, the templates, and the scopes the connection has."""
    granted = c.workflows.granted_scopes(actor)
    return CatalogueOut(
        triggers=[
            TriggerOut(
                kind=t.kind,
                label=t.label,
                group=t.group,
                gives={k: list(v) if v is not None else None for k, v in t.gives.items()},
                sample=dict(t.sample),
            )
            for t in TRIGGERS.values()
        ],
        actions=[
            ActionOut(
                name=a.name,
                label=a.label,
                summary=a.summary,
                fields=[
                    FieldOut(
                        name=f.name,
                        label=f.label,
                        kind=f.kind,
                        required=f.required,
                        default=f.default,
                        choices=list(f.choices),
                        help=f.help,
                    )
                    for f in a.fields
                ],
                scopes=[list(s) for s in a.scopes],
                output=list(a.output),
            )
            for a in ACTIONS.values()
        ],
        templates=[
            {"key": t.key, "name": t.name, "summary": t.summary} for t in TEMPLATES.values()
        ],
        granted_scopes=sorted(granted) if granted is not None else None,
    )


@router.post("/workflows/check", response_model=CheckOut)
def check(body: CheckIn, c: C, actor: Actor) -> CheckOut:
    """Every problem of a definition, and the scopes its steps need that Zoom has not granted."""
    checked = c.workflows.check(actor, body.definition)
    return CheckOut(
        ok=not checked.problems,
        problems=[ProblemOut(field=p.field, reason=p.reason) for p in checked.problems],
        missing_scopes=checked.missing_scopes,
    )


@router.get("/workflows", response_model=list[WorkflowOut])
def list_workflows(c: C, actor: Actor) -> list[WorkflowOut]:
    return [_wf(c, s.workflow, s.definition) for s in c.workflows.all(actor)]


@router.post("/workflows", response_model=WorkflowOut, status_code=201)
def create_workflow(body: WorkflowIn, c: C, actor: Actor, origin: From) -> WorkflowOut:
    wf = c.workflows.create(actor, body.name, body.definition, origin, enabled=body.enabled)
    return _wf(c, *c.workflows.get(actor, wf.id))


@router.post("/workflows/from-template/{key}", response_model=WorkflowOut, status_code=201)
def from_template(key: str, c: C, actor: Actor, origin: From) -> WorkflowOut:
    wf = c.workflows.from_template(actor, key, origin)
    return _wf(c, *c.workflows.get(actor, wf.id))


@router.get("/workflows/{workflow_id}", response_model=WorkflowOut)
def get_workflow(workflow_id: str, c: C, actor: Actor) -> WorkflowOut:
    return _wf(c, *c.workflows.get(actor, workflow_id))


@router.put("/workflows/{workflow_id}", response_model=WorkflowOut)
def save_workflow(
    workflow_id: str, body: WorkflowIn, c: C, actor: Actor, origin: From
) -> WorkflowOut:
    """Saves a new version (runs already started keep theirs)."""
    c.workflows.update(actor, workflow_id, body.name, body.definition, origin, enabled=body.enabled)
    return _wf(c, *c.workflows.get(actor, workflow_id))


@router.delete("/workflows/{workflow_id}", status_code=204)
def delete_workflow(workflow_id: str, c: C, actor: Actor, origin: From) -> Response:
    c.workflows.delete(actor, workflow_id, origin)
    return Response(status_code=204)


@router.get("/workflows/{workflow_id}/versions")
def versions(workflow_id: str, c: C, actor: Actor) -> list[dict[str, Any]]:
    return [
        {"version": v.version, "definition": v.definition, "created_at": v.created_at}
        for v in c.workflows.versions(actor, workflow_id)
    ]


@router.post("/workflows/{workflow_id}/runs", response_model=RunOut, status_code=202)
def run_now(workflow_id: str, body: RunIn, c: C, actor: Actor, origin: From) -> RunOut:
    """Run now (202: it runs in the background), or a dry run (its result in the reply)."""
    r = c.workflows.run_now(actor, workflow_id, body.data, origin, dry_run=body.dry_run)
    return _run(*c.workflows.run(actor, r.id))


@router.get("/workflows/{workflow_id}/runs", response_model=list[RunOut])
def list_runs(
    workflow_id: str,
    c: C,
    actor: Actor,
    status: Annotated[str | None, Query()] = None,
    before: Annotated[dt.datetime | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> list[RunOut]:
    c.workflows.get(actor, workflow_id)
    return [
        _run(r) for r in c.workflows.runs(actor, workflow_id, status=status, limit=limit,
                                          before=before)
    ]  # fmt: skip


@router.get("/workflow-runs/{run_id}", response_model=RunOut)
def get_run(run_id: str, c: C, actor: Actor) -> RunOut:
    return _run(*c.workflows.run(actor, run_id))


@router.post("/workflow-runs/{run_id}/retry", response_model=RunOut)
def retry_run(run_id: str, c: C, actor: Actor, origin: From) -> RunOut:
    """A failed run, again from its failed step."""
    c.workflows.retry(actor, run_id, origin)
    return _run(*c.workflows.run(actor, run_id))


@router.post("/workflow-runs/{run_id}/cancel", response_model=RunOut)
def cancel_run(run_id: str, c: C, actor: Actor, origin: From) -> RunOut:
    c.workflows.cancel(actor, run_id, origin)
    return _run(*c.workflows.run(actor, run_id))


@router.post("/workflows/{workflow_id}/hook-secret", response_model=SecretOut)
def hook_secret(
    workflow_id: str,
    c: C,
    actor: Actor,
    rotate: Annotated[bool, Query()] = False,
) -> SecretOut:
    """The inbound webhook's signing secret (rotate=true: a new one; the old stops working)."""
    secret = c.workflows.hook_secret(actor, workflow_id, rotate=rotate)
    return SecretOut(
        secret=secret,
        hook_url=f"{c.settings.effective_base_url}/webhooks/workflows/{workflow_id}",
        signing="X-Meetbridge-Timestamp: <unix seconds>; X-Meetbridge-Signature: v1=<hex "
        "HMAC-SHA256 of '<timestamp>.<body>' with the secret>",
    )


@router.get("/zoom/directory")
def directory(
    c: C,
    actor: Actor,
    status: Annotated[Literal["active", "inactive", "pending"], Query()] = "active",
    page_token: Annotated[str | None, Query(max_length=200)] = None,
    page_size: Annotated[int, Query(ge=1, le=300)] = 30,
) -> dict[str, Any]:
    """One page of the Zoom account's users (admins)."""
    return c.workflows.directory(actor, status=status, page_token=page_token, page_size=page_size)


@router.post("/zoom/directory", status_code=201)
def create_zoom_user(body: ZoomUserIn, c: C, actor: Actor, origin: From) -> dict[str, Any]:
    """Creates a user in the Zoom account (or returns the one with that e-mail)."""
    return c.workflows.create_zoom_user(actor, body.model_dump(), origin)


async def _raw(request: Request) -> bytes:
    return await request.body()


@hooks.post("/webhooks/workflows/{workflow_id}", status_code=202)
def inbound(
    workflow_id: str, request: Request, raw: Annotated[bytes, Depends(_raw)], c: C
) -> dict[str, str]:
    """An HR or ITSM system tells a workflow something happened (signed; see hook-secret)."""
    run_id = c.workflows.hook(
        workflow_id,
        request.headers.get("x-meetbridge-timestamp"),
        request.headers.get("x-meetbridge-signature"),
        raw,
    )
    return {"run_id": run_id}

"""Workflows' pages (owners and admins; anyone else gets the 403 page): the list with each
workflow's last run and the Zoom connection's state, the editor (trigger, steps as fieldsets of
their action's fields, every problem of a save next to its field, the Zoom scopes the steps
lack before anything is saved or run, a test with sample data, run now, the versions, the
inbound webhook's secret), a workflow's runs and one run step by step (retry, cancel, what to
do about a failure), and Zoom → Directory (the account's users; create one).

The editor needs no JavaScript: the form posts the whole definition, and the button pressed
says what to do (`do`: save, add a step, move one, test…). Adding, removing or moving a step
re-renders the page from what was posted, without saving. Each button's `formaction` carries
the place on the page to come back to (`#step-2`)."""

from __future__ import annotations

import datetime as dt
import json
import re
import zoneinfo
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response

from meetbridge.container import Container
from meetbridge.core.errors import DomainError, NotFound, ValidationFailed
from meetbridge.core.models import User
from meetbridge.scheduling import cron
from meetbridge.web.http import origin_of
from meetbridge.web.kit import (
    TIMEZONES,
    container,
    in_thread,
    posted_form,
    redirect,
    render,
    signed_in_user,
)
from meetbridge.workflows import definition as defs
from meetbridge.workflows.actions import ACTIONS, Action
from meetbridge.workflows.engine import ADVICE, FIXED_BY_RECONNECT
from meetbridge.workflows.fields import Field, is_template
from meetbridge.workflows.tables import RunStatus, Workflow, WorkflowRun, WorkflowStep
from meetbridge.workflows.templates import TEMPLATES

router = APIRouter(include_in_schema=False)

PAGE = 25  # runs a page lists
DIRECTORY_PAGE = 30
RUN_STATUSES = [s.value for s in RunStatus]
GROUPS = {"meetbridge": "meetbridge events", "zoom": "Zoom events", "other": "Other"}
# A text field that takes paragraphs gets a textarea.
LONG_TEXT = {"agenda", "text", "comments"}
USER_TYPES = {1: "Basic", 2: "Licensed", 3: "On-prem", 4: "Unassigned", 99: "None"}
# A failure a person fixes with the engine's advice (engine.ADVICE); anything else this.
REFUSED_ADVICE = (
    "Zoom, or meetbridge, refused the step.",
    "Fix the workflow or the data it was given, then retry the run from the failed step.",
)
_ID = re.compile(r"^[A-Za-z0-9-]{1,36}$")


def _refused(request: Request, user: User) -> Response:
    return render(
        request,
        "error.html",
        user,
        403,
        message="Only owners and admins build and run workflows.",
    )


def _zone(name: str) -> zoneinfo.ZoneInfo:
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo("UTC")


def _local(at: dt.datetime | None, tz: str) -> str:
    if at is None:
        return ""
    return at.astimezone(_zone(tz)).strftime("%a %d %b %Y, %H:%M")


def _pretty(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, default=str)


def _duration(run: WorkflowRun) -> str:
    if run.finished_at is None:
        return ""
    seconds = max(0.0, (run.finished_at - run.created_at).total_seconds())
    if seconds < 1:
        return f"{int(seconds * 1000)} ms"
    if seconds < 120:
        return f"{seconds:.1f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def _trigger_label(kind: str) -> str:
    t = defs.TRIGGERS.get(kind)
    return t.label if t else kind


def _action_label(name: str) -> str:
    a = ACTIONS.get(name)
    return a.label if a else name


def _hook_url(c: Container, workflow_id: str) -> str:
    return f"{c.settings.effective_base_url}/webhooks/workflows/{workflow_id}"


def _describe(expr: str) -> tuple[str, str]:
    """A cron in words, or why it is refused ('' for an empty one)."""
    if not expr.strip():
        return "", ""
    try:
        return cron.describe(cron.parse(expr)), ""
    except cron.CronRefused as exc:
        return "", str(exc)


# ---- the form and the definition ------------------------------------------------------------


def _form_value(f: Field, raw: str) -> Any:
    """What a posted field puts in the definition: a template as written, a literal as its
    kind takes it where the text reads as one (the save's check words what does not)."""
    text = raw.replace("\r\n", "\n")
    if is_template(text):
        return text
    word = text.strip()
    if f.kind == "int" and re.fullmatch(r"-?\d{1,12}", word):
        return int(word)
    if f.kind == "bool" and word in ("true", "false"):
        return word == "true"
    if f.kind == "json":
        try:
            return json.loads(text)
        except ValueError:
            return text
    if f.kind in ("choice", "email", "timezone", "datetime", "int", "bool"):
        return word
    return text


def _shown(f: Field, value: Any) -> str:
    """A definition's value as the form's text."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if f.kind == "json" and not isinstance(value, str):
        return _pretty(value)
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


@dataclass
class Draft:
    """The workflow as the form holds it: saved or not."""

    name: str
    definition: dict[str, Any]
    sample: str  # the test's data, JSON text
    sample_for: str  # the trigger whose sample it started as


def _sample_of(kind: str) -> str:
    t = defs.TRIGGERS.get(kind)
    return _pretty(dict(t.sample) if t else {})


def _draft_of(name: str, definition: dict[str, Any]) -> Draft:
    kind = str((definition.get("trigger") or {}).get("kind") or "manual")
    return Draft(name, definition, _sample_of(kind), kind)


def _posted_draft(form: dict[str, str]) -> Draft:
    kind = form.get("trigger_kind", "").strip()
    trigger: dict[str, Any] = {"kind": kind}
    if kind == "schedule":
        trigger["cron"] = form.get("trigger_cron", "").strip()
    raw_count = form.get("steps", "0")
    count = min(int(raw_count), defs.MAX_STEPS + 5) if raw_count.isdigit() else 0
    steps = []
    for i in range(count):
        at = f"s{i}."
        if f"{at}action" not in form:
            continue
        name = form.get(f"{at}action", "")
        step: dict[str, Any] = {"key": form.get(f"{at}key", "").strip(), "action": name}
        action = ACTIONS.get(name)
        inputs: dict[str, Any] = {}
        for f in action.fields if action else ():
            raw = form.get(f"{at}in.{f.name}")
            if raw is not None and raw.strip():
                inputs[f.name] = _form_value(f, raw)
        step["inputs"] = inputs
        each = form.get(f"{at}for_each", "").strip()
        if each:
            step["for_each"] = each
        if form.get(f"{at}label", "").strip():
            step["label"] = form[f"{at}label"].strip()
        steps.append(step)
    sample = form.get("sample", "").replace("\r\n", "\n")
    sample_for = form.get("sample_for", "")
    if kind != sample_for and sample.strip() in ("", _sample_of(sample_for).strip()):
        sample, sample_for = _sample_of(kind), kind  # untouched: the new trigger's sample
    return Draft(
        form.get("name", "").strip(), {"trigger": trigger, "steps": steps}, sample, sample_for
    )


def _new_key(steps: list[dict[str, Any]], action: str) -> str:
    base = re.sub(r"[^a-z0-9_]", "_", action.rsplit(".", 1)[-1].lower())[:30] or "step"
    if not base[0].isalpha():
        base = f"s_{base}"
    taken = {s.get("key") for s in steps}
    key, n = base, 2
    while key in taken:
        key, n = f"{base}_{n}", n + 1
    return key


def _rearrange(draft: Draft, do: str, form: dict[str, str]) -> str:
    """Adds, removes or moves a step of the draft in place; says what it did."""
    steps = draft.definition["steps"]
    what, _, where = do.partition(":")
    if what == "add":
        name = form.get("add_action", "")
        if name not in ACTIONS:
            return "Choose the action of the new step."
        steps.append({"key": _new_key(steps, name), "action": name, "inputs": {}})
        return f"Step {len(steps)} added ({ACTIONS[name].label}): not saved yet."
    i = int(where) if where.isdigit() else -1
    if not 0 <= i < len(steps):
        return ""
    if what == "remove":
        gone = steps.pop(i)
        return f"Step {i + 1} ({gone.get('key')}) removed: not saved yet."
    j = i - 1 if what == "up" else i + 1
    if not 0 <= j < len(steps):
        return ""
    steps[i], steps[j] = steps[j], steps[i]
    return f"Step {steps[j].get('key')} moved to position {j + 1}: not saved yet."


# ---- what the editor shows ----------------------------------------------------------------------


@dataclass
class FieldView:
    field: Field
    name: str  # the form's name
    id: str
    value: str  # what the control holds: for a choice, the default when none is given
    control: str  # input | textarea | code | select | bool | timezone
    error: str = ""
    placeholder: str = ""


def _field_view(f: Field, name: str, id_: str, value: Any, error: str) -> FieldView:
    control = _control(f, value)
    text = _shown(f, value)
    placeholder = ""
    if control in ("select", "bool") and not text:
        text = _shown(f, f.default)
    elif f.default is not None and not text:
        placeholder = f"default: {_shown(f, f.default)}"
    elif f.kind == "datetime":
        placeholder = "YYYY-MM-DD HH:MM"
    return FieldView(f, name, id_, text, control, error, placeholder)


@dataclass
class StepView:
    index: int
    key: str
    action_name: str
    action: Action | None
    for_each: str
    label: str
    fields: list[FieldView]
    errors: dict[str, str]  # "" (the step), key, action, for_each
    uses: list[tuple[str, list[str]]]  # what its templates may use from earlier steps
    outputs: list[str]  # what later steps may use of it


def _control(f: Field, value: Any) -> str:
    if is_template(value) and f.kind in ("choice", "bool"):
        return "input"  # a template in place of a choice: typed, not picked
    if f.kind == "choice":
        return "select"
    if f.kind == "bool":
        return "bool"
    if f.kind == "json":
        return "code"
    if f.kind == "timezone":
        return "timezone"
    if f.kind == "emails" or f.name in LONG_TEXT:
        return "textarea"
    return "input"


def _outputs(step: dict[str, Any]) -> list[str]:
    if step.get("for_each"):
        return list(defs.LOOP_OUTPUT)
    action = ACTIONS.get(str(step.get("action")))
    return list(action.output) if action else []


def _step_views(
    steps: list[dict[str, Any]], errors: dict[str, str]
) -> tuple[list[StepView], set[str]]:
    views = []
    shown: set[str] = set()
    for i, step in enumerate(steps if isinstance(steps, list) else []):
        if not isinstance(step, dict):
            continue
        at = f"steps[{i}]"
        name = str(step.get("action") or "")
        action = ACTIONS.get(name)
        given = step.get("inputs")
        inputs: dict[str, Any] = given if isinstance(given, dict) else {}
        fields = []
        for f in action.fields if action else ():
            value = inputs.get(f.name)
            path = f"{at}.inputs.{f.name}"
            shown.add(path)
            fields.append(
                _field_view(
                    f, f"s{i}.in.{f.name}", f"s{i}-in-{f.name}", value, errors.get(path, "")
                )
            )
        own = {part: errors.get(f"{at}.{part}", "") for part in ("key", "action", "for_each")}
        shown.update(f"{at}.{part}" for part in own)
        # Whatever else is wrong with the step (an unknown field, its inputs) is said at its top.
        rest = [
            reason
            for where, reason in errors.items()
            if (where == at or where.startswith(f"{at}.")) and where not in shown
        ]
        shown.update(w for w in errors if w == at or w.startswith(f"{at}."))
        own[""] = "; ".join(rest)
        uses = [
            (str(s.get("key")), _outputs(s))
            for s in steps[:i]
            if isinstance(s, dict) and s.get("key")
        ]
        views.append(
            StepView(
                i,
                str(step.get("key") or ""),
                name,
                action,
                str(step.get("for_each") or ""),
                str(step.get("label") or ""),
                fields,
                own,
                uses,
                _outputs(step),
            )
        )
    return views, shown


def _anchor(path: str) -> str:
    """The id of the element a problem's path is shown at."""
    m = re.match(r"^steps\[(\d+)\](?:\.(key|action|for_each)|\.inputs\.(\w+))?", path)
    if m:
        i, part, name = m.groups()
        if name:
            return f"s{i}-in-{name}"
        return f"s{i}-{part}" if part else f"step-{i}"
    return {
        "name": "wf-name",
        "trigger.kind": "trigger-kind",
        "trigger": "trigger-kind",
        "trigger.cron": "trigger-cron",
        "enabled": "wf-status",
        "data": "sample",
        "steps": "steps",
    }.get(path, "problems")


def _label(path: str, steps: Any) -> str:
    """Where a problem is, in the page's words ("Step 2 · Duration (minutes)")."""
    m = re.match(r"^steps\[(\d+)\](?:\.(key|action|for_each|inputs)(?:\.(\w+))?)?", path)
    if m:
        i, part, name = int(m.group(1)), m.group(2), m.group(3)
        step = steps[i] if isinstance(steps, list) and i < len(steps) else {}
        action = ACTIONS.get(str(step.get("action"))) if isinstance(step, dict) else None
        field = action.field(name) if action and name else None
        what = {"key": "Key", "action": "Action", "for_each": "For each", "inputs": "Inputs"}
        where = field.label if field else (name or what.get(part or "", ""))
        return f"Step {i + 1}" + (f" · {where}" if where else "")
    return {
        "name": "Name",
        "trigger": "Trigger",
        "trigger.kind": "Trigger",
        "trigger.cron": "Cron",
        "enabled": "Switching on",
        "data": "The trigger's data",
        "steps": "Steps",
    }.get(path, path)


def _grouped_errors(exc: DomainError) -> dict[str, str]:
    out: dict[str, str] = {}
    for e in exc.errors:
        out[e.field] = f"{out[e.field]}; {e.reason}" if e.field in out else e.reason
    if not exc.errors:
        out["_"] = exc.message
    return out


@dataclass
class Editor:
    """Everything the editor page shows besides the draft itself."""

    errors: dict[str, str] = field(default_factory=dict)
    note: str = ""  # what the last button did (not saved yet, …)
    secret: str = ""
    test: tuple[WorkflowRun, list[WorkflowStep]] | None = None


def _editor(
    request: Request,
    user: User,
    wf: Workflow | None,
    draft: Draft,
    ed: Editor,
    status: int = 200,
) -> Response:
    """The editor page (sync: its reads include the Zoom connection's scopes)."""
    c = container(request)
    granted = c.workflows.granted_scopes(user)
    checked = c.workflows.check(user, draft.definition)
    trigger = draft.definition.get("trigger") or {}
    kind = str(trigger.get("kind") or "")
    steps, shown = _step_views(draft.definition.get("steps") or [], ed.errors)
    shown.update(("name", "trigger.kind", "trigger.cron", "enabled", "data", "steps"))
    general = [(w, r) for w, r in ed.errors.items() if w not in shown]
    t = defs.TRIGGERS.get(kind)
    gives = list(t.gives.items()) if t else []
    cron_words, cron_problem = _describe(str(trigger.get("cron") or ""))
    versions = c.workflows.versions(user, wf.id) if wf else []
    names = {m.id: m.name for m in c.accounts.list_members(user, include_inactive=True)}
    unsaved = wf is not None and ed.note.endswith("not saved yet.")
    resp = render(
        request,
        "workflows_editor.html",
        user,
        status,
        wf=wf,
        draft=draft,
        ed=ed,
        kind=kind,
        cron_expr=str(trigger.get("cron") or ""),
        cron_words=cron_words,
        cron_problem=cron_problem,
        steps=steps,
        general=general,
        problems=[
            (_label(w, draft.definition.get("steps")), r, _anchor(w))
            for w, r in ed.errors.items()
            if w != "_"
        ],
        missing=checked.missing_scopes,
        granted=granted,
        gives=gives,
        always=list(defs.ALWAYS.items()),
        groups=[
            (label, [x for x in defs.TRIGGERS.values() if x.group == g])
            for g, label in GROUPS.items()
        ],
        actions=list(ACTIONS.values()),
        timezones=TIMEZONES,
        hook_url=_hook_url(c, wf.id) if wf and wf.trigger == "webhook" else "",
        versions=versions,
        names=names,
        unsaved=unsaved,
        base=f"/workflows/{wf.id}" if wf else "/workflows/new",
        local=lambda at: _local(at, user.timezone),
        trigger_label=_trigger_label,
        action_label=_action_label,
        pretty=_pretty,
        var=lambda path: "{{ " + path + " }}",
        nav="workflows",
    )
    if ed.secret:  # the page shows a secret: not kept by the browser, not sent on
        resp.headers["Cache-Control"] = "no-store"
        resp.headers["Referrer-Policy"] = "no-referrer"
    return resp


# ---- the list -----------------------------------------------------------------------------------


def _list_page(request: Request, user: User) -> Response:
    c = container(request)
    granted = c.workflows.granted_scopes(user)
    rows = []
    lacking = []
    for s in c.workflows.all(user):
        missing = defs.check(s.definition, granted).missing_scopes
        if missing:
            lacking.append((s.workflow, missing))
        rows.append((s, missing))
    return render(
        request,
        "workflows.html",
        user,
        rows=rows,
        lacking=lacking,
        granted=granted,
        templates=list(TEMPLATES.values()),
        trigger_label=_trigger_label,
        local=lambda at: _local(at, user.timezone),
        nav="workflows",
    )


@router.get("/workflows")
async def workflows_page(request: Request) -> Response:
    user = signed_in_user(request)
    if not user.is_admin:
        return _refused(request, user)
    return await in_thread(_list_page, request, user)


@router.post("/workflows/from-template")
async def from_template(request: Request) -> Response:
    user = signed_in_user(request)
    form = await posted_form(request)
    if not user.is_admin:
        return _refused(request, user)
    key = form.get("template", "")
    wf = await in_thread(container(request).workflows.from_template, user, key, origin_of(request))
    return redirect(
        request,
        f"/workflows/{wf.id}",
        f"“{wf.name}” made from the template and saved, switched off. Adjust it, test it "
        "with sample data, then switch it on.",
    )


@router.get("/workflows/new")
async def new_page(request: Request) -> Response:
    user = signed_in_user(request)
    if not user.is_admin:
        return _refused(request, user)
    draft = Draft("", {"trigger": {"kind": "manual"}, "steps": []}, _sample_of("manual"), "manual")
    return await in_thread(_editor, request, user, None, draft, Editor())


# ---- the editor ---------------------------------------------------------------------------------


def _mine(c: Container, user: User, workflow_id: str) -> tuple[Workflow, dict[str, Any]]:
    if not _ID.match(workflow_id):
        raise NotFound("no such workflow")
    return c.workflows.get(user, workflow_id)


def _test_run(
    c: Container, user: User, wf: Workflow, run_id: str
) -> tuple[WorkflowRun, list[WorkflowStep]] | None:
    if not _ID.match(run_id):
        return None
    try:
        run, steps = c.workflows.run(user, run_id)
    except NotFound:
        return None
    return (run, steps) if run.workflow_id == wf.id else None


def _editor_get(request: Request, user: User, workflow_id: str) -> Response:
    c = container(request)
    wf, definition = _mine(c, user, workflow_id)
    draft = _draft_of(wf.name, definition)
    ed = Editor()
    test = _test_run(c, user, wf, request.query_params.get("test", ""))
    if test is not None:
        ed.test = test
        draft.sample = _pretty(test[0].data)
    return _editor(request, user, wf, draft, ed)


@router.get("/workflows/{workflow_id}")
async def editor_page(request: Request, workflow_id: str) -> Response:
    user = signed_in_user(request)
    if not user.is_admin:
        return _refused(request, user)
    return await in_thread(_editor_get, request, user, workflow_id)


def _sample_data(draft: Draft) -> tuple[dict[str, Any] | None, str]:
    try:
        data = json.loads(draft.sample or "{}")
    except ValueError as exc:
        return None, f"is not JSON: {exc}"
    if not isinstance(data, dict):
        return None, 'must be a JSON object, e.g. {"member": {…}}'
    return data, ""


def _save(
    c: Container, user: User, wf: Workflow | None, draft: Draft, origin: Any, enabled: bool
) -> Workflow:
    if wf is None:
        return c.workflows.create(user, draft.name, draft.definition, origin, enabled=enabled)
    return c.workflows.update(user, wf.id, draft.name, draft.definition, origin, enabled=enabled)


def _changed(c: Container, user: User, wf: Workflow, saved: dict[str, Any], draft: Draft) -> bool:
    granted = c.workflows.granted_scopes(user)
    return draft.name != wf.name or defs.check(draft.definition, granted).definition != saved


def _editor_post(
    request: Request, user: User, workflow_id: str | None, form: dict[str, str]
) -> Response:
    c = container(request)
    origin = origin_of(request)
    wf, saved = _mine(c, user, workflow_id) if workflow_id else (None, {})
    draft = _posted_draft(form)
    do = form.get("do", "refresh")
    ed = Editor()
    if do in ("refresh", "") or do.startswith(("add", "remove:", "up:", "down:")):
        if do not in ("refresh", ""):
            ed.note = _rearrange(draft, do, form)
        elif wf is not None or draft.definition["steps"]:
            ed.note = "The form is updated: not saved yet."
        return _editor(request, user, wf, draft, ed)
    if do in ("secret", "rotate"):
        if wf is None:
            raise NotFound("save the workflow first")
        ed.secret = c.workflows.hook_secret(user, wf.id, rotate=do == "rotate")
        ed.note = "A new secret: the old one no longer works." if do == "rotate" else ""
        return _editor(request, user, wf, draft, ed)
    data: dict[str, Any] | None = None
    if do in ("dry_run", "run"):
        data, problem = _sample_data(draft)
        if data is None:
            ed.errors["data"] = problem
            return _editor(request, user, wf, draft, ed, 422)
    enabled = wf.enabled if wf else False
    if do in ("enable", "disable"):
        enabled = do == "enable"
    must_save = do in ("save", "enable", "disable") or wf is None
    if not must_save and wf is not None and _changed(c, user, wf, saved, draft):
        if wf.enabled:
            ed.errors["data"] = (
                "this workflow is on and the form has changes that are not saved: a test runs "
                "the saved version, and saving would make the changes live at once. Switch it "
                "off (or save) first."
            )
            return _editor(request, user, wf, draft, ed, 409)
        must_save = True
    said = ""
    if must_save:
        try:
            wf = _save(c, user, wf, draft, origin, enabled)
        except ValidationFailed as exc:
            ed.errors = _grouped_errors(exc)
            ed.note = "Not saved: put right what is marked below."
            return _editor(request, user, wf, draft, ed, exc.status)
        said = f"Saved as version {wf.version}" + (
            {"enable": ", switched on", "disable": ", switched off"}.get(do, "")
        )
    assert wf is not None
    if do in ("dry_run", "run"):
        try:
            run = c.workflows.run_now(user, wf.id, data, origin, dry_run=do == "dry_run")
        except ValidationFailed as exc:
            ed.errors = {"data" if e.field == "data" else e.field: e.reason for e in exc.errors}
            return _editor(
                request,
                user,
                wf,
                _draft_of(wf.name, c.workflows.get(user, wf.id)[1]),
                ed,
                exc.status,
            )
        if do == "dry_run":
            said = (said + "; tested" if said else "Tested") + " with the sample data."
            return redirect(request, f"/workflows/{wf.id}?test={run.id}#test", said)
        said = (said + "; the run started" if said else "The run started") + "."
        return redirect(request, f"/workflows/{wf.id}/runs/{run.id}", said)
    return redirect(request, f"/workflows/{wf.id}", said + ".")


@router.post("/workflows/new")
async def editor_create(request: Request) -> Response:
    user = signed_in_user(request)
    form = await posted_form(request)
    if not user.is_admin:
        return _refused(request, user)
    return await in_thread(_editor_post, request, user, None, form)


@router.post("/workflows/{workflow_id}")
async def editor_save(request: Request, workflow_id: str) -> Response:
    user = signed_in_user(request)
    form = await posted_form(request)
    if not user.is_admin:
        return _refused(request, user)
    return await in_thread(_editor_post, request, user, workflow_id, form)


@router.get("/workflows/{workflow_id}/delete")
async def delete_confirm(request: Request, workflow_id: str) -> Response:
    user = signed_in_user(request)
    if not user.is_admin:
        return _refused(request, user)
    wf, _ = _mine(container(request), user, workflow_id)
    runs = container(request).workflows.runs(user, wf.id, status=RunStatus.PENDING, limit=500)
    return render(request, "workflows_delete.html", user, wf=wf, pending=len(runs), nav="workflows")


@router.post("/workflows/{workflow_id}/delete")
async def delete(request: Request, workflow_id: str) -> Response:
    user = signed_in_user(request)
    await posted_form(request)
    if not user.is_admin:
        return _refused(request, user)
    c = container(request)
    wf, _ = _mine(c, user, workflow_id)
    await in_thread(c.workflows.delete, user, wf.id, origin_of(request))
    return redirect(request, "/workflows", f"“{wf.name}” is deleted, with its runs.")


# ---- runs ---------------------------------------------------------------------------------------


def _before(raw: str) -> dt.datetime | None:
    try:
        at = dt.datetime.fromisoformat(raw[:40])
    except ValueError:
        return None
    return at if at.tzinfo else at.replace(tzinfo=dt.UTC)


@router.get("/workflows/{workflow_id}/runs")
async def runs_page(request: Request, workflow_id: str) -> Response:
    user = signed_in_user(request)
    if not user.is_admin:
        return _refused(request, user)
    c = container(request)
    wf, _ = _mine(c, user, workflow_id)
    q = request.query_params
    status = (q.get("status") or "").strip()
    errors = {}
    if status and status not in RUN_STATUSES:
        errors["status"] = f"one of {', '.join(RUN_STATUSES)}"
        status = ""
    before = _before(q.get("before") or "") if q.get("before") else None
    if q.get("before") and before is None:
        errors["before"] = "a time like 2027-01-04T09:00:00+00:00"
    runs = c.workflows.runs(user, wf.id, status=status or None, limit=PAGE + 1, before=before)
    older = ""
    if len(runs) > PAGE:
        runs = runs[:PAGE]
        older = urlencode(
            {**({"status": status} if status else {}), "before": runs[-1].created_at.isoformat()}
        )
    totals = {
        v.version: len(v.definition.get("steps") or []) for v in c.workflows.versions(user, wf.id)
    }
    return render(
        request,
        "workflows_runs.html",
        user,
        422 if errors else 200,
        wf=wf,
        runs=runs,
        picked=status,
        statuses=RUN_STATUSES,
        errors=errors,
        older=older,
        paged=before is not None,
        totals=totals,
        trigger_label=_trigger_label,
        duration=_duration,
        local=lambda at: _local(at, user.timezone),
        nav="workflows",
    )


def _run_of(
    c: Container, user: User, wf: Workflow, run_id: str
) -> tuple[WorkflowRun, list[WorkflowStep]]:
    got = _test_run(c, user, wf, run_id)
    if got is None:
        raise NotFound("no such run")
    return got


@router.get("/workflows/{workflow_id}/runs/{run_id}")
async def run_page(request: Request, workflow_id: str, run_id: str) -> Response:
    user = signed_in_user(request)
    if not user.is_admin:
        return _refused(request, user)
    return _run_page(request, user, workflow_id, run_id)


def _run_page(
    request: Request,
    user: User,
    workflow_id: str,
    run_id: str,
    status: int = 200,
    action_error: str = "",
) -> Response:
    c = container(request)
    wf, _ = _mine(c, user, workflow_id)
    run, steps = _run_of(c, user, wf, run_id)
    version = next((v for v in c.workflows.versions(user, wf.id) if v.version == run.version), None)
    planned = (version.definition.get("steps") or []) if version else []
    advice = None
    if run.status == RunStatus.FAILED:
        advice = ADVICE.get(run.error_kind or "", REFUSED_ADVICE)
    whole = [st for st in steps if st.item == -1]
    items: dict[int, list[WorkflowStep]] = {}
    for st in steps:
        if st.item >= 0:
            items.setdefault(st.position, []).append(st)
    # A looping step that has not finished has no row of its own yet: its items still show.
    positions = sorted({st.position for st in steps})
    rows = [
        (p, next((st for st in whole if st.position == p), None), items.get(p, []))
        for p in positions
    ]
    rest = [(i, sd) for i, sd in enumerate(planned) if i not in positions]
    return render(
        request,
        "workflows_run.html",
        user,
        status,
        wf=wf,
        run=run,
        rows=rows,
        rest=rest,
        planned=planned,
        advice=advice,
        reconnect=run.error_kind in FIXED_BY_RECONNECT,
        action_error=action_error,
        live=run.status == RunStatus.PENDING,
        trigger_label=_trigger_label,
        action_label=_action_label,
        duration=_duration,
        pretty=_pretty,
        local=lambda at: _local(at, user.timezone),
        nav="workflows",
    )


async def _run_act(request: Request, workflow_id: str, run_id: str, what: str) -> Response:
    user = signed_in_user(request)
    await posted_form(request)
    if not user.is_admin:
        return _refused(request, user)
    c = container(request)
    wf, _ = _mine(c, user, workflow_id)
    run, _ = _run_of(c, user, wf, run_id)
    act = c.workflows.retry if what == "retry" else c.workflows.cancel
    try:
        done = await in_thread(act, user, run.id, origin_of(request))
    except DomainError as exc:
        if isinstance(exc, NotFound):
            raise
        reason = "; ".join(e.reason for e in exc.errors) or exc.message
        return _run_page(request, user, wf.id, run.id, exc.status, action_error=reason)
    said = {
        "retry": f"Retried from step {done.step + 1}: the run is {done.status}.",
        "cancel": "Cancelled: the run stops before its next step.",
    }[what]
    return redirect(request, f"/workflows/{wf.id}/runs/{run.id}", said)


@router.post("/workflows/{workflow_id}/runs/{run_id}/retry")
async def retry(request: Request, workflow_id: str, run_id: str) -> Response:
    return await _run_act(request, workflow_id, run_id, "retry")


@router.post("/workflows/{workflow_id}/runs/{run_id}/cancel")
async def cancel(request: Request, workflow_id: str, run_id: str) -> Response:
    return await _run_act(request, workflow_id, run_id, "cancel")


# ---- Zoom → Directory ---------------------------------------------------------------------------

CREATE_USER = ACTIONS["zoom.create_user"]


def _directory(
    request: Request,
    user: User,
    status: int = 200,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
) -> Response:
    c = container(request)
    q = request.query_params
    asked = q.get("status") or ""
    which = asked if asked in ("active", "inactive", "pending") else "active"
    token = (q.get("page_token") or "")[:200]
    page: dict[str, Any] = {}
    problem = ""
    try:
        page = c.workflows.directory(
            user, status=which, page_token=token or None, page_size=DIRECTORY_PAGE
        )
    except DomainError as exc:
        if exc.status != 409:
            raise
        problem = exc.message
        status = 409
    values = values or {}
    errors = errors or {}
    fields = [
        _field_view(f, f.name, f"zu-{f.name}", values.get(f.name), errors.get(f.name, ""))
        for f in CREATE_USER.fields
    ]
    nxt = page.get("next_page_token") or ""
    return render(
        request,
        "workflows_directory.html",
        user,
        status,
        page=page,
        which=which,
        problem=problem,
        paged=bool(token),
        next_query=urlencode({"status": which, "page_token": nxt}) if nxt else "",
        fields=fields,
        form_error=errors.get("_", ""),
        user_types=USER_TYPES,
        nav="workflows",
    )


@router.get("/zoom/directory")
async def directory_page(request: Request) -> Response:
    user = signed_in_user(request)
    if not user.is_admin:
        return _refused(request, user)
    return await in_thread(_directory, request, user)


@router.post("/zoom/directory")
async def directory_create(request: Request) -> Response:
    user = signed_in_user(request)
    form = await posted_form(request)
    if not user.is_admin:
        return _refused(request, user)
    c = container(request)
    values = {f.name: form.get(f.name, "").strip() for f in CREATE_USER.fields}
    try:
        made = await in_thread(c.workflows.create_zoom_user, user, values, origin_of(request))
    except DomainError as exc:
        if isinstance(exc, NotFound):
            raise
        errors = _grouped_errors(exc)
        values["password"] = ""  # never sent back in a page
        if any(k not in values for k in errors):
            errors["_"] = "; ".join(r for k, r in errors.items() if k not in values) or exc.message
        return await in_thread(_directory, request, user, exc.status, values, errors)
    email = made.get("email") or values["email"]
    if made.get("existed"):
        said = f"{email} is a user of the Zoom account already (nothing was changed)."
    else:
        said = f"{email} is added to the Zoom account ({made.get('status') or 'pending'})."
    where = "pending" if (made.get("status") or "pending") == "pending" else "active"
    return redirect(request, f"/zoom/directory?status={where}", said)

"""A workflow's definition — its trigger and its steps — and every check made when it is saved:
the trigger exists (a cron is sane), each step's action exists and its literal inputs are valid,
every template parses and names only what the trigger and *earlier* steps give (a step that
reads itself or a later step is a cycle), a loop names a list, a call to Zoom's API is in Zoom's
document, and — across the organisation's workflows — no chain of workflows triggers itself.
Every problem is reported at once, by its place (`steps[1].inputs.start`). Pure but for the
Zoom API document it reads."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import meetbridge.integrations.zoom.openapi as openapi
from meetbridge.core.errors import FieldError
from meetbridge.notify.render import TemplateRefused, references
from meetbridge.scheduling import cron
from meetbridge.workflows.actions import ACTIONS
from meetbridge.workflows.fields import FieldRefused, coerce, is_template, templates_in

MAX_STEPS = 30
MAX_ITEMS = 1_000  # a loop runs over at most this many items
# What a step that loops gives later steps: each item's output, in order, and how many.
# Not "items": a template reads `steps.x.items` as the dict's own method.
LOOP_OUTPUT = ("results", "count")
KEY = re.compile(r"^[a-z][a-z0-9_]{0,39}$")

MEMBER = ("member_id", "name", "email", "role", "timezone", "start_date")
BOOKING = (
    *("id", "meeting_type", "meeting_type_id", "start_at", "end_at", "timezone"),
    *("attendee_name", "attendee_email", "notes", "host_user_id", "host_email", "host_name"),
    *("member_emails", "meeting_id", "location", "location_value", "join_url", "status"),
    *("cancelled_by", "moved_by", "previous"),
)
REQUEST = (
    *("id", "service", "client", "requester", "start_at", "end_at", "timezone", "status"),
    *("kind", "zoom_host_email", "meeting_id", "location", "notes", "participants", "people"),
    *("tags", "series_id", "occurrence"),
)
MEETING = ("id", "title", "start_at", "host_user_id", "source", "join_url", "zoom_id")
ZOOM_MEETING = (
    *("id", "uuid", "topic", "host_id", "host_email", "start_time", "end_time"),
    *("duration", "timezone", "type"),
)
EVENT = ("name", "at")


@dataclass(frozen=True)
class Trigger:
    kind: str
    label: str
    group: str  # meetbridge | zoom | other
    # What the trigger gives the templates: each root with its fields (None: any field).
    gives: Mapping[str, tuple[str, ...] | None]
    sample: Mapping[str, Any] = field(default_factory=dict)


_SAMPLE_MEMBER = {
    "member_id": "sample-member",
    "name": "Alex New",
    "email": "alex.new@example.com",
    "role": "member",
    "timezone": "Europe/London",
    "start_date": "2027-01-04",
}
_SAMPLE_ZOOM_MEETING = {
    "id": 81234567890,
    "uuid": "sample==",
    "topic": "Weekly sync",
    "host_id": "sample-host",
    "host_email": "host@example.com",
    "start_time": "2027-01-04T09:00:00Z",
    "end_time": "2027-01-04T09:30:00Z",
    "duration": 30,
    "timezone": "Europe/London",
    "type": 2,
}

TRIGGERS: dict[str, Trigger] = {
    t.kind: t
    for t in (
        Trigger("member.created", "Member created", "meetbridge", {"member": MEMBER},
                {"member": _SAMPLE_MEMBER}),
        Trigger("member.onboarded", "Member onboarded (with a start date)", "meetbridge",
                {"member": MEMBER}, {"member": _SAMPLE_MEMBER}),
        Trigger("member.deactivated", "Member deactivated", "meetbridge", {"member": MEMBER},
                {"member": _SAMPLE_MEMBER}),
        Trigger("booking.created", "Booking created", "meetbridge", {"booking": BOOKING},
                {"booking": dict.fromkeys(BOOKING, "")}),
        Trigger("booking.rescheduled", "Booking rescheduled", "meetbridge",
                {"booking": BOOKING}, {"booking": dict.fromkeys(BOOKING, "")}),
        Trigger("booking.reassigned", "Booking reassigned", "meetbridge", {"booking": BOOKING},
                {"booking": dict.fromkeys(BOOKING, "")}),
        Trigger("booking.cancelled", "Booking cancelled", "meetbridge", {"booking": BOOKING},
                {"booking": dict.fromkeys(BOOKING, "")}),
        Trigger("request.converted", "Service request converted to Zoom", "meetbridge",
                {"request": REQUEST}, {"request": dict.fromkeys(REQUEST, "")}),
        Trigger("request.converted_back", "Service request converted back", "meetbridge",
                {"request": REQUEST}, {"request": dict.fromkeys(REQUEST, "")}),
        Trigger("request.cancelled", "Service request cancelled", "meetbridge",
                {"request": REQUEST}, {"request": dict.fromkeys(REQUEST, "")}),
        Trigger("meeting.scheduled", "Meeting scheduled", "meetbridge", {"meeting": MEETING},
                {"meeting": dict.fromkeys(MEETING, "")}),
        Trigger("meeting.cancelled", "Meeting cancelled", "meetbridge", {"meeting": MEETING},
                {"meeting": dict.fromkeys(MEETING, "")}),
        Trigger("zoom:meeting.started", "Zoom meeting started", "zoom",
                {"meeting": ZOOM_MEETING, "event": EVENT}, {"meeting": _SAMPLE_ZOOM_MEETING}),
        Trigger("zoom:meeting.ended", "Zoom meeting ended", "zoom",
                {"meeting": ZOOM_MEETING, "event": EVENT}, {"meeting": _SAMPLE_ZOOM_MEETING}),
        Trigger("zoom:recording.completed", "Zoom recording completed", "zoom",
                {"meeting": (*ZOOM_MEETING, "share_url", "recording_files"), "event": EVENT},
                {"meeting": {**_SAMPLE_ZOOM_MEETING, "share_url": "", "recording_files": []}}),
        Trigger("zoom:meeting.registration_created", "Zoom registrant added", "zoom",
                {"meeting": ZOOM_MEETING, "registrant": ("id", "email", "first_name",
                 "last_name", "join_url", "status"), "event": EVENT},
                {"meeting": _SAMPLE_ZOOM_MEETING, "registrant": {"email": "r@example.com"}}),
        Trigger("schedule", "On a schedule (cron)", "other",
                {"schedule": ("fire_at", "local_date", "local_time", "timezone")},
                {"schedule": {"fire_at": "2027-01-04T09:00:00+00:00",
                              "local_date": "2027-01-04", "local_time": "09:00",
                              "timezone": "UTC"}}),
        Trigger("webhook", "Inbound webhook (signed)", "other", {"body": None},
                {"body": {"employee": {"email": "alex.new@example.com"}}}),
        Trigger("manual", "Run now only", "other", {"data": None}, {"data": {}}),
    )
}  # fmt: skip
# Every run's templates also see these.
ALWAYS: dict[str, tuple[str, ...] | None] = {
    "org": ("name", "timezone"),
    "owner": ("name", "email"),
    "run": ("id", "started_at", "workflow", "dry_run"),
}
_JINJA_NAMES = {"range", "loop", "true", "false", "none", "True", "False", "None"}


@dataclass
class Checked:
    definition: dict[str, Any]
    problems: list[FieldError] = field(default_factory=list)
    missing_scopes: list[str] = field(default_factory=list)  # by step: "2 (Create user): x"
    # Each step's action by key ("loop" for a looping step): for the output check.
    step_actions: dict[str, str] = field(default_factory=dict)

    def add(self, where: str, reason: str) -> None:
        self.problems.append(FieldError(where, reason))


def check(definition: Any, granted: frozenset[str] | None) -> Checked:
    """Every problem of `definition` at once; `granted`: the account connection's scopes
    (None: not connected — then every Zoom step's scopes are listed as missing)."""
    out = Checked(definition={})
    if not isinstance(definition, dict):
        out.add("definition", "must be an object with a trigger and steps")
        return out
    unknown = set(definition) - {"trigger", "steps"}
    for key in sorted(unknown):
        out.add(key, "is not part of a workflow (trigger, steps)")
    trigger = _check_trigger(definition.get("trigger"), out)
    raw_steps = definition.get("steps")
    if not isinstance(raw_steps, list) or not raw_steps:
        out.add("steps", "give at least one step")
        raw_steps = []
    if len(raw_steps) > MAX_STEPS:
        out.add("steps", f"at most {MAX_STEPS} steps")
    keys = [s.get("key") if isinstance(s, dict) else None for s in raw_steps]
    for s in raw_steps:
        if isinstance(s, dict) and isinstance(s.get("key"), str) and s.get("action") in ACTIONS:
            looping = s.get("for_each") not in (None, "")
            out.step_actions[s["key"]] = "loop" if looping else str(s["action"])
    steps = []
    for i, raw in enumerate(raw_steps):
        steps.append(_check_step(i, raw, keys, trigger, granted, out))
    out.definition = {"trigger": trigger or definition.get("trigger"), "steps": steps}
    return out


def _check_trigger(raw: Any, out: Checked) -> dict[str, Any] | None:
    if not isinstance(raw, dict) or not isinstance(raw.get("kind"), str):
        out.add("trigger.kind", "choose what starts the workflow")
        return None
    kind = raw["kind"]
    if kind not in TRIGGERS:
        out.add("trigger.kind", f"no trigger {kind!r}; one of {', '.join(TRIGGERS)}")
        return None
    trigger: dict[str, Any] = {"kind": kind}
    if kind == "schedule":
        try:
            trigger["cron"] = cron.parse(str(raw.get("cron") or "")).expr
        except cron.CronRefused as exc:
            out.add("trigger.cron", str(exc))
            return None
    elif raw.get("cron"):
        out.add("trigger.cron", "only a schedule trigger has a cron")
    return trigger


def _check_step(
    i: int,
    raw: Any,
    keys: list[Any],
    trigger: dict[str, Any] | None,
    granted: frozenset[str] | None,
    out: Checked,
) -> dict[str, Any]:
    at = f"steps[{i}]"
    if not isinstance(raw, dict):
        out.add(at, "must be an object with a key, an action and inputs")
        return {}
    key = raw.get("key")
    if not isinstance(key, str) or not KEY.match(key):
        out.add(f"{at}.key", "a name of lower-case letters, digits and _ (e.g. orientation)")
    elif keys.count(key) > 1:
        out.add(f"{at}.key", f"another step is also called {key!r}")
    unknown = set(raw) - {"key", "action", "inputs", "for_each", "label"}
    for name in sorted(unknown):
        out.add(f"{at}.{name}", "is not part of a step (key, action, inputs, for_each)")
    action = ACTIONS.get(str(raw.get("action")))
    if action is None:
        out.add(f"{at}.action", f"no action {raw.get('action')!r}; one of {', '.join(ACTIONS)}")
        return dict(raw)
    inputs = raw.get("inputs") or {}
    if not isinstance(inputs, dict):
        out.add(f"{at}.inputs", "must be an object of the action's fields")
        inputs = {}
    for name in sorted(set(inputs) - {f.name for f in action.fields}):
        out.add(f"{at}.inputs.{name}", f"{action.label} has no field {name!r}")
    looping = raw.get("for_each") not in (None, "")
    ctx = _context(trigger, keys[:i], looping)
    if looping:
        expr = raw.get("for_each")
        if not isinstance(expr, str):
            out.add(f"{at}.for_each", "an expression naming a list, e.g. {{ body.hires }}")
        else:
            _check_refs(f"{at}.for_each", "{{ " + expr.strip().strip("{}").strip() + " }}",
                        ctx, keys, i, out)  # fmt: skip
    clean: dict[str, Any] = {}
    for f in action.fields:
        value = inputs.get(f.name, f.default)
        where = f"{at}.inputs.{f.name}"
        sources = templates_in(value)
        for source in sources:
            _check_refs(where, source, ctx, keys, i, out)
        if not sources:
            try:
                coerce(f, value)
            except FieldRefused as exc:
                out.add(where, f"{f.label} {exc}")
        if value is not None:
            clean[f.name] = value
    if action.name == "zoom.call_api":
        _check_call(at, clean, granted, out)
    elif action.zoom:
        _scopes(i, action.label, action.scopes, granted, out)
    step = {"key": key, "action": action.name, "inputs": clean}
    if looping:
        step["for_each"] = raw["for_each"]
    if raw.get("label"):
        step["label"] = str(raw["label"])[:100]
    return step


def _context(trigger: dict[str, Any] | None, earlier: list[Any], looping: bool) -> dict[str, Any]:
    gives: dict[str, Any] = dict(ALWAYS)
    if trigger is not None:
        gives.update(TRIGGERS[trigger["kind"]].gives)
    else:
        gives["*"] = None  # the trigger is wrong already: do not report its fields too
    gives["steps"] = {k for k in earlier if isinstance(k, str)}
    if looping:
        gives["item"] = None
    return gives


def _check_refs(
    where: str, source: str, ctx: dict[str, Any], keys: list[Any], i: int, out: Checked
) -> None:
    try:
        paths = references(source)
    except TemplateRefused as exc:
        out.add(where, f"template: {exc}")
        return
    for path in paths:
        root = path[0]
        if root in _JINJA_NAMES:
            continue
        if root == "steps":
            if len(path) < 2:
                out.add(where, "name a step: steps.<key>.<field>")
            elif path[1] not in ctx["steps"]:
                if path[1] in keys[i:]:
                    out.add(
                        where,
                        f"uses step {path[1]!r}, which does not come before this one: a step "
                        "can use only earlier steps (this would be a cycle)",
                    )
                else:
                    out.add(where, f"there is no earlier step {path[1]!r}")
            elif len(path) > 2:
                _check_output(where, path, out)
            continue
        if root not in ctx:
            if "*" in ctx:
                continue
            given = ", ".join(k for k in ctx if k != "steps")
            out.add(where, f"unknown variable {root!r}; this trigger gives {given}, and steps")
            continue
        fields = ctx[root]
        if fields is not None and len(path) > 1 and path[1] not in fields:
            out.add(
                where,
                f"unknown field {root}.{path[1]}; {root} has {', '.join(fields)}",
            )


def _check_output(where: str, path: tuple[str, ...], out: Checked) -> None:
    action = out.step_actions.get(path[1])
    if action is None:
        return
    if action == "loop":
        if path[2] not in LOOP_OUTPUT:
            out.add(where, f"step {path[1]!r} loops: use steps.{path[1]}.results or .count")
        return
    known = ACTIONS[action].output
    if path[2] not in known:
        out.add(where, f"step {path[1]!r} gives no {path[2]!r}; it gives {', '.join(known)}")


def _scopes(
    i: int,
    label: str,
    needs: Iterable[tuple[str, ...]],
    granted: frozenset[str] | None,
    out: Checked,
) -> None:
    for alternatives in needs:
        if granted is None or not any(_has(granted, s) for s in alternatives):
            out.missing_scopes.append(f"step {i + 1} ({label}): {alternatives[0]}")


def _has(granted: frozenset[str], scope: str) -> bool:
    return scope in granted or f"{scope}:admin" in granted


def _check_call(at: str, v: dict[str, Any], granted: frozenset[str] | None, out: Checked) -> None:
    method, path = v.get("method", "GET"), v.get("path")
    if not isinstance(path, str) or is_template(method):
        return
    query = v.get("query") if isinstance(v.get("query"), dict) else None
    body = v.get("body")
    if isinstance(body, str) and not is_template(body):
        try:
            body = json.loads(body) if body.strip() else None
        except ValueError:
            return  # reported by the field's own check
    try:
        op = openapi.check_call(str(method), path, query=query, body=body, templated=True)
    except openapi.CallRefused as exc:
        out.add(f"{at}.inputs.path", str(exc))
        return
    missing = openapi.scopes_missing(op, granted or frozenset())
    if missing:
        out.missing_scopes.append(f"{at} (Call API {op.method} {op.template}): " + missing[0])


def emits(definition: dict[str, Any]) -> set[str]:
    """The triggers this workflow's steps can fire."""
    return {e for s in definition.get("steps", []) for e in ACTIONS[s["action"]].emits}


def find_cycle(graph: dict[str, tuple[str, set[str]]], start: str) -> list[str] | None:
    """`graph`: workflow id → (its trigger, the triggers it emits). The chain of workflow ids
    from `start` back to itself, if one exists."""
    path: list[str] = []
    seen: set[str] = set()

    def walk(node: str) -> list[str] | None:
        path.append(node)
        for nxt, (trigger, _) in graph.items():
            if trigger in graph[node][1]:
                if nxt == start:
                    return [*path, start]
                if nxt not in seen:
                    seen.add(nxt)
                    found = walk(nxt)
                    if found:
                        return found
        path.pop()
        return None

    return walk(start)

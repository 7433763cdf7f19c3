"""Zoom's Meeting API as Zoom's own OpenAPI document describes it: which operations exist, what
each takes, which scopes it needs and which rate-limit label it counts against. A workflow's
"Call API" step is checked here when it is saved, so that a path Zoom does not have or a body
Zoom would refuse is refused with a reason before anything is sent.

The data is `zoom_meeting_api.json`, a digest of Zoom's "Zoom Meeting API" OpenAPI 3.0
document as downloaded in October 2023 (github.com/shr968/Prokalp @8bf2d7465ba7,
`ZoomMeetingAPISpec.json`; see `zoom_meeting_api.SOURCE.md` next to it, and the project's
shared/zoom-openapi/SOURCE.md). The digest keeps, per operation, the method, path,
operationId, summary, path and query parameters, the JSON request-body schema (the document
has no $refs; descriptions and examples dropped), the classic scopes from `security`, the
granular scopes where the document has them (`extensions.x-granular-scopes`, 39 operations,
mostly webinars) and the "Rate Limit Label" from the description. It is made, and checked
against the document, by tests/integrations/zoom/test_openapi.py.

How lenient the checks are follows the document: query parameters are a closed list per
operation, so an unknown one is refused; body objects never say `additionalProperties: false`
and Zoom ignores fields it does not know, so an unknown body field is accepted unless it looks
like a misspelling of a known one (it would be ignored silently). Formats are checked only
where they are unambiguous (date, date-time, email); Zoom takes `start_time` both with and
without a `Z` (ZOOM_API_FACTS.md §4), and so does the check.
"""

from __future__ import annotations

import datetime as dt
import difflib
import functools
import json
import re
from dataclasses import dataclass
from importlib import resources
from typing import Any

DATA_FILE = "zoom_meeting_api.json"
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
LABELS = ("Light", "Medium", "Heavy", "Resource-intensive")
_NO_BODY = ("GET", "DELETE")
_TEMPLATE = re.compile(r"\{\{.*?\}\}", re.DOTALL)
_MASK = "\x00"  # stands for one {{ … }} chunk while a path is split into segments
_OPENAPI_PLACEHOLDER = re.compile(r"\{[^{}]*\}")


@dataclass(frozen=True)
class ApiOperation:
    method: str  # "GET"
    template: str  # "/users/{userId}/meetings", relative to /v2
    operation_id: str
    summary: str
    classic_scopes: tuple[str, ...]  # from the document's security (any one suffices)
    granular_scopes: tuple[str, ...]  # the document's + GRANULAR's (any one suffices); () if none
    label: str | None  # Light | Medium | Heavy | Resource-intensive


class CallRefused(ValueError):
    """A Zoom API call that would fail, with every reason at once (`problems`), in words a
    workflow author understands."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = tuple(problems)
        super().__init__("; ".join(problems))


# Granular scopes of the operations the service and most workflows use. The document lists
# granular scopes for 39 operations only (create meeting among them, which agrees with this
# table), so the rest come from ZOOM_API_FACTS.md §3 [GRAN, DF-142405, ISS-COMPOSIO2863].
# Not in the fact sheet, from public scope lists that cite
# developers.zoom.us/docs/integrations/oauth-scopes-granular/ (and named like the document's
# own webinar:update:registrant_status): registrant status, delete registrant, past meetings.
# A user-level name is also satisfied by its ":admin" form (see `scopes_missing`).
def _both(name: str) -> tuple[str, str]:
    return (name, name + ":admin")


GRANULAR: dict[tuple[str, str], tuple[str, ...]] = {
    ("GET", "/users"): ("user:read:list_users:admin",),
    ("POST", "/users"): ("user:write:user:admin",),
    ("GET", "/users/{userId}"): _both("user:read:user"),
    ("GET", "/users/{userId}/meetings"): _both("meeting:read:list_meetings"),
    ("POST", "/users/{userId}/meetings"): _both("meeting:write:meeting"),
    ("GET", "/meetings/{meetingId}"): _both("meeting:read:meeting"),
    ("PATCH", "/meetings/{meetingId}"): _both("meeting:update:meeting"),
    ("DELETE", "/meetings/{meetingId}"): _both("meeting:delete:meeting"),
    ("GET", "/meetings/{meetingId}/registrants"): _both("meeting:read:list_registrants"),
    ("POST", "/meetings/{meetingId}/registrants"): _both("meeting:write:registrant"),
    ("PUT", "/meetings/{meetingId}/registrants/status"): _both("meeting:update:registrant_status"),
    ("DELETE", "/meetings/{meetingId}/registrants/{registrantId}"): _both(
        "meeting:delete:registrant"
    ),
    ("GET", "/meetings/{meetingId}/recordings"): _both("cloud_recording:read:list_recording_files"),
    ("GET", "/users/{userId}/recordings"): _both("cloud_recording:read:list_user_recordings"),
    ("GET", "/past_meetings/{meetingId}"): _both("meeting:read:past_meeting"),
    ("GET", "/past_meetings/{meetingId}/instances"): _both("meeting:read:list_past_instances"),
    ("GET", "/past_meetings/{meetingId}/participants"): _both(
        "meeting:read:list_past_participants"
    ),
}


@dataclass(frozen=True)
class _Entry:
    op: ApiOperation
    params: tuple[dict[str, Any], ...]  # {"name", "in": "path" | "query", "required", "schema"}
    body: dict[str, Any] | None  # {"content_type", "schema"}; None: the operation takes none


@dataclass(frozen=True)
class _Catalog:
    entries: dict[tuple[str, str], _Entry]
    segments: dict[str, tuple[str, ...]]  # template → its segments
    methods: dict[str, tuple[str, ...]]  # template → its methods, in METHODS order
    by_length: dict[int, tuple[str, ...]]  # number of segments → templates
    source: dict[str, Any]


@functools.cache
def _catalog() -> _Catalog:
    text = resources.files("meetbridge.integrations.zoom").joinpath(DATA_FILE).read_text("utf-8")
    data = json.loads(text)
    entries: dict[tuple[str, str], _Entry] = {}
    for raw in data["operations"]:
        key = (raw["method"], raw["template"])
        granular = tuple(raw["granular_scopes"])
        granular += tuple(s for s in GRANULAR.get(key, ()) if s not in granular)
        op = ApiOperation(
            method=raw["method"],
            template=raw["template"],
            operation_id=raw["operation_id"],
            summary=raw["summary"],
            classic_scopes=tuple(raw["classic_scopes"]),
            granular_scopes=granular,
            label=raw["label"],
        )
        entries[key] = _Entry(op, tuple(raw["params"]), raw["body"])
    segments: dict[str, tuple[str, ...]] = {}
    methods: dict[str, list[str]] = {}
    for method, template in entries:
        segments[template] = tuple(template[1:].split("/"))
        methods.setdefault(template, []).append(method)
    by_length: dict[int, list[str]] = {}
    for template, segs in segments.items():
        by_length.setdefault(len(segs), []).append(template)
    return _Catalog(
        entries=entries,
        segments=segments,
        methods={t: tuple(sorted(ms, key=METHODS.index)) for t, ms in methods.items()},
        by_length={n: tuple(ts) for n, ts in by_length.items()},
        source=data["source"],
    )


def operations() -> list[ApiOperation]:
    """Every operation in the document, by path then method (the editor's path picker)."""
    entries = _catalog().entries
    return [entries[k].op for k in sorted(entries, key=lambda k: (k[1], METHODS.index(k[0])))]


def _is_param(segment: str) -> bool:
    return segment.startswith("{") and segment.endswith("}")


def _split(path: str) -> list[str]:
    """The segments after "/v2/"; each {{ … }} chunk becomes one _MASK character, so that a
    template's own "/" or "?" does not split or end the path."""
    return _TEMPLATE.sub(_MASK, path[len("/v2/") :]).split("/")


def _candidates(segments: list[str]) -> list[str]:
    """The templates the segments fit, the most literal first (as Zoom routes /users/email to
    "Check a user email", not to "Get a user" with userId=email). A segment holding a
    template fits only a path parameter."""
    cat = _catalog()
    found = []
    for template in cat.by_length.get(len(segments), ()):
        fits = True
        for mine, theirs in zip(segments, cat.segments[template], strict=True):
            if not mine or (not _is_param(theirs) and (mine != theirs or _MASK in mine)):
                fits = False
                break
        if fits:
            found.append(template)
    return sorted(found, key=lambda t: [not _is_param(s) for s in cat.segments[t]], reverse=True)


def _lookup(method: str, segments: list[str]) -> tuple[_Entry | None, list[str]]:
    """The operation, and the templates the path fits (whatever the method)."""
    entries = _catalog().entries
    candidates = _candidates(segments)
    for template in candidates:
        entry = entries.get((method, template))
        if entry is not None:
            return entry, candidates
    return None, candidates


def find_operation(method: str, path: str) -> ApiOperation | None:
    """The operation a call to `path` ("/v2/...") would reach. A segment holding a template
    ("{{ steps.meeting.zoom_id }}", any {{ … }} chunk) matches any path parameter."""
    if not path.startswith("/v2/"):
        return None
    entry, _ = _lookup(method.strip().upper(), _split(path))
    return entry.op if entry is not None else None


def _closest(segments: list[str]) -> str | None:
    """The known path most like an unknown one, with its parameters filled from the call's own
    segments where they line up ("/v2/meeting/123" → "/v2/meetings/{meetingId}")."""
    cat = _catalog()
    mine = "/".join(segments)
    best, best_ratio = None, 0.0
    for template, theirs in cat.segments.items():
        filled = "/".join(
            segments[i] if _is_param(s) and i < len(segments) else s for i, s in enumerate(theirs)
        )
        ratio = difflib.SequenceMatcher(None, mine, filled, autojunk=False).ratio()
        if ratio > best_ratio:
            best, best_ratio = template, ratio
    return "/v2" + best if best is not None and best_ratio >= 0.6 else None


def check_call(
    method: str,
    path: str,
    *,
    query: dict[str, Any] | None = None,
    body: Any = None,
    templated: bool = False,
) -> ApiOperation:
    """The operation a call reaches, or CallRefused naming every problem with it: the method,
    a path outside /v2 or not in Zoom's document (with the closest known path), path and query
    parameters, and the body (none on GET and DELETE, none where the operation takes none,
    else matching the document's schema: types, required fields, enums, lengths, ranges).

    With `templated`, the call is a workflow step that is rendered later: a path segment or a
    scalar value holding a {{ … }} template is accepted (the rest is checked), but a template
    cannot stand for a whole object or list. Without it, a {{ in the path is refused. `body`
    None means no body; an empty dict is a body."""
    problems: list[str] = []
    verb = method.strip().upper() if isinstance(method, str) else ""
    if verb not in METHODS:
        problems.append(
            f'"{method}" is not a method Zoom\'s API takes (GET, POST, PUT, PATCH or DELETE)'
        )
    elif verb in _NO_BODY and body is not None:
        problems.append(f"A {verb} call takes no body")

    segments = _path_problems(path, templated, problems)
    if segments is None:
        raise CallRefused(problems)
    entry, candidates = _lookup(verb, segments)
    if not candidates:
        closest = _closest(segments)
        hint = f"; the closest is {closest}" if closest else ""
        problems.append(f"Zoom's API has no path {_shown_path(path)}{hint}")
    elif entry is None and verb in METHODS:
        template = candidates[0]
        takes = ", ".join(_catalog().methods[template])
        problems.append(f"{verb} is not available on /v2{template}; it takes {takes}")
    if entry is None:
        raise CallRefused(problems)

    _check_path_params(entry, segments, problems)
    _check_query(entry, query or {}, templated, problems)
    if verb not in _NO_BODY:
        _check_body(entry, body, templated, problems)
    if problems:
        raise CallRefused(problems)
    return entry.op


def _shown_path(path: str) -> str:
    return path if len(path) <= 80 else path[:79] + "…"


def _path_problems(path: Any, templated: bool, problems: list[str]) -> list[str] | None:
    """The path's segments, or None (after adding why) when it cannot be looked up."""
    if not isinstance(path, str) or not path.strip():
        problems.append("The path is empty; it starts with /v2/, e.g. /v2/users/me/meetings")
        return None
    if path.startswith(("http://", "https://")):
        problems.append("Give the path only, starting with /v2/, not a full URL")
        return None
    if not path.startswith("/v2/"):
        rest = path if path.startswith("/") else "/" + path
        meant = rest if rest.startswith("/v2/") else "/v2" + rest  # "v2/users" or "/users"
        hint = f"; did you mean {meant}?" if _candidates(_split(meant)) else ""
        problems.append(
            f"The path must start with /v2/ (Zoom's REST API), got {_shown_path(path)}{hint}"
        )
        return None
    masked = _TEMPLATE.sub(_MASK, path)
    before = len(problems)
    if "{{" in masked or "}}" in masked:
        problems.append("The path has a {{ without its }} (or the other way round)")
    if _MASK in masked and not templated:
        problems.append("The path still holds a {{ … }} template; it must be filled in first")
    if "?" in masked or "#" in masked:
        problems.append("Query parameters go in the query, not in the path")
    segments = _split(path)
    if any(s == "" for s in segments):
        problems.append("The path has an empty segment (a // or a trailing /)")
    if any(s in (".", "..") for s in segments):
        problems.append('The path may not hold "." or ".." segments')
    for s in segments:
        if _OPENAPI_PLACEHOLDER.fullmatch(s):
            problems.append(
                f"Replace {s} in the path with a value (or a template such as "
                "{{ steps.meeting.zoom_id }})"
            )
    return segments if len(problems) == before else None


def _check_path_params(entry: _Entry, segments: list[str], problems: list[str]) -> None:
    schemas = {p["name"]: p["schema"] for p in entry.params if p["in"] == "path"}
    template = _catalog().segments[entry.op.template]
    for mine, theirs in zip(segments, template, strict=True):
        name = theirs[1:-1]
        if _is_param(theirs) and _MASK not in mine and name in schemas:
            _check(schemas[name], mine, f"The path's {{{name}}}", "", problems, text=True)


def _check_query(
    entry: _Entry, query: dict[str, Any], templated: bool, problems: list[str]
) -> None:
    known = {p["name"]: p for p in entry.params if p["in"] == "query"}
    for name, param in known.items():
        if param["required"] and name not in query:
            problems.append(f'The query parameter "{name}" is required')
    for name, value in query.items():
        p = known.get(name)
        if p is None:
            close = difflib.get_close_matches(str(name), known, n=1, cutoff=0.75)
            if close:
                hint = f'; did you mean "{close[0]}"?'
            elif known:
                hint = f" (it takes {', '.join(known)})"
            else:
                hint = " (it takes none)"
            problems.append(f'Query parameter "{name}" is not one this call takes{hint}')
        elif value is None:
            problems.append(f'Query parameter "{name}" has no value')
        else:
            label = f'Query parameter "{name}"'
            _check(p["schema"], value, label, "", problems, text=True, templated=templated)


def _check_body(entry: _Entry, body: Any, templated: bool, problems: list[str]) -> None:
    spec = entry.body
    call = f"{entry.op.method} /v2{entry.op.template}"
    if spec is None:
        if body is not None:
            problems.append(f"{call} takes no body")
        return
    if spec["content_type"] != "application/json":
        problems.append(f"{call} uploads a file ({spec['content_type']}), which a step cannot send")
        return
    schema = spec["schema"]
    if body is None:
        required = schema.get("required", [])
        if required:
            fields = ", ".join(f'"{f}"' for f in required)
            problems.append(f"{call} needs a body with {fields}")
        return
    _check(schema, body, "", "", problems, templated=templated)


# What a value of each JSON Schema type is, in the words of a message.
_KIND = {
    "string": "text",
    "integer": "a whole number",
    "number": "a number",
    "boolean": "true or false",
    "object": "an object ({…})",
    "array": "a list ([…])",
}
_DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?")
_INTEGER = re.compile(r"-?\d+")
_NUMBER = re.compile(r"-?\d+(\.\d+)?([eE][+-]?\d+)?")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def _shown(value: Any) -> str:
    try:
        text = json.dumps(value, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= 40 else text[:39] + "…"


def _label(fixed: str, at: str) -> str:
    if fixed:
        return fixed
    return f'Body field "{at}"' if at else "The body"


def _scalar(schema: dict[str, Any]) -> bool:
    """Whether a single rendered value (a template) can stand where `schema` is expected."""
    if "oneOf" in schema:
        return any(_scalar(alt) for alt in schema["oneOf"])
    return schema.get("type") not in ("object", "array")


def _typed(kind: str, value: Any, text: bool) -> tuple[bool, Any]:
    """Whether `value` is of JSON type `kind`, and the value to check further. `text`: it will
    be sent as text (a path segment or a query parameter), so "5" is a whole number and 5 is
    text."""
    if kind == "string":
        if text and isinstance(value, (int, float)) and not isinstance(value, bool):
            return True, str(value)
        return isinstance(value, str), value
    if kind in ("integer", "number"):
        if isinstance(value, bool):
            return False, value
        if text and isinstance(value, str):
            if not (_INTEGER if kind == "integer" else _NUMBER).fullmatch(value):
                return False, value
            return True, int(value) if kind == "integer" else float(value)
        if kind == "integer":
            if isinstance(value, float) and value.is_integer():
                return True, int(value)
            return isinstance(value, int), value
        return isinstance(value, (int, float)), value
    if kind == "boolean":
        if text and value in ("true", "false"):
            return True, value == "true"
        return isinstance(value, bool), value
    if kind == "object":
        return isinstance(value, dict), value
    if kind == "array":
        return isinstance(value, list), value
    return True, value


def _in_enum(value: Any, enum: list[Any]) -> bool:
    return any(value == e and isinstance(value, bool) == isinstance(e, bool) for e in enum)


def _check(
    schema: dict[str, Any],
    value: Any,
    fixed: str,
    at: str,
    problems: list[str],
    *,
    text: bool = False,
    templated: bool = False,
) -> None:
    """Adds to `problems` where `value` does not match `schema` (the subset of JSON Schema the
    document uses). `fixed` names the value in messages; else it is the body (`at` is the
    field's dotted path in it)."""
    label = _label(fixed, at)
    if templated and isinstance(value, str) and "{{" in value:
        if not _scalar(schema):
            what = _KIND[schema["type"]]
            problems.append(f"{label} must be {what}; a {{{{ … }}}} template stands for one value")
        return
    if "oneOf" in schema:
        tries: list[list[str]] = []
        for alt in schema["oneOf"]:
            found: list[str] = []
            _check(alt, value, fixed, at, found, text=text, templated=templated)
            if not found:
                break
            tries.append(found)
        else:
            if tries:
                closest: list[str] = min(tries, key=len)  # the alternative nearest to fit
                problems.extend(closest)
                return
    enum = schema.get("enum")
    kind = schema.get("type")
    if isinstance(kind, str):
        ok, value = _typed(kind, value, text)
        if not ok:
            if enum:
                choices = ", ".join(_shown(e) for e in enum)
                problems.append(f"{label} must be one of {choices} (got {_shown(value)})")
            else:
                problems.append(f"{label} must be {_KIND.get(kind, kind)} (got {_shown(value)})")
            return
    if enum and not _in_enum(value, enum):
        choices = ", ".join(_shown(e) for e in enum)
        problems.append(f"{label} must be one of {choices} (got {_shown(value)})")
        return
    if isinstance(value, str):
        _check_string(schema, value, label, problems)
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            problems.append(f"{label} must be at least {schema['minimum']} (got {_shown(value)})")
        if "maximum" in schema and value > schema["maximum"]:
            problems.append(f"{label} must be at most {schema['maximum']} (got {_shown(value)})")
    elif isinstance(value, list):
        _check_list(schema, value, fixed, at, problems, templated)
    elif isinstance(value, dict):
        _check_object(schema, value, fixed, at, problems, templated)


def _check_string(schema: dict[str, Any], value: str, label: str, problems: list[str]) -> None:
    if "maxLength" in schema and len(value) > schema["maxLength"]:
        problems.append(
            f"{label} may be at most {schema['maxLength']} characters long (got {len(value)})"
        )
    if "minLength" in schema and len(value) < schema["minLength"]:
        problems.append(f"{label} must be at least {schema['minLength']} characters long")
    fmt = schema.get("format")
    if fmt == "date":
        try:
            dt.date.fromisoformat(value)
            ok = len(value) == 10
        except ValueError:
            ok = False
        if not ok:
            problems.append(f"{label} must be a date such as 2024-05-31 (got {_shown(value)})")
    elif fmt == "date-time":
        ok = bool(_DATE_TIME.fullmatch(value))
        if ok:
            try:
                dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError:
                ok = False
        if not ok:
            problems.append(
                f"{label} must be a date and time such as 2024-05-31T09:30:00Z, or without the Z "
                f"for the time zone given in timezone (got {_shown(value)})"
            )
    elif fmt == "email" and not _EMAIL.fullmatch(value):
        problems.append(f"{label} must be an email address (got {_shown(value)})")


def _check_list(
    schema: dict[str, Any],
    value: list[Any],
    fixed: str,
    at: str,
    problems: list[str],
    templated: bool,
) -> None:
    label = _label(fixed, at)
    if "minItems" in schema and len(value) < schema["minItems"]:
        problems.append(f"{label} must hold at least {schema['minItems']} items")
    if "maxItems" in schema and len(value) > schema["maxItems"]:
        problems.append(f"{label} may hold at most {schema['maxItems']} items (got {len(value)})")
    if schema.get("uniqueItems"):
        seen = [json.dumps(v, sort_keys=True, default=str) for v in value]
        if len(set(seen)) != len(seen):
            problems.append(f"{label} holds the same item twice")
    items = schema.get("items")
    if isinstance(items, dict):
        for i, item in enumerate(value):
            _check(items, item, fixed, f"{at}[{i}]", problems, templated=templated)


def _check_object(
    schema: dict[str, Any],
    value: dict[Any, Any],
    fixed: str,
    at: str,
    problems: list[str],
    templated: bool,
) -> None:
    label = _label(fixed, at)
    props: dict[str, Any] = schema.get("properties", {})
    for name in schema.get("required", []):
        if name not in value:
            problems.append(f'{label} is missing the required field "{name}"')
    for name, item in value.items():
        where = f"{at}.{name}" if at else str(name)
        sub = props.get(name) if isinstance(name, str) else None
        if sub is None:
            # Unknown fields are ignored by Zoom, and the document does not forbid them (it
            # may be older than the field); a near miss of a known one is a typo, though.
            close = difflib.get_close_matches(str(name), props, n=1, cutoff=0.8)
            if close:
                problems.append(
                    f"{_label(fixed, where)} is not a field Zoom knows here; did you mean "
                    f'"{close[0]}"?'
                )
            continue
        _check(sub, item, fixed, where, problems, templated=templated)


def scopes_missing(op: ApiOperation, granted: frozenset[str]) -> list[str]:
    """[] when the granted scopes allow `op`: any one of its classic scopes, or any one of its
    granular scopes (a granular "x:y:z" is also satisfied by "x:y:z:admin"). Else the scopes any
    one of which would do, granular first (new apps are given granular scopes [GRAN])."""
    if not op.classic_scopes and not op.granular_scopes:
        return []
    if any(s in granted for s in op.classic_scopes):
        return []
    if any(s in granted or f"{s}:admin" in granted for s in op.granular_scopes):
        return []
    return list(dict.fromkeys((*op.granular_scopes, *op.classic_scopes)))

"""A workflow's "Call API" step is checked against Zoom's own OpenAPI document before anything is
sent: a path outside /v2 or not in the document, a wrong method, a bad query or body is refused
with every reason at once; a good call comes back with the scopes it needs and its rate-limit
label.

The shipped document is a digest of Zoom's; `test_the_shipped_digest_is_zooms_document` makes
it from the original and fails when they differ (run it with MEETBRIDGE_WRITE_ZOOM_OPENAPI=1 to
rewrite the shipped file). It is skipped where the original is not on the machine."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import time
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from meetbridge.integrations.zoom import openapi
from meetbridge.integrations.zoom.openapi import (
    ApiOperation,
    CallRefused,
    check_call,
    find_operation,
    operations,
    scopes_missing,
)

SHIPPED = Path(openapi.__file__).with_name(openapi.DATA_FILE)
ORIGINAL = Path(
    os.environ.get(
        "MEETBRIDGE_ZOOM_OPENAPI_ORIGINAL",
        "/work/shared/zoom-openapi/ZoomMeetingAPISpec.2023-10.shr968-Prokalp.json",
    )
)
# Where the original came from (shared/zoom-openapi/SOURCE.md): a copy of the document Zoom
# serves from developers.zoom.us, checked into a public repository.
ORIGIN = {
    "document": "Zoom Meeting API (OpenAPI 3.0), as downloaded from developers.zoom.us",
    "repository": "https://github.com/shr968/Prokalp",
    "path": "ZoomMeetingAPISpec.json",
    "commit": "8bf2d7465ba71c465a2f1ad6d1d5e641d7e17b32",
    "committed": "2023-10-25",
    "terms": "https://zoom.us/docs/en-us/zoom_api_license_and_tou.html",
}

# --- the digest: what of Zoom's document is shipped ---------------------------------------

# JSON Schema keywords the checks use; descriptions, examples, defaults, titles and
# x-enum-descriptions are dropped (they are most of the 1.9 MB).
_KEEP = ("type", "required", "enum", "maxLength", "minLength", "maximum", "minimum")
_KEEP += ("maxItems", "minItems", "uniqueItems")
_FORMATS = ("date", "date-time", "email")  # the formats the checks can tell for sure
_LABEL = re.compile(r"Rate Limit Label[^`]*`\s*([A-Za-z-]+)\s*`")


def _schema(schema: dict[str, Any]) -> dict[str, Any]:
    assert "$ref" not in schema, "the document has no $refs; resolve them if a new one has"
    out = {k: schema[k] for k in _KEEP if k in schema}
    if schema.get("format") in _FORMATS:
        out["format"] = schema["format"]
    if "properties" in schema:
        out["properties"] = {k: _schema(v) for k, v in schema["properties"].items()}
    if "items" in schema:
        assert isinstance(schema["items"], dict)
        out["items"] = _schema(schema["items"])
    if "oneOf" in schema:
        out["oneOf"] = [_schema(s) for s in schema["oneOf"]]
    for unsupported in ("allOf", "anyOf", "not", "additionalProperties", "pattern", "nullable"):
        assert unsupported not in schema, f"{unsupported}: teach openapi._check first"
    return out


def _label(description: str) -> str | None:
    found = _LABEL.search(description)
    if found is None:
        return None
    label = {x.lower(): x for x in openapi.LABELS}.get(found.group(1).lower())
    assert label is not None, f"an unknown rate-limit label: {found.group(1)}"
    return label


def digest(spec: dict[str, Any], sha256: str) -> str:
    """The text of the shipped file, made from Zoom's document: one operation per line."""
    assert spec["servers"] == [{"url": "https://api.zoom.us/v2"}]
    ops = []
    for template, item in spec["paths"].items():
        for method, op in item.items():
            assert method.upper() in openapi.METHODS, (template, method)
            classic: list[str] = []
            for requirement in op.get("security", []):
                classic += [s for s in requirement.get("openapi_oauth", []) if s not in classic]
            body = None
            if "requestBody" in op:
                ((content_type, media),) = op["requestBody"]["content"].items()
                body = {"content_type": content_type, "schema": _schema(media.get("schema", {}))}
            ops.append(
                {
                    "method": method.upper(),
                    "template": template,
                    "operation_id": op["operationId"],
                    "summary": op.get("summary", "").strip(),
                    "classic_scopes": classic,
                    "granular_scopes": op.get("extensions", {}).get("x-granular-scopes", []),
                    "label": _label(op.get("description", "")),
                    "params": [
                        {
                            "name": p["name"],
                            "in": p["in"],
                            "required": bool(p.get("required", False)),
                            "schema": _schema(p.get("schema", {})),
                        }
                        for p in op.get("parameters", [])
                        if p["in"] in ("path", "query")
                    ],
                    "body": body,
                }
            )
    ops.sort(key=lambda o: (o["template"], openapi.METHODS.index(o["method"])))
    source = {
        **ORIGIN,
        "openapi": spec["openapi"],
        "info_version": spec["info"]["version"],
        "sha256": sha256,
        "kept": "per operation: method, path, operationId, summary, classic scopes "
        "(security.openapi_oauth), granular scopes (extensions.x-granular-scopes), the Rate "
        "Limit Label (from the description), path and query parameters and the request body "
        "schema, without descriptions, examples and responses",
    }
    dump = json.dumps
    lines = [dump(o, ensure_ascii=False, sort_keys=True, separators=(",", ":")) for o in ops]
    return (
        "{\n"
        f'"source": {dump(source, ensure_ascii=False, sort_keys=True, indent=1)},\n'
        '"operations": [\n' + ",\n".join(lines) + "\n]\n}\n"
    )


def test_the_shipped_digest_is_zooms_document() -> None:
    if not ORIGINAL.exists():
        pytest.skip(f"Zoom's original document is not here ({ORIGINAL})")
    raw = ORIGINAL.read_bytes()
    made = digest(json.loads(raw), hashlib.sha256(raw).hexdigest())
    if os.environ.get("MEETBRIDGE_WRITE_ZOOM_OPENAPI") == "1":
        SHIPPED.write_text(made, encoding="utf-8")
    assert SHIPPED.read_text(encoding="utf-8") == made, (
        "the shipped digest is not the original's: MEETBRIDGE_WRITE_ZOOM_OPENAPI=1 rewrites it"
    )
    assert len(operations()) == 281  # SOURCE.md: 190 paths, 281 operations


# --- the shipped file ------------------------------------------------------------------------


def test_the_shipped_file_loads_quickly_once() -> None:
    openapi._catalog.cache_clear()
    started = time.perf_counter()
    first = operations()
    took = time.perf_counter() - started
    print(
        f"\nzoom_meeting_api.json: {SHIPPED.stat().st_size:,} bytes, loaded in {took * 1000:.1f} ms"
    )
    assert took < 0.3
    started = time.perf_counter()
    again = operations()
    assert time.perf_counter() - started < 0.01  # cached: no second read
    assert again == first and len(first) == 281
    assert openapi._catalog() is openapi._catalog()


def test_the_file_is_part_of_the_installed_package() -> None:
    # Hatch puts every file under the wheel's package directories into the wheel, .py or not,
    # except what git ignores or [tool.hatch.build] excludes. (Checked once by building the
    # wheel with hatchling 1.33 and installing it into a bare venv: the file is there and loads.)
    root = Path(openapi.__file__).parents[4]
    build = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["hatch"]["build"]
    assert "src/meetbridge" in build["targets"]["wheel"]["packages"]
    assert "exclude" not in build and "exclude" not in build["targets"]["wheel"]
    ignored = subprocess.run(["git", "check-ignore", "-q", str(SHIPPED)], cwd=root, check=False)
    if ignored.returncode == 128:
        pytest.skip("not a git checkout")
    assert ignored.returncode == 1, "git ignores the shipped document: hatch would leave it out"
    assert openapi.DATA_FILE in [
        f.name for f in resources.files("meetbridge.integrations.zoom").iterdir()
    ]


# --- paths and methods -----------------------------------------------------------------------


def _refused(method: str, path: str, **kwargs: Any) -> tuple[str, ...]:
    with pytest.raises(CallRefused) as caught:
        check_call(method, path, **kwargs)
    assert str(caught.value) == "; ".join(caught.value.problems)
    return caught.value.problems


def test_a_path_outside_v2_is_refused_with_the_reason() -> None:
    (problem,) = _refused("GET", "/users/me")
    assert "must start with /v2/" in problem
    assert "did you mean /v2/users/me?" in problem
    assert _refused("GET", "v2/users")[0].endswith("did you mean /v2/users?")
    (problem,) = _refused("GET", "/v1/users")
    assert "must start with /v2/" in problem and "did you mean" not in problem
    (problem,) = _refused("GET", "https://api.zoom.us/v2/users")
    assert "not a full URL" in problem
    (problem,) = _refused("GET", "")
    assert "empty" in problem


def test_an_unknown_path_is_refused_with_the_closest_known_one() -> None:
    (problem,) = _refused("GET", "/v2/meeting/85746065432")
    assert problem == (
        "Zoom's API has no path /v2/meeting/85746065432; the closest is /v2/meetings/{meetingId}"
    )
    (problem,) = _refused("POST", "/v2/users/me/meeting")
    assert problem.endswith("the closest is /v2/users/{userId}/meetings")
    assert find_operation("GET", "/v2/meeting/85746065432") is None


def test_a_method_the_path_does_not_take_is_refused_naming_those_it_does() -> None:
    (problem,) = _refused("POST", "/v2/meetings/85746065432")
    assert (
        problem == "POST is not available on /v2/meetings/{meetingId}; it takes GET, PATCH, DELETE"
    )
    (problem,) = _refused("FETCH", "/v2/users")
    assert "FETCH" in problem and "GET, POST, PUT, PATCH or DELETE" in problem


def test_malformed_paths_are_refused_before_the_lookup() -> None:
    assert "trailing /" in _refused("GET", "/v2/users/")[0]
    assert "query" in _refused("GET", "/v2/users?status=active")[0]
    assert '".."' in _refused("GET", "/v2/users/../accounts")[0]
    (problem,) = _refused("GET", "/v2/users/{userId}/meetings")
    assert problem.startswith("Replace {userId} in the path with a value")
    (problem,) = _refused("GET", "/v2/meetings/{{ steps.meeting.zoom_id }}")
    assert "template" in problem  # not templated: it would be sent as it is


def test_get_users_is_known_with_its_scopes_and_label() -> None:
    op = check_call("GET", "/v2/users", query={"status": "active", "page_size": 300})
    assert op == ApiOperation(
        method="GET",
        template="/users",
        operation_id="users",
        summary="List users",
        classic_scopes=("user:read:admin",),
        granular_scopes=("user:read:list_users:admin",),
        label="Medium",
    )
    assert find_operation("get", "/v2/users") == op


def test_literal_paths_win_over_parameters() -> None:
    # Zoom routes /users/email to "Check a user email", not to "Get a user" with userId=email.
    op = check_call("GET", "/v2/users/email", query={"email": "ada@example.com"})
    assert op.operation_id == "userEmail"
    assert check_call("GET", "/v2/users/me").operation_id == "user"
    # …but a literal that does not take the method falls to the parameter route.
    assert check_call("PATCH", "/v2/users/email", body={}).operation_id == "userUpdate"


def test_a_templated_path_matches_the_operation() -> None:
    path = "/v2/meetings/{{ steps.meeting.zoom_id }}/registrants"
    op = find_operation("POST", path)
    assert op is not None and op.operation_id == "meetingRegistrantCreate"
    body = {"email": "{{ trigger.email }}", "first_name": "{{ trigger.name }}"}
    assert check_call("POST", path, body=body, templated=True) == op
    assert find_operation("GET", path) == check_call("GET", path, templated=True)
    # A template stands for a parameter, never for a fixed part of the path.
    assert find_operation("GET", "/v2/{{ steps.x.kind }}/85746065432") is None
    # Its own "/" or "?" does not split the path.
    assert find_operation("GET", "/v2/meetings/{{ steps.x['a/b?c'] }}") is not None


def test_path_parameters_are_checked() -> None:
    (problem,) = _refused("GET", "/v2/meetings/abc")
    assert problem == 'The path\'s {meetingId} must be a whole number (got "abc")'
    assert check_call("GET", "/v2/meetings/85746065432").operation_id == "meeting"
    # Recordings take a meeting ID or a UUID.
    assert check_call("GET", "/v2/meetings/4444AAAiAAAAAiAiAiiAii==/recordings")


# --- query parameters ------------------------------------------------------------------------


def test_query_parameters_are_checked_against_the_document() -> None:
    problems = _refused(
        "GET",
        "/v2/users",
        query={"status": "gone", "page_size": "500", "pagesize": 3, "colour": "red"},
    )
    assert problems == (
        'Query parameter "status" must be one of "active", "inactive", "pending" (got "gone")',
        'Query parameter "page_size" must be at most 300 (got 500)',
        'Query parameter "pagesize" is not one this call takes; did you mean "page_size"?',
        'Query parameter "colour" is not one this call takes (it takes status, page_size, '
        "role_id, page_number, include_fields, next_page_token, license)",
    )
    (problem,) = _refused("GET", "/v2/users/email")
    assert problem == 'The query parameter "email" is required'
    # Query values travel as text: "30" is a whole number, "true" a boolean.
    check_call("GET", "/v2/users", query={"page_size": "30"})
    check_call("GET", "/v2/meetings/85746065432", query={"show_previous_occurrences": "true"})
    assert "whole number" in _refused("GET", "/v2/users", query={"page_size": "thirty"})[0]
    check_call("GET", "/v2/users", query={"page_size": "{{ steps.x.n }}"}, templated=True)


# --- bodies ----------------------------------------------------------------------------------


def test_a_bad_meeting_body_names_every_field() -> None:
    problems = _refused("POST", "/v2/users/me/meetings", body={"type": "x", "duration": "abc"})
    assert problems == (
        'Body field "type" must be one of 1, 2, 3, 8 (got "x")',
        'Body field "duration" must be a whole number (got "abc")',
    )


def test_a_good_meeting_body_passes() -> None:
    body = {
        "topic": "Weekly sync",
        "type": 2,
        "start_time": "2024-05-31T09:30:00",  # local time, with timezone (or UTC with a Z)
        "timezone": "Europe/Berlin",
        "duration": 30,
        "settings": {"approval_type": 0, "waiting_room": True, "auto_recording": "cloud"},
    }
    op = check_call("POST", "/v2/users/me/meetings", body=body)
    assert op.operation_id == "meetingCreate" and op.label == "Medium"
    assert op.granular_scopes == ("meeting:write:meeting", "meeting:write:meeting:admin")
    check_call("POST", "/v2/users/me/meetings", body={**body, "start_time": "2024-05-31T07:30:00Z"})
    check_call("POST", "/v2/users/me/meetings", body=None)  # Zoom's defaults: no field required


def test_body_lengths_formats_nesting_and_typos() -> None:
    body = {
        "topic": "x" * 201,
        "password": "12345678901",
        "start_time": "31/05/2024 09:30",
        "settings": {"approval_type": 7, "jbh_time": "5"},
        "duraton": 30,
        "my_own_field": 1,  # unknown, not a typo: Zoom ignores it
    }
    problems = _refused("PATCH", "/v2/meetings/85746065432", body=body)
    assert problems == (
        'Body field "topic" may be at most 200 characters long (got 201)',
        'Body field "password" may be at most 10 characters long (got 11)',
        'Body field "start_time" must be a date and time such as 2024-05-31T09:30:00Z, or '
        'without the Z for the time zone given in timezone (got "31/05/2024 09:30")',
        'Body field "settings.approval_type" must be one of 0, 1, 2 (got 7)',
        'Body field "settings.jbh_time" must be one of 0, 5, 10 (got "5")',
        'Body field "duraton" is not a field Zoom knows here; did you mean "duration"?',
    )


def test_required_fields_and_nested_required_fields() -> None:
    path = "/v2/meetings/85746065432/registrants"
    problems = _refused("POST", path, body={"last_name": "Lovelace"})
    assert problems == (
        'The body is missing the required field "email"',
        'The body is missing the required field "first_name"',
    )
    (problem,) = _refused("POST", path)
    assert (
        problem
        == 'POST /v2/meetings/{meetingId}/registrants needs a body with "email", "first_name"'
    )
    problems = _refused("POST", "/v2/users", body={"action": "create", "user_info": {"type": 1}})
    assert problems == ('Body field "user_info" is missing the required field "email"',)
    (problem,) = _refused("POST", path, body={"email": "not-an-address", "first_name": "Ada"})
    assert problem == 'Body field "email" must be an email address (got "not-an-address")'


def test_bodies_where_none_belongs() -> None:
    (problem,) = _refused("GET", "/v2/users", body={"status": "active"})
    assert problem == "A GET call takes no body"
    (problem,) = _refused("DELETE", "/v2/meetings/85746065432", body={})
    assert problem == "A DELETE call takes no body"
    path = "/v2/webinars/85746065432/branding/virtual_backgrounds"
    (problem,) = _refused("PATCH", path, query={"id": "a"}, body={"id": "a"})
    assert problem == "PATCH /v2/webinars/{webinarId}/branding/virtual_backgrounds takes no body"
    (problem,) = _refused("POST", "/v2/users/me/picture", body={})
    assert "uploads a file (multipart/form-data)" in problem
    (problem,) = _refused("POST", "/v2/users/me/meetings", body=[{"topic": "a"}])
    assert problem == 'The body must be an object ({…}) (got [{"topic": "a"}])'


def test_every_problem_is_reported_at_once() -> None:
    problems = _refused("GET", "/v2/users", query={"status": "gone"}, body={"x": 1})
    assert len(problems) == 2
    problems = _refused("FETCH", "/v2/nowhere")
    assert len(problems) == 2


def test_templates_stand_for_single_values_only() -> None:
    path = "/v2/users/{{ trigger.host }}/meetings"
    body = {
        "topic": "Call with {{ trigger.name }}" + "x" * 300,  # its length is known only later
        "type": "{{ steps.choose.type }}",
        "duration": "{{ steps.choose.minutes }}",
        "settings": {"approval_type": "{{ steps.x.y }}"},
        "start_time": "{{ trigger.start }}",
    }
    assert check_call("POST", path, body=body, templated=True).operation_id == "meetingCreate"
    # Still checked: what is not a template.
    problems = _refused("POST", path, body={**body, "duration": "abc"}, templated=True)
    assert problems == ('Body field "duration" must be a whole number (got "abc")',)
    # A template is one value, not a whole object.
    problems = _refused("POST", path, body={**body, "settings": "{{ steps.x }}"}, templated=True)
    assert problems == (
        'Body field "settings" must be an object ({…}); a {{ … }} template stands for one value',
    )
    # Not templated: "{{" is just text, and not a whole number.
    problems = _refused("POST", "/v2/users/me/meetings", body=body)
    assert (
        'Body field "duration" must be a whole number (got "{{ steps.choose.minutes }}")'
        in problems
    )


# --- scopes ----------------------------------------------------------------------------------


def _op(method: str, path: str) -> ApiOperation:
    op = find_operation(method, path)
    assert op is not None
    return op


def test_scopes_missing_classic_and_granular() -> None:
    create = _op("POST", "/v2/users/me/meetings")
    assert scopes_missing(create, frozenset({"meeting:write"})) == []
    assert scopes_missing(create, frozenset({"meeting:write:admin"})) == []
    assert scopes_missing(create, frozenset({"meeting:write:meeting"})) == []
    assert scopes_missing(create, frozenset({"meeting:write:meeting:admin"})) == []
    assert scopes_missing(create, frozenset({"meeting:read", "meeting:read:meeting"})) == [
        "meeting:write:meeting",
        "meeting:write:meeting:admin",
        "meeting:write",
        "meeting:write:admin",
    ]
    # Granular: update and delete are scopes of their own, apart from write (ISS-COMPOSIO2863).
    delete = _op("DELETE", "/v2/meetings/85746065432")
    assert scopes_missing(delete, frozenset({"meeting:write:meeting"})) == [
        "meeting:delete:meeting",
        "meeting:delete:meeting:admin",
        "meeting:write:admin",
        "meeting:write",
    ]
    assert scopes_missing(delete, frozenset({"meeting:delete:meeting"})) == []
    # A user-level granular scope is also satisfied by its :admin form.
    users = _op("GET", "/v2/users")
    assert scopes_missing(users, frozenset({"user:read:list_users:admin"})) == []
    assert scopes_missing(users, frozenset({"user:read:user"})) == [
        "user:read:list_users:admin",
        "user:read:admin",
    ]
    user = _op("GET", "/v2/users/me")
    assert scopes_missing(user, frozenset({"user:read:user:admin"})) == []
    assert scopes_missing(user, frozenset({"user_info:read"})) == []


def test_the_granular_table_names_operations_the_document_has() -> None:
    for (method, template), names in openapi.GRANULAR.items():
        op = find_operation(method, "/v2" + template)
        assert op is not None and op.template == template, (method, template)
        assert set(names) <= set(op.granular_scopes)
    # Where the document has granular scopes too, they agree.
    assert (
        _op("POST", "/v2/users/me/meetings").granular_scopes
        == openapi.GRANULAR[("POST", "/users/{userId}/meetings")]
    )
    recordings = _op("GET", "/v2/meetings/85746065432/recordings")
    assert recordings.classic_scopes == ("recording:read", "phone_recording:read:admin")
    assert recordings.granular_scopes == (
        "cloud_recording:read:list_recording_files",
        "cloud_recording:read:list_recording_files:admin",
    )
    for method, path in [
        ("POST", "/v2/users"),
        ("GET", "/v2/users/me/meetings"),
        ("GET", "/v2/meetings/1/registrants"),
        ("PUT", "/v2/meetings/1/registrants/status"),
        ("GET", "/v2/past_meetings/1"),
        ("GET", "/v2/users/me/recordings"),
    ]:
        assert _op(method, path).granular_scopes, (method, path)


def test_operations_lists_every_operation_once_with_labels() -> None:
    ops = operations()
    assert len({(o.method, o.template) for o in ops}) == len(ops)
    assert {o.label for o in ops} == {None, *openapi.LABELS}
    assert sum(o.label is None for o in ops) == 1  # one description has no label
    by_id = {o.operation_id: o for o in ops}
    assert by_id["meeting"].label == "Light"
    assert by_id["meetingRegistrantCreate"].label == "Light"
    assert by_id["meetingRegistrants"].label == "Medium"
    # Four operations list no scope at all: nothing can be said to be missing.
    unscoped = [o for o in ops if not o.classic_scopes and not o.granular_scopes]
    assert len(unscoped) == 4
    assert scopes_missing(unscoped[0], frozenset()) == []

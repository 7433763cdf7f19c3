"""The API schema's limits are the server's: for each constraint the schema publishes on a
meeting, a value at the limit passes both the schema and the service's own rules, and a value
just past it is refused by both, naming the field. All broken fields are reported at once."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from fastapi.testclient import TestClient

from meetbridge.container import Container
from meetbridge.core.errors import ValidationFailed
from meetbridge.meetings import inputs
from meetbridge.meetings.inputs import MeetingInput
from tests.conftest import ORIGIN, Org

NOW = dt.datetime(2026, 12, 2, 12, 0, tzinfo=dt.UTC)
BASE: dict[str, Any] = {
    "title": "Planning",
    "start": "2027-01-04T10:00:00",
    "timezone": "Europe/Paris",
    "duration": 30,
}


def _schema(client: TestClient) -> dict[str, Any]:
    props: dict[str, Any] = client.get("/openapi.json").json()["components"]["schemas"][
        "MeetingIn"
    ]["properties"]
    return {
        k: next(a for a in v.get("anyOf", [v]) if a.get("type") != "null") for k, v in props.items()
    }


def _cases(schema: dict[str, Any]) -> list[tuple[str, Any, Any]]:
    """(field, a value at the schema's limit, a value just past it), from the schema itself."""
    cases: list[tuple[str, Any, Any]] = []
    for field, spec in schema.items():
        if "maxLength" in spec:
            n = spec["maxLength"]
            cases.append((field, "A" * n, "A" * (n + 1)))
        if spec.get("minLength", 0) > 0:
            n = spec["minLength"]
            cases.append((field, "A" * n, "A" * (n - 1)))
        number = int if spec.get("type") == "integer" else float  # JSON may say 1440.0
        if "maximum" in spec:
            cases.append((field, number(spec["maximum"]), number(spec["maximum"]) + 1))
        if "minimum" in spec:
            cases.append((field, number(spec["minimum"]), number(spec["minimum"]) - 1))
        if "maxItems" in spec:
            n = spec["maxItems"]
            cases.append(
                (field, [f"p{i}@x.test" for i in range(n)], [f"p{i}@x.test" for i in range(n + 1)])
            )
    return cases


def _service_refuses(field: str, value: Any) -> list[str]:
    """The fields the service's own rules refuse when `field` is `value` (no HTTP, no schema)."""
    data = {**BASE, "start": dt.datetime.fromisoformat(BASE["start"]), field: value}
    data.pop("project_id", None)
    known = {k: v for k, v in data.items() if k in MeetingInput.__dataclass_fields__}
    try:
        inputs.checked(MeetingInput(**known), NOW)
    except ValidationFailed as exc:
        return [e.field for e in exc.errors]
    return []


def _api_refuses(client: TestClient, org: Org, field: str, value: Any) -> list[str]:
    r = client.post("/api/v1/meetings", headers=org.headers, json={**BASE, field: value})
    if r.status_code != 422:
        return []
    return [f["field"].split(".")[0] for f in r.json()["error"]["fields"]]


def test_each_schema_limit_is_the_servers(client: TestClient, acme: Org) -> None:
    cases = _cases(_schema(client))
    checked = {field for field, _, _ in cases}
    assert {"title", "duration", "agenda", "passcode", "invitees", "timezone"} <= checked
    for field, at, past in cases:
        if field in ("timezone", "project_id", "host_zoom_user_id", "host_email"):
            continue  # names and IDs: the server checks them against what exists
        assert field not in _service_refuses(field, at), (field, "at")
        assert field in _service_refuses(field, past), (field, "past")
        assert field not in _api_refuses(client, acme, field, at), (field, "at")
        assert field in _api_refuses(client, acme, field, past), (field, "past")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("duration", True),  # a boolean is not a number of minutes
        ("duration", 30.5),
        ("duration", "30"),
        ("title", "   "),
        ("passcode", "with space"),
        ("passcode", "é"),
    ],
)
def test_what_the_server_refuses_the_schema_refuses(
    client: TestClient, acme: Org, field: str, value: Any
) -> None:
    assert _api_refuses(client, acme, field, value) == [field]
    assert field in _service_refuses(field, value)


def test_every_broken_field_is_reported_at_once(client: TestClient, acme: Org) -> None:
    body = {**BASE, "title": "", "duration": 0, "passcode": "!!", "agenda": "A" * 2001}
    r = client.post("/api/v1/meetings", headers=acme.headers, json=body)
    assert r.status_code == 422
    assert {f["field"] for f in r.json()["error"]["fields"]} == {
        "title",
        "duration",
        "passcode",
        "agenda",
    }
    # Past the schema, in the service's own rules too: title, start, zone, duration at once.
    with pytest.raises(ValidationFailed) as caught:
        inputs.checked(
            MeetingInput(title=" ", start=NOW, timezone="Nowhere/City", duration=0, passcode="!"),
            NOW,
        )
    assert [e.field for e in caught.value.errors] == ["title", "timezone", "duration", "passcode"]
    assert "title: must not be empty; timezone:" in caught.value.message


def test_a_members_broken_fields_are_reported_at_once(
    client: TestClient, container: Container, acme: Org
) -> None:
    body = {"email": "", "name": " ", "password": "short", "timezone": "x" * 65}
    r = client.post("/api/v1/members", headers=acme.headers, json=body)
    assert r.status_code == 422
    assert {f["field"] for f in r.json()["error"]["fields"]} == set(body)
    # The service's own rules, past the schema: every field at once as well.
    with pytest.raises(ValidationFailed) as caught:
        container.accounts.create_member(
            acme.owner,
            email="not-an-address",
            name=" ",
            role="boss",
            password="password123",
            timezone="Nowhere/City",
            origin=ORIGIN,
        )
    fields = [e.field for e in caught.value.errors]
    assert fields == ["email", "name", "role", "password", "timezone"]
    with pytest.raises(ValidationFailed) as caught:
        container.accounts.update_member(
            acme.owner, acme.owner.id, name="", email="@", timezone="Mars/Base", origin=ORIGIN
        )
    assert [e.field for e in caught.value.errors] == ["name", "email", "timezone"]

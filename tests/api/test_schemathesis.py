"""Property-based run over our own /openapi.json: every API operation, with data that fits the
schema and data that does not: no 5xx, every response matches the documented schema, status
codes and content type, and data the schema forbids is refused. The webhook (not in the
schema) gets random bytes and random signed JSON. Derandomized: the same cases every run."""

from __future__ import annotations

import json
import time
from typing import Any

import schemathesis
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from meetbridge.api.routes import ROUTERS
from meetbridge.container import Container
from meetbridge_sandbox.webhooks import sign
from tests.conftest import Org

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
FUZZ = settings(
    max_examples=8,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)


def test_every_api_operation_is_fuzzed(client: TestClient, acme: Org) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", client.app)
    operations = [result.ok() for result in schema.get_all_operations()]
    fuzzed = {(op.method.upper(), op.path) for op in operations}
    served = {
        (method, route.path)
        for router in ROUTERS
        for route in router.routes
        if isinstance(route, APIRoute) and route.include_in_schema
        for method in route.methods
    }
    assert fuzzed == served  # no API route escapes the schema, so none escapes the fuzzing
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            _fuzz(operation.as_strategy(generation_mode=mode), acme.headers, mode)


def _fuzz(strategy: Any, headers: dict[str, str], mode: GenerationMode) -> None:
    checks = CHECKS if mode.is_positive else [*CHECKS, negative_data_rejection]

    @given(case=strategy)
    @FUZZ
    def run(case: Any) -> None:
        case.call_and_validate(headers=headers, checks=checks)

    try:
        run()
    except Unsatisfiable:
        assert not mode.is_positive  # nothing to get wrong: an operation with no input


def _error(r: Any, *statuses: int) -> None:
    assert r.status_code in statuses, (r.status_code, r.text)
    assert set(r.json()["error"]) == {"code", "message", "fields"}


def test_the_webhook_refuses_any_unsigned_body(client: TestClient) -> None:
    @given(
        body=st.binary(max_size=2000),
        signature=st.text(max_size=80),
        stamp=st.text(alphabet="0123456789x", max_size=14),
    )
    @FUZZ
    def run(body: bytes, signature: str, stamp: str) -> None:
        headers = {
            "x-zm-signature": signature.encode("utf-8", "surrogatepass"),
            "x-zm-request-timestamp": stamp.encode(),
            "content-type": b"application/json",
        }
        r = client.post("/webhooks/zoom", content=body, headers=headers)  # type: ignore[arg-type]
        _error(r, 401)

    run()


def test_the_webhook_answers_any_signed_json(client: TestClient, container: Container) -> None:
    secret = container.settings.zoom_webhook_secret.get_secret_value()
    values = st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
        max_leaves=20,
    )
    events = st.sampled_from(
        ["meeting.updated", "meeting.deleted", "app_deauthorized", "endpoint.url_validation"]
    )
    bodies = st.one_of(
        values,
        st.fixed_dictionaries({"event": events | st.text(), "payload": values}),
        st.fixed_dictionaries(
            {
                "event": events,
                "event_ts": st.integers(),
                "payload": st.dictionaries(st.text(), values),
            }
        ),
    )

    @given(body=bodies)
    @FUZZ
    def run(body: Any) -> None:
        raw = json.dumps(body)
        now = str(int(time.time()))
        headers = {
            "content-type": "application/json",
            "x-zm-request-timestamp": now,
            "x-zm-signature": sign(secret, now, raw),
        }
        r = client.post("/webhooks/zoom", content=raw.encode(), headers=headers)
        assert r.status_code < 500, r.text
        if r.status_code >= 400:
            _error(r, 400, 422)

    run()

"""Hostile input gets a precise 4xx in the documented error shape, never a 500; a failure that
does happen is logged as a request (with its id) and counted in /metrics."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import httpx
import pytest
import structlog
from fastapi.testclient import TestClient

from meetbridge.app import create_app
from meetbridge.container import Container
from meetbridge.core.logging import configure_logging
from meetbridge_sandbox.webhooks import sign
from tests.conftest import PASSWORD, Org
from tests.support import LiveServer
from tests.web.test_pages import csrf, sign_in

MEETING = {"title": "Planning", "duration": 30, "timezone": "UTC"}


def _error_shape(r: httpx.Response, status: int) -> dict[str, object]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/json"), r.headers
    error: dict[str, object] = r.json()["error"]
    assert set(error) == {"code", "message", "fields"}
    return error


def _signed(c: Container, raw: bytes) -> dict[str, str]:
    now = str(int(time.time()))
    secret = c.settings.zoom_webhook_secret.get_secret_value()
    return {
        "content-type": "application/json",
        "x-zm-request-timestamp": now,
        "x-zm-signature": sign(secret, now, raw.decode("utf-8", "replace")),
    }


def test_non_ascii_csrf_token_is_refused_not_a_crash(client: TestClient, acme: Org) -> None:
    csrf(client.get("/signin").text)  # the anonymous cookie, as a browser would have it
    r = client.post("/signin", data={"email": "a@b.test", "password": "x", "csrf_token": "é"})
    assert r.status_code == 403
    sign_in(client, "owner@acme.test")
    r = client.post("/settings/tokens", data={"name": "x", "csrf_token": "jeton-é" * 10})
    assert r.status_code == 403


def test_webhook_answers_json_for_bad_signatures_and_bodies(
    client: TestClient, container: Container
) -> None:
    now = str(int(time.time()))
    hostile = {"x-zm-signature": "v0=é".encode(), "x-zm-request-timestamp": now.encode()}
    r = client.post("/webhooks/zoom", content=b"{}", headers=hostile)  # type: ignore[arg-type]
    assert _error_shape(r, 401)["code"] == "webhook_refused"
    _error_shape(client.post("/webhooks/zoom", content=b"{}"), 401)
    for raw, why in (
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
        (b'{"event": "x"', "not valid JSON"),
        (b"[1, 2]", "must be a JSON object"),
    ):
        r = client.post("/webhooks/zoom", content=raw, headers=_signed(container, raw))
        error = _error_shape(r, 422)
        assert why in str(error["message"]), error
    raw = b'{"event": "\xff"}'
    secret = container.settings.zoom_webhook_secret.get_secret_value()
    headers = {"x-zm-request-timestamp": now, "content-type": "application/json"}
    # Zoom signs the bytes; our signer takes text, so sign the latin-1 reading of the bytes.
    headers["x-zm-signature"] = sign(secret, now, raw.decode("latin-1"))
    r = client.post("/webhooks/zoom", content=raw, headers=headers)
    assert r.status_code in (401, 422) and r.json()["error"]


@pytest.mark.parametrize(
    ("start", "zone"),
    [
        ("9999-12-31T23:59:59-14:00", "UTC"),
        ("9999-12-31T23:00:00", "Etc/GMT+12"),
        ("0001-01-01T00:00:00+14:00", "UTC"),
    ],
)
def test_start_times_past_the_calendar_are_a_4xx(
    client: TestClient, acme: Org, start: str, zone: str
) -> None:
    r = client.post(
        "/api/v1/meetings", headers=acme.headers, json={**MEETING, "start": start, "timezone": zone}
    )
    error = _error_shape(r, 422)
    assert error["fields"] == [{"field": "start", "reason": "is too far from now"}], error


def test_start_past_the_calendar_in_the_web_form(client: TestClient, acme: Org) -> None:
    sign_in(client, "owner@acme.test")
    token = csrf(client.get("/meetings/new").text)
    form = {
        "title": "Far",
        "date": "9999-12-31",
        "time": "23:00",
        "timezone": "Etc/GMT+12",
        "duration": "30",
        "csrf_token": token,
    }
    r = client.post("/meetings/new", data=form)
    assert r.status_code == 422 and "too far from now" in r.text


def test_bodies_that_are_not_json_get_the_error_shape(client: TestClient, acme: Org) -> None:
    json_headers = {**acme.headers, "content-type": "application/json"}
    for raw, status, why in (
        (b'{"title": "\xff\xfe"}', 422, "not valid UTF-8"),
        (b"[" * 100_000 + b"]" * 100_000, 422, "nested too deeply"),
        (b'{"title": ', 422, "JSON"),
    ):
        r = client.post("/api/v1/meetings", content=raw, headers=json_headers)
        assert why in str(_error_shape(r, status)["message"]), r.text
    for content_type in (None, "text/plain", "application/x-www-form-urlencoded"):
        headers = dict(acme.headers)
        if content_type:
            headers["content-type"] = content_type
        r = client.post("/api/v1/meetings", content=json.dumps(MEETING), headers=headers)
        error = _error_shape(r, 415)
        assert "Content-Type: application/json" in str(error["message"])
        assert error["fields"][0]["field"] == "Content-Type"  # type: ignore[index]
    # A body-less POST needs no Content-Type.
    r = client.post("/api/v1/meetings/nope/retry", headers=acme.headers)
    assert _error_shape(r, 404)["code"] == "not_found"
    _error_shape(client.get("/api/v1/no-such-thing", headers=acme.headers), 404)


def test_bodies_over_the_limit_are_413_chunked_or_not(container: Container, acme: Org) -> None:
    """Over real HTTP: a declared length and a chunked body are both refused with 413."""
    limit = container.settings.max_body_bytes

    def chunks() -> Iterator[bytes]:
        for _ in range(limit // 4096 + 2):
            yield b" " * 4096

    headers = {**acme.headers, "content-type": "application/json"}
    with LiveServer(create_app(container)) as server, httpx.Client(base_url=server.url) as http:
        r = http.post("/api/v1/meetings", content=b" " * (limit + 1), headers=headers)
        assert _error_shape(r, 413)["code"] == "body_too_large"
        r = http.post("/api/v1/meetings", content=chunks(), headers=headers)
        assert _error_shape(r, 413)["code"] == "body_too_large"
        # A chunked body under the limit still reaches the endpoint whole.
        small = json.dumps({**MEETING, "start": "2020-01-01T10:00:00"}).encode()
        r = http.post("/api/v1/meetings", content=iter([small[:10], small[10:]]), headers=headers)
        assert _error_shape(r, 422)["fields"] == [{"field": "start", "reason": "is in the past"}]


def test_a_failure_is_logged_as_a_request_and_counted(
    container: Container,
    acme: Org,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
) -> None:
    def broken(*_: object, **__: object) -> None:
        raise RuntimeError("the disk is on fire")

    monkeypatch.setattr(container.meetings, "list_meetings", broken)
    configure_logging("INFO", json=True)
    try:
        metrics = _fail_once(container, acme.headers, capfd)
    finally:
        structlog.reset_defaults()
    assert 'meetbridge_http_responses_total{status_class="5xx"} 1.0' in metrics
    assert 'route="/api/v1/meetings",status="500"} 1.0' in metrics


def _fail_once(
    container: Container, headers: dict[str, str], capfd: pytest.CaptureFixture[str]
) -> str:
    with TestClient(create_app(container), raise_server_exceptions=False) as client:
        capfd.readouterr()
        r = client.get("/api/v1/meetings", headers={**headers, "x-request-id": "trace-42"})
        error = _error_shape(r, 500)
        assert error["code"] == "internal_error" and "fire" not in r.text
        assert r.headers["x-request-id"] == "trace-42"
        lines = [json.loads(x) for x in capfd.readouterr().err.splitlines() if x.startswith("{")]
        logged = [x for x in lines if x.get("event") == "http.request"]
        assert logged and logged[-1]["status"] == 500 and logged[-1]["request_id"] == "trace-42"
        assert logged[-1]["error"] == "RuntimeError" and "the disk is on fire" in str(logged[-1])
        return client.get("/metrics").text


def test_client_request_ids_are_kept_only_when_short_and_plain(
    client: TestClient, container: Container, acme: Org
) -> None:
    for n, (sent, kept) in enumerate(
        (
            ("abc-123_X.y", True),
            ("x" * 64, True),
            ("x" * 65, False),
            ("<script>alert(1)</script>", False),
            ("id with spaces", False),
            ("line\tbreak", False),
        )
    ):
        headers = {**acme.headers, "x-request-id": sent}
        r = client.post("/api/v1/tokens", json={"name": f"ci-{n}"}, headers=headers)
        assert r.status_code == 201, r.text
        echoed = r.headers["x-request-id"]
        assert (echoed == sent) is kept, (sent, echoed)
        audit = client.get("/api/v1/audit", headers=acme.headers).json()
        assert audit[0]["action"] == "api_token.created", audit[0]
        assert audit[0]["request_id"] == echoed
    r = client.get("/healthz", headers={"x-request-id": "é".encode()})  # type: ignore[dict-item]
    assert len(r.headers["x-request-id"]) == 32


def test_a_time_zone_name_of_any_length_is_refused_not_a_crash(
    client: TestClient, acme: Org
) -> None:
    """Found by the form fuzzer: a 5,000-character zone was an OSError (file name too long)."""
    sign_in(client, "owner@acme.test")
    for name in ("9" * 5000, "../../../etc/passwd", "Europe/Nowhere"):
        body = {"email": "tz@acme.test", "name": "Tz", "password": PASSWORD, "timezone": name}
        r = client.post(
            "/api/v1/members", headers=acme.headers, json={**body, "timezone": name[:64]}
        )
        assert _error_shape(r, 422)["fields"] == [
            {"field": "timezone", "reason": f"unknown time zone {name[:64]!r}"}
        ]
        token = csrf(client.get("/team/new").text)
        r = client.post("/team/new", data={**body, "role": "member", "csrf_token": token})
        assert r.status_code == 422 and "unknown time zone" in r.text

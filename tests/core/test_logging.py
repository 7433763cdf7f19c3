"""No secret reaches a log line."""

from __future__ import annotations

import json

import pytest
import structlog
from fastapi.testclient import TestClient

from meetbridge.core.logging import configure_logging, get_logger
from tests.conftest import PASSWORD, Org
from tests.web.test_pages import sign_in


def test_redaction_of_secret_keys_and_bearer_values(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("INFO", json=True)
    try:
        get_logger("t").info(
            "thing.happened",
            password="hunter2-secret",
            access_token="abc.def",
            note="sent Authorization: Bearer mbp_SECRETSECRET to zoom",
            nested={"client_secret": "zz"},
        )
        line = json.loads(capsys.readouterr().err.strip().splitlines()[-1])
    finally:
        structlog.reset_defaults()
    assert line["password"] == "[redacted]"
    assert line["access_token"] == "[redacted]"
    assert line["nested"] == {"client_secret": "[redacted]"}
    assert "SECRETSECRET" not in line["note"]


def test_no_password_or_token_in_request_logs(
    client: TestClient, acme: Org, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging("INFO", json=True)
    try:
        capsys.readouterr()
        sign_in(client, "owner@acme.test")
        client.get("/api/v1/me", headers=acme.headers)
        client.get("/api/v1/me", headers={"Authorization": f"Bearer {acme.token}x"})
        out = capsys.readouterr()
    finally:
        structlog.reset_defaults()
    logs = out.err + out.out
    assert "http.request" in logs
    assert PASSWORD not in logs
    assert acme.token not in logs
    assert (client.cookies.get("mb_session") or "unset") not in logs

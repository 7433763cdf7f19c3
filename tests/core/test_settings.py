from __future__ import annotations

import pytest
from pydantic import ValidationError

from meetbridge.core.settings import DEMO_ENCRYPTION_KEY, Settings


def test_demo_mode_runs_on_documented_defaults() -> None:
    s = Settings(_env_file=None)  # type: ignore[call-arg]
    assert s.mode == "demo"
    assert s.effective_database_url == "sqlite:///var/meetbridge.db"
    assert s.effective_base_url == "http://127.0.0.1:8000"


@pytest.mark.parametrize(
    ("over", "complaint"),
    [
        ({}, "MEETBRIDGE_SECRET_KEY is the published demo key"),
        ({"secret_key": "x" * 40}, "MEETBRIDGE_ENCRYPTION_KEYS holds the published demo key"),
        ({"secret_key": "short", "encryption_keys": "k"}, "at least 32 characters"),
        ({"secret_key": "x" * 40, "encryption_keys": "k"}, "ZOOM_WEBHOOK_SECRET is the published"),
    ],
)
def test_production_refuses_demo_secrets(over: dict[str, str], complaint: str) -> None:
    with pytest.raises(ValidationError, match=complaint):
        Settings(_env_file=None, mode="production", **over)  # type: ignore[arg-type]


def test_production_with_own_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEETBRIDGE_MODE", "production")
    monkeypatch.setenv("MEETBRIDGE_SECRET_KEY", "s" * 48)
    monkeypatch.setenv("MEETBRIDGE_ENCRYPTION_KEYS", "not-" + DEMO_ENCRYPTION_KEY[4:8])
    monkeypatch.setenv("MEETBRIDGE_ZOOM_WEBHOOK_SECRET", "my-own-webhook-secret")
    monkeypatch.setenv("MEETBRIDGE_PORT", "9000")
    s = Settings(_env_file=None)  # type: ignore[call-arg]
    assert s.mode == "production" and s.port == 9000

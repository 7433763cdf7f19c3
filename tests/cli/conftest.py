"""The environment a `meetbridge` command runs with in the CLI tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import structlog

from tests.support import SmtpServer


@pytest.fixture
def env(tmp_path: Path, database_url: str, smtp: SmtpServer) -> Iterator[dict[str, str]]:
    values = {
        "MEETBRIDGE_DATA_DIR": str(tmp_path / "var"),
        "MEETBRIDGE_DATABASE_URL": database_url,
        "MEETBRIDGE_SMTP_HOST": "127.0.0.1",
        "MEETBRIDGE_SMTP_PORT": str(smtp.port),
        "MEETBRIDGE_LOG_LEVEL": "WARNING",
    }
    yield values
    structlog.reset_defaults()

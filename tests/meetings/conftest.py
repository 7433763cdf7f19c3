"""Fixtures shared by the meetings tests: a host connected to the live sandbox."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support import SmtpServer
from tests.zoom_env import ZoomEnv, zoom_env


@pytest.fixture
def env(tmp_path: Path, database_url: str, smtp: SmtpServer) -> Iterator[ZoomEnv]:
    with zoom_env(tmp_path, database_url, smtp, zoom_timeout=2.0) as e:
        browser = e.signed_in("ann@acme.test")
        e.connect(browser, "maria@zoom-sandbox.test")
        yield e


@pytest.fixture
def held(env: ZoomEnv, monkeypatch: pytest.MonkeyPatch) -> list[tuple[Any, ...]]:
    """A queue that holds its jobs (as a busy one does) instead of running them at once."""
    jobs: list[tuple[Any, ...]] = []
    monkeypatch.setattr(env.c.jobs, "enqueue", lambda *job: jobs.append(job) or True)
    return jobs

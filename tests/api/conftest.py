"""The API tests run with writes on the event loop refused (`Database.refuse_loop_writes`):
an `async def` endpoint or dependency that writes fails its test."""

from __future__ import annotations

import pytest

from meetbridge.core.db import REFUSE_LOOP_WRITES_ENV


@pytest.fixture(autouse=True)
def _refuse_writes_on_the_event_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(REFUSE_LOOP_WRITES_ENV, "1")

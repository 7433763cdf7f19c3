"""With a state file the sandbox keeps its data across restarts (as `meetbridge run` uses it)."""

from __future__ import annotations

from pathlib import Path

from meetbridge_sandbox.config import SandboxConfig
from meetbridge_sandbox.core import Sandbox as Core
from meetbridge_sandbox.state import Persistence


def test_state_survives_a_restart(tmp_path: Path) -> None:
    path = str(tmp_path / "sandbox.db")
    first = Core(SandboxConfig(), Persistence(path))
    token = first.account_token(first.state.apps["mbDemoS2SApp"], "mbDemoAccount01")
    caller = first.authenticate(f"Bearer {token['access_token']}")
    made = first.create_meeting(caller, "dana@zoom-sandbox.test", {"topic": "kept"})
    first.clock.offset = 120.0
    first.save()

    second = Core(SandboxConfig(), Persistence(path))
    caller = second.authenticate(f"Bearer {token['access_token']}")
    assert second.get_meeting(caller, str(made["id"]))["topic"] == "kept"
    assert second.clock.offset == 120.0
    assert len(second.state.users) == 6  # not seeded twice

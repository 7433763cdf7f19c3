"""`meetbridge --help` and the command's import stay light: none of the product's heavy parts
load until a command needs them (measured in docs/benchmarks.md)."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("sqlalchemy", "httpx", "huey", "fastapi", "pydantic_settings", "argon2", "zxcvbn")


def test_importing_the_command_loads_nothing_heavy() -> None:
    code = (
        "import sys, meetbridge.cli.main; "
        f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out == ""


def test_help_lists_the_commands() -> None:
    r = subprocess.run(
        [sys.executable, "-m", "meetbridge", "--help"], capture_output=True, text=True, check=True
    )
    for command in ("run", "serve", "worker", "sandbox", "migrate", "meetings", "users"):
        assert command in r.stdout

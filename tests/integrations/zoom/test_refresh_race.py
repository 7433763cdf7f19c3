"""Zoom rotates refresh tokens, so two refreshes of one connection would cut the user off.
4 processes x 25 concurrent calls holding an expired token: exactly one refresh reaches Zoom
and every call succeeds (on SQLite and on PostgreSQL)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import update

from meetbridge.core.db import utcnow
from meetbridge.integrations.zoom.tables import ZoomConnection
from tests.support import SmtpServer
from tests.zoom_env import zoom_env

PROCESSES, THREADS = 4, 25


@pytest.mark.slow
def test_exactly_one_refresh_under_a_crowd(
    tmp_path: Path, database_url: str, smtp: SmtpServer
) -> None:
    with zoom_env(tmp_path, database_url, smtp) as env:
        browser = env.signed_in("ann@acme.test")
        env.connect(browser, "maria@zoom-sandbox.test")
        conn = env.c.connections.my_connection(env.user("ann@acme.test"))
        assert conn and conn.status == "connected"
        with env.c.db.write() as s:  # every process now holds an expired token
            s.execute(
                update(ZoomConnection)
                .where(ZoomConnection.id == conn.id)
                .values(access_expires_at=utcnow())
            )

        def refreshes() -> int:
            return len(
                [
                    t
                    for t in env.control("GET", "/tokens")
                    if t["kind"] == "refresh" and t["client_id"] == "mbDemoUserApp"
                ]
            )

        before = refreshes()
        s = env.c.settings
        job = json.dumps(
            {
                "connection_id": conn.id,
                "threads": THREADS,
                "settings": {
                    "database_url": s.effective_database_url,
                    "data_dir": str(s.data_dir),
                    "zoom_api_base": s.zoom_api_base,
                    "zoom_oauth_base": s.zoom_oauth_base,
                    "base_url": s.effective_base_url,
                    "smtp_host": "127.0.0.1",
                    "smtp_port": s.smtp_port,
                    "log_level": "WARNING",
                },
            }
        )
        env_vars = {k: v for k, v in os.environ.items() if not k.startswith("MEETBRIDGE_")}
        procs = [
            subprocess.Popen(
                [sys.executable, "-m", "tests.integrations.zoom.race_worker", job],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                env=env_vars,
            )
            for _ in range(PROCESSES)
        ]
        outcomes: list[str] = []
        for p in procs:
            out, err = p.communicate(timeout=120)
            assert p.returncode == 0, err[-3000:]
            outcomes += json.loads(out.strip().splitlines()[-1])
        assert len(outcomes) == PROCESSES * THREADS
        failures = [o for o in outcomes if o != "maria@zoom-sandbox.test"]
        assert failures == []
        assert refreshes() == before + 1  # exactly one refresh reached Zoom
        after = env.c.connections.my_connection(env.user("ann@acme.test"))
        assert (
            after and after.status == "connected" and after.token_version == conn.token_version + 1
        )

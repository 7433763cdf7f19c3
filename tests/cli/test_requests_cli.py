"""`meetbridge requests …` through the API with a saved login: list, convert to a Zoom
meeting on the pool (the host shown), the refusal of a draft worded as the server words it,
and back to a regular request."""

from __future__ import annotations

import datetime as dt
import json
import logging
from pathlib import Path

import structlog
from typer.testing import CliRunner

from meetbridge.cli.main import app
from tests.conftest import ORIGIN
from tests.requests.conftest import ACCOUNT, POOL, api, request_body, tomorrow
from tests.requests.test_requests import _new
from tests.support import SmtpServer
from tests.zoom_env import zoom_env


def test_requests_commands(tmp_path: Path, database_url: str, smtp: SmtpServer) -> None:
    with zoom_env(tmp_path, database_url, smtp) as env:
        owner = env.user("owner@acme.test")
        env.c.connections.save_account(owner, *ACCOUNT, ORIGIN)
        admin = api(env, "owner@acme.test")
        body = {"lead_minutes": 15, "padding_minutes": 15, "host_pool": POOL}
        assert admin.put("/requests/settings", json=body).status_code == 200
        a = _new(admin, tomorrow(10), tomorrow(11))
        draft = admin.post(
            "/requests", json=request_body(tomorrow(12), tomorrow(13), status="draft")
        )
        token = env.c.api_tokens.create_api_token(owner, name="laptop", origin=ORIGIN).secret
        structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
        cli_env = {"XDG_CONFIG_HOME": str(tmp_path / "cfg"), "COLUMNS": "250"}
        runner = CliRunner()
        r = runner.invoke(
            app, ["login", "--server", env.product, "--with-token"], input=f"{token}\n", env=cli_env
        )
        assert r.exit_code == 0, r.output

        r = runner.invoke(app, ["requests", "convert", a["id"], "--json"], env=cli_env)
        assert r.exit_code == 0, r.output
        [row] = json.loads(r.output)
        assert row["type"] == "zoom" and row["zoom_host"] in POOL

        r = runner.invoke(app, ["requests", "list", "--zoom"], env=cli_env)
        assert r.exit_code == 0 and "Zoom meeting" in r.output and row["zoom_host"] in r.output

        r = runner.invoke(app, ["requests", "convert", draft.json()["id"]], env=cli_env)
        assert r.exit_code == 1 and "draft" in r.output

        r = runner.invoke(app, ["requests", "convert", a["id"], "--back", "--json"], env=cli_env)
        assert r.exit_code == 0 and json.loads(r.output)[0]["type"] == "regular"

        # A weekly series, every occurrence made a Zoom meeting with the progress followed.
        body = {
            **request_body(tomorrow(15, days=2), tomorrow(16, days=2), client="Series Client"),
            "repeat": {"frequency": "weekly", "weekdays": [], "count": 3},
        }
        first = dt.date.fromisoformat(tomorrow(15, days=2)[:10])
        body["repeat"]["weekdays"] = [first.weekday()]
        series = admin.post("/requests/series", json=body)
        assert series.status_code == 201, series.text
        r = runner.invoke(app, ["requests", "series-zoom", series.json()["id"]], env=cli_env)
        assert r.exit_code == 0, r.output
        assert "3 of 3 occurrences are Zoom meetings" in r.output

"""`meetbridge booking …` through the API with a saved login: create and publish a type by
members' e-mails, list types, list bookings (table, JSON, CSV), cancel one."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import structlog
from typer.testing import CliRunner

from meetbridge.cli.main import app
from tests.booking.conftest import book, next_weekday, slots_on
from tests.conftest import ORIGIN
from tests.support import SmtpServer
from tests.zoom_env import zoom_env


def test_booking_commands(tmp_path: Path, database_url: str, smtp: SmtpServer) -> None:
    with zoom_env(tmp_path, database_url, smtp, booking_link_wait_seconds=0.0) as env:
        env.connect(env.signed_in("ann@acme.test"), "maria@zoom-sandbox.test")
        token = env.c.api_tokens.create_api_token(
            env.user("owner@acme.test"), name="laptop", origin=ORIGIN
        ).secret
        structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
        cli_env = {"XDG_CONFIG_HOME": str(tmp_path / "cfg"), "COLUMNS": "250"}
        runner = CliRunner()
        r = runner.invoke(
            app, ["login", "--server", env.product, "--with-token"], input=f"{token}\n", env=cli_env
        )
        assert r.exit_code == 0, r.output
        r = runner.invoke(
            app,
            [
                "booking",
                "types",
                "create",
                "--name",
                "Intro call",
                "--slug",
                "intro",
                "--member",
                "nobody@acme.test",
            ],
            env=cli_env,
        )
        assert r.exit_code == 1 and "not a member here: nobody@acme.test" in r.output
        r = runner.invoke(
            app,
            [
                "booking",
                "types",
                "create",
                "--name",
                "Intro call",
                "--slug",
                "intro",
                "--member",
                "ann@acme.test",
                "--publish",
            ],
            env=cli_env,
        )
        assert r.exit_code == 0 and "(published)" in r.output, r.output
        assert f"{env.product}/book/acme/intro" in r.output
        r = runner.invoke(app, ["booking", "types", "list", "--json"], env=cli_env)
        (t,) = json.loads(r.output)
        assert t["slug"] == "intro" and t["published"]
        booked = book(env, slots_on(env, next_weekday())[0]["start"]).json()
        r = runner.invoke(app, ["booking", "bookings", "list"], env=cli_env)
        assert r.exit_code == 0 and "Cleo Client" in r.output and "/j/" in r.output, r.output
        r = runner.invoke(app, ["booking", "bookings", "list", "--csv"], env=cli_env)
        assert r.output.startswith("id,type,start") and booked["id"] in r.output
        r = runner.invoke(app, ["booking", "bookings", "cancel", booked["id"]], env=cli_env)
        assert r.exit_code == 0 and "is cancelled" in r.output
        r = runner.invoke(app, ["booking", "bookings", "list", "--json"], env=cli_env)
        assert json.loads(r.output)[0]["status"] == "cancelled"

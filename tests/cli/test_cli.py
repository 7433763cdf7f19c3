"""The `meetbridge` command, run as a user runs it."""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import signal
from pathlib import Path

import httpx
import pytest
import structlog
from typer.testing import CliRunner

from meetbridge.cli.main import app
from meetbridge.container import build_container
from tests.cli.running import start_run
from tests.conftest import PASSWORD
from tests.support import SmtpServer


def test_orgs_and_users_create(env: dict[str, str], smtp: SmtpServer) -> None:
    runner = CliRunner()
    r = runner.invoke(
        app,
        [
            "orgs",
            "create",
            "Initech",
            "--owner-email",
            "bill@initech.test",
            "--owner-name",
            "Bill",
            "--owner-password",
            PASSWORD,
        ],
        env=env,
    )
    assert r.exit_code == 0, r.output
    assert "Created organisation Initech (initech" in r.output
    r = runner.invoke(
        app,
        [
            "users",
            "create",
            "--org",
            "initech",
            "--email",
            "pete@initech.test",
            "--name",
            "Peter",
            "--password",
            PASSWORD,
        ],
        env=env,
    )
    assert r.exit_code == 0, r.output
    assert "Created member pete@initech.test" in r.output
    r = runner.invoke(
        app,
        [
            "users",
            "create",
            "--org",
            "initech",
            "--email",
            "pete@initech.test",
            "--name",
            "Peter",
            "--password",
            PASSWORD,
        ],
        env=env,
    )
    assert r.exit_code == 1
    assert "email: is already used by an active login" in r.output
    r = runner.invoke(
        app,
        [
            "users",
            "create",
            "--org",
            "nope",
            "--email",
            "x@initech.test",
            "--name",
            "X",
            "--password",
            PASSWORD,
        ],
        env=env,
    )
    assert r.exit_code == 1 and "no organisation with slug 'nope'" in r.output
    r = runner.invoke(
        app,
        [
            "users",
            "create",
            "--org",
            "initech",
            "--email",
            "y@initech.test",
            "--name",
            "Y",
            "--password",
            PASSWORD,
            "--role",
            "boss",
        ],
        env=env,
    )
    assert r.exit_code == 1 and "role: must be one of owner, admin, scheduler, member" in r.output
    start = ["users", "create", "--org", "initech", "--password", PASSWORD, "--start-date"]
    r = runner.invoke(
        app, [*start, "2027-02-30", "--email", "z@initech.test", "--name", "Z"], env=env
    )
    assert r.exit_code == 1 and "start_date: 2027-02-30 is not a day of the calendar" in r.output
    first_day = (dt.datetime.now(dt.UTC).date() + dt.timedelta(days=30)).isoformat()
    r = runner.invoke(app, [*start, first_day, "--email", "z@initech.test", "--name", "Z"], env=env)
    assert r.exit_code == 0, r.output
    assert f"Starts on {first_day}." in r.output


def test_production_mode_refuses_demo_secrets(env: dict[str, str]) -> None:
    r = CliRunner().invoke(app, ["migrate"], env={**env, "MEETBRIDGE_MODE": "production"})
    assert r.exit_code == 2
    assert "published demo key" in r.output


@pytest.mark.slow
def test_run_serves_the_demo_and_stops_cleanly_on_ctrl_c(env: dict[str, str]) -> None:
    proc, base, sandbox_port = start_run(env)
    try:
        with httpx.Client(base_url=base) as web:
            page = web.get("/signin")
            token = re.search(r'name="csrf_token" value="([0-9a-f]+)"', page.text)
            assert token
            r = web.post(
                "/signin",
                data={
                    "email": "admin@demo.test",
                    "password": PASSWORD,
                    "csrf_token": token.group(1),
                },
            )
            assert r.status_code == 303
            team = web.get("/team").text
            assert "Maria Lopez" in team and "Sam Okafor" in team
            # The demo's meeting type is bookable at once (a Jitsi room until Zoom connects).
            slots = web.get("/api/v1/public/demo/intro-call/slots").json()
            assert isinstance(slots, list) and slots, slots
        zoom = httpx.get(f"http://127.0.0.1:{sandbox_port}/_sandbox", timeout=5).json()
        assert len(zoom["users"]) == 6  # the Zoom sandbox runs beside it, seeded
    finally:
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0, out
    assert base in out
    assert "admin@demo.test" in out and PASSWORD in out
    assert f"{base}/book/demo/intro-call" in out
    assert "Stopped." in out
    assert f"sandbox at http://127.0.0.1:{sandbox_port}" in out
    with pytest.raises(httpx.ConnectError):  # Ctrl-C stopped the sandbox too
        httpx.get(f"http://127.0.0.1:{sandbox_port}/_sandbox", timeout=2)


def test_meetings_commands(tmp_path: Path, database_url: str, smtp: SmtpServer) -> None:
    from tests.zoom_env import zoom_env

    with zoom_env(tmp_path, database_url, smtp) as env:
        env.connect(env.signed_in("ann@acme.test"), "maria@zoom-sandbox.test")
        s = env.c.settings
        cli_env = {
            "MEETBRIDGE_DATA_DIR": str(s.data_dir),
            "MEETBRIDGE_DATABASE_URL": s.effective_database_url,
            "MEETBRIDGE_ZOOM_API_BASE": s.zoom_api_base,
            "MEETBRIDGE_ZOOM_OAUTH_BASE": s.zoom_oauth_base,
            "MEETBRIDGE_LOG_LEVEL": "WARNING",
            "MEETBRIDGE_SMTP_HOST": "127.0.0.1",
            "MEETBRIDGE_SMTP_PORT": str(smtp.port),
            "COLUMNS": "250",
        }
        runner = CliRunner()
        r = runner.invoke(
            app,
            [
                "meetings",
                "create",
                "--as",
                "ann@acme.test",
                "--title",
                "From the shell",
                "--start",
                "2031-02-03T10:00",
                "--timezone",
                "Europe/Oslo",
                "--no-wait",
            ],
            env=cli_env,
        )
        assert r.exit_code == 0, r.output
        meeting_id = r.output.split("Meeting ")[1].split()[0]
        worker = build_container(s)  # a worker on the queue the command wrote to
        while (job := worker.jobs.huey.dequeue()) is not None:
            worker.jobs.huey.execute(job)
        worker.close()
        r = runner.invoke(  # a unique prefix is enough, as the list shows it
            app, ["meetings", "show", meeting_id[:8], "--as", "ann@acme.test"], env=cli_env
        )
        assert "scheduled" in r.output and "/j/" in r.output, r.output
        assert "2031-02-03 09:00 UTC (created in Europe/Oslo)" in r.output  # the viewer's zone
        r = runner.invoke(app, ["meetings", "list", "--as", "ann@acme.test"], env=cli_env)
        assert "From the shell" in r.output and meeting_id[:8] in r.output
        assert meeting_id not in r.output  # the short form, not the whole ID
        r = runner.invoke(app, ["meetings", "list", "--as", "ann@acme.test", "--json"], env=cli_env)
        [listed] = json.loads(r.output)
        assert listed["id"] == meeting_id and listed["join_url"].startswith("http")
        assert listed["start_local"] == "2031-02-03T09:00:00+00:00"
        r = runner.invoke(
            app, ["meetings", "show", "zzzzzzzz", "--as", "ann@acme.test"], env=cli_env
        )
        assert r.exit_code == 1 and "no meeting starting with 'zzzzzzzz'" in r.output
        r = runner.invoke(
            app,
            [
                "meetings",
                "create",
                "--as",
                "ann@acme.test",
                "--title",
                "x",
                "--start",
                "2001-01-01T10:00",
                "--no-wait",
            ],
            env=cli_env,
        )
        assert r.exit_code == 1 and "start: is in the past" in r.output
        r = runner.invoke(
            app, ["meetings", "cancel", meeting_id[:10], "--as", "ann@acme.test"], env=cli_env
        )
        assert r.exit_code == 0 and "cancelling" in r.output
        r = runner.invoke(
            app, ["meetings", "show", meeting_id, "--as", "ann@acme.test", "--json"], env=cli_env
        )
        assert json.loads(r.output)["join_url"] is None  # a cancelled meeting's link is gone
    structlog.reset_defaults()


def test_run_says_when_a_port_is_taken(env: dict[str, str]) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        r = CliRunner().invoke(app, ["run"], env={**env, "MEETBRIDGE_PORT": str(port)})
    assert r.exit_code == 1
    assert f"Port {port} is in use" in r.output and "MEETBRIDGE_PORT" in r.output


def test_login_then_every_day_commands_through_the_api(
    tmp_path: Path, database_url: str, smtp: SmtpServer
) -> None:
    """`meetbridge login` against a server URL with an API token, as `gh auth login` does;
    the meetings commands then need no --as and no access to the server's database."""
    from tests.conftest import ORIGIN
    from tests.zoom_env import zoom_env

    with zoom_env(tmp_path, database_url, smtp) as env:
        env.connect(env.signed_in("ann@acme.test"), "maria@zoom-sandbox.test")
        token = env.c.api_tokens.create_api_token(
            env.user("ann@acme.test"), name="laptop", origin=ORIGIN
        ).secret
        # The server runs in this process: its request log would mix into the CLI's output.
        structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
        config = tmp_path / "home-config"
        # Nothing of the server's own configuration: only where the saved login lives.
        cli_env = {"XDG_CONFIG_HOME": str(config), "COLUMNS": "250"}
        runner = CliRunner()
        r = runner.invoke(app, ["meetings", "list"], env=cli_env)
        assert r.exit_code == 1 and "meetbridge login --server URL" in r.output

        r = runner.invoke(
            app,
            ["login", "--server", env.product, "--with-token"],
            input="mbp_wrong\n",
            env=cli_env,
        )
        assert r.exit_code == 1 and "API token is unknown" in r.output
        r = runner.invoke(
            app, ["login", "--server", env.product, "--with-token"], input=f"{token}\n", env=cli_env
        )
        assert r.exit_code == 0 and "as Ann (ann@acme.test)" in r.output, r.output
        saved = config / "meetbridge" / "credentials.json"
        assert saved.stat().st_mode & 0o777 == 0o600
        assert (config / "meetbridge").stat().st_mode & 0o777 == 0o700
        r = runner.invoke(app, ["whoami"], env=cli_env)
        assert f"Ann (ann@acme.test) on {env.product}" in r.output

        r = runner.invoke(
            app,
            [
                "meetings",
                "create",
                "--title",
                "Over the API",
                "--start",
                "2031-02-03T10:00",
                "--timezone",
                "Europe/Oslo",
            ],
            env=cli_env,
        )
        assert r.exit_code == 0 and "scheduled" in r.output, r.output
        meeting_id = r.output.split("Meeting ")[1].split()[0]
        r = runner.invoke(app, ["meetings", "list", "--json"], env=cli_env)
        [listed] = json.loads(r.output)
        assert listed["id"] == meeting_id and listed["start_local"] == "2031-02-03T09:00:00+00:00"
        r = runner.invoke(app, ["meetings", "show", meeting_id[:8]], env=cli_env)
        assert "Over the API" in r.output and "/j/" in r.output
        r = runner.invoke(
            app,
            ["meetings", "create", "--title", "x", "--start", "2001-01-01T10:00", "--no-wait"],
            env=cli_env,
        )
        assert r.exit_code == 1 and "start: is in the past" in r.output
        r = runner.invoke(app, ["meetings", "cancel", meeting_id[:8]], env=cli_env)
        assert r.exit_code == 0 and "cancelling" in r.output
        assert len(env.control("GET", "/meetings?host=maria@zoom-sandbox.test")) <= 1

        r = runner.invoke(app, ["logout"], env=cli_env)
        assert r.exit_code == 0 and not saved.exists()
    structlog.reset_defaults()

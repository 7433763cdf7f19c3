"""`meetbridge workflows …` through the API with a saved login: list and show, a test run with
data given on the command line (each step shown), a real run (its e-mail sent), a run that
fails (exit 1, the reason as the server words it), the runs filtered by status, a retry, and
bad options refused before anything is sent."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import structlog
from typer.testing import CliRunner

from meetbridge.cli.main import app
from tests.conftest import ORIGIN
from tests.support import SmtpServer
from tests.zoom_env import zoom_env


def test_workflows_commands(tmp_path: Path, database_url: str, smtp: SmtpServer) -> None:
    with zoom_env(tmp_path, database_url, smtp) as env:
        owner = env.user("owner@acme.test")
        mail = env.c.workflows.create(
            owner,
            "Tell me",
            {
                "trigger": {"kind": "manual"},
                "steps": [
                    {
                        "key": "tell",
                        "action": "email.send",
                        "inputs": {
                            "to": "{{ owner.email }}",
                            "subject": "From the command line",
                            "text": "The word is {{ data.word }}.",
                        },
                    }
                ],
            },
            ORIGIN,
        )
        onboarding = env.c.workflows.from_template(owner, "onboarding", ORIGIN)
        token = env.c.api_tokens.create_api_token(owner, name="laptop", origin=ORIGIN).secret
        smtp.inbox.clear()  # the members' welcome e-mails
        structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
        cli_env = {"XDG_CONFIG_HOME": str(tmp_path / "cfg"), "COLUMNS": "250"}
        runner = CliRunner()
        r = runner.invoke(
            app, ["login", "--server", env.product, "--with-token"], input=f"{token}\n", env=cli_env
        )
        assert r.exit_code == 0, r.output

        r = runner.invoke(app, ["workflows", "list"], env=cli_env)
        assert r.exit_code == 0, r.output
        assert "Tell me" in r.output and "Onboarding → Day-1 orientation" in r.output
        assert "member.onboarded" in r.output
        r = runner.invoke(app, ["workflows", "list", "--json"], env=cli_env)
        assert {w["id"] for w in json.loads(r.output)} == {mail.id, onboarding.id}

        r = runner.invoke(app, ["workflows", "show", onboarding.id], env=cli_env)
        assert r.exit_code == 0, r.output
        for line in (
            "1. zoom_user: zoom.create_user",
            "2. orientation: zoom.create_meeting",
            "4. tell: email.send",
            f"/workflows/{onboarding.id}",
        ):
            assert line in r.output, r.output

        # A test with the data given here: every step rendered, nothing done.
        member = {
            "member": {
                "name": "Cli Person",
                "email": "cli@example.com",
                "start_date": "2027-02-01",
                "timezone": "UTC",
            }
        }
        r = runner.invoke(
            app,
            ["workflows", "run", onboarding.id, "--dry-run", "--data", json.dumps(member)],
            env=cli_env,
        )
        assert r.exit_code == 0, r.output
        assert "succeeded (a test: nothing was done)" in r.output
        assert r.output.count("): succeeded") == 4  # each step, by its key and action
        r = runner.invoke(
            app, ["workflows", "run", onboarding.id, "--dry-run", "--json"], env=cli_env
        )
        test = json.loads(r.output)
        assert test["dry_run"] and test["steps"][1]["inputs"]["topic"] == (
            "Day 1 orientation for Alex New"  # the trigger's sample when no data is given
        )
        assert smtp.inbox.messages == []

        # For real: the e-mail goes out.
        r = runner.invoke(
            app, ["workflows", "run", mail.id, "--data", '{"data": {"word": "cli"}}'], env=cli_env
        )
        assert r.exit_code == 0, r.output
        assert "succeeded" in r.output
        [sent] = smtp.inbox.wait_for("owner@acme.test")
        assert "The word is cli." in sent.get_body(("plain",)).get_content()  # type: ignore[union-attr]

        # The Zoom account is not connected: the run fails at its first step and says why.
        r = runner.invoke(app, ["workflows", "run", onboarding.id], env=cli_env)
        assert r.exit_code == 1, r.output
        assert "failed" in r.output and "not connected" in r.output
        failed_id = r.output.split("Run ", 1)[1].split(":", 1)[0]

        r = runner.invoke(
            app, ["workflows", "runs", onboarding.id, "--status", "failed"], env=cli_env
        )
        assert r.exit_code == 0 and failed_id in r.output
        r = runner.invoke(app, ["workflows", "runs", onboarding.id, "--json"], env=cli_env)
        assert len(json.loads(r.output)) == 3  # two tests and the failed run
        r = runner.invoke(app, ["workflows", "retry", failed_id], env=cli_env)
        assert r.exit_code == 1 and "failed" in r.output  # still not connected
        succeeded = json.loads(
            runner.invoke(app, ["workflows", "runs", mail.id, "--json"], env=cli_env).output
        )[0]["id"]
        r = runner.invoke(app, ["workflows", "retry", succeeded], env=cli_env)
        assert r.exit_code == 1 and "only a failed run can be retried" in r.output

        # Refused here, before anything is sent.
        r = runner.invoke(app, ["workflows", "run", mail.id, "--data", "{nope"], env=cli_env)
        assert r.exit_code == 2 and "--data is not JSON" in r.output
        r = runner.invoke(app, ["workflows", "run", mail.id, "--data", "[1]"], env=cli_env)
        assert r.exit_code == 2 and "JSON object" in r.output
        r = runner.invoke(app, ["workflows", "runs", mail.id, "--status", "done"], env=cli_env)
        assert r.exit_code == 2 and "pending, succeeded, failed, cancelled" in r.output
        r = runner.invoke(app, ["workflows", "show", "no-such-id"], env=cli_env)
        assert r.exit_code == 1 and "no such workflow" in r.output

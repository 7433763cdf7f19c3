"""The `meetbridge` command: run the product, serve, work, migrate, and manage accounts.

Imports of the product happen inside the commands: `meetbridge --help` and a quick command
must not pay for SQLAlchemy, huey, httpx and every service (seconds on a slow machine)."""

from __future__ import annotations

import os
import secrets
import signal
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from meetbridge.cli import login
from meetbridge.cli.accounts import orgs_app, users_app
from meetbridge.cli.booking import booking_app
from meetbridge.cli.common import console, err, load_settings, open_container
from meetbridge.cli.meetings import meetings_app
from meetbridge.cli.requests import requests_app
from meetbridge.cli.workflows import workflows_app

if TYPE_CHECKING:
    from meetbridge.core.settings import Settings

app = typer.Typer(help="meetbridge: a self-hostable Zoom integration.", no_args_is_help=True)
app.add_typer(users_app, name="users")
app.add_typer(orgs_app, name="orgs")
app.add_typer(meetings_app, name="meetings")
app.add_typer(booking_app, name="booking")
app.add_typer(requests_app, name="requests")
app.add_typer(workflows_app, name="workflows")
app.command()(login.login)
app.command()(login.logout)
app.command()(login.whoami)


@app.command()
def migrate() -> None:
    """Apply database migrations (also done on every start)."""
    from meetbridge.core.migrate import upgrade

    settings = load_settings()
    upgrade(settings.effective_database_url)
    console.print("Database is up to date.")


@app.command()
def serve(
    port: Annotated[int | None, typer.Option(help="Port (default MEETBRIDGE_PORT)")] = None,
    workers: Annotated[int | None, typer.Option(help="Web processes")] = None,
) -> None:
    """Serve the web UI and the REST API."""
    import uvicorn

    from meetbridge.core.logging import configure_logging
    from meetbridge.core.migrate import upgrade

    settings = load_settings()
    configure_logging(settings.log_level, settings.log_json)
    upgrade(settings.effective_database_url)
    uvicorn.run(
        "meetbridge.app:app_from_env",
        factory=True,
        host=settings.host,
        port=port or settings.port,
        workers=workers or settings.web_workers,
        log_level="warning",
        access_log=False,
        proxy_headers=bool(settings.trusted_proxies),
        forwarded_allow_ips=settings.trusted_proxies or None,
    )


@app.command()
def worker() -> None:
    """Run background jobs (e-mail, reconcilers)."""
    settings = load_settings()
    c = open_container(settings)
    consumer = c.jobs.huey.create_consumer(
        workers=settings.worker_threads,
        worker_type="thread",
        periodic=True,
        check_worker_health=True,
        # An idle thread's pause between turns at the queue (huey's default backs off to
        # 10 s). With SQLite one thread at a time watches the queue (jobs._RungStorage).
        initial_delay=0.05,
        backoff=1.5,
        max_delay=0.25,
    )
    consumer.run()


@app.command()
def sandbox(
    port: Annotated[int, typer.Option(help="Port")] = 8100,
    host: Annotated[str, typer.Option(help="Address to listen on")] = "127.0.0.1",
    state_file: Annotated[str | None, typer.Option(help="Keep state in this SQLite file")] = None,
) -> None:
    """Run the Zoom-compatible sandbox (Zoom's OAuth and REST API, for demos and tests)."""
    # A separate program: the product never imports the sandbox, it only talks to it over HTTP.
    cmd = [sys.executable, "-m", "meetbridge_sandbox", "--port", str(port), "--host", host]
    if state_file:
        cmd += ["--state-file", state_file]
    # The sandbox replaces this process, so a signal sent to `meetbridge sandbox` (SIGTERM from a
    # service manager) reaches the server itself instead of leaving it running as an orphan.
    os.execv(sys.executable, cmd)  # noqa: S606


@app.command()
def run(
    use_sandbox: Annotated[
        bool, typer.Option("--sandbox/--no-sandbox", help="Start the Zoom sandbox and use it")
    ] = True,
) -> None:
    """The embedded default: migrate, seed the demo organisation (not in production mode), run
    web + worker and the Zoom sandbox, starting again any that exits. Ctrl-C stops everything."""
    from meetbridge.accounts.demo import DEMO_ADMIN_EMAIL, ensure_demo
    from meetbridge.cli.supervise import Supervisor

    settings = load_settings()
    ports = {"MEETBRIDGE_PORT": settings.port}
    if use_sandbox:
        ports["MEETBRIDGE_SANDBOX_PORT"] = settings.sandbox_port
    for name, port in ports.items():
        if not _port_free(settings.host if name == "MEETBRIDGE_PORT" else "127.0.0.1", port):
            err.print(
                f"[red]Port {port} is in use[/red] (another meetbridge?). Stop it, or set "
                f"{name} to a free port."
            )
            raise typer.Exit(1)
    c = open_container(settings)
    # The demo organisation (and the reset of its admin's password on every run) is for trying
    # meetbridge out; a production install starts empty (`meetbridge orgs create`).
    demo = settings.mode == "demo"
    password = _demo_password(settings) if demo else ""
    created = ensure_demo(c.orgs, c.accounts, password) if demo else False
    if created:
        from meetbridge.booking.demo import ensure_demo_type

        owner = c.orgs.first_owner("demo")
        assert owner is not None
        others = [m for m in c.accounts.list_members(owner) if m.id != owner.id]
        ensure_demo_type(c.meeting_types, owner, others)
    c.close()
    url = settings.effective_base_url
    env = dict(os.environ)
    children: list[tuple[str, list[str]]] = []
    if use_sandbox:
        sandbox_url = f"http://127.0.0.1:{settings.sandbox_port}"
        env.update(
            MEETBRIDGE_ZOOM_API_BASE=f"{sandbox_url}/v2",
            MEETBRIDGE_ZOOM_OAUTH_BASE=sandbox_url,
            MEETBRIDGE_SANDBOX_WEBHOOK_URL=f"{url}/webhooks/zoom",
            MEETBRIDGE_SANDBOX_DEAUTH_URL=f"{url}/webhooks/zoom/deauthorize",
        )
        env.setdefault("MEETBRIDGE_ZOOM_REDIRECT_URI", f"{url}/integrations/zoom/callback")
        children.append(
            (
                "Zoom sandbox",
                [
                    sys.executable,
                    "-m",
                    "meetbridge_sandbox",
                    "--port",
                    str(settings.sandbox_port),
                    "--state-file",
                    str(settings.data_dir / "zoom-sandbox.db"),
                ],
            )
        )
    children += [
        ("web server", [sys.executable, "-m", "meetbridge", "serve"]),
        ("worker", [sys.executable, "-m", "meetbridge", "worker"]),
    ]
    supervisor = Supervisor(children, env, lambda line: err.print(f"[yellow]{line}[/yellow]"))
    supervisor.start()
    console.rule("[bold]meetbridge is running")
    console.print(f"  Open      [bold cyan]{url}[/]")
    if demo:
        console.print(f"  Sign in   [bold]{DEMO_ADMIN_EMAIL}[/] / [bold]{password}[/]")
        console.print(f"  Book      [bold cyan]{url}/book/demo/intro-call[/] (the public page)")
    else:
        console.print("  Sign in   with a login made by `meetbridge orgs create` (production mode)")
    console.print(f"  E-mail    written to {settings.effective_outbox_dir}/ as .eml files")
    console.print(f"  API docs  {url}/docs")
    if use_sandbox:
        console.print(
            f"  Zoom      sandbox at {sandbox_url} (Zoom users *@zoom-sandbox.test, "
            "password sandbox-password)"
        )
    else:
        console.print(f"  Zoom      {settings.zoom_api_base}")
    if created:
        console.print("  (demo organisation created)")
    console.print("  Press Ctrl-C to stop.")
    stopping = False

    def _stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    code = 0
    while not stopping:
        problem = supervisor.check()
        if problem is not None:
            err.print(f"[red]{problem}[/red]")
            stopping, code = True, 1
        time.sleep(0.3)
    supervisor.stop()
    console.print("Stopped.")
    raise typer.Exit(code)


def _port_free(host: str, port: int) -> bool:
    import socket

    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def _demo_password(settings: Settings) -> str:
    """MEETBRIDGE_DEMO_PASSWORD, or one generated on first run and kept in the data folder."""
    if settings.demo_password:
        return settings.demo_password.get_secret_value()
    path: Path = settings.data_dir / "demo-password.txt"
    if path.exists():
        return path.read_text().strip()
    password = "demo-" + secrets.token_urlsafe(9)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(password + "\n")
    return password


@app.command("rotate-keys")
def rotate_keys() -> None:
    """Re-encrypt every stored secret with the newest key in MEETBRIDGE_ENCRYPTION_KEYS.
    Put a new key first in the setting, run this, then drop the old keys."""
    from meetbridge.integrations.zoom.keys import rotate_keys as rotate_zoom_keys

    c = open_container(load_settings())
    counts = rotate_zoom_keys(c.db, c.crypto)
    console.print(f"Re-encrypted {sum(counts.values())} secrets ({counts}).")


@app.command("new-key")
def new_key() -> None:
    """Print a new encryption key for MEETBRIDGE_ENCRYPTION_KEYS."""
    from meetbridge.core.crypto import Crypto

    console.print(Crypto.new_key())


def main() -> None:
    app()

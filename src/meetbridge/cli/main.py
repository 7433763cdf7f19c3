"""The `meetbridge` command: run the product, serve, work, migrate, and manage accounts."""

from __future__ import annotations

import datetime as dt
import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from meetbridge.accounts.demo import DEMO_ADMIN_EMAIL, ensure_demo
from meetbridge.container import Container, build_container
from meetbridge.core.audit import Origin
from meetbridge.core.errors import DomainError
from meetbridge.core.logging import configure_logging
from meetbridge.core.migrate import upgrade
from meetbridge.core.models import Meeting, User
from meetbridge.core.settings import Settings
from meetbridge.integrations.zoom.keys import rotate_keys as rotate_zoom_keys
from meetbridge.meetings.engine import MeetingInput

app = typer.Typer(help="meetbridge: a self-hostable Zoom integration.", no_args_is_help=True)
users_app = typer.Typer(help="Manage user logins.", no_args_is_help=True)
orgs_app = typer.Typer(help="Manage organisations.", no_args_is_help=True)
app.add_typer(users_app, name="users")
app.add_typer(orgs_app, name="orgs")
meetings_app = typer.Typer(help="Schedule and manage Zoom meetings.", no_args_is_help=True)
app.add_typer(meetings_app, name="meetings")
console = Console()
err = Console(stderr=True)
CLI = Origin(via="cli")


def _settings() -> Settings:
    try:
        return Settings()
    except Exception as exc:
        err.print(f"[red]Configuration error:[/red] {exc}")
        raise typer.Exit(2) from None


def _container(settings: Settings) -> Container:
    configure_logging(settings.log_level, settings.log_json)
    upgrade(settings.effective_database_url)
    return build_container(settings)


def _fail(exc: DomainError) -> typer.Exit:
    detail = "; ".join(f"{e.field}: {e.reason}" for e in exc.errors) or exc.message
    err.print(f"[red]Error:[/red] {detail}")
    return typer.Exit(1)


@app.command()
def migrate() -> None:
    """Apply database migrations (also done on every start)."""
    settings = _settings()
    upgrade(settings.effective_database_url)
    console.print("Database is up to date.")


@app.command()
def serve(
    port: Annotated[int | None, typer.Option(help="Port (default MEETBRIDGE_PORT)")] = None,
    workers: Annotated[int | None, typer.Option(help="Web processes")] = None,
) -> None:
    """Serve the web UI and the REST API."""
    import uvicorn

    settings = _settings()
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
        proxy_headers=False,
    )


@app.command()
def worker() -> None:
    """Run background jobs (e-mail, reconcilers)."""
    settings = _settings()
    c = _container(settings)
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
    raise typer.Exit(subprocess.call(cmd))


@app.command()
def run(
    use_sandbox: Annotated[
        bool, typer.Option("--sandbox/--no-sandbox", help="Start the Zoom sandbox and use it")
    ] = True,
) -> None:
    """The embedded default: migrate, seed the demo organisation, run web + worker and the Zoom
    sandbox. Ctrl-C stops everything."""
    settings = _settings()
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
    c = _container(settings)
    password = _demo_password(settings)
    created = ensure_demo(c.accounts, password)
    c.close()
    url = settings.effective_base_url
    env = dict(os.environ)
    procs = []
    if use_sandbox:
        sandbox_url = f"http://127.0.0.1:{settings.sandbox_port}"
        env.update(
            MEETBRIDGE_ZOOM_API_BASE=f"{sandbox_url}/v2",
            MEETBRIDGE_ZOOM_OAUTH_BASE=sandbox_url,
            MEETBRIDGE_SANDBOX_WEBHOOK_URL=f"{url}/webhooks/zoom",
            MEETBRIDGE_SANDBOX_DEAUTH_URL=f"{url}/webhooks/zoom/deauthorize",
        )
        env.setdefault("MEETBRIDGE_ZOOM_REDIRECT_URI", f"{url}/integrations/zoom/callback")
        procs.append(
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "meetbridge_sandbox",
                    "--port",
                    str(settings.sandbox_port),
                    "--state-file",
                    str(settings.data_dir / "zoom-sandbox.db"),
                ],
                env=env,
            )
        )
    procs += [
        subprocess.Popen([sys.executable, "-m", "meetbridge", "serve"], env=env),
        subprocess.Popen([sys.executable, "-m", "meetbridge", "worker"], env=env),
    ]
    console.rule("[bold]meetbridge is running")
    console.print(f"  Open      [bold cyan]{url}[/]")
    console.print(f"  Sign in   [bold]{DEMO_ADMIN_EMAIL}[/] / [bold]{password}[/]")
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
        for p in procs:
            if p.poll() is not None:
                err.print(f"[red]A child process exited ({p.args!r}); stopping.[/red]")
                stopping, code = True, 1
        time.sleep(0.3)
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGINT)
    deadline = time.monotonic() + 10
    for p in procs:
        try:
            p.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            p.kill()
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
    c = _container(_settings())
    counts = rotate_zoom_keys(c.db, c.crypto)
    console.print(f"Re-encrypted {sum(counts.values())} secrets ({counts}).")


@app.command("new-key")
def new_key() -> None:
    """Print a new encryption key for MEETBRIDGE_ENCRYPTION_KEYS."""
    from meetbridge.core.crypto import Crypto

    console.print(Crypto.new_key())


@orgs_app.command("create")
def orgs_create(
    name: Annotated[str, typer.Argument(help="Organisation name")],
    owner_email: Annotated[str, typer.Option(help="E-mail of its first owner")],
    owner_name: Annotated[str, typer.Option(help="Name of its first owner")],
    owner_password: Annotated[str, typer.Option(prompt=True, hide_input=True)],
    slug: Annotated[str | None, typer.Option(help="URL name (default: from the name)")] = None,
    timezone: Annotated[str, typer.Option(help="IANA time zone")] = "UTC",
) -> None:
    """Create an organisation and its first owner."""
    c = _container(_settings())
    try:
        org, owner = c.accounts.create_organization(
            name=name,
            owner_email=owner_email,
            owner_name=owner_name,
            owner_password=owner_password,
            origin=CLI,
            slug=slug,
            timezone=timezone,
        )
    except DomainError as exc:
        raise _fail(exc) from None
    console.print(f"Created organisation {org.name} ({org.slug}, id {org.id}); owner {owner.email}")


@users_app.command("create")
def users_create(
    org: Annotated[str, typer.Option(help="Organisation slug")],
    email: Annotated[str, typer.Option()],
    name: Annotated[str, typer.Option()],
    password: Annotated[str, typer.Option(prompt=True, hide_input=True)],
    role: Annotated[str, typer.Option(help="owner, admin or member")] = "member",
) -> None:
    """Create a login in an organisation (acting as its first owner)."""
    c = _container(_settings())
    owner = c.accounts.first_owner(org)
    if owner is None:
        err.print(f"[red]Error:[/red] org: no organisation with slug {org!r}")
        raise typer.Exit(1)
    try:
        user = c.accounts.create_member(
            owner, email=email, name=name, role=role, password=password, origin=CLI
        )
    except DomainError as exc:
        raise _fail(exc) from None
    console.print(f"Created {user.role} {user.email} (id {user.id}); a welcome e-mail is queued.")


def _member(c: Container, email: str) -> User:
    user = c.accounts.active_user_by_email(email)
    if user is None:
        err.print(f"[red]Error:[/red] as: no active login {email!r}")
        raise typer.Exit(1)
    return user


@meetings_app.command("create")
def meetings_create(
    as_: Annotated[str, typer.Option("--as", help="The host's meetbridge e-mail")],
    title: Annotated[str, typer.Option()],
    start: Annotated[str, typer.Option(help="Local time, e.g. 2027-03-01T09:30")],
    duration: Annotated[int, typer.Option(help="Minutes")] = 30,
    timezone: Annotated[str | None, typer.Option(help="IANA zone (default: the host's)")] = None,
    agenda: Annotated[str, typer.Option()] = "",
    invite: Annotated[list[str] | None, typer.Option(help="E-mail to invite (repeat)")] = None,
    wait: Annotated[bool, typer.Option(help="Wait until Zoom has it")] = True,
) -> None:
    """Schedule a Zoom meeting in the host's connected Zoom."""
    c = _container(_settings())
    host = _member(c, as_)
    try:
        when = dt.datetime.fromisoformat(start)
    except ValueError:
        err.print("[red]Error:[/red] start: use YYYY-MM-DDTHH:MM")
        raise typer.Exit(1) from None
    try:
        m = c.meetings.schedule(
            host,
            MeetingInput(
                title=title,
                start=when,
                timezone=timezone or host.timezone,
                duration=duration,
                agenda=agenda,
                invitees=list(invite or []),
            ),
            CLI,
        )
    except DomainError as exc:
        raise _fail(exc) from None
    console.print(f"Meeting {m.id} recorded; creating it in Zoom…")
    if wait:
        deadline = time.monotonic() + 60
        while (m := c.meetings.get(host, m.id)).status == "creating" and not m.last_error:
            if time.monotonic() > deadline:
                break
            time.sleep(0.5)
    _show(m)


def _show(m: Meeting) -> None:
    console.print(f"[bold]{m.title}[/] · {m.status}")
    console.print(f"  id        {m.id}")
    console.print(
        f"  when      {m.start_at:%Y-%m-%d %H:%M} UTC ({m.timezone}), {m.duration_min} min"
    )
    console.print(f"  Zoom id   {m.zoom_meeting_id or '—'}")
    console.print(f"  join      {m.join_url or '—'}")
    if m.last_error:
        console.print(f"  [yellow]problem[/]   {m.last_error}")


@meetings_app.command("list")
def meetings_list(
    as_: Annotated[str, typer.Option("--as", help="Whose meetings (e-mail)")],
    past: Annotated[bool, typer.Option(help="Past meetings instead of upcoming")] = False,
) -> None:
    """List meetings."""
    from rich.table import Table

    c = _container(_settings())
    user = _member(c, as_)
    table = Table("id", "when (UTC)", "title", "status", "Zoom id", "join link")
    for m in c.meetings.list_meetings(user, when="past" if past else "upcoming"):
        table.add_row(
            m.id,
            f"{m.start_at:%Y-%m-%d %H:%M}",
            m.title,
            m.status,
            str(m.zoom_meeting_id or ""),
            m.join_url or "",
        )
    console.print(table)


@meetings_app.command("show")
def meetings_show(
    meeting_id: str, as_: Annotated[str, typer.Option("--as", help="Viewer's e-mail")]
) -> None:
    """Show one meeting."""
    c = _container(_settings())
    try:
        _show(c.meetings.get(_member(c, as_), meeting_id))
    except DomainError as exc:
        raise _fail(exc) from None


@meetings_app.command("cancel")
def meetings_cancel(
    meeting_id: str, as_: Annotated[str, typer.Option("--as", help="Host's e-mail")]
) -> None:
    """Cancel a meeting (deleted in Zoom; invitees get a cancellation)."""
    c = _container(_settings())
    try:
        m = c.meetings.cancel(_member(c, as_), meeting_id, CLI)
    except DomainError as exc:
        raise _fail(exc) from None
    console.print(f"Meeting {m.id}: {m.status}.")


def main() -> None:
    app()

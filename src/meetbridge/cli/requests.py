"""`meetbridge requests …`: service requests through a server's API with the login
`meetbridge login` saved: list them, convert to and from Zoom meetings on the host pool."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from meetbridge.cli.backends import call, saved_login
from meetbridge.cli.common import console, err

requests_app = typer.Typer(help="Service requests on the Zoom host pool.", no_args_is_help=True)

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table")]


def _api(method: str, path: str, body: Any = None) -> Any:
    login = saved_login()
    if login is None:
        err.print(
            "[red]Error:[/red] not signed in: run `meetbridge login --server URL` with an "
            "API token (Settings → API tokens)"
        )
        raise typer.Exit(1)
    return call(login["server"], login["token"], method, path, body)


def _show(rows: list[dict[str, Any]], as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    from rich.table import Table

    table = Table("id", "start (UTC)", "client", "service", "status", "type", "host", "join link")
    for r in rows:
        table.add_row(
            r["id"],
            r["start"][:16].replace("T", " "),
            r["client"],
            r["service"],
            r["status"],
            "Zoom meeting" if r["type"] == "zoom" else "regular",
            r["zoom_host"] or "",
            r["join_url"] or "",
        )
    console.print(table)


@requests_app.command("list")
def requests_list(
    status: Annotated[str | None, typer.Option(help="draft, requested, confirmed, …")] = None,
    tag: Annotated[str | None, typer.Option(help="Only requests with this tag")] = None,
    zoom: Annotated[bool, typer.Option("--zoom", help="Only Zoom meetings")] = False,
    as_json: JsonOption = False,
) -> None:
    """The service requests, by start."""
    query = [f"{k}={v}" for k, v in (("status", status), ("tag", tag)) if v]
    if zoom:
        query.append("type=zoom")
    _show(_api("GET", "/requests" + ("?" + "&".join(query) if query else "")), as_json)


@requests_app.command("convert")
def requests_convert(
    request_id: str,
    back: Annotated[bool, typer.Option("--back", help="Back to a regular request")] = False,
    as_json: JsonOption = False,
) -> None:
    """Converts a request to a Zoom meeting on a free host of the pool (or back)."""
    action = "convert-to-regular" if back else "convert-to-zoom"
    r = _api("POST", f"/requests/{request_id}/{action}")
    _show([r], as_json)
    if r.get("host_choice") and not as_json:
        console.print(r["host_choice"])


@requests_app.command("series-zoom")
def requests_series_zoom(
    series_id: str,
    wait: Annotated[bool, typer.Option(help="Follow the job with a progress bar")] = True,
) -> None:
    """Update recurring requests with Clone Zoom Settings: every occurrence to come becomes
    a Zoom meeting on a pool host (a job on the server; its progress shown here)."""
    import time

    job = _api("POST", f"/requests/series/{series_id}/update", {"clone_zoom_settings": True})
    if wait:
        from rich.progress import Progress

        with Progress(console=console) as bar:
            task = bar.add_task("Converting occurrences", total=job["total"] or 1)
            while job["status"] == "pending":
                bar.update(task, completed=job["done"])
                time.sleep(0.5)
                job = _api("GET", f"/requests/series-jobs/{job['id']}")
            bar.update(task, completed=job["done"])
    console.print(
        f"{job['placed']} of {job['total']} occurrences are Zoom meetings (job {job['status']})."
    )
    for miss in job["not_placed"]:
        console.print(
            f"  not placed: {miss['start'][:16].replace('T', ' ')} UTC — {miss['reason']}"
        )
    if job["status"] == "failed":
        err.print(f"[red]Error:[/red] {job['last_error']}")
        raise typer.Exit(1)

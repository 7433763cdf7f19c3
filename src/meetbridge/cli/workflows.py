"""`meetbridge workflows …`: the organisation's workflows through a server's API with the login
`meetbridge login` saved (an owner's or admin's token): list them, show one, run one now or as
a test with sample data, list its runs, retry a failed run from its failed step."""

from __future__ import annotations

import json
from typing import Annotated, Any
from urllib.parse import quote, urlencode

import typer

from meetbridge.cli.backends import call, saved_login
from meetbridge.cli.common import console, err

workflows_app = typer.Typer(
    help="Workflows: event-triggered steps through the Zoom account.", no_args_is_help=True
)

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table")]
STATUSES = ("pending", "succeeded", "failed", "cancelled")


def _login() -> dict[str, str]:
    login = saved_login()
    if login is None:
        err.print(
            "[red]Error:[/red] not signed in: run `meetbridge login --server URL` with an "
            "API token (Settings → API tokens)"
        )
        raise typer.Exit(1)
    return login


def _api(method: str, path: str, body: Any = None) -> Any:
    login = _login()
    return call(login["server"], login["token"], method, path, body)


def _page(workflow_id: str, run_id: str | None = None) -> str:
    url = f"{_login()['server'].rstrip('/')}/workflows/{quote(workflow_id)}"
    return f"{url}/runs/{quote(run_id)}" if run_id else url


def _when(iso: str | None) -> str:
    return (iso or "")[:19].replace("T", " ")


def _duration(ms: int | None) -> str:
    if ms is None:
        return ""
    return f"{ms} ms" if ms < 1000 else f"{ms / 1000:.1f} s"


def _print_json(value: Any) -> None:
    typer.echo(json.dumps(value, indent=2, ensure_ascii=False))


def _runs_table(runs: list[dict[str, Any]]) -> None:
    from rich.table import Table

    table = Table("id", "started (UTC)", "status", "trigger", "duration", "step", "error")
    for r in runs:
        table.add_row(
            r["id"],
            _when(r["created_at"]),
            r["status"] + (" (test)" if r["dry_run"] else ""),
            r["trigger"],
            _duration(r["duration_ms"]),
            str(r["step"] + 1) if r["status"] != "succeeded" else "all",
            (r["last_error"] or "")[:120],
        )
    console.print(table)


def _show_run(run: dict[str, Any]) -> None:
    console.print(
        f"Run {run['id']}: [bold]{run['status']}[/bold]"
        + (" (a test: nothing was done)" if run["dry_run"] else "")
        + (f" after {_duration(run['duration_ms'])}" if run["duration_ms"] is not None else "")
    )
    if run["last_error"]:
        console.print(f"  {run['last_error']}", style="red", markup=False, highlight=False)
    for st in run.get("steps") or []:
        where = f"{st['position'] + 1}" + (f".{st['item'] + 1}" if st["item"] >= 0 else "")
        line = f"  {where} {st['key']} ({st['action']}): {st['status']}"
        if st["zoom_request_id"]:
            line += f"  [Zoom request {st['zoom_request_id']}]"
        console.print(line, markup=False, highlight=False)
        if st["error"]:
            console.print(f"      {st['error']}", markup=False, highlight=False)
    console.print(f"  {_page(run['workflow_id'], run['id'])}", markup=False, highlight=False)


@workflows_app.command("list")
def workflows_list(as_json: JsonOption = False) -> None:
    """The organisation's workflows, by name."""
    rows = _api("GET", "/workflows")
    if as_json:
        _print_json(rows)
        return
    from rich.table import Table

    table = Table("id", "name", "trigger", "on", "version", "steps")
    for w in rows:
        table.add_row(
            w["id"],
            w["name"],
            w["trigger"],
            "on" if w["enabled"] else "off",
            str(w["version"]),
            str(len(w["definition"].get("steps") or [])),
        )
    console.print(table)


@workflows_app.command("show")
def workflows_show(workflow_id: str, as_json: JsonOption = False) -> None:
    """A workflow: its trigger, its steps and where its page is."""
    w = _api("GET", f"/workflows/{quote(workflow_id)}")
    if as_json:
        _print_json(w)
        return
    trigger = w["definition"].get("trigger") or {}
    console.print(
        f"[bold]{w['name']}[/bold] ({'on' if w['enabled'] else 'off'}, version {w['version']})"
    )
    line = f"Trigger: {trigger.get('kind')}"
    if trigger.get("cron"):
        line += f"  cron {trigger['cron']}"
        if w["next_fire_at"]:
            line += f", next {_when(w['next_fire_at'])} UTC"
    console.print(line, markup=False, highlight=False)
    if w["hook_url"]:
        console.print(f"Hook URL: {w['hook_url']}", markup=False, highlight=False)
    for i, st in enumerate(w["definition"].get("steps") or []):
        each = f" for each {st['for_each']}" if st.get("for_each") else ""
        console.print(
            f"  {i + 1}. {st['key']}: {st['action']}{each}", markup=False, highlight=False
        )
    console.print(_page(w["id"]), markup=False, highlight=False)


@workflows_app.command("run")
def workflows_run(
    workflow_id: str,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="A test with sample results: nothing is done")
    ] = False,
    data: Annotated[
        str | None,
        typer.Option("--data", help="The trigger's data as a JSON object (default: its sample)"),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Runs a workflow now (in the background on the server), or tests it (--dry-run: every
    step rendered and checked, with the result here)."""
    parsed = None
    if data is not None:
        try:
            parsed = json.loads(data)
        except ValueError as exc:
            err.print(f"[red]Error:[/red] --data is not JSON: {exc}")
            raise typer.Exit(2) from None
        if not isinstance(parsed, dict):
            err.print("[red]Error:[/red] --data must be a JSON object, e.g. '{\"member\": {}}'")
            raise typer.Exit(2)
    run = _api(
        "POST", f"/workflows/{quote(workflow_id)}/runs", {"data": parsed, "dry_run": dry_run}
    )
    if as_json:
        _print_json(run)
    else:
        _show_run(run)
    if run["status"] == "failed":
        raise typer.Exit(1)


@workflows_app.command("runs")
def workflows_runs(
    workflow_id: str,
    status: Annotated[str | None, typer.Option(help=", ".join(STATUSES))] = None,
    limit: Annotated[int, typer.Option(min=1, max=500, help="At most this many")] = 50,
    as_json: JsonOption = False,
) -> None:
    """A workflow's runs, newest first."""
    if status is not None and status not in STATUSES:
        err.print(f"[red]Error:[/red] --status is one of {', '.join(STATUSES)}")
        raise typer.Exit(2)
    query = urlencode({"limit": limit, **({"status": status} if status else {})})
    runs = _api("GET", f"/workflows/{quote(workflow_id)}/runs?{query}")
    if as_json:
        _print_json(runs)
    else:
        _runs_table(runs)


@workflows_app.command("retry")
def workflows_retry(run_id: str, as_json: JsonOption = False) -> None:
    """Retries a failed run from the step that failed."""
    run = _api("POST", f"/workflow-runs/{quote(run_id)}/retry")
    if as_json:
        _print_json(run)
    else:
        _show_run(run)
    if run["status"] == "failed":
        raise typer.Exit(1)

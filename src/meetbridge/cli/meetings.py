"""`meetbridge meetings …`: schedule, list, show and cancel Zoom meetings — through a server's
API with the login `meetbridge login` saved, or on the server's own machine as `--as EMAIL`."""

from __future__ import annotations

import datetime as dt
import json
import time
import zoneinfo
from typing import Annotated

import typer

from meetbridge.cli.backends import Backend, MeetingRow, NewMeeting, Viewer, backend
from meetbridge.cli.common import console, err
from meetbridge.meetings.status import Status

meetings_app = typer.Typer(help="Schedule and manage Zoom meetings.", no_args_is_help=True)

AsOption = Annotated[
    str | None,
    typer.Option(
        "--as",
        help="Act as this login on the server's own machine (default: the saved login)",
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table")]


@meetings_app.command("create")
def meetings_create(
    title: Annotated[str, typer.Option()],
    start: Annotated[str, typer.Option(help="Local time, e.g. 2027-03-01T09:30")],
    duration: Annotated[int, typer.Option(help="Minutes")] = 30,
    timezone: Annotated[str | None, typer.Option(help="IANA zone (default: the host's)")] = None,
    agenda: Annotated[str, typer.Option()] = "",
    invite: Annotated[list[str] | None, typer.Option(help="E-mail to invite (repeat)")] = None,
    wait: Annotated[bool, typer.Option(help="Wait until Zoom has it")] = True,
    as_: AsOption = None,
) -> None:
    """Schedule a Zoom meeting in the host's connected Zoom."""
    try:
        when = dt.datetime.fromisoformat(start)
    except ValueError:
        err.print("[red]Error:[/red] start: use YYYY-MM-DDTHH:MM")
        raise typer.Exit(1) from None
    b = backend(as_)
    m = b.create(NewMeeting(title, when, timezone, duration, agenda, list(invite or [])))
    console.print(f"Meeting {m.id} recorded; creating it in Zoom…")
    if wait:
        deadline = time.monotonic() + 60
        while (m := b.get(m.id)).status == "creating" and not m.last_error:
            if time.monotonic() > deadline:
                break
            time.sleep(0.5)
    _show(m, b.viewer)


def _as_json(m: MeetingRow, viewer: Viewer) -> dict[str, object]:
    return {
        "id": m.id,
        "title": m.title,
        "status": m.status,
        "start": m.start_at.isoformat(),
        "start_local": _local(m, viewer).isoformat(),
        "viewer_timezone": viewer.timezone,
        "timezone": m.timezone,
        "duration_min": m.duration_min,
        "zoom_meeting_id": m.zoom_meeting_id,
        "join_url": _join_url(m),
        "last_error": m.last_error,
    }


def _local(m: MeetingRow, viewer: Viewer) -> dt.datetime:
    """The start in the viewer's own time zone (as the web and the API show it)."""
    return m.start_at.astimezone(zoneinfo.ZoneInfo(viewer.timezone))


def _join_url(m: MeetingRow) -> str | None:
    """A cancelled meeting's link no longer leads anywhere: not shown."""
    return None if Status(m.status).gone else m.join_url


def _show(m: MeetingRow, viewer: Viewer) -> None:
    console.print(f"[bold]{m.title}[/] · {m.status}")
    console.print(f"  id        {m.id}")
    console.print(
        f"  when      {_local(m, viewer):%Y-%m-%d %H:%M} {viewer.timezone} "
        f"(created in {m.timezone}), {m.duration_min} min"
    )
    console.print(f"  Zoom id   {m.zoom_meeting_id or '—'}")
    console.print(f"  join      {_join_url(m) or '—'}")
    if m.last_error:
        console.print(f"  [yellow]problem[/]   {m.last_error}")


def _short_ids(ids: list[str], at_least: int = 8) -> dict[str, str]:
    """The shortest prefix of each ID (at least `at_least` characters) that no other has."""
    out = {}
    for mid in ids:
        n = at_least
        while n < len(mid) and any(o != mid and o.startswith(mid[:n]) for o in ids):
            n += 1
        out[mid] = mid[:n]
    return out


def _resolve(b: Backend, prefix: str) -> str:
    """A whole meeting ID, from a unique prefix of one the viewer can see."""
    if len(prefix) == 36:
        return prefix
    found = {
        m.id
        for when in ("upcoming", "past", "cancelled")
        for m in b.list(when)
        if m.id.startswith(prefix)
    }
    if len(found) != 1:
        what = "no meeting" if not found else f"{len(found)} meetings"
        err.print(f"[red]Error:[/red] meeting_id: {what} starting with {prefix!r}")
        raise typer.Exit(1)
    return found.pop()


@meetings_app.command("list")
def meetings_list(
    past: Annotated[bool, typer.Option(help="Past meetings instead of upcoming")] = False,
    as_json: JsonOption = False,
    as_: AsOption = None,
) -> None:
    """List meetings (times in the viewer's time zone; IDs as short unique prefixes)."""
    from rich.table import Table

    b = backend(as_)
    user = b.viewer
    rows = b.list("past" if past else "upcoming")
    if as_json:
        typer.echo(json.dumps([_as_json(m, user) for m in rows], indent=2))
        return
    short = _short_ids([m.id for m in rows])
    table = Table("id", f"when ({user.timezone})", "title", "status", "Zoom id", "join link")
    for m in rows:
        table.add_row(
            short[m.id],
            f"{_local(m, user):%Y-%m-%d %H:%M}",
            m.title,
            m.status,
            str(m.zoom_meeting_id or ""),
            _join_url(m) or "",
        )
    console.print(table)


@meetings_app.command("show")
def meetings_show(
    meeting_id: Annotated[str, typer.Argument(help="The meeting's ID or a unique prefix")],
    as_json: JsonOption = False,
    as_: AsOption = None,
) -> None:
    """Show one meeting."""
    b = backend(as_)
    m = b.get(_resolve(b, meeting_id))
    if as_json:
        typer.echo(json.dumps(_as_json(m, b.viewer), indent=2))
    else:
        _show(m, b.viewer)


@meetings_app.command("cancel")
def meetings_cancel(
    meeting_id: Annotated[str, typer.Argument(help="The meeting's ID or a unique prefix")],
    as_: AsOption = None,
) -> None:
    """Cancel a meeting (deleted in Zoom; invitees get a cancellation)."""
    b = backend(as_)
    m = b.cancel(_resolve(b, meeting_id))
    console.print(f"Meeting {m.id}: {m.status}.")

"""`meetbridge meetings …`: schedule, list, show and cancel Zoom meetings."""

from __future__ import annotations

import datetime as dt
import json
import time
import zoneinfo
from typing import TYPE_CHECKING, Annotated

import typer

from meetbridge.cli.common import cli_origin, console, err, fail, load_settings, open_container
from meetbridge.core.errors import DomainError

if TYPE_CHECKING:
    from meetbridge.container import Container
    from meetbridge.core.models import Meeting, User

meetings_app = typer.Typer(help="Schedule and manage Zoom meetings.", no_args_is_help=True)


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
    from meetbridge.meetings.inputs import MeetingInput

    c = open_container(load_settings())
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
            cli_origin(),
        )
    except DomainError as exc:
        raise fail(exc) from None
    console.print(f"Meeting {m.id} recorded; creating it in Zoom…")
    if wait:
        deadline = time.monotonic() + 60
        while (m := c.meetings.get(host, m.id)).status == "creating" and not m.last_error:
            if time.monotonic() > deadline:
                break
            time.sleep(0.5)
    _show(m, host)


def _as_json(m: Meeting, viewer: User) -> dict[str, object]:
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


def _local(m: Meeting, viewer: User) -> dt.datetime:
    """The start in the viewer's own time zone (as the web and the API show it)."""
    return m.start_at.astimezone(zoneinfo.ZoneInfo(viewer.timezone))


def _join_url(m: Meeting) -> str | None:
    """A cancelled meeting's link no longer leads anywhere: not shown."""
    return None if m.status in ("cancelling", "cancelled", "deleted_in_zoom") else m.join_url


def _show(m: Meeting, viewer: User) -> None:
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


def _resolve(c: Container, viewer: User, prefix: str) -> str:
    """A whole meeting ID, from a unique prefix of one the viewer can see."""
    if len(prefix) == 36:
        return prefix
    found = {
        m.id
        for when in ("upcoming", "past", "cancelled")
        for m in c.meetings.list_meetings(viewer, when=when, limit=10_000)
        if m.id.startswith(prefix)
    }
    if len(found) != 1:
        what = "no meeting" if not found else f"{len(found)} meetings"
        err.print(f"[red]Error:[/red] meeting_id: {what} starting with {prefix!r}")
        raise typer.Exit(1)
    return found.pop()


JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table")]


@meetings_app.command("list")
def meetings_list(
    as_: Annotated[str, typer.Option("--as", help="Whose meetings (e-mail)")],
    past: Annotated[bool, typer.Option(help="Past meetings instead of upcoming")] = False,
    as_json: JsonOption = False,
) -> None:
    """List meetings (times in the viewer's time zone; IDs as short unique prefixes)."""
    from rich.table import Table

    c = open_container(load_settings())
    user = _member(c, as_)
    rows = c.meetings.list_meetings(user, when="past" if past else "upcoming")
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
    as_: Annotated[str, typer.Option("--as", help="Viewer's e-mail")],
    as_json: JsonOption = False,
) -> None:
    """Show one meeting."""
    c = open_container(load_settings())
    viewer = _member(c, as_)
    try:
        m = c.meetings.get(viewer, _resolve(c, viewer, meeting_id))
    except DomainError as exc:
        raise fail(exc) from None
    if as_json:
        typer.echo(json.dumps(_as_json(m, viewer), indent=2))
    else:
        _show(m, viewer)


@meetings_app.command("cancel")
def meetings_cancel(
    meeting_id: Annotated[str, typer.Argument(help="The meeting's ID or a unique prefix")],
    as_: Annotated[str, typer.Option("--as", help="Host's e-mail")],
) -> None:
    """Cancel a meeting (deleted in Zoom; invitees get a cancellation)."""
    c = open_container(load_settings())
    host = _member(c, as_)
    try:
        m = c.meetings.cancel(host, _resolve(c, host, meeting_id), cli_origin())
    except DomainError as exc:
        raise fail(exc) from None
    console.print(f"Meeting {m.id}: {m.status}.")

"""`meetbridge booking …`: meeting types and bookings, through a server's API with the login
`meetbridge login` saved (times in the viewer's own zone, as the pages show them)."""

from __future__ import annotations

import datetime as dt
import json
import zoneinfo
from typing import Annotated, Any

import typer

from meetbridge.cli.backends import call, saved_login
from meetbridge.cli.common import console, err

booking_app = typer.Typer(help="Meeting types and bookings.", no_args_is_help=True)
types_app = typer.Typer(help="Meeting types (admins).", no_args_is_help=True)
bookings_app = typer.Typer(help="Bookings.", no_args_is_help=True)
booking_app.add_typer(types_app, name="types")
booking_app.add_typer(bookings_app, name="bookings")

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table")]


class _Api:
    def __init__(self) -> None:
        login = saved_login()
        if login is None:
            err.print(
                "[red]Error:[/red] not signed in: run `meetbridge login --server URL` with an "
                "API token (Settings → API tokens)"
            )
            raise typer.Exit(1)
        self.server, self.token = login["server"], login["token"]

    def __call__(self, method: str, path: str, body: Any = None) -> Any:
        return call(self.server, self.token, method, path, body)


@types_app.command("list")
def types_list(as_json: JsonOption = False) -> None:
    """Every meeting type with its booking link."""
    from rich.table import Table

    rows = _Api()("GET", "/meeting-types")
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    table = Table("id", "name", "minutes", "assignment", "members", "published", "link")
    for t in rows:
        table.add_row(
            t["id"][:8],
            t["name"],
            str(t["duration"]),
            t["assignment"],
            str(len(t["members"])),
            "yes" if t["published"] else "no",
            t["booking_url"],
        )
    console.print(table)


@types_app.command("create")
def types_create(
    name: Annotated[str, typer.Option()],
    slug: Annotated[str, typer.Option(help="The link's last part, e.g. intro-call")],
    member: Annotated[list[str], typer.Option(help="A member's e-mail (repeat)")],
    duration: Annotated[int, typer.Option(help="Minutes")] = 30,
    assignment: Annotated[str, typer.Option(help="one, round_robin or collective")] = "one",
    fallback: Annotated[str, typer.Option(help="none, jitsi, link, phone, in_person")] = "none",
    fallback_value: Annotated[str, typer.Option(help="The link, number or address")] = "",
    reminder: Annotated[list[int] | None, typer.Option(help="Minutes before (repeat)")] = None,
    publish: Annotated[bool, typer.Option(help="Publish it at once")] = False,
) -> None:
    """Create a meeting type assigned to members (by e-mail)."""
    api = _Api()
    people = {m["email"]: m["id"] for m in api("GET", "/members")}
    missing = [m for m in member if m.lower() not in people]
    if missing:
        err.print(f"[red]Error:[/red] member: not a member here: {', '.join(missing)}")
        raise typer.Exit(1)
    body = {
        "name": name,
        "slug": slug,
        "duration": duration,
        "assignment": assignment,
        "members": [{"user_id": people[m.lower()]} for m in member],
        "fallback": fallback,
        "fallback_value": fallback_value,
        "reminders": list(reminder or []),
    }
    made = api("POST", "/meeting-types", body)
    if publish:
        made = api("POST", f"/meeting-types/{made['id']}/publish", {"published": True})
    state = "published" if made["published"] else "not published yet"
    console.print(f"Meeting type {made['id']} ({state}): {made['booking_url']}")


@types_app.command("publish")
def types_publish(
    type_id: str, off: Annotated[bool, typer.Option("--off", help="Unpublish")] = False
) -> None:
    """Publish (or, with --off, unpublish) a meeting type."""
    made = _Api()("POST", f"/meeting-types/{type_id}/publish", {"published": not off})
    console.print(f"{made['name']}: {'published' if made['published'] else 'unpublished'}")


@bookings_app.command("list")
def bookings_list(
    status: Annotated[str | None, typer.Option(help="confirmed or cancelled")] = None,
    as_csv: Annotated[bool, typer.Option("--csv", help="Print CSV")] = False,
    as_json: JsonOption = False,
) -> None:
    """Bookings, newest start first (members see their own, admins all)."""
    from rich.table import Table

    api = _Api()
    query = f"?status={status}" if status else ""
    if as_csv:
        import urllib.request

        request = urllib.request.Request(  # noqa: S310  (the user's own server)
            f"{api.server.rstrip('/')}/api/v1/bookings.csv{query}",
            headers={"Authorization": f"Bearer {api.token}"},
        )
        with urllib.request.urlopen(request, timeout=30) as reply:  # noqa: S310
            typer.echo(reply.read().decode(), nl=False)
        return
    rows = api("GET", f"/bookings{query}")
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    tz = zoneinfo.ZoneInfo(api("GET", "/me")["timezone"])
    table = Table("id", "when", "type", "host", "booker", "status", "where")
    for b in rows:
        when = dt.datetime.fromisoformat(b["start"]).astimezone(tz)
        where = b["join_url"] or b["location_value"] or b["location"]
        table.add_row(
            b["id"][:8],
            f"{when:%Y-%m-%d %H:%M}",
            b["type"],
            b["host"],
            f"{b['booker_name']} <{b['booker_email']}>",
            b["status"],
            where,
        )
    console.print(table)


@bookings_app.command("cancel")
def bookings_cancel(booking_id: str) -> None:
    """Cancel a booking: its Zoom meeting is deleted and everyone is told."""
    done = _Api()("POST", f"/bookings/{booking_id}/cancel")
    console.print(f"Booking {done['id']} is {done['status']}.")

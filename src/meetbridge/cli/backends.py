"""Where a command's meetings come from: this machine's database, as a named login (`--as`,
for an admin on the server itself), or a meetbridge server's REST API with the API token
saved by `meetbridge login` (anyone, from anywhere). The commands see one shape either way.

The API is called with the standard library (urllib): the CLI starts fast and needs no HTTP
package of its own. A create carries an `Idempotency-Key` and is sent once more with the same
key when the connection fails, so a lost reply never makes a second meeting."""

from __future__ import annotations

import datetime as dt
import json
import os
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import typer

from meetbridge.cli.common import cli_origin, err, fail, load_settings, open_container
from meetbridge.core.errors import DomainError

if TYPE_CHECKING:
    from meetbridge.container import Container
    from meetbridge.core.models import Meeting, User


@dataclass(frozen=True)
class Viewer:
    email: str
    name: str
    timezone: str


@dataclass(frozen=True)
class MeetingRow:
    id: str
    title: str
    status: str
    start_at: dt.datetime
    timezone: str
    duration_min: int
    zoom_meeting_id: int | None
    join_url: str | None
    last_error: str | None


@dataclass(frozen=True)
class NewMeeting:
    title: str
    start: dt.datetime
    timezone: str | None
    duration: int
    agenda: str
    invitees: list[str]


class Backend(Protocol):
    viewer: Viewer

    def list(self, when: str) -> list[MeetingRow]: ...
    def get(self, meeting_id: str) -> MeetingRow: ...
    def create(self, new: NewMeeting) -> MeetingRow: ...
    def cancel(self, meeting_id: str) -> MeetingRow: ...


# ---- this machine's database -----------------------------------------------------------------


def _row(m: Meeting) -> MeetingRow:
    return MeetingRow(
        m.id,
        m.title,
        m.status,
        m.start_at,
        m.timezone,
        m.duration_min,
        m.zoom_meeting_id,
        m.join_url,
        m.last_error,
    )


class Local:
    def __init__(self, email: str) -> None:
        self.c: Container = open_container(load_settings())
        user = self.c.accounts.active_user_by_email(email)
        if user is None:
            err.print(f"[red]Error:[/red] as: no active login {email!r}")
            raise typer.Exit(1)
        self.user: User = user
        self.viewer = Viewer(user.email, user.name, user.timezone)

    def list(self, when: str) -> list[MeetingRow]:
        rows = self.c.meetings.list_meetings(self.user, when=when, limit=10_000)
        return [_row(m) for m in rows]

    def get(self, meeting_id: str) -> MeetingRow:
        try:
            return _row(self.c.meetings.get(self.user, meeting_id))
        except DomainError as exc:
            raise fail(exc) from None

    def create(self, new: NewMeeting) -> MeetingRow:
        from meetbridge.meetings.inputs import MeetingInput

        data = MeetingInput(
            title=new.title,
            start=new.start,
            timezone=new.timezone or self.user.timezone,
            duration=new.duration,
            agenda=new.agenda,
            invitees=new.invitees,
        )
        try:
            return _row(self.c.meetings.schedule(self.user, data, cli_origin()))
        except DomainError as exc:
            raise fail(exc) from None

    def cancel(self, meeting_id: str) -> MeetingRow:
        try:
            return _row(self.c.meetings.cancel(self.user, meeting_id, cli_origin()))
        except DomainError as exc:
            raise fail(exc) from None


# ---- a server's API, with the saved login ----------------------------------------------------


def credentials_path() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "meetbridge" / "credentials.json"


def saved_login() -> dict[str, str] | None:
    try:
        saved = json.loads(credentials_path().read_text())
    except (OSError, ValueError):
        return None
    if isinstance(saved, dict) and saved.get("server") and saved.get("token"):
        return {"server": str(saved["server"]), "token": str(saved["token"])}
    return None


def save_login(server: str, token: str) -> Path:
    from meetbridge.core.files import private_dir, write_private

    path = credentials_path()
    private_dir(path.parent)
    write_private(path, json.dumps({"server": server, "token": token}).encode())
    return path


class Unreachable(Exception):
    """The server could not be reached, or its reply was lost (a caller that will retry)."""


def call(
    server: str,
    token: str,
    method: str,
    path: str,
    body: Any = None,
    *,
    retry: bool = False,
    idempotency: str | None = None,
) -> Any:
    """One API request; an error reply is printed as the server worded it, and exits 1.
    `retry`: raise Unreachable instead of exiting when the server cannot be reached."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(  # noqa: S310  (the URL is the user's own server)
        f"{server.rstrip('/')}/api/v1{path}",
        data=data,
        method=method,
        headers={
            "Accept": "application/json",
            **({"Content-Type": "application/json"} if data is not None else {}),
            **({"Idempotency-Key": idempotency} if idempotency else {}),
        },
    )
    # Not carried over a redirect: a server that sends us elsewhere gets no token to pass on.
    request.add_unredirected_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=30) as reply:  # noqa: S310
            raw = reply.read()
    except urllib.error.HTTPError as exc:
        try:
            error = json.loads(exc.read())["error"]
            fields = "; ".join(f"{f['field']}: {f['reason']}" for f in error.get("fields", []))
            detail = fields or error["message"]
        except (ValueError, KeyError, TypeError):
            detail = f"{exc.code} {exc.reason}"
        if exc.code == 401:
            detail += " (sign in again: meetbridge login)"
        err.print(f"[red]Error:[/red] {detail}")
        raise typer.Exit(1) from None
    except (urllib.error.URLError, OSError) as exc:
        if retry:
            raise Unreachable(str(exc)) from exc
        err.print(f"[red]Error:[/red] cannot reach {server}: {exc}")
        raise typer.Exit(1) from None
    return json.loads(raw) if raw else None


def _api_row(m: dict[str, Any]) -> MeetingRow:
    return MeetingRow(
        m["id"],
        m["title"],
        m["status"],
        dt.datetime.fromisoformat(m["start_at"]),
        m["timezone"],
        m["duration_min"],
        m.get("zoom_meeting_id"),
        m.get("join_url"),
        m.get("last_error"),
    )


class Remote:
    def __init__(self, server: str, token: str) -> None:
        self.server, self.token = server, token
        me = call(server, token, "GET", "/me")
        self.viewer = Viewer(me["email"], me["name"], me["timezone"])

    def list(self, when: str) -> list[MeetingRow]:
        return [_api_row(m) for m in call(self.server, self.token, "GET", f"/meetings?when={when}")]

    def get(self, meeting_id: str) -> MeetingRow:
        return _api_row(call(self.server, self.token, "GET", f"/meetings/{meeting_id}"))

    def create(self, new: NewMeeting) -> MeetingRow:
        body = {
            "title": new.title,
            "start": new.start.isoformat(),
            "timezone": new.timezone,
            "duration": new.duration,
            "agenda": new.agenda,
            "invitees": new.invitees,
        }
        key = str(uuid.uuid4())
        try:
            made = call(
                self.server, self.token, "POST", "/meetings", body, retry=True, idempotency=key
            )
        except Unreachable:  # the reply was lost, or the request: the same key, once more
            made = call(self.server, self.token, "POST", "/meetings", body, idempotency=key)
        return _api_row(made)

    def cancel(self, meeting_id: str) -> MeetingRow:
        return _api_row(call(self.server, self.token, "DELETE", f"/meetings/{meeting_id}"))


def backend(as_: str | None) -> Backend:
    """`--as EMAIL` on the server's machine, else the saved login, else a way to get one."""
    if as_:
        return Local(as_)
    login = saved_login()
    if login is None:
        err.print(
            "[red]Error:[/red] not signed in: run `meetbridge login --server URL` with an API "
            "token (Settings → API tokens), or pass --as EMAIL on the server's own machine"
        )
        raise typer.Exit(1)
    return Remote(login["server"], login["token"])

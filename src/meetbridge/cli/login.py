"""`meetbridge login`, `logout` and `whoami`: the CLI signs in to a meetbridge server with an
API token (made under Settings → API tokens) and keeps it in the user's own config folder
(`~/.config/meetbridge/credentials.json`, readable by the user only), as `gh auth login` does."""

from __future__ import annotations

import sys
import urllib.parse
from typing import Annotated

import typer

from meetbridge.cli.backends import call, credentials_path, save_login, saved_login
from meetbridge.cli.common import console, err


def login(
    server: Annotated[str, typer.Option(help="The server's address, e.g. https://meet.example")],
    with_token: Annotated[
        bool, typer.Option("--with-token", help="Read the API token from standard input")
    ] = False,
) -> None:
    """Sign in to a meetbridge server with an API token; later commands use it."""
    server = server.rstrip("/")
    if not server.startswith(("http://", "https://")):
        err.print("[red]Error:[/red] server: give the address with http:// or https://")
        raise typer.Exit(1)
    host = urllib.parse.urlsplit(server).hostname or ""
    if server.startswith("http://") and host not in ("localhost", "127.0.0.1", "::1"):
        err.print(
            f"[yellow]Warning:[/yellow] {server} is not https: the API token would cross the "
            "network unencrypted"
        )
    token = (
        sys.stdin.readline().strip()
        if with_token
        else typer.prompt("API token (Settings → API tokens)", hide_input=True).strip()
    )
    if not token:
        err.print("[red]Error:[/red] token: an API token is needed")
        raise typer.Exit(1)
    me = call(server, token, "GET", "/me")  # a wrong token or address stops here
    path = save_login(server, token)
    console.print(f"Signed in to {server} as {me['name']} ({me['email']}). Saved in {path}.")


def logout() -> None:
    """Forget the saved login (the token itself stays valid until you revoke it)."""
    path = credentials_path()
    if path.exists():
        path.unlink()
        console.print("Signed out. Revoke the token under Settings → API tokens if it leaked.")
    else:
        console.print("Not signed in.")


def whoami() -> None:
    """Who the saved login is, on which server."""
    saved = saved_login()
    if saved is None:
        err.print("Not signed in: run `meetbridge login --server URL`.")
        raise typer.Exit(1)
    me = call(saved["server"], saved["token"], "GET", "/me")
    console.print(f"{me['name']} ({me['email']}) on {saved['server']}, times in {me['timezone']}")

"""`meetbridge orgs …` and `meetbridge users …`."""

from __future__ import annotations

from typing import Annotated

import typer

from meetbridge.cli.common import cli_origin, console, err, fail, load_settings, open_container
from meetbridge.core.errors import DomainError

users_app = typer.Typer(help="Manage user logins.", no_args_is_help=True)
orgs_app = typer.Typer(help="Manage organisations.", no_args_is_help=True)


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
    c = open_container(load_settings())
    try:
        org, owner = c.orgs.create_organization(
            name=name,
            owner_email=owner_email,
            owner_name=owner_name,
            owner_password=owner_password,
            origin=cli_origin(),
            slug=slug,
            timezone=timezone,
        )
    except DomainError as exc:
        raise fail(exc) from None
    console.print(f"Created organisation {org.name} ({org.slug}, id {org.id}); owner {owner.email}")


@users_app.command("create")
def users_create(
    org: Annotated[str, typer.Option(help="Organisation slug")],
    email: Annotated[str, typer.Option()],
    name: Annotated[str, typer.Option()],
    password: Annotated[str, typer.Option(prompt=True, hide_input=True)],
    role: Annotated[str, typer.Option(help="owner, admin or member")] = "member",
    start_date: Annotated[
        str | None,
        typer.Option(help="Their first day, YYYY-MM-DD (onboards them: member.onboarded)"),
    ] = None,
) -> None:
    """Create a login in an organisation (acting as its first owner)."""
    c = open_container(load_settings())
    owner = c.orgs.first_owner(org)
    if owner is None:
        err.print(f"[red]Error:[/red] org: no organisation with slug {org!r}")
        raise typer.Exit(1)
    try:
        user = c.accounts.create_member(
            owner,
            email=email,
            name=name,
            role=role,
            password=password,
            start_date=start_date,
            origin=cli_origin(),
        )
    except DomainError as exc:
        raise fail(exc) from None
    console.print(f"Created {user.role} {user.email} (id {user.id}); a welcome e-mail is queued.")
    if user.start_date:
        console.print(f"Starts on {user.start_date.isoformat()}.")

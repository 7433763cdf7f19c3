"""What every command shares: settings, the container, the consoles, errors."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer
from rich.console import Console

from meetbridge.core.errors import DomainError

if TYPE_CHECKING:
    from meetbridge.container import Container
    from meetbridge.core.audit import Origin
    from meetbridge.core.settings import Settings

console = Console()
err = Console(stderr=True)


def cli_origin() -> Origin:
    from meetbridge.core.audit import Origin

    return Origin(via="cli")


def load_settings() -> Settings:
    from meetbridge.core.settings import Settings

    try:
        return Settings()
    except Exception as exc:
        err.print(f"[red]Configuration error:[/red] {exc}")
        raise typer.Exit(2) from None


def open_container(settings: Settings) -> Container:
    from meetbridge.container import build_container
    from meetbridge.core.logging import configure_logging
    from meetbridge.core.migrate import upgrade

    configure_logging(settings.log_level, settings.log_json)
    upgrade(settings.effective_database_url)
    return build_container(settings)


def fail(exc: DomainError) -> typer.Exit:
    detail = "; ".join(f"{e.field}: {e.reason}" for e in exc.errors) or exc.message
    err.print(f"[red]Error:[/red] {detail}")
    return typer.Exit(1)

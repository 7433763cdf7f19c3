"""Applies the Alembic migrations shipped inside the package."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

from meetbridge.core.db import normalize_url
from meetbridge.core.files import private_file

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    cfg.attributes["configure_logger"] = False
    return cfg


def upgrade(url: str) -> None:
    url = normalize_url(url)
    if url.startswith("sqlite:///"):
        private_file(Path(url.removeprefix("sqlite:///")))
    command.upgrade(alembic_config(url), "head")

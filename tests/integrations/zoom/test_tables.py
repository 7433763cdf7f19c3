"""The Zoom package's tables live in integrations/zoom/tables.py, in the shared metadata; the
migrations must build exactly what the tables declare (on SQLite and PostgreSQL)."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine

from meetbridge.core.db import Base, normalize_url
from meetbridge.integrations.zoom import tables

ZOOM_TABLES = {
    "zoom_connections",
    "oauth_states",
    "zoom_revocations",
    "webhook_events",
    "rate_counters",
}


def test_the_zoom_tables_are_in_the_shared_metadata() -> None:
    assert {t.__tablename__ for t in (tables.ZoomConnection, tables.OAuthState)} <= ZOOM_TABLES
    assert set(Base.metadata.tables) >= ZOOM_TABLES


def test_the_migrations_build_the_zoom_tables_as_declared(database_url: str) -> None:
    engine = create_engine(normalize_url(database_url))
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(ctx, Base.metadata)
    engine.dispose()

    assert diff == []  # every table, the Zoom ones among them

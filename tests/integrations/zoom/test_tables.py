"""The Zoom package's tables live in integrations/zoom/tables.py, in the shared metadata (the
migrations are checked against all of it in tests/core/test_migrations.py)."""

from __future__ import annotations

from meetbridge.core.db import Base
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

"""The migrations build exactly the tables the models describe, on both databases."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine

import meetbridge.container  # noqa: F401  (imports every module's tables)
from meetbridge.core.db import Base, normalize_url


def test_the_migrated_schema_matches_the_models(database_url: str) -> None:
    engine = create_engine(normalize_url(database_url))
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    engine.dispose()
    # Column types are compared by name only where the dialects differ (UTCDateTime is a
    # DateTime on both); what matters here is that nothing is missing or extra.
    missing = [d for d in diff if not (isinstance(d, list) and d and d[0][0] == "modify_type")]
    assert missing == [], missing

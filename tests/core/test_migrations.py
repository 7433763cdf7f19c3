"""The migrations build exactly the tables the models describe (types included), on both
databases."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine

import meetbridge.container  # noqa: F401  (imports every module's tables)
from meetbridge.core.db import Base, normalize_url


def test_the_migrated_schema_matches_the_models(database_url: str) -> None:
    engine = create_engine(normalize_url(database_url))
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(ctx, Base.metadata)
    engine.dispose()
    assert diff == []

"""Alembic environment. On PostgreSQL an advisory lock lets several processes start at once."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, text

from meetbridge.booking import tables as booking_tables  # noqa: F401
from meetbridge.core import models  # noqa: F401  (registers the tables)
from meetbridge.core.db import Base
from meetbridge.integrations.zoom import tables as zoom_tables  # noqa: F401
from meetbridge.requests import tables as request_tables  # noqa: F401
from meetbridge.workflows import tables as workflow_tables  # noqa: F401

config = context.config
url = config.get_main_option("sqlalchemy.url") or ""
engine = create_engine(url)
MIGRATION_LOCK = 7_210_424_242

with engine.connect() as connection:
    is_pg = connection.dialect.name == "postgresql"
    if is_pg:
        connection.execute(text("SELECT pg_advisory_lock(:k)"), {"k": MIGRATION_LOCK})
        connection.commit()
    try:
        context.configure(
            connection=connection,
            target_metadata=Base.metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()
    finally:
        if is_pg:
            connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": MIGRATION_LOCK})
            connection.commit()
engine.dispose()

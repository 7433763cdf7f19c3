"""member_calendars: read every calendar again now, in full (no If-None-Match): the busy times
stored before copies of meetbridge's own bookings and meetings were told apart still hold those
copies, and a feed answering 304 would keep them for as long as it does not change

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-03
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from alembic import op

import meetbridge.core.db

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    calendars = sa.table(
        "member_calendars",
        sa.column("etag", sa.String()),
        sa.column("next_attempt_at", meetbridge.core.db.UTCDateTime(timezone=True)),
    )
    op.execute(calendars.update().values(etag=None, next_attempt_at=dt.datetime.now(dt.UTC)))


def downgrade() -> None:
    pass  # nothing to undo: a read sooner than planned

"""service requests: the org's held windows indexed with their ends, so Zoom Demand reads a
year of windows from the index alone (bench/zoom_demand.py); meetings by host and start, and
invitees by address, for a person's calendar feed (bench/feed.py)

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-03
"""

from __future__ import annotations

from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("service_requests", schema=None) as batch_op:
        batch_op.drop_index("ix_service_requests_org_block")
        batch_op.create_index(
            "ix_service_requests_org_block_end",
            ["org_id", "block_start", "block_end"],
            unique=False,
        )
    with op.batch_alter_table("meetings", schema=None) as batch_op:
        batch_op.create_index("ix_meetings_host_start", ["host_user_id", "start_at"], unique=False)
    with op.batch_alter_table("meeting_invitees", schema=None) as batch_op:
        batch_op.create_index("ix_meeting_invitees_email", ["email"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("meeting_invitees", schema=None) as batch_op:
        batch_op.drop_index("ix_meeting_invitees_email")
    with op.batch_alter_table("meetings", schema=None) as batch_op:
        batch_op.drop_index("ix_meetings_host_start")
    with op.batch_alter_table("service_requests", schema=None) as batch_op:
        batch_op.drop_index("ix_service_requests_org_block_end")
        batch_op.create_index(
            "ix_service_requests_org_block", ["org_id", "block_start"], unique=False
        )

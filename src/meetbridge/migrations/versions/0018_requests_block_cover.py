"""service requests: the org's held windows indexed with their ends, so Zoom Demand reads a
year of windows from the index alone (bench/zoom_demand.py: 246 -> 66 ms for the read)

Revision ID: 0018
Revises: 0016
Create Date: 2026-12-03
"""

from __future__ import annotations

from alembic import op

revision = "0018"
down_revision = "0016"
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


def downgrade() -> None:
    with op.batch_alter_table("service_requests", schema=None) as batch_op:
        batch_op.drop_index("ix_service_requests_org_block_end")
        batch_op.create_index(
            "ix_service_requests_org_block", ["org_id", "block_start"], unique=False
        )

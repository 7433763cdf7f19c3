"""api tokens remember the token that made them; idempotency keys of create requests;
invitees indexed by when they were added

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 01:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import meetbridge.core.db

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.add_column(sa.Column("parent_id", sa.String(length=36), nullable=True))
        batch_op.create_index("ix_api_tokens_parent_id", ["parent_id"], unique=False)
        batch_op.create_foreign_key(
            "fk_api_tokens_parent_id", "api_tokens", ["parent_id"], ["id"], ondelete="SET NULL"
        )
    op.create_table(
        "idempotency_keys",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("scope", sa.String(length=32), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("resource_id", sa.String(length=36), nullable=False),
        sa.Column("created_at", meetbridge.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ux_idempotency_keys", "idempotency_keys", ["user_id", "scope", "key"], unique=True
    )
    op.create_index("ix_idempotency_keys_created", "idempotency_keys", ["created_at"])
    op.create_index("ix_meeting_invitees_created", "meeting_invitees", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_meeting_invitees_created", table_name="meeting_invitees")
    op.drop_table("idempotency_keys")
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.drop_constraint("fk_api_tokens_parent_id", type_="foreignkey")
        batch_op.drop_index("ix_api_tokens_parent_id")
        batch_op.drop_column("parent_id")

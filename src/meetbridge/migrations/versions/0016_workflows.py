"""workflows: each with its versions, runs (durable work) and steps, and the inbound
webhook deliveries taken; members' start date; meetings that take registrants

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import meetbridge.core.db

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "workflows",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("org_id", sa.String(length=36), nullable=False),
        sa.Column("owner_id", sa.String(length=36), nullable=True),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("enabled", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("trigger", sa.String(length=64), nullable=False),
        sa.Column("next_fire_at", meetbridge.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("hook_secret_enc", sa.Text(), nullable=True),
        sa.Column("created_at", meetbridge.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", meetbridge.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["org_id"], ["organizations.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["owner_id"], ["users.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("workflows", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_workflows_next_fire_at"), ["next_fire_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_workflows_org_id"), ["org_id"], unique=False)
        batch_op.create_index(
            "ix_workflows_trigger", ["org_id", "trigger", "enabled"], unique=False
        )

    op.create_table(
        "workflow_hook_deliveries",
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("workflow_id", sa.String(length=36), nullable=False),
        sa.Column("received_at", meetbridge.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["workflow_id"], ["workflows.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("digest"),
    )
    with op.batch_alter_table("workflow_hook_deliveries", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_workflow_hook_deliveries_received_at"), ["received_at"], unique=False
        )

    op.create_table(
        "workflow_runs",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("org_id", sa.String(length=36), nullable=False),
        sa.Column("workflow_id", sa.String(length=36), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("trigger", sa.String(length=64), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("dedupe_key", sa.String(length=200), nullable=True),
        sa.Column("dry_run", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("depth", sa.Integer(), nullable=False),
        sa.Column("started_by", sa.String(length=36), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", meetbridge.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("claimed_until", meetbridge.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("error_kind", sa.String(length=32), nullable=True),
        sa.Column("owner_told_at", meetbridge.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", meetbridge.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("started_at", meetbridge.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("finished_at", meetbridge.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["org_id"], ["organizations.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["started_by"], ["users.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["workflow_id"], ["workflows.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("dedupe_key"),
    )
    with op.batch_alter_table("workflow_runs", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_workflow_runs_created_at"), ["created_at"], unique=False
        )
        batch_op.create_index("ix_workflow_runs_due", ["status", "next_attempt_at"], unique=False)
        batch_op.create_index("ix_workflow_runs_list", ["workflow_id", "created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_workflow_runs_org_id"), ["org_id"], unique=False)

    op.create_table(
        "workflow_versions",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("workflow_id", sa.String(length=36), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("definition", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.String(length=36), nullable=True),
        sa.Column("created_at", meetbridge.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["workflow_id"], ["workflows.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("workflow_id", "version", name="uq_workflow_version"),
    )
    with op.batch_alter_table("workflow_versions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_workflow_versions_workflow_id"), ["workflow_id"], unique=False
        )

    op.create_table(
        "workflow_steps",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("run_id", sa.String(length=36), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("item", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("inputs", sa.JSON(), nullable=False),
        sa.Column("output", sa.JSON(), nullable=True),
        sa.Column("zoom_request_id", sa.String(length=200), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("started_at", meetbridge.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", meetbridge.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["run_id"], ["workflow_runs.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("run_id", "position", "item", name="uq_workflow_step"),
    )
    with op.batch_alter_table("workflow_steps", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_workflow_steps_run_id"), ["run_id"], unique=False)

    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("start_date", sa.Date(), nullable=True))

    with op.batch_alter_table("meetings", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("registration", sa.Boolean(), server_default=sa.false(), nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("meetings", schema=None) as batch_op:
        batch_op.drop_column("registration")

    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("start_date")

    with op.batch_alter_table("workflow_steps", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_workflow_steps_run_id"))

    op.drop_table("workflow_steps")
    with op.batch_alter_table("workflow_versions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_workflow_versions_workflow_id"))

    op.drop_table("workflow_versions")
    with op.batch_alter_table("workflow_runs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_workflow_runs_org_id"))
        batch_op.drop_index("ix_workflow_runs_list")
        batch_op.drop_index("ix_workflow_runs_due")
        batch_op.drop_index(batch_op.f("ix_workflow_runs_created_at"))

    op.drop_table("workflow_runs")
    with op.batch_alter_table("workflow_hook_deliveries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_workflow_hook_deliveries_received_at"))

    op.drop_table("workflow_hook_deliveries")
    with op.batch_alter_table("workflows", schema=None) as batch_op:
        batch_op.drop_index("ix_workflows_trigger")
        batch_op.drop_index(batch_op.f("ix_workflows_org_id"))
        batch_op.drop_index(batch_op.f("ix_workflows_next_fire_at"))

    op.drop_table("workflows")

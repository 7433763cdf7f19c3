"""The workflows module's tables: each workflow (its trigger, whether it is on, its owner, the
secret its inbound webhook is signed with), its saved versions (a run keeps the version it
started with), its runs — durable work rows — and each step of a run, with the inputs it was
given, what it returned and Zoom's request id. Same metadata as the other tables
(`core.db.Base`); the migrations see them through `migrations/env.py`."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column

from meetbridge.core.db import Base, UTCDateTime, utcnow
from meetbridge.core.models import new_id


class RunStatus(enum.StrEnum):
    PENDING = "pending"  # has a step to do (waiting, due, or being worked on under a lease)
    SUCCEEDED = "succeeded"
    FAILED = "failed"  # a step failed for good; `last_error` says which and why
    CANCELLED = "cancelled"


class StepStatus(enum.StrEnum):
    RUNNING = "running"  # started; its outcome is recorded before the next step starts
    WAITING = "waiting"  # waits for something to happen (a meeting to exist at Zoom, a time)
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class Workflow(Base):
    __tablename__ = "workflows"
    __table_args__ = (Index("ix_workflows_trigger", "org_id", "trigger", "enabled"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    org_id: Mapped[str] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    # Told by e-mail when a run fails; the runs act with the organisation's Zoom account.
    owner_id: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    name: Mapped[str] = mapped_column(String(200))
    enabled: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    version: Mapped[int] = mapped_column(Integer, default=1)  # the current version
    # What starts it, copied from the current version for the trigger lookup: a meetbridge
    # event ("member.onboarded"), a Zoom event ("zoom:meeting.ended"), "schedule", "webhook"
    # or "manual".
    trigger: Mapped[str] = mapped_column(String(64))
    next_fire_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), index=True)
    hook_secret_enc: Mapped[str | None] = mapped_column(Text)  # the inbound webhook's HMAC key
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class WorkflowVersion(Base):
    __tablename__ = "workflow_versions"
    __table_args__ = (UniqueConstraint("workflow_id", "version", name="uq_workflow_version"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    workflow_id: Mapped[str] = mapped_column(
        ForeignKey("workflows.id", ondelete="CASCADE"), index=True
    )
    version: Mapped[int] = mapped_column(Integer)
    definition: Mapped[dict[str, Any]] = mapped_column(JSON)  # trigger and steps, validated
    created_by: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class WorkflowRun(Base):
    """One run: a work row (core.work). `step` is the position of the step it is on; each
    step's outcome is recorded (WorkflowStep) before the run moves on, so a worker killed
    mid-run leaves the run to be claimed again at the step it was on."""

    __tablename__ = "workflow_runs"
    __table_args__ = (
        Index("ix_workflow_runs_due", "status", "next_attempt_at"),
        Index("ix_workflow_runs_list", "workflow_id", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    org_id: Mapped[str] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    workflow_id: Mapped[str] = mapped_column(ForeignKey("workflows.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    trigger: Mapped[str] = mapped_column(String(64))
    data: Mapped[dict[str, Any]] = mapped_column(JSON)  # what the trigger said
    # One run per (workflow, event / fire time / webhook delivery): a redelivery finds it.
    dedupe_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    dry_run: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    depth: Mapped[int] = mapped_column(Integer, default=0)  # runs that started runs, in a row
    started_by: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(16), default=RunStatus.PENDING)
    step: Mapped[int] = mapped_column(Integer, default=0)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    claimed_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(Text)
    error_kind: Mapped[str | None] = mapped_column(String(32))  # auth | refresh | zoom_5xx | …
    owner_told_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class WorkflowStep(Base):
    """One step of a run (one row per item when the step loops over a list)."""

    __tablename__ = "workflow_steps"
    __table_args__ = (UniqueConstraint("run_id", "position", "item", name="uq_workflow_step"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    run_id: Mapped[str] = mapped_column(
        ForeignKey("workflow_runs.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    item: Mapped[int] = mapped_column(Integer, default=-1)  # -1: the step as a whole
    key: Mapped[str] = mapped_column(String(64))  # the step's name in the definition
    action: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default=StepStatus.RUNNING)
    inputs: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # secrets redacted
    output: Mapped[Any] = mapped_column(JSON, nullable=True)
    zoom_request_id: Mapped[str | None] = mapped_column(String(200))
    error: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class HookDelivery(Base):
    """An inbound webhook delivery already taken (its signature's digest): a replay within the
    timestamp tolerance is refused; older ones are refused by their timestamp."""

    __tablename__ = "workflow_hook_deliveries"

    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    workflow_id: Mapped[str] = mapped_column(ForeignKey("workflows.id", ondelete="CASCADE"))
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)

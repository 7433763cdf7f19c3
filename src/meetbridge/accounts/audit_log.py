"""Reading the organisation's audit log: filtered (who, what, when) and paged by id (keyset:
`before_id` for older entries, `after_id` for newer), newest first either way."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import or_, select

from meetbridge.core.db import Database
from meetbridge.core.models import AuditEvent, User


@dataclass(frozen=True)
class AuditQuery:
    actor_id: str | None = None
    action: str | None = None  # "meeting.updated", or a family: "meeting"
    since: dt.date | None = None  # from this day (UTC), included
    until: dt.date | None = None  # to this day (UTC), included
    limit: int = 100
    before_id: int | None = None  # older than this entry
    after_id: int | None = None  # newer than this entry


def read_audit(db: Database, actor: User, f: AuditQuery) -> Sequence[AuditEvent]:
    q = select(AuditEvent).where(AuditEvent.org_id == actor.org_id)
    if f.actor_id:
        q = q.where(AuditEvent.actor_id == f.actor_id)
    if f.action:
        family = f.action.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        q = q.where(
            or_(AuditEvent.action == f.action, AuditEvent.action.like(f"{family}.%", escape="\\"))
        )
    if f.since:
        q = q.where(AuditEvent.created_at >= _midnight(f.since))
    if f.until:
        q = q.where(AuditEvent.created_at < _midnight(f.until + dt.timedelta(days=1)))
    limit = min(max(f.limit, 1), 500)
    with db.read() as s:
        if f.after_id is not None:  # the page before: the nearest newer entries, shown newest first
            rows = s.scalars(
                q.where(AuditEvent.id > f.after_id).order_by(AuditEvent.id).limit(limit)
            ).all()
            return list(reversed(rows))
        if f.before_id is not None:
            q = q.where(AuditEvent.id < f.before_id)
        return s.scalars(q.order_by(AuditEvent.id.desc()).limit(limit)).all()


def audit_actions(db: Database, actor: User) -> list[str]:
    """The actions the organisation's log holds, for the filter's list."""
    with db.read() as s:
        return list(
            s.scalars(
                select(AuditEvent.action)
                .where(AuditEvent.org_id == actor.org_id)
                .distinct()
                .order_by(AuditEvent.action)
            )
        )


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)

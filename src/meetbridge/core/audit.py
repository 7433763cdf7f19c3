"""The audit log: who did what, when, from where."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Table, insert
from sqlalchemy.orm import Session

from meetbridge.core.db import utcnow
from meetbridge.core.models import AuditEvent

_INSERT = insert(cast(Table, AuditEvent.__table__))


@dataclass(frozen=True)
class Origin:
    """Where a request came from; carried from the faces into the services."""

    ip: str | None = None
    user_agent: str | None = None
    request_id: str | None = None
    via: str = "web"


def record(
    session: Session,
    *,
    org_id: str | None,
    actor_id: str | None,
    actor_label: str,
    action: str,
    origin: Origin,
    target_type: str | None = None,
    target_id: str | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    # A plain INSERT in the caller's transaction (no unit of work: audit rows are never read
    # back in the same transaction), after the rows it may refer to.
    session.flush()
    session.execute(
        _INSERT,
        {
            "org_id": org_id,
            "actor_id": actor_id,
            "actor_label": actor_label,
            "action": action,
            "target_type": target_type,
            "target_id": target_id,
            "details": {"via": origin.via, **(details or {})},
            "ip": origin.ip,
            "user_agent": (origin.user_agent or "")[:300] or None,
            "request_id": origin.request_id,
            "created_at": utcnow(),
        },
    )

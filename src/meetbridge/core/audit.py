"""The audit log: who did what, when, from where."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol, cast

from sqlalchemy import Connection, Table, insert
from sqlalchemy.orm import Session

from meetbridge.core.db import utcnow
from meetbridge.core.models import AuditEvent

TABLE = cast(Table, AuditEvent.__table__)
_INSERT = insert(TABLE)


@dataclass(frozen=True)
class Origin:
    """Where a request came from; carried from the faces into the services."""

    ip: str | None = None
    user_agent: str | None = None
    request_id: str | None = None
    via: str = "web"


class Actor(Protocol):
    """Who acted: a signed-in user (anything with these attributes)."""

    @property
    def id(self) -> str: ...
    @property
    def org_id(self) -> str: ...
    @property
    def email(self) -> str: ...


def by(
    actor: Actor,
    action: str,
    origin: Origin,
    target_type: str | None = None,
    target_id: str | None = None,
    details: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The values of an audit row for something `actor` did (for `write`)."""
    return row(
        org_id=actor.org_id,
        actor_id=actor.id,
        actor_label=actor.email,
        action=action,
        origin=origin,
        target_type=target_type,
        target_id=target_id,
        details=details,
    )


def row(
    *,
    org_id: str | None,
    actor_id: str | None,
    actor_label: str,
    action: str,
    origin: Origin,
    target_type: str | None = None,
    target_id: str | None = None,
    details: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """An audit row's values (for `record`, or for a statement that writes it itself)."""
    return {
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
    }


def write(session: Session | Connection, values: dict[str, Any]) -> None:
    """Writes an audit row (`row`'s values) in the caller's transaction."""
    # A plain INSERT (no unit of work: audit rows are never read back in the same
    # transaction), after the rows it may refer to.
    if isinstance(session, Session):
        session.flush()
    session.execute(_INSERT, values)


def record(session: Session | Connection, **what: Any) -> None:
    """`write` of a `row` with these arguments."""
    write(session, row(**what))

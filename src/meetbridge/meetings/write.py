"""Scheduling's write, the request's hot path (decisions/0005-hot-paths.md): the meeting row
(already claimed for its first attempt), its invitees and its audit row, in one transaction,
or on PostgreSQL without invitees in one autocommit statement; the job's create reserved in
the platform's limits beside it. When nothing was written, a read says why."""

from __future__ import annotations

import datetime as dt
from typing import Any, NoReturn

from sqlalchemy import Connection, select
from sqlalchemy.engine import Row
from sqlalchemy.orm import Session

from meetbridge.accounts.tokens import API_TOKEN_REFUSED
from meetbridge.core import audit
from meetbridge.core.db import Database
from meetbridge.core.errors import Conflict, NotAuthenticated, ValidationFailed
from meetbridge.core.models import User, new_id
from meetbridge.core.platform import Reservation, Reserving
from meetbridge.meetings import statements as q


def account_of(written: Row[Any]) -> tuple[str, str] | None:
    """The host's platform account (account id, user id) as the INSERT returned it; None when
    the connection does not know it yet."""
    if written.conn__account is None or written.conn__zoom_user is None:
        return None
    return written.conn__account, written.conn__zoom_user


def write_meeting(
    db: Database,
    values: dict[str, Any],
    what: dict[str, Any],
    invitees: list[str],
    token_id: str | None,
    actor: User,
    reserving: Reserving,
    event: dict[str, Any] | None = None,
) -> tuple[Row[Any], Reservation]:
    """Writes the meeting (and its invitees, audit row and domain event, `event`'s values,
    when anyone subscribes) if it can be scheduled, and the reservation for the job's
    create: counted in the same transaction when the platform's counters live in this
    database, else as `reserving` sent it before the write."""
    now: dt.datetime = values["created_at"]
    project_id = values["project_id"]
    case = (project_id is not None, token_id is not None)
    if invitees or db.is_sqlite:
        with db.begin() as conn:
            written = conn.execute(q.INSERT_IF_READY[case], values | {"token_id": token_id}).first()
            if written is None:
                why_not_ready(conn, actor, project_id, token_id)
            _write_beside(conn, values, invitees, what, event)
            counted = reserving.count_in(conn, account_of(written), now)
            if counted is not None:
                return written, counted
    else:
        # PostgreSQL, nobody to invite: one statement in autocommit, one round trip.
        params = values | {f"audit_{k}": v for k, v in what.items()} | {"token_id": token_id}
        if event is not None:
            params |= {f"event_{k}": v for k, v in event.items()}
        with db.connect() as conn:
            written = conn.execute(q.SCHEDULE_ALONE[(*case, event is not None)], params).first()
            if written is None:
                why_not_ready(conn, actor, project_id, token_id)
    return written, reserving.finish(account_of(written), now)


def why_not_ready(
    s: Session | Connection, actor: User, project_id: str | None, token_id: str | None
) -> NoReturn:
    """Nothing was written: says why (the API token, the project, or the host's connection)."""
    token_and_project(s, actor, project_id, token_id)
    host_connection(s, actor)
    raise Conflict("platform", "Zoom is not ready for this host; try again")


def token_and_project(
    s: Session | Connection, actor: User, project_id: str | None, token_id: str | None
) -> None:
    """Raises unless the API token (if any) is live and the project (if any) is the
    organisation's and not archived."""
    if token_id is not None and not s.scalar(
        select(q.TOKEN_LIVE), {"token_id": token_id, "host_user_id": actor.id}
    ):
        raise NotAuthenticated(API_TOKEN_REFUSED)
    if (
        project_id is not None
        and s.scalar(q.PROJECT_IN_ORG, {"pid": project_id, "org": actor.org_id}) is None
    ):
        raise ValidationFailed(
            "project_id", "no such project in your organisation (or it is archived)"
        )


def host_connection(s: Session | Connection, actor: User) -> str:
    """The id of the actor's own connection, or a Conflict that says what to do."""
    row = s.execute(q.HOST_CONNECTION, {"uid": actor.id}).first()
    if row is None:
        raise Conflict(
            "platform",
            "Connect your Zoom account first: Settings → Integrations → Zoom → Connect Zoom",
        )
    if row.status == "needs_reconnect":
        raise Conflict(
            "platform",
            "Zoom needs to be connected again: Settings → Integrations → Zoom → Reconnect Zoom",
        )
    return str(row.id)


def write_for_host(
    db: Database,
    values: dict[str, Any],
    what: dict[str, Any],
    invitees: list[str],
    token_id: str | None,
    actor: User,
    event: dict[str, Any] | None = None,
) -> None:
    """Scheduling for a host of the account connection (`values` names the connection and
    `zoom_host_id`): not the hot path's one statement; checks the token, the project and
    that the account connection is still live in the write's own transaction."""
    with db.begin() as conn:
        token_and_project(conn, actor, values["project_id"], token_id)
        if conn.scalar(q.ACCOUNT_LIVE, {"cid": values["connection_id"]}) is None:
            raise Conflict("host", "the organisation's Zoom account is no longer connected")
        conn.execute(q.INSERT_MEETING, values)
        _write_beside(conn, values, invitees, what, event)


def _write_beside(
    conn: Connection,
    values: dict[str, Any],
    invitees: list[str],
    what: dict[str, Any],
    event: dict[str, Any] | None,
) -> None:
    """The meeting's invitees, audit row and domain event, in the meeting's transaction."""
    if invitees:
        now = values["created_at"]
        conn.execute(
            q.INSERT_INVITEE,
            [
                {"id": new_id(), "meeting_id": values["id"], "email": e, "created_at": now}
                for e in invitees
            ],
        )
    audit.write(conn, what)
    if event is not None:
        conn.execute(q.INSERT_EVENT, event)

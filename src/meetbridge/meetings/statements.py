"""The engine's hot-path statements, in SQLAlchemy Core, built once at import
(decisions/0005-hot-paths.md). They name the host's connection table (`ZoomConnection`, in
core/models.py): the meeting's INSERT takes the connection from it, so "not connected" is
checked in the write itself, and the claim returns its state so the job needs no read."""

from __future__ import annotations

import datetime as dt
from typing import Any, cast

from sqlalchemy import (
    BigInteger,
    Insert,
    Select,
    String,
    Table,
    Text,
    bindparam,
    exists,
    func,
    insert,
    literal_column,
    select,
    update,
)

from meetbridge.accounts.tokens import TOKEN_USABLE
from meetbridge.core import audit
from meetbridge.core.events import TABLE as EVENTS
from meetbridge.core.models import ApiToken, Meeting, MeetingInvitee, Project, User
from meetbridge.core.work import Retry, WorkTable

# The host's connection table: the hot path's SQL checks and returns it (the one
# thing meetings takes from the Zoom package).
from meetbridge.integrations.zoom.tables import ZoomConnection
from meetbridge.meetings.status import PENDING, Status

MEETINGS = cast(Table, Meeting.__table__)

# One statement claims a due meeting for an attempt. The SET expressions read the row as it
# was: a "creating" row whose last claim was never released (the attempt's process died) may
# have been created at the platform, so it becomes ambiguous, and the next attempt looks first.
_DIED_CREATING = (Meeting.status == Status.CREATING) & Meeting.claimed_until.is_not(None)


# The meetings as durable work (core/work.py): its `due` expression and, for the reconciler,
# `due_ids`. The hot path keeps its own claim and settle statements (they return the host's
# connection, take the request's claim, and settle only as claimed): `WorkTable.attempt`
# would add a read and a round trip per meeting. Its retry and lease are the lifecycle's
# (from the settings), not these.
WORK = WorkTable(
    Meeting,
    pending=PENDING,
    failed=Status.FAILED,
    retry=Retry(base=5, cap=900),
    lease=dt.timedelta(seconds=120),
)


def due(now: Any) -> Any:
    """Pending, its next attempt due, and no attempt holding it (or its lease has run out)."""
    return WORK.due(now)


def _connection_now(**columns: Any) -> list[Any]:
    """Columns of the meeting's connection for a RETURNING, labelled `conn__<name>`."""
    return [
        select(column)
        # Named as text: SQLAlchemy does not correlate a subquery in an INSERT's RETURNING.
        .where(ZoomConnection.id == literal_column("meetings.connection_id"))
        .scalar_subquery()
        .label(f"conn__{name}")
        for name, column in columns.items()
    ]


# The host's connection as it is when a meeting is claimed, returned with the claim so the
# platform's cached token is checked without another read.
CONNECTION_NOW = _connection_now(status=ZoomConnection.status, v=ZoomConnection.token_version)
# The host's platform account, returned by the meeting's INSERT: the request reserves the
# job's create in the platform's limits (`VideoPlatform.reserve`).
ACCOUNT_NOW = _connection_now(
    account=ZoomConnection.zoom_account_id, zoom_user=ZoomConnection.zoom_user_id
)
CLAIM = (
    update(Meeting)
    .where(Meeting.id == bindparam("mid"), due(bindparam("now")))
    .values(
        attempts=Meeting.attempts + 1,
        claimed_until=bindparam("lease"),
        ambiguous=Meeting.ambiguous | _DIED_CREATING,
        had_ambiguity=Meeting.had_ambiguity | Meeting.ambiguous | _DIED_CREATING,
    )
    .returning(*MEETINGS.c, *CONNECTION_NOW)
)
# A claim renewed, if it is still the one `held` (no other attempt has taken the row since):
# a job whose request claimed the row for it but that waited long in the queue, or an
# attempt that makes several calls (an ambiguous create looks before it creates).
RENEW = (
    update(Meeting)
    .where(
        Meeting.id == bindparam("mid"),
        Meeting.status.in_(PENDING),
        Meeting.claimed_until == bindparam("held"),
    )
    .values(claimed_until=bindparam("lease"))
    .returning(*MEETINGS.c, *CONNECTION_NOW)
)
EXTEND = (
    update(Meeting)
    .where(
        Meeting.id == bindparam("mid"),
        Meeting.status.in_(PENDING),
        Meeting.claimed_until == bindparam("held"),
    )
    .values(claimed_until=bindparam("lease"))
    .execution_options(synchronize_session=False)
)
RELEASE = (
    update(Meeting)
    .where(Meeting.id == bindparam("mid"), Meeting.claimed_until == bindparam("held"))
    .values(claimed_until=None)
)
# An attempt's outcome applies only if the row is still as the attempt claimed it.
AS_CLAIMED = (
    update(Meeting)
    .where(
        Meeting.id == bindparam("mid"),
        Meeting.status == bindparam("old_status"),
        Meeting.sequence == bindparam("old_sequence"),
    )
    .execution_options(synchronize_session=False)
)
SETTLE_DONE = AS_CLAIMED.values(
    status=bindparam("status"),
    last_error=None,
    ambiguous=False,
    claimed_until=None,
    last_synced_at=bindparam("now"),
    updated_at=bindparam("now"),
    # The platform holds our version as of now: its echo of our own call (a webhook made
    # before this moment) is older than the row.
    changed_at=bindparam("now"),
    last_create_at=func.coalesce(
        bindparam("created_now", type_=MEETINGS.c.last_create_at.type), Meeting.last_create_at
    ),
    zoom_meeting_id=func.coalesce(bindparam("zoom_id", type_=BigInteger), Meeting.zoom_meeting_id),
    join_url=func.coalesce(bindparam("join_url", type_=Text), Meeting.join_url),
)
SETTLE_ALONE = SETTLE_DONE.where(Meeting.invitee_count == 0)
INVITEES = select(MeetingInvitee).where(MeetingInvitee.meeting_id == bindparam("mid"))
# Scheduling runs on every request: its statements are built once. The meeting row is
# written only if the host's platform is connected and the project (if any) is the
# organisation's, in the INSERT itself; when nothing is written, a read then says why.
SCHEDULED = (  # what `schedule` writes; the connection comes from the host's connection
    *("id", "org_id", "project_id", "host_user_id", "title", "agenda", "start_at"),
    *("duration_min", "timezone", "passcode", "waiting_room", "join_before_host", "status"),
    "registration",
    *("sequence", "attempts", "ambiguous", "had_ambiguity", "invitee_count"),
    *("next_attempt_at", "claimed_until", "created_by", "created_at", "updated_at"),
    *("source_kind", "source_id", "changed_at"),
)
# The API token a request came with still works, and it is the host's.
TOKEN_LIVE = exists().where(
    ApiToken.id == bindparam("token_id", type_=String),
    ApiToken.user_id == User.id,
    User.id == bindparam("host_user_id"),
    TOKEN_USABLE,
)


def _insert_if_ready(project: bool, token: bool) -> Insert:
    """The meeting's INSERT, checking the project only when there is one and the API token
    only when the caller was remembered. One statement per case, not `:p IS NULL OR …`: with
    such an OR PostgreSQL plans the prepared statement anew on every run (~0.3 ms)."""
    checks = [
        ZoomConnection.kind == "user",
        ZoomConnection.user_id == bindparam("host_user_id"),
        ZoomConnection.status != "ended",
        ZoomConnection.status != "needs_reconnect",
    ]
    if project:
        checks.append(
            exists().where(
                Project.id == bindparam("project_id"),
                Project.org_id == bindparam("org_id"),
                Project.archived_at.is_(None),  # an archived project takes no new meetings
            )
        )
    if token:
        checks.append(TOKEN_LIVE)
    chosen = select(
        *(bindparam(name, type_=MEETINGS.c[name].type) for name in SCHEDULED), ZoomConnection.id
    ).where(*checks)
    return (
        insert(MEETINGS)
        .from_select([*SCHEDULED, "connection_id"], chosen)
        .returning(MEETINGS.c.connection_id, *CONNECTION_NOW, *ACCOUNT_NOW)
    )


def _beside(cte: Any, table: Table, prefix: str, name: str, skip: tuple[str, ...] = ()) -> Any:
    """A CTE inserting one row into `table` from parameters `<prefix><column>`, only if the
    meeting was written (it selects from the meeting's CTE)."""
    columns = [c for c in table.c if c.name not in skip]
    return (
        insert(table)
        .from_select(
            [c.name for c in columns],
            select(*(bindparam(f"{prefix}{c.name}", type_=c.type) for c in columns)).select_from(
                cte
            ),
        )
        .cte(name)
    )


def _with_audit(written: Insert, event: bool) -> Select[Any]:
    """PostgreSQL: the meeting, its audit row and (when anyone subscribes) its domain event in
    one statement, so one round trip in autocommit (a data-modifying WITH runs to completion
    and is atomic with the statement)."""
    cte = written.cte("written")
    statement = select(*cte.c).add_cte(_beside(cte, audit.TABLE, "audit_", "audited", ("id",)))
    if event:
        statement = statement.add_cte(_beside(cte, EVENTS, "event_", "announced"))
    return statement


# By (project given, API token to confirm).
INSERT_IF_READY = {(p, t): _insert_if_ready(p, t) for p in (False, True) for t in (False, True)}
# By (project given, API token to confirm, domain event to write).
SCHEDULE_ALONE = {
    (p, t, e): _with_audit(statement, e)
    for (p, t), statement in INSERT_IF_READY.items()
    for e in (False, True)
}
INSERT_EVENT = insert(EVENTS)

INSERT_INVITEE = insert(cast(Table, MeetingInvitee.__table__))
PROJECT_IN_ORG = select(Project.id).where(
    Project.id == bindparam("pid"),
    Project.org_id == bindparam("org"),
    Project.archived_at.is_(None),
)
HOST_CONNECTION = select(ZoomConnection.id, ZoomConnection.status).where(
    ZoomConnection.kind == "user",
    ZoomConnection.user_id == bindparam("uid"),
    ZoomConnection.status != "ended",
)
# Scheduling for a host of the account connection (meetings/hosts.py, write.write_for_host).
INSERT_MEETING = insert(MEETINGS)
ACCOUNT_LIVE = select(ZoomConnection.id).where(
    ZoomConnection.id == bindparam("cid"),
    ZoomConnection.kind == "account",
    ZoomConnection.status == "connected",
)
ORG_ACCOUNT = select(ZoomConnection.id).where(
    ZoomConnection.org_id == bindparam("org"),
    ZoomConnection.kind == "account",
    ZoomConnection.status == "connected",
)
# A pool's host choice (service requests) reads these on every conversion: the meetings on
# the account's hosts by the organisation's start index (the caller keeps its hosts: an IN of
# a whole pool would seek once per host), and which listed platform ids are ours.
POOL_BUSY = select(
    Meeting.id, Meeting.zoom_host_id, Meeting.start_at, Meeting.duration_min, Meeting.source_kind
).where(
    Meeting.org_id == bindparam("org"),
    Meeting.zoom_host_id.is_not(None),
    Meeting.status.not_in([st.value for st in Status if st.gone]),
    Meeting.start_at >= bindparam("since"),
    Meeting.start_at < bindparam("until"),
)
KNOWN_PLATFORM_IDS = select(Meeting.zoom_meeting_id).where(
    Meeting.zoom_meeting_id.in_(bindparam("ids", expanding=True))
)

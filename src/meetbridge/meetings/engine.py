"""Projects and Zoom meetings: schedule, change, cancel, invite, and keep in step with Zoom.

Never lose, never duplicate: scheduling writes the meeting row first (status "creating") and a
job makes it true at Zoom. A create whose outcome is unknown (timeout, 5xx after sending) marks
the row ambiguous, and the next attempt looks the meeting up at Zoom before creating again. A
host at Zoom's daily limit waits until Zoom allows it. Changes made in Zoom arrive as webhooks
(meeting.updated / meeting.deleted) and, for missed ones, through a periodic sync."""

from __future__ import annotations

import contextlib
import datetime as dt
import re
import zoneinfo
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, NoReturn, cast

from sqlalchemy import (
    BigInteger,
    Connection,
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
    or_,
    select,
    update,
)
from sqlalchemy.engine import Row
from sqlalchemy.orm import Session

from meetbridge.accounts.inputs import normalize_email
from meetbridge.accounts.tokens import API_TOKEN_REFUSED, TOKEN_USABLE
from meetbridge.core import audit
from meetbridge.core.audit import Origin
from meetbridge.core.db import Database, utcnow
from meetbridge.core.errors import Conflict, NotAuthenticated, NotFound, ValidationFailed
from meetbridge.core.jobs import RECONCILE_GRACE, JobQueue
from meetbridge.core.logging import get_logger
from meetbridge.core.models import (
    ApiToken,
    Meeting,
    MeetingInvitee,
    Project,
    User,
    new_id,
)
from meetbridge.core.settings import Settings
from meetbridge.integrations.zoom.client import ZoomApi, ZoomClient
from meetbridge.integrations.zoom.errors import (
    NeedsReconnect,
    NotConnected,
    ZoomAmbiguous,
    ZoomError,
    ZoomNotFound,
    ZoomRateLimited,
    ZoomUnavailable,
)
from meetbridge.integrations.zoom.install import ZoomConnections
from meetbridge.integrations.zoom.limits import Counted, Hit, Later
from meetbridge.integrations.zoom.tables import ZoomConnection
from meetbridge.integrations.zoom.tokens import SeenState
from meetbridge.notify.ics import InviteEvent, build_invite
from meetbridge.notify.outbox import MailDelivery, queue_email

log = get_logger("meetbridge.meetings")

WORK_TASK = "meetings.work"
# What the first attempt's job carries beside the row and its connection's state.
_ONLY_IN_THE_JOB = ("prepaid", "conn__account", "conn__zoom_user")
RECONCILE_TASK = "meetings.reconcile"
PENDING = ("creating", "updating", "cancelling")
PASSCODE = re.compile(r"^[A-Za-z0-9@\-_*]{1,10}$")
MAX_DURATION = 24 * 60

_MEETINGS = cast(Table, Meeting.__table__)

# One statement claims a due meeting for an attempt. The SET expressions read the row as it
# was: a "creating" row whose last claim was never released (the attempt's process died) may
# have been created at Zoom, so it becomes ambiguous, and the next attempt looks first.
_DIED_CREATING = (Meeting.status == "creating") & Meeting.claimed_until.is_not(None)


def _due(now: Any) -> Any:
    """Pending, its next attempt due, and no attempt holding it (or its lease has run out)."""
    return (
        Meeting.status.in_(PENDING)
        & (Meeting.next_attempt_at <= now)
        & or_(Meeting.claimed_until.is_(None), Meeting.claimed_until <= now)
    )


def _within(hits: list[Hit], waits: list[float], now: dt.datetime) -> list[Counted]:
    """The hits counted within their limits, with their windows (as of `now`, taken before
    the count: should a window end in between, the job finds its window passed and counts
    again, never too few). The job counts the others itself (and waits, or is told the day
    is used up); their count here landed in a window already full."""
    at = now.timestamp()
    return [h.counted_at(at) for h, w in zip(hits, waits, strict=True) if w <= 0]


def _zoom_user(written: Row[Any]) -> tuple[str, str] | None:
    """The host's Zoom (account id, user id) as the meeting's INSERT returned it; None when
    the connection does not know its Zoom user yet."""
    if written.conn__account is None or written.conn__zoom_user is None:
        return None
    return written.conn__account, written.conn__zoom_user


def _connection_now(**columns: Any) -> list[Any]:
    """Columns of the meeting's Zoom connection for a RETURNING, labelled `conn__<name>`."""
    return [
        select(column)
        # Named as text: SQLAlchemy does not correlate a subquery in an INSERT's RETURNING.
        .where(ZoomConnection.id == literal_column("meetings.connection_id"))
        .scalar_subquery()
        .label(f"conn__{name}")
        for name, column in columns.items()
    ]


# The host's connection as it is when a meeting is claimed, returned with the claim so the
# cached Zoom token is checked without another read.
_CONNECTION_NOW = _connection_now(status=ZoomConnection.status, v=ZoomConnection.token_version)
# The host's Zoom user, returned by the meeting's INSERT: the request counts the job's call
# against Zoom's limits (`Meetings._count_early`, `_count_in`).
_ZOOM_USER_NOW = _connection_now(
    account=ZoomConnection.zoom_account_id, zoom_user=ZoomConnection.zoom_user_id
)
_CLAIM = (
    update(Meeting)
    .where(Meeting.id == bindparam("mid"), _due(bindparam("now")))
    .values(
        attempts=Meeting.attempts + 1,
        claimed_until=bindparam("lease"),
        ambiguous=Meeting.ambiguous | _DIED_CREATING,
        had_ambiguity=Meeting.had_ambiguity | Meeting.ambiguous | _DIED_CREATING,
    )
    .returning(*_MEETINGS.c, *_CONNECTION_NOW)
)
# A job whose request claimed the row for it (see `schedule`) but that waited in the queue until
# too little of that lease is left for a Zoom call: it renews the claim, if the claim is still
# the one the request took (no other attempt has taken the row since).
_RENEW = (
    update(Meeting)
    .where(
        Meeting.id == bindparam("mid"),
        Meeting.status.in_(PENDING),
        Meeting.claimed_until == bindparam("held"),
    )
    .values(claimed_until=bindparam("lease"))
    .returning(*_MEETINGS.c, *_CONNECTION_NOW)
)
_RELEASE = (
    update(Meeting)
    .where(Meeting.id == bindparam("mid"), Meeting.claimed_until == bindparam("held"))
    .values(claimed_until=None)
)
# An attempt's outcome applies only if the row is still as the attempt claimed it.
_AS_CLAIMED = (
    update(Meeting)
    .where(
        Meeting.id == bindparam("mid"),
        Meeting.status == bindparam("old_status"),
        Meeting.sequence == bindparam("old_sequence"),
    )
    .execution_options(synchronize_session=False)
)
_SETTLE_DONE = _AS_CLAIMED.values(
    status=bindparam("status"),
    last_error=None,
    ambiguous=False,
    claimed_until=None,
    last_synced_at=bindparam("now"),
    updated_at=bindparam("now"),
    zoom_meeting_id=func.coalesce(bindparam("zoom_id", type_=BigInteger), Meeting.zoom_meeting_id),
    join_url=func.coalesce(bindparam("join_url", type_=Text), Meeting.join_url),
)
_SETTLE_ALONE = _SETTLE_DONE.where(Meeting.invitee_count == 0)
_INVITEES = select(MeetingInvitee).where(MeetingInvitee.meeting_id == bindparam("mid"))
# Scheduling runs on every request: its statements are built once. The meeting row is
# written only if the host's Zoom is connected and the project (if any) is the organisation's,
# in the INSERT itself; when nothing is written, a read then says why.
_SCHEDULED = (  # what `schedule` writes; the connection comes from the host's Zoom connection
    *("id", "org_id", "project_id", "host_user_id", "title", "agenda", "start_at"),
    *("duration_min", "timezone", "passcode", "waiting_room", "join_before_host", "status"),
    *("sequence", "attempts", "ambiguous", "had_ambiguity", "invitee_count"),
    *("next_attempt_at", "claimed_until", "created_by", "created_at", "updated_at"),
)
# The API token a request came with still works, and it is the host's.
_TOKEN_LIVE = exists().where(
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
                Project.id == bindparam("project_id"), Project.org_id == bindparam("org_id")
            )
        )
    if token:
        checks.append(_TOKEN_LIVE)
    chosen = select(
        *(bindparam(name, type_=_MEETINGS.c[name].type) for name in _SCHEDULED), ZoomConnection.id
    ).where(*checks)
    return (
        insert(_MEETINGS)
        .from_select([*_SCHEDULED, "connection_id"], chosen)
        .returning(_MEETINGS.c.connection_id, *_CONNECTION_NOW, *_ZOOM_USER_NOW)
    )


def _with_audit(written: Insert) -> Select[Any]:
    """PostgreSQL: the meeting and its audit row in one statement, so one round trip in
    autocommit (a data-modifying WITH runs to completion and is atomic with the statement)."""
    cte = written.cte("written")
    audited = (
        insert(audit.TABLE)
        .from_select(
            [c.name for c in audit.TABLE.c if c.name != "id"],
            select(
                *(
                    bindparam(f"audit_{c.name}", type_=c.type)
                    for c in audit.TABLE.c
                    if c.name != "id"
                )
            ).select_from(cte),
        )
        .cte("audited")
    )
    return select(*cte.c).add_cte(audited)


# By (project given, API token to confirm).
_INSERT_IF_READY = {(p, t): _insert_if_ready(p, t) for p in (False, True) for t in (False, True)}
_SCHEDULE_ALONE = {case: _with_audit(statement) for case, statement in _INSERT_IF_READY.items()}

_INSERT_INVITEE = insert(cast(Table, MeetingInvitee.__table__))
_PROJECT_IN_ORG = select(Project.id).where(
    Project.id == bindparam("pid"), Project.org_id == bindparam("org")
)
_HOST_CONNECTION = select(ZoomConnection.id, ZoomConnection.status).where(
    ZoomConnection.kind == "user",
    ZoomConnection.user_id == bindparam("uid"),
    ZoomConnection.status != "ended",
)


@dataclass
class MeetingInput:
    title: str
    start: dt.datetime  # wall-clock time in `timezone` (naive), or aware
    timezone: str
    duration: int
    agenda: str = ""
    passcode: str | None = None
    waiting_room: bool = True
    join_before_host: bool = False
    project_id: str | None = None
    invitees: list[str] = field(default_factory=list)


@dataclass
class MeetingChanges:
    title: str | None = None
    start: dt.datetime | None = None
    timezone: str | None = None
    duration: int | None = None
    agenda: str | None = None


def _title(value: str) -> str:
    value = " ".join(value.split())
    if not value:
        raise ValidationFailed("title", "must not be empty")
    if len(value) > 200:
        raise ValidationFailed("title", "must be at most 200 characters (Zoom's limit)")
    return value


def _tz(value: str) -> zoneinfo.ZoneInfo:
    try:
        return zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValidationFailed("timezone", f"unknown time zone {value!r}") from None


def _start(value: dt.datetime, tz: zoneinfo.ZoneInfo, now: dt.datetime) -> dt.datetime:
    aware = value.replace(tzinfo=tz) if value.tzinfo is None else value
    if aware.tzinfo is not None and value.tzinfo is None:
        # A wall-clock time that does not exist (spring forward) or is ambiguous: refuse
        # rather than guess an hour.
        round_trip = aware.astimezone(dt.UTC).astimezone(tz).replace(tzinfo=None)
        if round_trip != value:
            raise ValidationFailed("start", "does not exist in this time zone (clocks change)")
    utc = aware.astimezone(dt.UTC)
    if utc <= now:
        raise ValidationFailed("start", "is in the past")
    if utc > now + dt.timedelta(days=366 * 5):
        raise ValidationFailed("start", "is more than five years ahead")
    return utc


def _duration(value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValidationFailed("duration", "must be a whole number of minutes, at least 1")
    if value > MAX_DURATION:
        raise ValidationFailed("duration", f"must be at most {MAX_DURATION} minutes")
    return value


def _agenda(value: str) -> str:
    if len(value) > 2000:
        raise ValidationFailed("agenda", "must be at most 2000 characters (Zoom's limit)")
    return value


class Meetings:
    def __init__(
        self,
        db: Database,
        settings: Settings,
        zoom: ZoomClient,
        jobs: JobQueue,
        mail: MailDelivery,
        connections: ZoomConnections,
    ) -> None:
        self.db = db
        self.settings = settings
        self.zoom = zoom
        self.jobs = jobs
        self.mail = mail
        self.connections = connections
        self._longest_call = dt.timedelta(seconds=settings.zoom_longest_call)
        # Host user id → their Zoom (account id, user id), as the last meeting this process
        # scheduled for them found it (see `_count_early`).
        self._zoom_users: dict[str, tuple[str, str]] = {}

    # ---- meetings ----------------------------------------------------------------------------

    def schedule(
        self, actor: User, data: MeetingInput, origin: Origin, *, token_id: str | None = None
    ) -> Meeting:
        """Validates everything, records the meeting as "creating" and queues the Zoom call.
        Nothing is sent to Zoom, and nothing is written, when the input is wrong.

        `token_id`: the API token the request came with, when `actor` was read from it
        earlier (`Accounts.api_caller_to_confirm`): the INSERT itself confirms the token is
        still live and the actor active, or nothing is written and NotAuthenticated is raised."""
        now = utcnow()
        title = _title(data.title)
        tz = _tz(data.timezone)
        start = _start(data.start, tz, now)
        duration = _duration(data.duration)
        agenda = _agenda(data.agenda)
        passcode = data.passcode or None
        if passcode is not None and not PASSCODE.match(passcode):
            raise ValidationFailed("passcode", "use at most 10 letters, digits or @ - _ *")
        invitees = list(
            dict.fromkeys(normalize_email(e, "invitees") for e in data.invitees if e.strip())
        )
        if len(invitees) > 300:
            raise ValidationFailed("invitees", "at most 300 people per meeting")
        values: dict[str, Any] = {
            "id": new_id(),
            "org_id": actor.org_id,
            "project_id": data.project_id,
            "host_user_id": actor.id,
            "title": title,
            "agenda": agenda,
            "start_at": start,
            "duration_min": duration,
            "timezone": data.timezone,
            "passcode": passcode,
            "waiting_room": data.waiting_room,
            "join_before_host": data.join_before_host,
            "status": "creating",
            "sequence": 0,
            # The row is claimed for the first attempt as it is written, and the job carries it
            # (see `work`): the worker need not claim it again.
            "attempts": 1,
            "claimed_until": now + dt.timedelta(seconds=self.settings.effective_meetings_lease),
            "ambiguous": False,
            "had_ambiguity": False,
            "invitee_count": len(invitees),
            "next_attempt_at": now,
            "created_by": actor.id,
            "created_at": now,
            "updated_at": now,
        }
        what = audit.by(
            actor, "meeting.scheduled", origin, "meeting", values["id"], {"title": title}
        )
        case = (data.project_id is not None, token_id is not None)
        early = self._count_early(actor.id)
        try:
            written, prepaid = self._write(
                values, what, invitees, case, token_id, actor, data.project_id, early
            )
        except BaseException:
            if early is not None:
                early[1].cancel()
            raise
        values["connection_id"] = written.connection_id
        job = values | written._asdict() | {"prepaid": prepaid}
        if not self.jobs.enqueue(WORK_TASK, values["id"], job):
            # The queue is down: the claim is let go, so the reconciler takes the meeting up.
            with self.db.single() as conn:
                conn.execute(_RELEASE, {"mid": values["id"], "held": values["claimed_until"]})
        return Meeting(**values)

    def _write(
        self,
        values: dict[str, Any],
        what: dict[str, Any],
        invitees: list[str],
        case: tuple[bool, bool],
        token_id: str | None,
        actor: User,
        project_id: str | None,
        early: tuple[list[Hit], Later] | None,
    ) -> tuple[Row[Any], list[Counted]]:
        """Writes the meeting (and its invitees and audit row) if it can be scheduled, and
        counts the job's Zoom call: in the same transaction when the counters live in this
        database, or from the count sent before the write (`early`)."""
        now = values["created_at"]
        if invitees or self.db.is_sqlite:
            with self.db.begin() as conn:
                written = conn.execute(
                    _INSERT_IF_READY[case], values | {"token_id": token_id}
                ).first()
                if written is None:
                    self._why_not_ready(conn, actor, project_id, token_id)
                if invitees:
                    conn.execute(
                        _INSERT_INVITEE,
                        [
                            {
                                "id": new_id(),
                                "meeting_id": values["id"],
                                "email": e,
                                "created_at": now,
                            }
                            for e in invitees
                        ],
                    )
                audit.write(conn, what)
                if early is None and (counted := self._count_in(conn, written, now)) is not None:
                    return written, counted
        else:
            # PostgreSQL, nobody to invite: one statement in autocommit, one round trip.
            params = values | {f"audit_{k}": v for k, v in what.items()} | {"token_id": token_id}
            with self.db.connect() as conn:
                written = conn.execute(_SCHEDULE_ALONE[case], params).first()
                if written is None:
                    self._why_not_ready(conn, actor, project_id, token_id)
        return written, self._counted_early(actor.id, early, written, now)

    # ---- counting the job's Zoom call against Zoom's limits in the request -------------------
    # The job then goes straight to Zoom: the count's round trip overlaps the meeting's write
    # (Redis), or rides in its transaction (counters in the database). What was counted, and
    # in which window, travels with the job; a job that runs after its window has passed
    # counts again (`ZoomApi.create_meeting(prepaid=…)`).

    def _count_early(self, host_user_id: str) -> tuple[list[Hit], Later] | None:
        """Sends the count before the write, for the host's Zoom user as the last meeting
        this process scheduled for them found it (the write then confirms it)."""
        known = self._zoom_users.get(host_user_id)
        if known is None:
            return None
        hits = self.zoom.meeting_write_hits(*known)
        later = self.zoom.limiter.hit_all_later(hits)
        return (hits, later) if later is not None else None

    def _counted_early(
        self,
        host_user_id: str,
        early: tuple[list[Hit], Later] | None,
        written: Row[Any],
        now: dt.datetime,
    ) -> list[Counted]:
        zoom_user = _zoom_user(written)
        if zoom_user is not None:
            if len(self._zoom_users) > 10_000:
                self._zoom_users.clear()
            self._zoom_users[host_user_id] = zoom_user
        if early is None:
            return []
        hits, later = early
        if zoom_user is None or self.zoom.meeting_write_hits(*zoom_user) != hits:  # it changed
            later.cancel()
            return []
        try:
            return _within(hits, later.waits(), now)
        except Exception:  # no answer: counted or not, the job counts for itself
            return []

    def _count_in(
        self, conn: Connection, written: Row[Any], now: dt.datetime
    ) -> list[Counted] | None:
        """Counts in the write's own transaction; None when the counters are elsewhere."""
        zoom_user = _zoom_user(written)
        if zoom_user is None:
            return []
        hits = self.zoom.meeting_write_hits(*zoom_user)
        waits = self.zoom.limiter.hit_all_in(conn, hits)
        return None if waits is None else _within(hits, waits, now)

    def _why_not_ready(
        self, s: Session | Connection, actor: User, project_id: str | None, token_id: str | None
    ) -> NoReturn:
        """Nothing was written: says why (the API token, the project, or the host's Zoom
        connection)."""
        if token_id is not None and not s.scalar(
            select(_TOKEN_LIVE), {"token_id": token_id, "host_user_id": actor.id}
        ):
            raise NotAuthenticated(API_TOKEN_REFUSED)
        if (
            project_id is not None
            and s.scalar(_PROJECT_IN_ORG, {"pid": project_id, "org": actor.org_id}) is None
        ):
            raise ValidationFailed("project_id", "no such project in your organisation")
        self._host_connection(s, actor)
        raise Conflict("platform", "Zoom is not ready for this host; try again")

    def _host_connection(self, s: Session | Connection, actor: User) -> str:
        """The id of the actor's own Zoom connection, or a Conflict that says what to do."""
        row = s.execute(_HOST_CONNECTION, {"uid": actor.id}).first()
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

    def list_meetings(
        self,
        actor: User,
        *,
        when: str = "upcoming",
        project_id: str | None = None,
        limit: int = 200,
    ) -> list[Meeting]:
        """Upcoming (not yet ended) or past meetings; members see their own, admins all."""
        now = utcnow()
        with self.db.read() as s:
            q = select(Meeting).where(Meeting.org_id == actor.org_id)
            if not actor.is_admin:
                q = q.where(Meeting.host_user_id == actor.id)
            if project_id:
                q = q.where(Meeting.project_id == project_id)
            if when == "past":
                q = q.where(Meeting.start_at < now).order_by(Meeting.start_at.desc())
            else:
                q = q.where(Meeting.start_at >= now - dt.timedelta(minutes=MAX_DURATION))
                q = q.order_by(Meeting.start_at)
            rows = s.scalars(q.limit(limit * 2)).all()

        def ended(m: Meeting) -> bool:
            return m.start_at + dt.timedelta(minutes=m.duration_min) < now

        return [m for m in rows if ended(m) == (when == "past")][:limit]

    def get(self, actor: User, meeting_id: str) -> Meeting:
        with self.db.read() as s:
            m = s.scalar(
                select(Meeting).where(Meeting.id == meeting_id, Meeting.org_id == actor.org_id)
            )
        if m is None or (m.host_user_id != actor.id and not actor.is_admin):
            raise NotFound("no such meeting")
        return m

    def invitees(self, actor: User, meeting_id: str) -> Sequence[MeetingInvitee]:
        self.get(actor, meeting_id)
        with self.db.read() as s:
            return s.scalars(
                select(MeetingInvitee)
                .where(MeetingInvitee.meeting_id == meeting_id)
                .order_by(MeetingInvitee.created_at)
            ).all()

    def update(
        self, actor: User, meeting_id: str, changes: MeetingChanges, origin: Origin
    ) -> Meeting:
        now = utcnow()
        with self.db.write() as s:
            m = self._mine(s, actor, meeting_id)
            if m.status in ("cancelling", "cancelled", "deleted_in_zoom"):
                raise Conflict("status", "this meeting is cancelled")
            if m.status in ("creating", "failed"):
                raise Conflict("status", "the meeting is not created in Zoom yet; wait or retry")
            before = {
                "title": m.title,
                "start_at": m.start_at.isoformat(),
                "duration_min": m.duration_min,
                "timezone": m.timezone,
            }
            if changes.title is not None:
                m.title = _title(changes.title)
            if changes.agenda is not None:
                m.agenda = _agenda(changes.agenda)
            if changes.duration is not None:
                m.duration_min = _duration(changes.duration)
            tz_name = changes.timezone or m.timezone
            tz = _tz(tz_name)
            if changes.start is not None:
                m.start_at = _start(changes.start, tz, now)
            m.timezone = tz_name
            after = {
                "title": m.title,
                "start_at": m.start_at.isoformat(),
                "duration_min": m.duration_min,
                "timezone": m.timezone,
            }
            if after == before and changes.agenda is None:
                return m
            m.status = "updating"
            m.sequence += 1
            m.attempts = 0
            m.next_attempt_at = now
            m.updated_at = now
            what = {"from": before, "to": after}
            audit.write(s, audit.by(actor, "meeting.updated", origin, "meeting", m.id, what))
        self.jobs.enqueue(WORK_TASK, m.id)
        return m

    def cancel(self, actor: User, meeting_id: str, origin: Origin) -> Meeting:
        with self.db.write() as s:
            m = self._mine(s, actor, meeting_id)
            if m.status in ("cancelled", "deleted_in_zoom"):
                return m
            if m.status == "failed" and m.zoom_meeting_id is None and not m.ambiguous:
                m.status = "cancelled"  # nothing at Zoom to delete
            else:
                m.status = "cancelling"
                m.attempts = 0
                m.next_attempt_at = utcnow()
            m.updated_at = utcnow()
            audit.write(
                s,
                audit.by(actor, "meeting.cancelled", origin, "meeting", m.id, {"title": m.title}),
            )
        if m.status == "cancelling":
            self.jobs.enqueue(WORK_TASK, m.id)
        return m

    def retry(self, actor: User, meeting_id: str) -> Meeting:
        with self.db.write() as s:
            m = self._mine(s, actor, meeting_id)
            if m.status == "failed":
                m.status = "creating" if m.zoom_meeting_id is None else "updating"
            if m.status not in PENDING:
                raise Conflict("status", "there is nothing to retry")
            m.next_attempt_at = utcnow()
            m.last_error = None
        self.jobs.enqueue(WORK_TASK, m.id)
        return m

    def add_invitees(self, actor: User, meeting_id: str, emails: list[str]) -> int:
        addresses = [normalize_email(e, "emails") for e in emails if e.strip()]
        if not addresses:
            raise ValidationFailed("emails", "give at least one e-mail address")
        queued: list[str] = []
        with self.db.write() as s:
            m = self._mine(s, actor, meeting_id)
            if m.status in ("cancelling", "cancelled", "deleted_in_zoom"):
                raise Conflict("status", "this meeting is cancelled")
            have = set(
                s.scalars(
                    select(MeetingInvitee.email).where(MeetingInvitee.meeting_id == m.id)
                ).all()
            )
            new = [a for a in dict.fromkeys(addresses) if a not in have]
            for email in new:
                s.add(MeetingInvitee(meeting_id=m.id, email=email))
            s.flush()
            # Counting them locks the row and reads its status as committed now: an attempt
            # settling at this moment either sees these invitees or leaves them to us.
            m.status = s.execute(
                update(Meeting)
                .where(Meeting.id == m.id)
                .values(invitee_count=Meeting.invitee_count + len(new))
                .returning(Meeting.status)
                .execution_options(synchronize_session=False)
            ).scalar_one()
            if m.status == "scheduled":
                queued = self._queue_invites(s, m, "REQUEST", only=new)
        for mid in queued:
            self.mail.enqueue(mid)
        return len(new)

    def host_link(self, actor: User, meeting_id: str, origin: Origin) -> str:
        """A fresh start_url from Zoom (it is a host credential: never stored), audited."""
        m = self.get(actor, meeting_id)
        if m.host_user_id != actor.id:
            raise NotFound("only the host can get the host link")
        if m.zoom_meeting_id is None or m.connection_id is None:
            raise Conflict("status", "the meeting is not created in Zoom yet")
        try:
            data = self.zoom.api(m.connection_id).call_api("GET", f"/meetings/{m.zoom_meeting_id}")
        except ZoomError as exc:
            raise Conflict("zoom", f"Zoom did not give the host link: {exc.message}") from None
        with self.db.write() as s:
            audit.write(s, audit.by(actor, "meeting.host_link", origin, "meeting", m.id))
        return str(data.get("start_url", ""))

    def _mine(self, s: Session, actor: User, meeting_id: str) -> Meeting:
        m = s.scalar(
            select(Meeting).where(Meeting.id == meeting_id, Meeting.org_id == actor.org_id)
        )
        if m is None or (m.host_user_id != actor.id and not actor.is_admin):
            raise NotFound("no such meeting")
        return m

    # ---- the job -------------------------------------------------------------------------------

    def work(self, meeting_id: str, claim: dict[str, Any] | None = None) -> str:
        """Makes Zoom match the row: create, update or delete. Idempotent. The attempt claims
        the row (`claimed_until`, a lease) so two workers never act on one meeting at once;
        a change the user makes meanwhile is noticed when the attempt settles, and the
        meeting is worked on again at once.

        `claim`: the row as the request that scheduled it wrote and claimed it (the first
        attempt's job carries it, which saves a round trip). It is used while enough of its
        lease is left for a whole Zoom call; after that it is renewed only if it is still the
        row's claim."""
        now = utcnow()
        lease = now + dt.timedelta(seconds=self.settings.effective_meetings_lease)
        # What the request counted against Zoom's limits for this call (see `schedule`).
        prepaid: list[Counted] = claim.get("prepaid", []) if claim is not None else []
        if claim is not None and claim["claimed_until"] - now >= self._longest_call:
            values = {k: v for k, v in claim.items() if k not in _ONLY_IN_THE_JOB}
        else:
            with self.db.single() as conn:
                if claim is None:
                    params = {"mid": meeting_id, "now": now, "lease": lease}
                    row = conn.execute(_CLAIM, params).first()
                else:
                    params = {"mid": meeting_id, "held": claim["claimed_until"], "lease": lease}
                    row = conn.execute(_RENEW, params).first()
                if row is None:
                    status = conn.scalar(select(Meeting.status).where(Meeting.id == meeting_id))
                    return status or "missing"
            values = row._asdict()
        status, version = values.pop("conn__status"), values.pop("conn__v")
        m = Meeting(**values)
        # `ambiguous` now says whether a create may already have reached Zoom: an earlier
        # answer was unclear, or an earlier attempt never settled (its process died).
        was_ambiguous = m.ambiguous
        if m.connection_id is None:
            return self._fail(m, "Zoom is not connected for the host; connect Zoom, then retry")
        api = self.zoom.api(m.connection_id, SeenState(status, version) if status else None)
        try:
            if m.status == "creating":
                found = self._find_at_zoom(m, api) if was_ambiguous else None
                if found is not None:
                    log.info(
                        "meetings.recovered_ambiguous_create", meeting_id=m.id, zoom_id=found[0]
                    )
                else:
                    zm = api.create_meeting(self._zoom_body(m), user_id="me", prepaid=prepaid)
                    found = zm.id, zm.join_url
                return self._settle(m, link=found)
            if m.status == "updating":
                api.update_meeting(m.zoom_meeting_id or 0, self._zoom_body(m), host="me")
                return self._settle(m)
            zoom_id = m.zoom_meeting_id
            if zoom_id is None and was_ambiguous:  # cancelled while a create was unclear
                found = self._find_at_zoom(m, api)
                zoom_id = found[0] if found is not None else None
            if zoom_id is not None:
                with contextlib.suppress(ZoomNotFound):  # already gone at Zoom: goal met
                    api.delete_meeting(zoom_id)
            return self._settle(m, "CANCEL", status="cancelled")
        except ZoomAmbiguous as exc:
            return self._later(
                m,
                f"Zoom did not answer clearly ({exc.message}); checking before trying again",
                ambiguous=m.status == "creating",
            )
        except ZoomRateLimited as exc:
            what = (
                "Zoom's limit of 100 meeting creates and updates per host per day is "
                "reached; the meeting will be sent to Zoom when it resets at "
                f"{exc.retry_at:%H:%M} UTC"
                if exc.daily
                else "Zoom is busy (rate limit); trying again shortly"
            )
            return self._later(m, what, at=exc.retry_at)
        except ZoomUnavailable as exc:
            return self._later(m, f"Zoom is unavailable ({exc.message}); trying again")
        except (NeedsReconnect, NotConnected) as exc:
            return self._fail(m, f"{exc.message}. Reconnect Zoom, then retry.")
        except ZoomError as exc:
            return self._fail(m, f"Zoom refused: {exc.message}")

    def _find_at_zoom(self, m: Meeting, api: ZoomApi) -> tuple[int, str] | None:
        """After an ambiguous create: the host's upcoming meeting with this topic and start
        that no other row owns."""
        start = m.start_at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        for zm in api.iter_meetings("me", kind="upcoming"):
            if zm.topic == m.title and zm.start_time == start:
                with self.db.read() as s:
                    owner = s.scalar(select(Meeting.id).where(Meeting.zoom_meeting_id == zm.id))
                if owner is None or owner == m.id:
                    join = zm.join_url or api.get_meeting(zm.id).join_url
                    return zm.id, join
        return None

    def _zoom_body(self, m: Meeting) -> dict[str, Any]:
        # Zoom's rule: wall-clock time without "Z" plus the IANA time zone.
        local = m.start_at.astimezone(zoneinfo.ZoneInfo(m.timezone))
        body: dict[str, Any] = {
            "topic": m.title,
            "type": 2,
            "start_time": local.strftime("%Y-%m-%dT%H:%M:%S"),
            "timezone": m.timezone,
            "duration": m.duration_min,
            "agenda": m.agenda,
            "settings": {"waiting_room": m.waiting_room, "join_before_host": m.join_before_host},
        }
        if m.passcode:
            body["password"] = m.passcode
        return body

    def _settle(
        self,
        m: Meeting,
        method: str = "REQUEST",
        *,
        values: dict[str, Any] | None = None,
        status: str = "scheduled",
        link: tuple[int, str] | None = None,
    ) -> str:
        """Ends an attempt in one statement or transaction. If the row is as the attempt claimed it
        (same status and sequence), it takes `status` and the invites (`method`) go out, or,
        for an attempt that did not reach its goal, it takes `values` and nobody is told;
        if the user changed it meanwhile, what Zoom told us is kept (`link`) and the row is
        due again at once. Either way the claim is released."""
        now = utcnow()
        zoom_id, join_url = link or (None, None)
        if link is not None:
            m.zoom_meeting_id, m.join_url = link
        claimed = {"mid": m.id, "old_status": m.status, "old_sequence": m.sequence}
        done = {"status": status, "now": now, "zoom_id": zoom_id, "join_url": join_url}
        if values is None and m.invitee_count == 0:
            # Nobody to invite (checked in the statement itself): one statement, no transaction.
            with self.db.single() as conn:
                if conn.execute(_SETTLE_ALONE, {**claimed, **done}).rowcount == 1:
                    m.status = status
                    return "done"
        queued: list[str] = []
        with self.db.write() as s:
            if values is None:
                result = s.execute(_SETTLE_DONE, {**claimed, **done})
            else:
                result = s.execute(_AS_CLAIMED.values(claimed_until=None, **values), claimed)
            settled = result.rowcount == 1  # type: ignore[attr-defined]
            if settled and values is None:
                m.status = status
                queued = self._queue_invites(s, m, method)
            elif not settled:
                kept: dict[str, Any] = {"claimed_until": None, "next_attempt_at": now}
                if link is not None:
                    kept.update(zoom_meeting_id=zoom_id, join_url=join_url, ambiguous=False)
                s.execute(update(Meeting).where(Meeting.id == m.id).values(**kept))
        for mid in queued:
            self.mail.enqueue(mid)
        if not settled:
            self.jobs.enqueue(WORK_TASK, m.id)
            return "changed"
        return "done"

    def _later(
        self, m: Meeting, error: str, at: dt.datetime | None = None, ambiguous: bool = False
    ) -> str:
        base = self.settings.meetings_retry_base_seconds
        backoff = dt.timedelta(
            seconds=min(base * 2 ** min(m.attempts, 10), self.settings.meetings_retry_max_seconds)
        )
        log.info("meetings.retry_later", meeting_id=m.id, error=error)
        at = at or utcnow() + backoff
        settled = self._settle(
            m,
            values={
                "status": m.status,
                "last_error": error,
                "last_error_at": utcnow(),
                "next_attempt_at": at,
                "ambiguous": Meeting.ambiguous | ambiguous,
                "had_ambiguity": Meeting.had_ambiguity | ambiguous,
            },
        )
        if settled == "done":  # else the row changed meanwhile and is already queued again
            # The next attempt is queued for its time; the reconciler only covers a lost one.
            self.jobs.enqueue_in((at - utcnow()).total_seconds(), WORK_TASK, m.id)
        return "later"

    def _fail(self, m: Meeting, error: str) -> str:
        log.warning("meetings.failed", meeting_id=m.id, error=error)
        self._settle(
            m,
            values={
                "status": "failed" if m.status == "creating" else m.status,
                "last_error": error,
                "last_error_at": utcnow(),
                "next_attempt_at": utcnow() + dt.timedelta(days=3650),
            },
        )
        return "failed"

    # ---- invites ------------------------------------------------------------------------------

    def _queue_invites(
        self, s: Session, m: Meeting, method: str, only: list[str] | None = None
    ) -> list[str]:
        rows = s.scalars(_INVITEES, {"mid": m.id}).all()
        if only is not None:
            rows = [r for r in rows if r.email in only]
        if not rows or not m.join_url:
            return []
        host = s.get(User, m.host_user_id)
        tz = zoneinfo.ZoneInfo(m.timezone)
        local = m.start_at.astimezone(tz)
        invite = build_invite(
            InviteEvent(
                uid=f"{m.id}@meetbridge",
                sequence=m.sequence,
                title=m.title,
                description=f"Join Zoom meeting: {m.join_url}\n\n{m.agenda}".strip(),
                start=m.start_at,
                duration=dt.timedelta(minutes=m.duration_min),
                timezone=m.timezone,
                location=m.join_url,
                stamp=utcnow(),
                organizer_email=host.email if host else "no-reply@meetbridge.local",
                organizer_name=host.name if host else "meetbridge",
                attendees=tuple((r.email, r.name) for r in rows),
            ),
            method,
        )
        ids = []
        for r in rows:
            msg = queue_email(
                s,
                org_id=m.org_id,
                dedupe_key=f"invite:{m.id}:{m.sequence}:{method}:{r.email}",
                to=r.email,
                template="invite",
                ics=invite,
                ics_method=method,
                context={
                    "title": m.title,
                    "when": local.strftime("%A %d %B %Y, %H:%M"),
                    "timezone": m.timezone,
                    "duration": m.duration_min,
                    "join_url": m.join_url,
                    "meeting_id": m.zoom_meeting_id,
                    "passcode": m.passcode,
                    "agenda": m.agenda,
                    "host": host.name if host else "Your host",
                    "sequence": m.sequence,
                    "cancelled": method == "CANCEL",
                },
            )
            if msg:
                ids.append(msg.id)
        return ids

    # ---- changes made in Zoom -------------------------------------------------------------

    def on_zoom_updated(self, payload: dict[str, Any]) -> str:
        obj = payload.get("object") or {}
        return self._apply_from_zoom(obj.get("id"), obj)

    def on_zoom_deleted(self, payload: dict[str, Any]) -> str:
        obj = payload.get("object") or {}
        zoom_id = obj.get("id")
        queued: list[str] = []
        with self.db.write() as s:
            m = s.scalar(select(Meeting).where(Meeting.zoom_meeting_id == _int(zoom_id)))
            if m is None or m.status in ("cancelled", "deleted_in_zoom", "cancelling"):
                return "ignored"
            m.status = "deleted_in_zoom"
            m.sequence += 1
            m.last_synced_at = m.updated_at = utcnow()
            queued = self._queue_invites(s, m, "CANCEL")
        for mid in queued:
            self.mail.enqueue(mid)
        return "done"

    def _apply_from_zoom(self, zoom_id: Any, obj: dict[str, Any]) -> str:
        queued: list[str] = []
        with self.db.write() as s:
            m = s.scalar(select(Meeting).where(Meeting.zoom_meeting_id == _int(zoom_id)))
            if m is None:
                return "ignored"
            m.last_synced_at = utcnow()
            if m.status != "scheduled":
                return "ignored"  # our own change is on its way to Zoom
            changed = False
            if isinstance(obj.get("topic"), str) and obj["topic"] != m.title:
                m.title, changed = obj["topic"][:200], True
            if isinstance(obj.get("duration"), int) and obj["duration"] != m.duration_min:
                m.duration_min, changed = obj["duration"], True
            if isinstance(obj.get("timezone"), str) and obj["timezone"] != m.timezone:
                try:
                    zoneinfo.ZoneInfo(obj["timezone"])
                    m.timezone, changed = obj["timezone"], True
                except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                    pass
            if isinstance(obj.get("agenda"), str) and obj["agenda"] != m.agenda:
                m.agenda, changed = obj["agenda"][:2000], True
            start = _zoom_time(obj.get("start_time"))
            if start is not None and start != m.start_at:
                m.start_at, changed = start, True
            if changed:
                m.sequence += 1
                m.updated_at = utcnow()
                queued = self._queue_invites(s, m, "REQUEST")
        for mid in queued:
            self.mail.enqueue(mid)
        return "done"

    def _purge_zoom_data(self, s: Session, conn: ZoomConnection) -> None:
        """Data compliance: the Zoom meeting ids and links of that Zoom user's meetings go."""
        s.execute(
            update(Meeting)
            .where(Meeting.connection_id == conn.id)
            .values(zoom_meeting_id=None, join_url=None, connection_id=None)
        )

    # ---- reconciler ----------------------------------------------------------------------

    def reconcile(self, sync_batch: int = 50, requeue_batch: int = 500) -> dict[str, int]:
        """Re-enqueues due work that no job is doing (its enqueue was lost, its worker died, its
        back-off is over), and compares upcoming meetings with Zoom (missed webhooks). A row
        due for less than RECONCILE_GRACE is most likely still waiting in the queue."""
        now = utcnow()
        with self.db.read() as s:
            due = s.scalars(
                select(Meeting.id)
                .where(_due(now), Meeting.next_attempt_at <= now - RECONCILE_GRACE)
                .order_by(Meeting.next_attempt_at)
                .limit(requeue_batch)
            ).all()
            stale = s.scalars(
                select(Meeting)
                .where(
                    Meeting.status == "scheduled",
                    Meeting.start_at >= now - dt.timedelta(hours=1),
                    or_(
                        Meeting.last_synced_at.is_(None),
                        Meeting.last_synced_at < now - dt.timedelta(minutes=10),
                    ),
                )
                .order_by(Meeting.last_synced_at)
                .limit(sync_batch)
            ).all()
        for mid in due:
            self.jobs.enqueue(WORK_TASK, mid)
        swept = self.sweep_orphans()
        synced = 0
        for m in stale:
            if m.connection_id is None or m.zoom_meeting_id is None:
                continue
            try:
                zm = self.zoom.api(m.connection_id).call_api(
                    "GET", f"/meetings/{m.zoom_meeting_id}"
                )
            except ZoomNotFound:
                self.on_zoom_deleted({"object": {"id": m.zoom_meeting_id}})
            except ZoomError:
                continue
            else:
                self._apply_from_zoom(m.zoom_meeting_id, zm)
            synced += 1
        return {"requeued": len(due), "synced": synced, "orphans_deleted": swept}

    def sweep_orphans(self, limit: int = 50) -> int:
        """Zoom has no idempotency key: a create that timed out can still land at Zoom after
        the lookup that preceded our retry. Some minutes after such a meeting is scheduled,
        look once more at the host's meetings and delete copies that no record owns."""
        cutoff = utcnow() - dt.timedelta(seconds=self.settings.meetings_sweep_after_seconds)
        with self.db.read() as s:
            rows = s.scalars(
                select(Meeting)
                .where(
                    Meeting.status == "scheduled",
                    Meeting.had_ambiguity.is_(True),
                    Meeting.swept_at.is_(None),
                    Meeting.updated_at <= cutoff,
                )
                .limit(limit)
            ).all()
        deleted = 0
        for m in rows:
            if m.connection_id is None:
                continue
            api = self.zoom.api(m.connection_id)
            start = m.start_at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            try:
                for zm in api.iter_meetings("me", kind="upcoming"):
                    if zm.topic != m.title or zm.start_time != start or zm.id == m.zoom_meeting_id:
                        continue
                    with self.db.read() as s:
                        owned = s.scalar(select(Meeting.id).where(Meeting.zoom_meeting_id == zm.id))
                    if owned is None:
                        with contextlib.suppress(ZoomNotFound):
                            api.delete_meeting(zm.id)
                        deleted += 1
                        log.warning("meetings.orphan_deleted", meeting_id=m.id, zoom_id=zm.id)
            except ZoomError:
                continue  # try again on the next pass
            with self.db.write() as s:
                s.execute(update(Meeting).where(Meeting.id == m.id).values(swept_at=utcnow()))
        return deleted


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _zoom_time(value: Any) -> dt.datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)

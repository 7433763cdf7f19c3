"""The meetings service: what the faces, booking, service requests and workflows call to
schedule, change, cancel, retry, invite to and read meetings. A module names itself as the
meeting's `source` when it schedules one and lists its meetings by it; it never reaches into
the engine behind (lifecycle, invites, from_zoom, reconcile, statements).

Never lose, never duplicate: scheduling writes the meeting row first (status "creating") and a
job makes it true at the platform (lifecycle.py). Changes made at the platform arrive as
webhooks and, for missed ones, through the reconciler."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from meetbridge.accounts.inputs import normalize_email
from meetbridge.core import audit
from meetbridge.core.audit import Origin
from meetbridge.core.db import Database, utcnow
from meetbridge.core.errors import Conflict, NotFound, ValidationFailed
from meetbridge.core.events import EventBus
from meetbridge.core.jobs import JobQueue
from meetbridge.core.models import Meeting, MeetingInvitee, User, new_id
from meetbridge.core.platform import (
    HostRef,
    PlatformError,
    PlatformHost,
    PlatformMeeting,
    PlatformUser,
    VideoPlatform,
)
from meetbridge.core.settings import Settings
from meetbridge.meetings import caps, inputs
from meetbridge.meetings import statements as q
from meetbridge.meetings.detached import (
    NOT_CONNECTED_EDIT,
    HostZoom,
    Reattach,
    host_zoom,
    remains_note,
)
from meetbridge.meetings.events import event_data, publish, record
from meetbridge.meetings.from_zoom import FromPlatform
from meetbridge.meetings.hosts import AccountHosts
from meetbridge.meetings.inputs import MeetingChanges, MeetingInput
from meetbridge.meetings.invites import queue_invites
from meetbridge.meetings.lifecycle import WORK_TASK, Lifecycle
from meetbridge.meetings.payload import FirstAttempt
from meetbridge.meetings.reads import Reads
from meetbridge.meetings.reconcile import Reconciler
from meetbridge.meetings.status import Applied, MeetingEvent, Outcome, Status, move
from meetbridge.meetings.write import write_for_host, write_meeting
from meetbridge.notify.outbox import MailDelivery


class Meetings(Reads):
    def __init__(
        self,
        db: Database,
        settings: Settings,
        platform: VideoPlatform,
        jobs: JobQueue,
        mail: MailDelivery,
        events: EventBus | None = None,
    ) -> None:
        self.db = db
        self.settings = settings
        self.platform = platform
        self.jobs = jobs
        self.mail = mail
        self.events = events
        self.lifecycle = Lifecycle(db, settings, platform, jobs, mail, events)
        self.from_platform = FromPlatform(db, mail, events)
        self.reconciler = Reconciler(db, settings, platform, jobs, self.from_platform)
        self.reattacher = Reattach(db, platform, jobs, self.from_platform)
        self.account_hosts = AccountHosts(db, platform)

    # ---- scheduling ----------------------------------------------------------------------------

    def schedule(
        self,
        actor: User,
        data: MeetingInput,
        origin: Origin,
        *,
        token_id: str | None = None,
        meeting_id: str | None = None,
    ) -> Meeting:
        """Validates everything, records the meeting as "creating" and queues the platform
        call. Nothing is sent, and nothing is written, when the input is wrong.

        `data.source`: what owns the meeting (a person's own by default).
        `token_id`: the API token the request came with, when `actor` was read from it
        earlier (`ApiTokens.api_caller_to_confirm`): the INSERT itself confirms the token is
        still live and the actor active, or nothing is written and NotAuthenticated is raised.
        `meeting_id`: the new meeting's id, when the caller chose it (core/idempotency.py: a
        second schedule with that id raises IntegrityError and writes nothing)."""
        chosen = self.account_hosts.resolve(actor, data.host) if data.host else None
        now = utcnow()
        ok = inputs.checked(data, now)
        title, start, duration, agenda = ok.title, ok.start, ok.duration, ok.agenda
        passcode, invitees = ok.passcode, ok.invitees
        values: dict[str, Any] = {
            "id": meeting_id or new_id(),
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
            "registration": data.registration,
            "status": Status.CREATING,
            "sequence": 0,
            # The row is claimed for the first attempt as it is written, and the job carries
            # it (see `Lifecycle.work`): the worker need not claim it again.
            "attempts": 1,
            "claimed_until": now + dt.timedelta(seconds=self.settings.effective_meetings_lease),
            "ambiguous": False,
            "had_ambiguity": False,
            "invitee_count": len(invitees),
            "next_attempt_at": now,
            "created_by": actor.id,
            "created_at": now,
            "updated_at": now,
            "source_kind": data.source.kind,
            "source_id": data.source.id,
            "changed_at": now,
        }
        what = audit.by(
            actor, "meeting.scheduled", origin, "meeting", values["id"], {"title": title}
        )
        event = None
        if self.events is not None and self.events.wants(MeetingEvent.SCHEDULED):
            event = self.events.row(
                MeetingEvent.SCHEDULED,
                org_id=actor.org_id,
                subject_type="meeting",
                subject_id=values["id"],
                data=event_data(values),
            )
        if invitees:
            with self.db.read() as s:
                caps.check(
                    s,
                    self.settings,
                    actor.org_id,
                    field="invitees",
                    have=0,
                    adding=len(invitees),
                    now=now,
                )
        if chosen is not None:
            # Through the account connection: the create counts against this host's limits.
            values["connection_id"] = chosen.connection_id
            values["zoom_host_id"], values["zoom_host_email"] = chosen.host.id, chosen.host.email
            write_for_host(self.db, values, what, invitees, token_id, actor, event)
            job = FirstAttempt(values, None)
        else:
            reserving = self.platform.reserve(actor.id)
            try:
                written, reservation = write_meeting(
                    self.db, values, what, invitees, token_id, actor, reserving, event
                )
            except BaseException:
                reserving.cancel()
                raise
            values["connection_id"] = written.connection_id
            seen = (written.conn__status, written.conn__v) if written.conn__status else None
            job = FirstAttempt(values, seen, reservation)
        if event is not None:
            self.events.publish([event["id"]])  # type: ignore[union-attr]
        if not self.jobs.enqueue(WORK_TASK, values["id"], job.to_json()):
            # The queue is down: the claim is let go, so the reconciler takes the meeting up.
            with self.db.single() as conn:
                conn.execute(q.RELEASE, {"mid": values["id"], "held": values["claimed_until"]})
        return Meeting(**values)

    # ---- changing ------------------------------------------------------------------------------

    def update(
        self, actor: User, meeting_id: str, changes: MeetingChanges, origin: Origin
    ) -> Meeting:
        now = utcnow()
        with self.db.write() as s:
            m = self._mine(s, actor, meeting_id)
            status = Status(m.status)
            if status.gone:
                raise Conflict("status", "this meeting is cancelled")
            if not status.can_become(Status.UPDATING) or m.zoom_meeting_id is None:
                raise Conflict("status", "the meeting is not created in Zoom yet; wait or retry")
            if host_zoom(s, m.connection_id) is not HostZoom.CONNECTED:
                raise Conflict("zoom", NOT_CONNECTED_EDIT)
            before = {
                "title": m.title,
                "start_at": m.start_at.isoformat(),
                "duration_min": m.duration_min,
                "timezone": m.timezone,
            }
            ok = inputs.checked_changes(changes, m.timezone, now)  # every broken field at once
            if ok.title is not None:
                m.title = ok.title
            if ok.agenda is not None:
                m.agenda = ok.agenda
            if ok.duration is not None:
                m.duration_min = ok.duration
            if ok.start is not None:
                m.start_at = ok.start
            m.timezone = ok.timezone
            after = {
                "title": m.title,
                "start_at": m.start_at.isoformat(),
                "duration_min": m.duration_min,
                "timezone": m.timezone,
            }
            if after == before and changes.agenda is None and status is not Status.FAILED:
                return m
            m.status = move(status, Status.UPDATING)
            m.sequence += 1
            m.attempts = 0
            m.next_attempt_at = now
            m.updated_at = m.changed_at = now
            m.last_error = None
            what = {"from": before, "to": after}
            audit.write(s, audit.by(actor, "meeting.updated", origin, "meeting", m.id, what))
            event = record(self.events, s, MeetingEvent.UPDATED, m, {"by": "person"})
        publish(self.events, event)  # before the work, whose own events follow this one
        self.jobs.enqueue(WORK_TASK, m.id)
        return m

    def cancel(self, actor: User, meeting_id: str, origin: Origin) -> Meeting:
        """Cancels at the platform (a job), or, when the host has no connection, here at once:
        the invitees are told either way, and `last_error` then says what may remain at the
        platform."""
        queued: list[str] = []
        with self.db.write() as s:
            m = self._mine(s, actor, meeting_id)
            status = Status(m.status)
            if status in (Status.CANCELLED, Status.DELETED_IN_ZOOM):
                return m
            if status is Status.FAILED and m.zoom_meeting_id is None and not m.ambiguous:
                m.status = move(status, Status.CANCELLED)  # nothing at the platform to delete
            elif host_zoom(s, m.connection_id) is not HostZoom.CONNECTED:
                if status is not Status.CANCELLING:
                    status = move(status, Status.CANCELLING)
                m.status = move(status, Status.CANCELLED)
                m.last_error, m.last_error_at = remains_note(m), utcnow()
                m.claimed_until = None
                queued = queue_invites(s, m, "CANCEL")
            elif status is not Status.CANCELLING:
                m.status = move(status, Status.CANCELLING)
                m.attempts = 0
                m.next_attempt_at = utcnow()
            else:
                m.attempts = 0
                m.next_attempt_at = utcnow()
            m.updated_at = utcnow()
            audit.write(
                s,
                audit.by(actor, "meeting.cancelled", origin, "meeting", m.id, {"title": m.title}),
            )
            event = record(self.events, s, MeetingEvent.CANCELLED, m, {"by": "person"})
        for mid in queued:
            self.mail.enqueue(mid)
        publish(self.events, event)
        if m.status == Status.CANCELLING:
            self.jobs.enqueue(WORK_TASK, m.id)
        return m

    def retry(self, actor: User, meeting_id: str) -> Meeting:
        with self.db.write() as s:
            m = self._mine(s, actor, meeting_id)
            if (
                m.zoom_meeting_id is None
                and host_zoom(s, m.connection_id) is HostZoom.NOT_CONNECTED
            ):
                # Never made at the platform: it goes through the host's connection as it is now.
                row = s.execute(q.HOST_CONNECTION, {"uid": m.host_user_id}).first()
                m.connection_id = row.id if row is not None else m.connection_id
            if m.status == Status.FAILED:
                again = Status.CREATING if m.zoom_meeting_id is None else Status.UPDATING
                m.status = move(m.status, again)
            if not Status(m.status).pending:
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
            if Status(m.status).gone:
                raise Conflict("status", "this meeting is cancelled")
            have = set(
                s.scalars(
                    select(MeetingInvitee.email).where(MeetingInvitee.meeting_id == m.id)
                ).all()
            )
            new = [a for a in dict.fromkeys(addresses) if a not in have]
            caps.check(
                s,
                self.settings,
                m.org_id,
                field="emails",
                have=len(have),
                adding=len(new),
                now=utcnow(),
            )
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
            if m.status == Status.SCHEDULED:
                queued = queue_invites(s, m, "REQUEST", only=new)
        for mid in queued:
            self.mail.enqueue(mid)
        return len(new)

    invite = add_invitees

    def host_link(self, actor: User, meeting_id: str, origin: Origin) -> str:
        """A fresh start link from the platform (a host credential: never stored), audited."""
        m = self.get(actor, meeting_id)
        if m.host_user_id != actor.id:
            raise NotFound("only the host can get the host link")
        return self._host_link(actor, m, origin)

    def host_link_for(self, actor: User, meeting_id: str, origin: Origin) -> str:
        """As `host_link`, for a module that decided itself who may take its meetings' host
        links (a service request's own rule): the fetch is audited under `actor`."""
        with self.db.read() as s:
            m = s.scalar(
                select(Meeting).where(Meeting.id == meeting_id, Meeting.org_id == actor.org_id)
            )
        if m is None or Status(m.status).gone:
            raise NotFound("no such meeting")
        return self._host_link(actor, m, origin)

    def _host_link(self, actor: User, m: Meeting, origin: Origin) -> str:
        if m.zoom_meeting_id is None or m.connection_id is None:
            raise Conflict("status", "the meeting is not created in Zoom yet")
        try:
            host = HostRef(m.connection_id, user=m.zoom_host_id)
            pm = self.platform.get(host, m.zoom_meeting_id)
        except PlatformError as exc:
            raise Conflict("zoom", f"Zoom did not give the host link: {exc.message}") from None
        if pm is None:
            raise Conflict("zoom", "Zoom did not give the host link: the meeting is gone")
        with self.db.write() as s:
            audit.write(s, audit.by(actor, "meeting.host_link", origin, "meeting", m.id))
        return pm.host_url

    # ---- a pool of account hosts (service requests) --------------------------------------------

    def pool_busy(
        self, org_id: str, host_ids: Sequence[str], start: dt.datetime, end: dt.datetime
    ) -> list[tuple[str, str, dt.datetime, dt.datetime, str]]:
        """(meeting id, platform host id, start, end, source kind) of every meeting not
        cancelled on these users of the account connection that overlaps [start, end)."""
        if not host_ids:
            return []
        with self.db.connect() as conn:
            rows = conn.execute(
                q.POOL_BUSY,
                {
                    "org": org_id,
                    "since": start - dt.timedelta(minutes=inputs.MAX_DURATION),
                    "until": end,
                },
            ).all()
        wanted, out = set(host_ids), []
        for mid, host, at, minutes, kind in rows:
            until = at + dt.timedelta(minutes=minutes)
            if until > start and host in wanted:
                out.append((mid, host or "", at, until, kind))
        return out

    def known_platform_ids(self, ids: Sequence[int]) -> set[int]:
        """Which of these platform meeting ids meetbridge holds (any organisation: a
        platform id is unique)."""
        if not ids:
            return set()
        with self.db.connect() as conn:
            found = conn.execute(q.KNOWN_PLATFORM_IDS, {"ids": list(ids)}).scalars().all()
        return {i for i in found if i is not None}

    def account_connection(self, org_id: str) -> str | None:
        return self.account_hosts.account_connection(org_id)

    def listed_hosts(self, connection_id: str) -> list[PlatformHost]:
        """The account's active, licensed users (for a pool: the caller checks who may)."""
        return self.account_hosts.listed(connection_id)

    def account_users(self, connection_id: str) -> list[PlatformUser]:
        return self.account_hosts.users(connection_id)

    def at_platform(
        self, connection_id: str, host_id: str, start: dt.datetime, end: dt.datetime
    ) -> list[PlatformMeeting]:
        return self.account_hosts.at_platform(connection_id, host_id, start, end)

    def daily_room(self, connection_id: str, host_ids: list[str]) -> dict[str, int]:
        return self.account_hosts.daily_room(connection_id, host_ids)

    def _mine(self, s: Session, actor: User, meeting_id: str) -> Meeting:
        m = s.scalar(
            select(Meeting).where(Meeting.id == meeting_id, Meeting.org_id == actor.org_id)
        )
        if m is None or (m.host_user_id != actor.id and not actor.is_admin):
            raise NotFound("no such meeting")
        return m

    # ---- the engine's entry points (jobs, webhooks, the reconciler) ----------------------------

    def work(
        self, meeting_id: str, claim: FirstAttempt | dict[str, Any] | None = None
    ) -> Outcome | Status:
        """The job (see `Lifecycle.work`)."""
        return self.lifecycle.work(meeting_id, claim)

    def reconcile(self, sync_batch: int = 50, requeue_batch: int = 500) -> dict[str, int]:
        return self.reconciler.reconcile(sync_batch, requeue_batch)

    def sweep_orphans(self, limit: int = 50) -> int:
        return self.reconciler.sweep_orphans(limit)

    def on_zoom_updated(self, payload: dict[str, Any], event_ts: int | None = None) -> Applied:
        """A meeting.updated webhook (`event_ts`: the event's time, ms since the epoch)."""
        return self.from_platform.changed(self.platform.read_change(payload, event_ts))

    def on_zoom_deleted(self, payload: dict[str, Any], event_ts: int | None = None) -> Applied:
        return self.from_platform.deleted(self.platform.read_change(payload, event_ts))

    def reattach(self, connection_id: str, attempt: int = 1) -> dict[str, int]:
        """The job after a connect: the host's meetings left by an ended connection, looked
        up through this one and attached again (meetings/detached.py)."""
        return self.reattacher.run(connection_id, attempt)

"""Service requests: the organisation's Zoom settings for them (the host pool), the requests
themselves, converting them to and from Zoom meetings on a pool host, and the host link.

A request never talks to Zoom. Converting it chooses a host of the pool (`hosting.py`) and,
in one transaction under the organisation's settings row lock, holds the window
[start - lead, end + padding] on that host, chooses the meeting's id and writes a durable
"sync" work row; the work (`sync.py`) then makes the request's meeting match the request
through the meetings service, which makes it true at Zoom. So two conversions at the same
moment never pick the same host for overlapping times, a retry never makes a second
meeting, and a failure at Zoom is on the meeting and the work row for a person to see.

Converting, converting back and cancelling are domain events too (requests/events.py),
written in the change's transaction and published after its commit."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from meetbridge.core import audit
from meetbridge.core.audit import Origin
from meetbridge.core.clock import Clock
from meetbridge.core.db import Database
from meetbridge.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from meetbridge.core.events import EventBus
from meetbridge.core.models import Meeting, User, new_id
from meetbridge.core.security import spreadsheet_cell
from meetbridge.meetings.service import Meetings
from meetbridge.meetings.source import SourceKind
from meetbridge.notify.outbox import MailDelivery
from meetbridge.requests import events as request_events
from meetbridge.requests import inputs, reads
from meetbridge.requests.events import RequestEvent, request_data
from meetbridge.requests.hosting import Choice, HostChooser
from meetbridge.requests.inputs import RequestInput, SettingsInput
from meetbridge.requests.sync import STUCK_AFTER, Sync
from meetbridge.requests.tables import (
    HostLinkRole,
    ParticipantRole,
    RequestKind,
    RequestParticipant,
    RequestSettings,
    RequestStatus,
    RequestTag,
    RequestWork,
    ServiceRequest,
    WorkStatus,
)

ORIGIN = Origin(via="requests")
NOT_SCHEDULER = "only schedulers and admins manage service requests"


@dataclass(frozen=True)
class Filters:
    status: str | None = None
    tag: str | None = None
    kind: str | None = None  # regular | zoom
    start: dt.datetime | None = None  # requests starting at or after
    end: dt.datetime | None = None  # and before
    provider_id: str | None = None


@dataclass(frozen=True)
class PoolCheck:
    """A pool host as the account describes it at save: `problem` None when it can host."""

    email: str
    problem: str | None


@dataclass(frozen=True)
class RequestView:
    """A request with what its pages show: tags, people, its meeting (join link, state) and
    its work that is stuck or failed."""

    request: ServiceRequest
    tags: list[str]
    participants: list[RequestParticipant]
    meeting: Meeting | None
    problems: list[str]

    @property
    def join_url(self) -> str | None:
        m = self.meeting
        return m.join_url if m is not None and m.status in ("scheduled", "updating") else None


class Requests:
    def __init__(
        self,
        db: Database,
        meetings: Meetings,
        mail: MailDelivery,
        jobs: Any,
        clock: Clock,
        events: EventBus | None = None,
    ) -> None:
        self.db = db
        self.meetings = meetings
        # The domain events' bus: the meetings service's unless given (one bus per process).
        self.events = events if events is not None else meetings.events
        self.clock = clock
        self.hosting = HostChooser(db, meetings)
        self.sync = Sync(db, meetings, mail, jobs, clock)

    # ---- settings ------------------------------------------------------------------------------

    def settings_of(self, org_id: str) -> RequestSettings:
        with self.db.read() as s:
            row = s.get(RequestSettings, org_id)
            if row is not None:
                s.expunge(row)
                return row
        return RequestSettings(
            org_id=org_id,
            lead_minutes=15,
            padding_minutes=15,
            host_pool=[],
            pool_warnings=[],
            host_link_roles=[HostLinkRole.SCHEDULERS.value],
        )

    def save_settings(
        self, actor: User, data: SettingsInput, origin: Origin
    ) -> tuple[RequestSettings, list[PoolCheck]]:
        """Saves the settings after checking every pool host against the account: an e-mail
        that is no user of the account is refused (nothing saved); a deactivated, pending or
        unlicensed (Basic: meetings end after 40 minutes) user is saved with a warning."""
        if not actor.is_admin:
            raise PermissionDenied("only admins change the Zoom settings for requests")
        ok = inputs.checked_settings(data)
        checks = self.check_pool(actor.org_id, ok.host_pool)
        unknown = [c.email for c in checks if c.problem == UNKNOWN]
        if unknown:
            raise ValidationFailed(
                "host_pool", f"not a user of the organisation's Zoom account: {', '.join(unknown)}"
            )
        warnings = [{"email": c.email, "problem": c.problem} for c in checks if c.problem]
        now = self.clock.now()
        with self.db.write() as s:
            row = s.get(RequestSettings, actor.org_id, with_for_update=True)
            if row is None:
                row = RequestSettings(org_id=actor.org_id)
                s.add(row)
            row.lead_minutes = ok.lead_minutes
            row.padding_minutes = ok.padding_minutes
            row.host_pool = ok.host_pool
            row.pool_warnings = warnings
            row.host_link_roles = ok.host_link_roles
            row.updated_by, row.updated_at = actor.id, now
            details = {
                "lead_minutes": ok.lead_minutes,
                "padding_minutes": ok.padding_minutes,
                "hosts": len(ok.host_pool),
                "host_link_roles": ok.host_link_roles,
            }
            audit.write(
                s, audit.by(actor, "requests.settings", origin, "org", actor.org_id, details)
            )
            s.flush()
            s.expunge(row)
        return row, checks

    def check_pool(self, org_id: str, emails: Sequence[str]) -> list[PoolCheck]:
        if not emails:
            return []
        connection = self.meetings.account_connection(org_id)
        if connection is None:
            raise Conflict(
                "host_pool",
                "connect the organisation's Zoom account first (Server-to-Server OAuth, on "
                "this page): the pool's hosts are users of that account",
            )
        users = {u.email.lower(): u for u in self.meetings.account_users(connection)}
        out = []
        for email in emails:
            u = users.get(email)
            if u is None:
                out.append(PoolCheck(email, UNKNOWN))
            elif not u.active:
                out.append(PoolCheck(email, f"{u.status} in Zoom: it cannot host until active"))
            elif not u.licensed:
                out.append(
                    PoolCheck(
                        email,
                        "a Basic (unlicensed) user: Zoom ends its meetings after 40 minutes "
                        "and it is never chosen as a host; give it a licence",
                    )
                )
            else:
                out.append(PoolCheck(email, None))
        return out

    # ---- requests ------------------------------------------------------------------------------

    def create(self, actor: User, data: RequestInput, origin: Origin) -> ServiceRequest:
        self._scheduler(actor)
        ok = inputs.checked(data)
        now = self.clock.now()
        with self.db.write() as s:
            r = ServiceRequest(
                id=new_id(),
                org_id=actor.org_id,
                client=ok.client,
                requester=ok.requester,
                service=ok.service,
                location=ok.location,
                start_at=ok.start,
                end_at=ok.end,
                timezone=ok.timezone,
                notes=ok.notes,
                status=ok.status,
                kind=RequestKind.REGULAR,
                sequence=0,
                created_by=actor.id,
                created_at=now,
                updated_at=now,
            )
            s.add(r)
            s.flush()
            self.set_people(s, r, ok)
            audit.write(
                s,
                audit.by(actor, "request.created", origin, "request", r.id, {"service": r.service}),
            )
            told = self._tell(s, r, actor)
            s.flush()
            s.expunge(r)
        self.sync.run_now(told)
        return r

    def update(
        self, actor: User, request_id: str, data: RequestInput, origin: Origin
    ) -> ServiceRequest:
        """Replaces the request's fields. A Zoom request whose time changes keeps its host
        when the host is free for the new window, moves to another free host of the pool
        otherwise, or is refused (409, nothing changed) when no host is free."""
        self._scheduler(actor)
        ok = inputs.checked(data)
        current = self._get(actor, request_id)
        if ok.status == RequestStatus.DRAFT and current.kind == RequestKind.ZOOM:
            raise Conflict("status", "a Zoom meeting cannot be a draft: convert it back first")
        moved = (ok.start, ok.end) != (current.start_at, current.end_at)
        zoom = current.kind == RequestKind.ZOOM and ok.status != RequestStatus.CANCELED
        if zoom and moved and ok.start <= self.clock.now():
            raise Conflict("start", "a Zoom meeting cannot be moved into the past")
        for _ in range(3):
            choice = (
                self.hosting.choose(current, ok.start, ok.end, prefer=current.zoom_host_id)
                if zoom and moved
                else None
            )
            with self.db.write() as s:
                # Only a new host choice queues on the organisation's lock.
                st = self._lock_settings(s, actor.org_id) if choice is not None else None
                r = self._row(s, actor, request_id, lock=True)
                if choice is not None and not self.hosting.still_free(s, r, choice):
                    continue  # another conversion took the host meanwhile: choose again
                before = {"start": r.start_at.isoformat(), "end": r.end_at.isoformat()}
                changed_meeting = (r.service, r.client, r.notes) != (
                    ok.service,
                    ok.client,
                    ok.notes,
                ) or moved
                r.client, r.requester, r.service = ok.client, ok.requester, ok.service
                r.location, r.notes, r.timezone = ok.location, ok.notes, ok.timezone
                r.start_at, r.end_at = ok.start, ok.end
                r.updated_at = self.clock.now()
                r.sequence += 1
                self.set_people(s, r, ok)
                queued = event = None
                if ok.status == RequestStatus.CANCELED and r.status != RequestStatus.CANCELED:
                    previous = _previous(r)
                    r.status = ok.status
                    queued = self._leave_zoom(s, r, actor, "the request was canceled")
                    event = self._record(s, RequestEvent.CANCELLED, r, previous=previous)
                else:
                    r.status = ok.status
                    if choice is not None and st is not None:
                        self._hold(r, st, choice)
                        queued = self.sync.add(s, r, actor)
                    elif r.kind == RequestKind.ZOOM and changed_meeting:
                        queued = self.sync.add(s, r, actor)
                told = self._tell(s, r, actor)
                after = {"start": r.start_at.isoformat(), "end": r.end_at.isoformat()}
                audit.write(
                    s,
                    audit.by(
                        actor,
                        "request.updated",
                        origin,
                        "request",
                        r.id,
                        {"from": before, "to": after},
                    ),
                )
                s.flush()
                s.expunge(r)
            self._publish(event)
            self.sync.run_now(queued, told)
            return r
        raise Conflict("host", "the pool's hosts were taken while choosing; try again")

    def set_status(
        self, actor: User, request_id: str, status: str, origin: Origin
    ) -> ServiceRequest:
        self._scheduler(actor)
        if status not in tuple(RequestStatus):
            raise ValidationFailed("status", f"must be one of {', '.join(RequestStatus)}")
        with self.db.write() as s:
            r = self._row(s, actor, request_id, lock=True)
            if status == r.status:
                s.expunge(r)
                return r
            if status == RequestStatus.DRAFT and r.kind == RequestKind.ZOOM:
                raise Conflict("status", "a Zoom meeting cannot be a draft: convert it back first")
            queued = event = None
            previous = _previous(r)
            before, r.status = r.status, status
            r.updated_at = self.clock.now()
            r.sequence += 1
            if status == RequestStatus.CANCELED:
                queued = self._leave_zoom(s, r, actor, "the request was canceled")
                event = self._record(s, RequestEvent.CANCELLED, r, previous=previous)
            told = self._tell(s, r, actor)
            audit.write(
                s,
                audit.by(
                    actor,
                    "request.status",
                    origin,
                    "request",
                    r.id,
                    {"from": before, "to": status},
                ),
            )
            s.flush()
            s.expunge(r)
        self._publish(event)
        self.sync.run_now(queued, told)
        return r

    # ---- Zoom ----------------------------------------------------------------------------------

    def convert_to_zoom(self, actor: User, request_id: str, origin: Origin) -> ServiceRequest:
        """Makes the request a Zoom meeting on a free host of the pool (see the module)."""
        return self.convert(actor, request_id, origin)[0]

    def convert(
        self,
        actor: User,
        request_id: str,
        origin: Origin,
        spent: dict[str, int] | None = None,
        tell: bool = True,
    ) -> tuple[ServiceRequest, Choice | None]:
        """`convert_to_zoom`, with the host chosen (None when it was a Zoom meeting already);
        `spent` as for `HostChooser.choose`; `tell`: e-mail the people (a series' job does
        not: one e-mail per occurrence would bury them; their calendar feed and the
        requests' pages carry every link)."""
        self._scheduler(actor)
        r = self._get(actor, request_id)
        if r.kind == RequestKind.ZOOM:
            return r, None
        if r.status in (RequestStatus.DRAFT, RequestStatus.CANCELED):
            raise Conflict(
                "status",
                f"a {r.status} request cannot be converted to a Zoom meeting; "
                "make it requested or confirmed first",
            )
        if r.status == RequestStatus.COMPLETED or r.start_at <= self.clock.now():
            raise Conflict("start", "the request has started or is over: no meeting is made")
        for _ in range(3):
            choice = self.hosting.choose(r, r.start_at, r.end_at, spent=spent)
            with self.db.write() as s:
                st = self._lock_settings(s, actor.org_id)
                row = self._row(s, actor, request_id, lock=True)
                if row.kind == RequestKind.ZOOM:  # converted meanwhile by someone else
                    s.expunge(row)
                    return row, None
                if not self.hosting.still_free(s, row, choice):
                    continue
                self._hold(row, st, choice)
                row.kind = RequestKind.ZOOM
                row.updated_at = self.clock.now()
                row.sequence += 1
                queued = self.sync.add(s, row, actor)
                told = self._tell(s, row, actor) if tell else None
                event = self._record(s, RequestEvent.CONVERTED, row)
                audit.write(
                    s,
                    audit.by(
                        actor,
                        "request.converted",
                        origin,
                        "request",
                        row.id,
                        {"to": "zoom", "host": choice.host.email},
                    ),
                )
                s.flush()
                s.expunge(row)
            self._publish(event)
            self.sync.run_now(queued, told)
            return row, choice
        raise Conflict("host", "the pool's hosts were taken while choosing; try again")

    def convert_to_regular(self, actor: User, request_id: str, origin: Origin) -> ServiceRequest:
        """Back to a regular request: its Zoom meeting is deleted at Zoom."""
        self._scheduler(actor)
        with self.db.write() as s:
            r = self._row(s, actor, request_id, lock=True)
            if r.kind != RequestKind.ZOOM:
                s.expunge(r)
                return r
            r.updated_at = self.clock.now()
            r.sequence += 1
            previous = _previous(r)
            queued = self._leave_zoom(s, r, actor, "converted back to a regular request")
            told = self._tell(s, r, actor)
            event = self._record(s, RequestEvent.CONVERTED_BACK, r, previous=previous)
            audit.write(
                s,
                audit.by(actor, "request.converted", origin, "request", r.id, {"to": "regular"}),
            )
            s.flush()
            s.expunge(r)
        self._publish(event)
        self.sync.run_now(queued, told)
        return r

    def host_link_opens(self, r: ServiceRequest) -> dt.datetime:
        return r.start_at - dt.timedelta(minutes=self.settings_of(r.org_id).lead_minutes)

    def may_take_host_link(self, actor: User, view: RequestView) -> bool:
        """The organisation's rule: schedulers and admins, the request's providers, its
        client contacts — whichever it chose."""
        roles = set(self.settings_of(actor.org_id).host_link_roles)
        if HostLinkRole.SCHEDULERS in roles and actor.is_scheduler:
            return True
        for p in view.participants:
            mine = p.user_id == actor.id or p.email == actor.email.lower()
            if mine and p.role == ParticipantRole.PROVIDER and HostLinkRole.PROVIDER in roles:
                return True
            if mine and p.role == ParticipantRole.CLIENT and HostLinkRole.CLIENT in roles:
                return True
        return False

    def host_link_open(self, r: ServiceRequest) -> bool:
        now = self.clock.now()
        return self.host_link_opens(r) <= now < r.end_at

    def host_link(self, actor: User, request_id: str, origin: Origin) -> str:
        """The meeting's start link, fetched from Zoom now (never stored, never e-mailed),
        only from lead minutes before the start until the end, only for whom the
        organisation allows; every fetch is in the audit log."""
        view = self.view(actor, request_id)
        r = view.request
        if not self.may_take_host_link(actor, view):
            raise PermissionDenied(
                "the organisation does not let you take this request's host link"
            )
        if r.kind != RequestKind.ZOOM or r.meeting_id is None:
            raise Conflict("host_link", "the request is not a Zoom meeting")
        now, opens = self.clock.now(), self.host_link_opens(r)
        if now < opens:
            raise Conflict("host_link", f"the host link opens at {opens.isoformat()} (UTC)")
        if now >= r.end_at:
            raise Conflict("host_link", "the request is over")
        return self.meetings.host_link_for(actor, r.meeting_id, origin)

    # ---- reads ---------------------------------------------------------------------------------

    def get(self, actor: User, request_id: str) -> ServiceRequest:
        return self._get(actor, request_id)

    def view(self, actor: User, request_id: str) -> RequestView:
        r = self._get(actor, request_id)
        return self.views(actor.org_id, [r])[0]

    def search(self, actor: User, f: Filters = Filters(), limit: int = 500) -> list[RequestView]:
        with self.db.read() as s:
            q = select(ServiceRequest).where(ServiceRequest.org_id == actor.org_id)
            if not actor.is_scheduler:
                q = q.where(ServiceRequest.id.in_(self._mine(actor)))
            if f.status:
                q = q.where(ServiceRequest.status == f.status)
            if f.kind:
                q = q.where(ServiceRequest.kind == f.kind)
            if f.tag:
                q = q.where(
                    ServiceRequest.id.in_(
                        select(RequestTag.request_id).where(RequestTag.tag == f.tag)
                    )
                )
            if f.provider_id:
                q = q.where(
                    ServiceRequest.id.in_(
                        select(RequestParticipant.request_id).where(
                            RequestParticipant.user_id == f.provider_id,
                            RequestParticipant.role == ParticipantRole.PROVIDER,
                        )
                    )
                )
            if f.start is not None:
                q = q.where(ServiceRequest.start_at >= f.start)
            if f.end is not None:
                q = q.where(ServiceRequest.start_at < f.end)
            rows = list(s.scalars(q.order_by(ServiceRequest.start_at).limit(limit)).all())
            s.expunge_all()
        return self.views(actor.org_id, rows)

    def csv(self, views: Sequence[RequestView]) -> str:
        cols = ["id", "start", "end", "timezone", "client", "service", "status", "type"]
        cols += ["host", "tags", "providers", "join_url"]
        buf = io.StringIO()
        w = csv.writer(buf)
        w.writerow(cols)
        for v in views:
            r = v.request
            row = [
                r.id,
                r.start_at.isoformat(),
                r.end_at.isoformat(),
                r.timezone,
                r.client,
                r.service,
                r.status,
                "Zoom meeting" if r.kind == RequestKind.ZOOM else "Regular",
                r.zoom_host_email or "",
                " ".join(v.tags),
                " ".join(p.email for p in v.participants if p.role == ParticipantRole.PROVIDER),
                v.join_url or "",
            ]
            # A cell a spreadsheet would run as a formula is written as text.
            w.writerow([spreadsheet_cell(c) for c in row])
        return buf.getvalue()

    def providers(self, org_id: str) -> list[tuple[str, str]]:
        """(member id, name) of every active member who is a provider on any request."""
        with self.db.read() as s:
            rows = s.execute(
                select(User.id, User.name)
                .where(
                    User.org_id == org_id,
                    User.status == "active",
                    User.id.in_(
                        select(RequestParticipant.user_id).where(
                            RequestParticipant.role == ParticipantRole.PROVIDER
                        )
                    ),
                )
                .order_by(User.name)
            ).all()
        return [(r.id, r.name) for r in rows]

    def tags(self, org_id: str) -> list[str]:
        with self.db.read() as s:
            return list(
                s.scalars(
                    select(RequestTag.tag)
                    .join(ServiceRequest, ServiceRequest.id == RequestTag.request_id)
                    .where(ServiceRequest.org_id == org_id)
                    .distinct()
                    .order_by(RequestTag.tag)
                ).all()
            )

    # ---- the jobs ------------------------------------------------------------------------------

    def run_work(self, work_id: str) -> str:
        return self.sync.run(work_id)

    def reconcile(self) -> int:
        return self.sync.reconcile()

    # ---- inside ----------------------------------------------------------------------------------

    def _scheduler(self, actor: User) -> None:
        if not actor.is_scheduler:
            raise PermissionDenied(NOT_SCHEDULER)

    def _mine(self, actor: User) -> Any:
        return select(RequestParticipant.request_id).where(
            (RequestParticipant.user_id == actor.id)
            | (RequestParticipant.email == actor.email.lower())
        )

    def _get(self, actor: User, request_id: str) -> ServiceRequest:
        with self.db.read() as s:
            r = self._row(s, actor, request_id)
            s.expunge(r)
        return r

    def _row(
        self, s: Session, actor: User, request_id: str, *, lock: bool = False
    ) -> ServiceRequest:
        r = s.get(ServiceRequest, request_id, with_for_update=lock) if request_id else None
        if r is None or r.org_id != actor.org_id:
            raise NotFound("no such request")
        if not actor.is_scheduler:
            mine = s.scalar(self._mine(actor).where(RequestParticipant.request_id == r.id))
            if mine is None:
                raise NotFound("no such request")
        return r

    def _record(self, s: Session, name: RequestEvent, r: ServiceRequest, **more: Any) -> str | None:
        """Writes `name` about `r` (as it is now, its people and tags as written in `s`) in
        `s`'s transaction when anyone listens; its id for `_publish` after the commit."""
        if self.events is None or not self.events.wants(name):
            return None
        s.flush()  # the people and tags this change wrote
        people = list(
            s.scalars(
                select(RequestParticipant)
                .where(RequestParticipant.request_id == r.id)
                .order_by(RequestParticipant.role.desc(), RequestParticipant.email)
            ).all()
        )
        tags = list(
            s.scalars(
                select(RequestTag.tag).where(RequestTag.request_id == r.id).order_by(RequestTag.tag)
            ).all()
        )
        return self.events.record(
            s,
            name,
            org_id=r.org_id,
            subject_type=request_events.SUBJECT,
            subject_id=r.id,
            data=request_data(r, people, tags, **more),
        )

    def _publish(self, event_id: str | None) -> None:
        if self.events is not None and event_id is not None:
            self.events.publish([event_id])

    def _lock_settings(self, s: Session, org_id: str) -> RequestSettings:
        """The organisation's settings row, locked (see the module): host choices queue here."""
        st = s.get(RequestSettings, org_id, with_for_update=True)
        if st is None:
            raise Conflict(
                "host_pool",
                "no host pool: an admin sets it under Settings → Integrations → Zoom",
            )
        return st

    def _hold(self, r: ServiceRequest, st: RequestSettings, choice: Choice) -> None:
        if r.meeting_id is None or r.zoom_host_id != choice.host.id:
            r.meeting_id = new_id()  # a first conversion or another host: a new meeting
        r.zoom_host_id, r.zoom_host_email = choice.host.id, choice.host.email
        r.block_start, r.block_end = choice.block
        r.choice_note = choice.note

    def _tell(self, s: Session, r: ServiceRequest, actor: User) -> str | None:
        """The people's e-mail about the request as it is now (not for drafts); after the
        sync work, so a Zoom request's e-mail carries the link."""
        if r.status == RequestStatus.DRAFT:
            return None
        return self.sync.add(s, r, actor, "notify")

    def _leave_zoom(self, s: Session, r: ServiceRequest, actor: User, why: str) -> str | None:
        """The request lets its host go; the sync work deletes its meeting at Zoom."""
        if r.kind != RequestKind.ZOOM:
            return None
        r.kind = RequestKind.REGULAR
        r.zoom_host_id = r.zoom_host_email = None
        r.block_start = r.block_end = None
        r.meeting_id = None
        r.choice_note = f"Zoom meeting deleted: {why}"
        return self.sync.add(s, r, actor)

    def members_busy(
        self, org_id: str, user_ids: Sequence[str], start: dt.datetime, end: dt.datetime
    ) -> list[tuple[str, dt.datetime, dt.datetime]]:
        """The requests these members take part in, as busy times (for booking's slots)."""
        return reads.members_busy(self.db, org_id, user_ids, start, end)

    def set_people(self, s: Session, r: ServiceRequest, ok: inputs.CheckedRequest) -> None:
        s.execute(delete(RequestTag).where(RequestTag.request_id == r.id))
        s.execute(delete(RequestParticipant).where(RequestParticipant.request_id == r.id))
        for tag in ok.tags:
            s.add(RequestTag(request_id=r.id, tag=tag))
        emails = [p.email for p in ok.participants]
        members = (
            dict(
                s.execute(
                    select(User.email, User.id).where(
                        User.org_id == r.org_id, User.status == "active", User.email.in_(emails)
                    )
                ).all()
            )
            if emails
            else {}
        )
        for p in ok.participants:
            s.add(
                RequestParticipant(
                    id=new_id(),
                    request_id=r.id,
                    role=p.role,
                    user_id=members.get(p.email),
                    email=p.email,
                    name=p.name,
                )
            )

    def views(self, org_id: str, rows: Sequence[ServiceRequest]) -> list[RequestView]:
        """The requests with what their pages show (the caller has checked who may see them)."""
        ids = [r.id for r in rows]
        tags: dict[str, list[str]] = {i: [] for i in ids}
        people: dict[str, list[RequestParticipant]] = {i: [] for i in ids}
        problems: dict[str, list[str]] = {i: [] for i in ids}
        if ids:
            with self.db.read() as s:
                for rid, tag in s.execute(
                    select(RequestTag.request_id, RequestTag.tag)
                    .where(RequestTag.request_id.in_(ids))
                    .order_by(RequestTag.tag)
                ):
                    tags[rid].append(tag)
                for p in s.scalars(
                    select(RequestParticipant).where(RequestParticipant.request_id.in_(ids))
                ):
                    people[p.request_id].append(p)
                for rid, err in s.execute(
                    select(RequestWork.request_id, RequestWork.last_error).where(
                        RequestWork.request_id.in_(ids),
                        RequestWork.status == WorkStatus.FAILED,
                    )
                ):
                    problems[rid].append(err or "a change could not be made at Zoom")
                # Work still retrying long after it was asked for (a meeting Zoom has not made
                # for hours, a Zoom that keeps failing): as visible as work that failed.
                now = self.clock.now()
                for rid, err, since in s.execute(
                    select(
                        RequestWork.request_id, RequestWork.last_error, RequestWork.created_at
                    ).where(
                        RequestWork.request_id.in_(ids),
                        RequestWork.status == WorkStatus.PENDING,
                        RequestWork.kind != "notify",  # e-mails wait for the link on their own
                        RequestWork.last_error.is_not(None),
                        RequestWork.created_at <= now - STUCK_AFTER,
                    )
                ):
                    minutes = int((now - since).total_seconds() // 60)
                    problems[rid].append(f"Still trying after {minutes} minutes: {err}")
                s.expunge_all()
        wanted = {r.meeting_id for r in rows if r.meeting_id}
        meetings = {
            m.id: m
            for m in self.meetings.list_by_source_ids(org_id, SourceKind.REQUEST, ids)
            if m.id in wanted
        }
        out = []
        for r in rows:
            m = meetings.get(r.meeting_id or "")
            errs = problems[r.id]
            if m is not None and m.status == "failed":
                errs = [*errs, f"Zoom: {m.last_error or 'the meeting could not be made'}"]
            out.append(RequestView(r, tags[r.id], people[r.id], m, errs))
        return out


UNKNOWN = "not a user of the organisation's Zoom account"


def _previous(r: ServiceRequest) -> dict[str, Any]:
    """What a converted-back or cancelled request was before (its Zoom side goes with it)."""
    return {
        "status": r.status,
        "kind": r.kind,
        "zoom_host_email": r.zoom_host_email,
        "meeting_id": r.meeting_id,
    }

"""The meetings service's reads (a part of `Meetings`, service.py): upcoming and past
meetings, by source, one meeting and its invitees, whether each one's host can reach the
platform, and the hosts an account connection offers."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Row, func, literal, select, union, union_all

from meetbridge.core.db import Database, all_links, links_sum, utcnow
from meetbridge.core.errors import NotFound
from meetbridge.core.logging import get_logger
from meetbridge.core.models import Meeting, MeetingInvitee, User
from meetbridge.core.platform import PlatformHost
from meetbridge.meetings.detached import HostZoom, host_zoom_of, zoom_of_users
from meetbridge.meetings.hosts import AccountHosts
from meetbridge.meetings.inputs import MAX_DURATION
from meetbridge.meetings.source import Source
from meetbridge.meetings.status import Status

log = get_logger("meetbridge.meetings")


class Reads:
    db: Database
    account_hosts: AccountHosts

    def list_meetings(
        self,
        actor: User,
        *,
        when: str = "upcoming",
        project_id: str | None = None,
        limit: int = 200,
        source: Source | None = None,
    ) -> list[Meeting]:
        """Upcoming (not yet ended) or past meetings, or the cancelled ones (which are in
        neither: a cancelled meeting is not coming, and did not happen); members see their own,
        admins all. `source`: only the meetings that source owns."""
        now = utcnow()
        with self.db.read() as s:
            query = select(Meeting).where(Meeting.org_id == actor.org_id)
            if not actor.is_admin:
                query = query.where(Meeting.host_user_id == actor.id)
            if project_id:
                query = query.where(Meeting.project_id == project_id)
            if source is not None:
                query = query.where(Meeting.source_kind == source.kind)
                if source.id is not None:
                    query = query.where(Meeting.source_id == source.id)
            gone = [st.value for st in Status if st.gone]
            if when == "cancelled":
                query = query.where(Meeting.status.in_(gone)).order_by(Meeting.start_at.desc())
                return list(s.scalars(query.limit(limit)).all())
            query = query.where(Meeting.status.not_in(gone))
            if when == "past":
                query = query.where(Meeting.start_at < now).order_by(Meeting.start_at.desc())
            else:
                query = query.where(Meeting.start_at >= now - dt.timedelta(minutes=MAX_DURATION))
                query = query.order_by(Meeting.start_at)
            rows = s.scalars(query.limit(limit * 2)).all()

        def ended(m: Meeting) -> bool:
            return m.start_at + dt.timedelta(minutes=m.duration_min) < now

        return [m for m in rows if ended(m) == (when == "past")][:limit]

    def list_by_source(self, org_id: str, source: Source) -> list[Meeting]:
        """Every meeting `source` owns in the organisation, by start (for the module that made
        them: its own authorization applies)."""
        with self.db.read() as s:
            query = select(Meeting).where(
                Meeting.org_id == org_id, Meeting.source_kind == source.kind
            )
            if source.id is not None:
                query = query.where(Meeting.source_id == source.id)
            return list(s.scalars(query.order_by(Meeting.start_at)).all())

    def list_by_source_ids(
        self, org_id: str, kind: str, source_ids: Sequence[str]
    ) -> list[Meeting]:
        """The meetings of many sources of one kind at once (a module's list page)."""
        if not source_ids:
            return []
        with self.db.read() as s:
            return list(
                s.scalars(
                    select(Meeting).where(
                        Meeting.org_id == org_id,
                        Meeting.source_kind == kind,
                        Meeting.source_id.in_(list(source_ids)),
                    )
                ).all()
            )

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

    def busy(
        self, org_id: str, user_ids: Sequence[str], start: dt.datetime, end: dt.datetime
    ) -> list[tuple[str, str, dt.datetime, dt.datetime]]:
        """(meeting id, host, start, end) of every meeting the members host that is not
        cancelled and overlaps [start, end): what booking and service requests must not
        schedule over."""
        if not user_ids:
            return []
        gone = [st.value for st in Status if st.gone]
        earliest = start - dt.timedelta(minutes=MAX_DURATION)  # uses the start index
        with self.db.read() as s:
            rows = s.execute(
                select(
                    Meeting.id, Meeting.host_user_id, Meeting.start_at, Meeting.duration_min
                ).where(
                    Meeting.org_id == org_id,
                    Meeting.host_user_id.in_(list(user_ids)),
                    Meeting.status.not_in(gone),
                    Meeting.start_at >= earliest,
                    Meeting.start_at < end,
                )
            ).all()
        out = []
        for mid, host, at, minutes in rows:
            until = at + dt.timedelta(minutes=minutes)
            if until > start:
                out.append((mid, host, at, until))
        return out

    def hosted_by(self, user_id: str, meeting_ids: Sequence[str]) -> set[str]:
        """Which of these meetings `user_id` hosts, whatever their status: a copy of one in
        the host's own calendar is theirs (an invite they accepted), already busy from `busy`."""
        if not meeting_ids:
            return set()
        with self.db.read() as s:
            return set(
                s.scalars(
                    select(Meeting.id).where(
                        Meeting.id.in_(list(meeting_ids)), Meeting.host_user_id == user_id
                    )
                )
            )

    def zoom_of_hosts(self, user_ids: Sequence[str]) -> dict[str, HostZoom]:
        """Whether each member can host a meeting on their own platform connection now."""
        return zoom_of_users(self.db, user_ids)

    def host_zoom(self, meetings: Sequence[Meeting]) -> dict[str, HostZoom]:
        """Whether each meeting's host can reach the platform (by meeting id)."""
        return host_zoom_of(self.db, meetings)

    def hosts(self, actor: User) -> list[PlatformHost]:
        """The licensed users of the account connection `actor` may schedule for
        (meetings/hosts.py)."""
        return self.account_hosts.hosts(actor)

    def host_choices(self, actor: User) -> list[PlatformHost] | None:
        """For the scheduling form: the hosts `actor` may pick, or None when there is no
        account connection they may use (or Zoom does not list them now)."""
        if self.account_hosts.connection(actor) is None:
            return None
        try:
            return self.account_hosts.hosts(actor)
        except Exception as exc:  # the form still works for the member's own Zoom
            log.warning("meetings.hosts_unlisted", error=str(exc))
            return None

    def of_person(
        self, org_id: str, user_id: str, email: str, start: dt.datetime, end: dt.datetime
    ) -> Sequence[Row[Any]]:
        """Every meeting of the organisation that the person hosts or is invited to (by their
        e-mail) and that starts in [start, end), cancelled ones included, by start: what their
        calendar feed shows (requests/feed.py). Another organisation's meeting that invites
        the same address is not theirs to see here. Only the columns a calendar entry needs
        (a feed holds thousands: whole ORM rows cost several times more)."""
        m = Meeting
        columns = (
            *(m.id, m.title, m.agenda, m.start_at, m.duration_min, m.status, m.join_url),
            *(m.zoom_meeting_id, m.sequence, m.updated_at, m.source_kind, m.source_id),
        )
        hosted, invited = _of_person(org_id, user_id, email, start, end)
        # UNION, not UNION ALL: a meeting the person both hosts and is invited to is one entry.
        both = union(select(*columns).where(*hosted), select(*columns).where(*invited)).subquery()
        query = select(both).order_by(both.c.start_at, both.c.id)
        with self.db.connect() as conn:
            return conn.execute(query).all()

    def version_of_person(
        self, org_id: str, user_id: str, email: str, start: dt.datetime, end: dt.datetime
    ) -> list[tuple[Any, ...]]:
        """What changes whenever `of_person` would answer otherwise, counted by the database
        without reading a row out (a calendar feed's ETag): per way (hosted, invited; one both
        is counted in each) and status, how many, their last change, sequences, lengths,
        earliest and latest start, how many are at the platform and have a join link, and a
        checksum of the links. Every change of a meeting stamps `updated_at`, raises
        `sequence` or moves a count."""
        m = Meeting
        facts = (
            *(m.status, func.count(), func.max(m.updated_at), func.sum(m.sequence)),
            *(func.sum(m.duration_min), func.min(m.start_at), func.max(m.start_at)),
            *(func.count(m.zoom_meeting_id), func.count(m.join_url)),
            all_links(self.db, m.join_url),
        )
        hosted, invited = _of_person(org_id, user_id, email, start, end)
        query = union_all(
            select(literal("host"), *facts).where(*hosted).group_by(m.status),
            select(literal("invited"), *facts).where(*invited).group_by(m.status),
        )
        with self.db.connect() as conn:
            return sorted((*row[:-1], links_sum(row[-1])) for row in conn.execute(query))


def _of_person(
    org_id: str, user_id: str, email: str, start: dt.datetime, end: dt.datetime
) -> tuple[tuple[ColumnElement[bool], ...], tuple[ColumnElement[bool], ...]]:
    """The two ways a meeting is a person's (`of_person`): they host it, or they are invited by
    e-mail; each starting in [start, end). Two branches, not one `host OR invited`: each takes
    its own index (the host's, the invitations by address). The organisation as `org_id || ''`
    keeps the database off the organisation's index, which SQLite without ANALYZE statistics
    would take, walking every meeting of the organisation in the window (30 ms instead of 4)."""
    m = Meeting
    ours = (m.org_id.concat("") == org_id, m.start_at >= start, m.start_at < end)
    invited = select(MeetingInvitee.meeting_id).where(MeetingInvitee.email == email.lower())
    return (m.host_user_id == user_id, *ours), (m.id.in_(invited), *ours)

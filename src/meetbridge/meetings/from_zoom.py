"""Changes a person made at the platform (Zoom's meeting.updated / meeting.deleted webhooks,
or a meeting read back by the reconciler), applied to the row and told to the invitees."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, select

from meetbridge.core.db import Database, utcnow
from meetbridge.core.events import EventBus
from meetbridge.core.models import Meeting
from meetbridge.core.platform import PlatformChange

# The host's connection table: the hot path's SQL checks and returns it (the one
# thing meetings takes from the Zoom package).
from meetbridge.integrations.zoom.tables import ZoomConnection
from meetbridge.meetings.events import publish, record
from meetbridge.meetings.invites import queue_invites
from meetbridge.meetings.status import Applied, MeetingEvent, Status, move
from meetbridge.notify.outbox import MailDelivery
from meetbridge.scheduling.timezones import is_zone


def _matching(change: PlatformChange) -> Select[Any] | None:
    """The row a change is about: by the platform's meeting id (none given: none matched,
    never the rows without an id), and, when the change names its platform account, only a
    meeting whose connection is in that account (another organisation's id is not ours)."""
    if change.id is None:
        return None
    query = select(Meeting).where(Meeting.zoom_meeting_id == change.id)
    if change.account is not None:
        query = query.join(ZoomConnection, ZoomConnection.id == Meeting.connection_id).where(
            ZoomConnection.zoom_account_id == change.account
        )
    return query


class FromPlatform:
    def __init__(self, db: Database, mail: MailDelivery, events: EventBus | None = None) -> None:
        self.db = db
        self.mail = mail
        self.events = events

    def deleted(self, change: PlatformChange) -> Applied:
        """A deletion at the platform is final there, whatever its time: the row ends."""
        query = _matching(change)
        if query is None:
            return Applied.IGNORED
        queued: list[str] = []
        with self.db.write() as s:
            m = s.scalar(query)
            if m is None or Status(m.status).gone:
                return Applied.IGNORED
            # The CANCEL outranks the last REQUEST by itself (invites.queue_invites).
            m.status = move(m.status, Status.DELETED_IN_ZOOM)
            m.last_synced_at = m.updated_at = utcnow()
            queued = queue_invites(s, m, "CANCEL")
            event = record(self.events, s, MeetingEvent.CANCELLED, m, {"by": "platform"})
        for mid in queued:
            self.mail.enqueue(mid)
        publish(self.events, event)
        return Applied.DONE

    def changed(self, change: PlatformChange) -> Applied:
        """Applies what changed, unless the row holds a newer change (ours or the platform's):
        Zoom redelivers events and echoes our own PATCH, so an event can be older than the
        row."""
        query = _matching(change)
        if query is None:
            return Applied.IGNORED
        queued: list[str] = []
        event: str | None = None
        with self.db.write() as s:
            m = s.scalar(query)
            if m is None:
                return Applied.IGNORED
            m.last_synced_at = utcnow()
            if m.status != Status.SCHEDULED:
                return Applied.IGNORED  # our own change is on its way to the platform
            if change.at is not None and m.changed_at is not None and change.at <= m.changed_at:
                return Applied.IGNORED  # older than what the row holds
            if self._apply(m, change):
                move(m.status, Status.SCHEDULED)
                m.sequence += 1
                m.updated_at = utcnow()
                m.changed_at = change.at or utcnow()
                queued = queue_invites(s, m, "REQUEST")
                event = record(self.events, s, MeetingEvent.UPDATED, m, {"by": "platform"})
        for mid in queued:
            self.mail.enqueue(mid)
        publish(self.events, event)
        return Applied.DONE

    @staticmethod
    def _apply(m: Meeting, change: PlatformChange) -> bool:
        updates: dict[str, Any] = {}
        if change.title is not None and change.title != m.title:
            updates["title"] = change.title
        if change.duration_min is not None and change.duration_min != m.duration_min:
            updates["duration_min"] = change.duration_min
        tz = change.timezone
        if tz is not None and tz != m.timezone and is_zone(tz):
            updates["timezone"] = tz
        if change.agenda is not None and change.agenda != m.agenda:
            updates["agenda"] = change.agenda
        if change.start_at is not None and change.start_at != m.start_at:
            updates["start_at"] = change.start_at
        for key, value in updates.items():
            setattr(m, key, value)
        return bool(updates)

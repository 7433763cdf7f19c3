"""Meetings whose host has no platform connection (issue 14.3). The meeting records are
meetbridge's: a disconnect, or the platform's removal of the app, ends the connection (and
deletes the tokens and what the platform said about the user) but leaves every meeting with
its platform id and join link, pointing at the ended connection. Such a meeting:

- is marked on its page and in the API (`HostZoom`);
- cannot be edited (there is nobody to send the change to) — a clear 409;
- can be cancelled: it ends "cancelled" at once, the invitees get the CANCEL, and the row
  says what may remain at the platform;
- comes back when the same platform user connects again (`Reattach`): each one is looked up
  through the new connection; one still there and hosted by that user is attached again, one
  gone is ended as deleted at the platform (its invitees are told)."""

from __future__ import annotations

import enum
from collections.abc import Iterable

from sqlalchemy import select, update
from sqlalchemy.orm import Session, aliased

from meetbridge.core.db import Database, utcnow
from meetbridge.core.jobs import JobQueue
from meetbridge.core.logging import get_logger
from meetbridge.core.models import Meeting
from meetbridge.core.platform import (
    HostRef,
    PlatformChange,
    PlatformError,
    Unavailable,
    VideoPlatform,
)

# The host's connection table: which connections are live (the one thing meetings takes
# from the Zoom package).
from meetbridge.integrations.zoom.tables import ZoomConnection
from meetbridge.meetings.from_zoom import FromPlatform
from meetbridge.meetings.status import Status

log = get_logger("meetbridge.meetings")

REATTACH_TASK = "meetings.reattach"
# A lookup that found the platform down is tried again this much later, this many times.
_REATTACH_RETRY_SECONDS = 60.0
_REATTACH_ATTEMPTS = 5


class HostZoom(enum.StrEnum):
    """Whether the platform can be reached for a meeting: through its host's connection."""

    CONNECTED = "connected"
    NEEDS_RECONNECT = "needs_reconnect"  # the platform refused the refresh: reconnect
    NOT_CONNECTED = "not_connected"  # disconnected or removed: nothing reaches the platform


def _state(status: str | None) -> HostZoom:
    if status == "connected":
        return HostZoom.CONNECTED
    if status == "needs_reconnect":
        return HostZoom.NEEDS_RECONNECT
    return HostZoom.NOT_CONNECTED


def host_zoom(s: Session, connection_id: str | None) -> HostZoom:
    if connection_id is None:
        return HostZoom.NOT_CONNECTED
    return _state(s.scalar(select(ZoomConnection.status).where(ZoomConnection.id == connection_id)))


def host_zoom_of(db: Database, meetings: Iterable[Meeting]) -> dict[str, HostZoom]:
    """Each meeting's HostZoom, by meeting id, in one read."""
    rows = list(meetings)
    ids = {m.connection_id for m in rows if m.connection_id}
    statuses: dict[str, str] = {}
    if ids:
        with db.read() as s:
            found = s.execute(
                select(ZoomConnection.id, ZoomConnection.status).where(ZoomConnection.id.in_(ids))
            )
            statuses = {row[0]: row[1] for row in found}
    return {m.id: _state(statuses.get(m.connection_id or "")) for m in rows}


def zoom_of_users(db: Database, user_ids: Iterable[str]) -> dict[str, HostZoom]:
    """Whether each user's own connection can reach the platform now, by user id, in one
    read (a user without one is NOT_CONNECTED)."""
    ids = list(dict.fromkeys(user_ids))
    statuses: dict[str, str] = {}
    if ids:
        with db.read() as s:
            found = s.execute(
                select(ZoomConnection.user_id, ZoomConnection.status).where(
                    ZoomConnection.kind == "user",
                    ZoomConnection.user_id.in_(ids),
                    ZoomConnection.status != "ended",
                )
            )
            statuses = {str(row[0]): row[1] for row in found}
    return {uid: _state(statuses.get(uid)) for uid in ids}


def remains_note(m: Meeting) -> str | None:
    """What a cancel made without the platform leaves there, for a person to finish."""
    if m.zoom_meeting_id is None and not m.ambiguous:
        return None
    which = f" (meeting ID {m.zoom_meeting_id})" if m.zoom_meeting_id else ""
    return (
        "Cancelled here and the invitees were told, but Zoom is not connected for the host: "
        f"the meeting may still exist in Zoom{which}; delete it there."
    )


NOT_CONNECTED_EDIT = (
    "Zoom is not connected for this meeting's host, so the change cannot reach Zoom. "
    "Reconnect Zoom (Settings → Integrations → Zoom), then edit again; or cancel the meeting."
)


RECONNECTED = "Zoom is connected again: retry to send this meeting's change to Zoom."


class Reattach:
    """A reconnect's job: the host's detached meetings, looked up through the new
    connection."""

    def __init__(
        self, db: Database, platform: VideoPlatform, jobs: JobQueue, fp: FromPlatform
    ) -> None:
        self.db = db
        self.platform = platform
        self.jobs = jobs
        self.from_platform = fp

    def run(self, connection_id: str, attempt: int = 1) -> dict[str, int]:
        old = aliased(ZoomConnection)
        with self.db.read() as s:
            conn = s.get(ZoomConnection, connection_id)
            if conn is None or conn.status != "connected" or conn.zoom_identity is None:
                return {}
            me = conn.zoom_user_id
            # A member's meetings come back to that member; the account's to the organisation.
            whose = (
                Meeting.host_user_id == conn.user_id
                if conn.user_id is not None
                else Meeting.org_id == conn.org_id
            )
            rows = s.execute(
                select(Meeting.id, Meeting.zoom_meeting_id, Meeting.status, Meeting.zoom_host_id)
                .outerjoin(old, old.id == Meeting.connection_id)
                .where(
                    whose,
                    Meeting.zoom_meeting_id.is_not(None),
                    Meeting.status.in_((Status.SCHEDULED, Status.FAILED)),
                    old.status == "ended",
                    # The same Zoom user (the ended connection kept only this digest of it).
                    old.zoom_identity == conn.zoom_identity,
                )
            ).all()
        counts = {"attached": 0, "gone": 0, "elsewhere": 0}
        platform = self.platform
        retry = False
        for mid, zoom_id, status, zoom_host in rows:
            assert zoom_id is not None
            try:
                pm = platform.get(HostRef(connection_id, user=zoom_host), zoom_id)
            except Unavailable:
                retry = True
                continue
            except PlatformError as exc:  # not ours to see (moved to another user?)
                log.info("meetings.reattach_refused", meeting_id=mid, error=exc.message)
                counts["elsewhere"] += 1
                continue
            if pm is not None and pm.host_id is not None and pm.host_id != (zoom_host or me):
                counts["elsewhere"] += 1
                continue
            with self.db.write() as s:
                s.execute(
                    update(Meeting)
                    .where(Meeting.id == mid, Meeting.zoom_meeting_id == zoom_id)
                    .values(
                        connection_id=connection_id,
                        # A failed change stays failed (retry sends it); its error is old.
                        last_error=None if status == Status.SCHEDULED else RECONNECTED,
                        updated_at=utcnow(),
                        **({"join_url": pm.join_url} if pm is not None and pm.join_url else {}),
                    )
                )
            if pm is None:  # deleted at Zoom while we could not see it
                self.from_platform.deleted(PlatformChange(id=zoom_id))
                counts["gone"] += 1
            else:
                counts["attached"] += 1
        if retry and attempt < _REATTACH_ATTEMPTS:
            self.jobs.enqueue_in(_REATTACH_RETRY_SECONDS, REATTACH_TASK, connection_id, attempt + 1)
        log.info("meetings.reattached", connection_id=connection_id, **counts)
        return counts

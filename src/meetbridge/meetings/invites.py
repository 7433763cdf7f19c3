"""Calendar invites for a meeting's invitees: one e-mail each with an iCalendar REQUEST (new
or changed; SEQUENCE is the meeting's) or CANCEL, queued in the caller's transaction."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import Literal

from sqlalchemy.orm import Session

from meetbridge.core.db import utcnow
from meetbridge.core.models import Meeting, User
from meetbridge.meetings.statements import INVITEES
from meetbridge.notify.ics import InviteEvent, build_invite, meeting_uid
from meetbridge.notify.outbox import queue_email

Method = Literal["REQUEST", "CANCEL"]


def queue_invites(
    s: Session, m: Meeting, method: Method, only: list[str] | None = None
) -> list[str]:
    """Queues the invites of `m` as it is now (`only`: these addresses); returns the ids of
    the e-mails to send once the transaction has committed. Nothing before the meeting has
    its join link."""
    rows = s.scalars(INVITEES, {"mid": m.id}).all()
    if only is not None:
        rows = [r for r in rows if r.email in only]
    if not rows or not m.join_url:
        return []
    host = s.get(User, m.host_user_id)
    tz = zoneinfo.ZoneInfo(m.timezone)
    local = m.start_at.astimezone(tz)
    # A CANCEL must outrank the last REQUEST (RFC 5546 §2.1.4): with an equal SEQUENCE some
    # calendar clients ignore it and keep the event.
    sequence = m.sequence + 1 if method == "CANCEL" else m.sequence
    invite = build_invite(
        InviteEvent(
            uid=meeting_uid(m.id),
            sequence=sequence,
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
                "sequence": sequence,
                "cancelled": method == "CANCEL",
            },
        )
        if msg:
            ids.append(msg.id)
    return ids

"""Limits on invitations, so one account cannot turn meetbridge into a mailer: at most
`invitees_per_meeting` people per meeting (however many calls add them) and at most
`invitations_per_day` people invited by one organisation in 24 hours (settings). Each refusal
says which limit and, for the daily one, when more may be sent.

The daily count is read before the write: two requests at the same moment may pass it
together, so the limit can be overshot by one request's invitees, never more."""

from __future__ import annotations

import datetime as dt
import math

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from meetbridge.core.errors import Throttled, ValidationFailed
from meetbridge.core.models import Meeting, MeetingInvitee
from meetbridge.core.settings import Settings

DAY = dt.timedelta(hours=24)


def check(
    s: Session,
    settings: Settings,
    org_id: str,
    *,
    field: str,
    have: int,
    adding: int,
    now: dt.datetime,
) -> None:
    """Refuses `adding` more people on a meeting that has `have`, if a limit is passed."""
    if adding <= 0:
        return
    most = settings.invitees_per_meeting
    if have + adding > most:
        left = max(0, most - have)
        raise ValidationFailed(
            field,
            f"a meeting can have at most {most} people invited"
            + (f"; this one has {have}, so {left} more at most" if have else ""),
        )
    since = now - DAY
    recent = (
        select(MeetingInvitee.created_at)
        .join(Meeting)
        .where(Meeting.org_id == org_id, MeetingInvitee.created_at >= since)
    )
    sent = s.scalar(select(func.count()).select_from(recent.subquery())) or 0
    per_day = settings.invitations_per_day
    if sent + adding > per_day:
        oldest = s.scalar(
            select(func.min(MeetingInvitee.created_at))
            .join(Meeting)
            .where(Meeting.org_id == org_id, MeetingInvitee.created_at >= since)
        )
        wait = (oldest + DAY - now).total_seconds() if oldest else DAY.total_seconds()
        hours = max(1, math.ceil(wait / 3600))
        raise Throttled(
            f"{field}: your organisation has invited {sent} people in the last 24 hours and may "
            f"invite {per_day} a day; {max(0, per_day - sent)} more now, more in about {hours} "
            f"hour{'s' if hours != 1 else ''}",
            retry_after=max(1, int(wait)),
        )

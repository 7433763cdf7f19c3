"""Whether a booking needs a person to look at it, and why, in plain words — read from the
state already recorded (the booking, its meeting, its durable work, its e-mails), apart from
one thing nothing else records: its meeting moved into a time its member is not free
(`Booking.attention`, kept when it happened). Shown on the Bookings list (with a filter) and
in the bookings API (`attention: {reason, since}` or null)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from meetbridge.booking.tables import Booking, BookingStatus, LinkState, NoticeStatus

# A meeting Zoom has not made for this long (an outage, the daily limit) is brought to a
# person; before that it is an ordinary wait, retried on its own (notices.BUSY_RETRY).
STALE = dt.timedelta(minutes=15)

LABELS = {
    "jitsi": "Jitsi Meet",
    "link": "the member's online meeting link",
    "phone": "phone",
    "in_person": "in person",
}


@dataclass(frozen=True)
class Attention:
    reason: str
    since: dt.datetime

    def out(self) -> dict[str, str]:
        return {"reason": self.reason, "since": self.since.isoformat()}


@dataclass(frozen=True)
class Work:
    """A booking's notice as this module reads it (booking_notices)."""

    kind: str
    status: str
    attempts: int
    created_at: dt.datetime
    next_attempt_at: dt.datetime
    last_error: str | None


@dataclass(frozen=True)
class Undelivered:
    """An e-mail about the booking's current version that failed for good (the outbox)."""

    to: str
    error: str
    at: dt.datetime


def attention(
    bk: Booking,
    meeting: Any,
    work: Sequence[Work],
    undelivered: Sequence[Undelivered],
    now: dt.datetime,
) -> Attention | None:
    """The most pressing reason `bk` needs attention that a person has not marked seen, or
    None. `meeting`: its meeting row (or None), `work` its notices, `undelivered` its failed
    e-mails of its current version."""
    seen = bk.attention_seen_at
    for found in _reasons(bk, meeting, work, undelivered, now):
        if seen is None or found.since > seen:
            return found
    return None


def _reasons(
    bk: Booking,
    meeting: Any,
    work: Sequence[Work],
    undelivered: Sequence[Undelivered],
    now: dt.datetime,
) -> Iterator[Attention]:
    """Every reason `bk` needs attention now, the most pressing first."""
    failed = [w for w in work if w.status == NoticeStatus.FAILED]
    if bk.status != BookingStatus.CONFIRMED:
        for w in failed:
            if w.kind == "sync" and meeting is not None and meeting.zoom_meeting_id:
                yield Attention(
                    "its Zoom meeting could not be cancelled; delete it in Zoom", w.next_attempt_at
                )
        return
    for w in failed:
        if w.kind == "confirm":
            detail = f" ({w.last_error})" if w.last_error else ""
            yield Attention(
                f"the confirmation could not be sent after {w.attempts} "
                f"attempt{'' if w.attempts == 1 else 's'}{detail}",
                w.next_attempt_at,
            )
    booker = [u for u in undelivered if u.to == bk.booker_email] or list(undelivered)
    if booker:
        u = booker[0]
        yield Attention(f"the e-mail with its link to {u.to} could not be sent ({u.error})", u.at)
    why = _refusal(work)
    if bk.location == "none" or bk.link_state == LinkState.NONE:
        yield Attention(
            f"no meeting link: {why or 'Zoom could not make the meeting'}, "
            "and the type has no fallback",
            bk.updated_at,
        )
    if bk.attention:
        yield Attention(bk.attention, bk.attention_at or bk.updated_at)
    if bk.location not in ("zoom", "none"):
        label = LABELS.get(bk.location, bk.location)
        yield Attention(
            f"it meets by {label} instead of Zoom: {why or 'nobody free had a working Zoom'}",
            bk.updated_at,
        )
    waiting = _waiting_since(meeting, work)
    if waiting is not None and now - waiting >= STALE:
        told = (
            "the booker was told the link follows"
            if bk.link_state == LinkState.FOLLOWS
            else "the booker has not had the link yet"
        )
        yield Attention(
            f"Zoom has not made its meeting for {_span(now - waiting)} "
            f"(an outage or Zoom's daily limit); {told}",
            waiting,
        )


def _refusal(work: Sequence[Work]) -> str | None:
    """Why its meeting was refused, as the last "sync" that gave up on it kept it."""
    done = [w for w in work if w.kind == "sync" and w.last_error]
    if not done:
        return None
    last = max(done, key=lambda w: w.created_at)
    if last.status == NoticeStatus.FAILED:  # out of attempts (notices._sync_failed's words)
        return f"meetbridge could not make its Zoom meeting match the booking ({last.last_error})"
    return last.last_error


def _waiting_since(meeting: Any, work: Sequence[Work]) -> dt.datetime | None:
    """Since when the booking has waited for Zoom to make its meeting (None: it is not)."""
    if meeting is not None:
        return meeting.created_at if meeting.status == "creating" else None
    pending = [w.created_at for w in work if w.kind == "sync" and w.status == NoticeStatus.PENDING]
    return min(pending) if pending else None


def _span(d: dt.timedelta) -> str:
    minutes = int(d.total_seconds() // 60)
    if minutes < 120:
        return f"{minutes} minutes"
    hours = minutes // 60
    return f"{hours} hours" if hours < 48 else f"{hours // 24} days"

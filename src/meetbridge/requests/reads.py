"""Reads of service requests that other modules use (reports, the calendar feed): plain
queries, no writes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import ColumnElement, Row, func, or_, select

from meetbridge.core.db import Database, all_links, links_sum
from meetbridge.core.models import Meeting
from meetbridge.meetings.source import SourceKind
from meetbridge.requests.tables import (
    RequestKind,
    RequestParticipant,
    RequestSettings,
    RequestStatus,
    ServiceRequest,
)

# The longest window a request can hold on a host: a day's meeting, 120 minutes before and
# 1,440 after (requests/inputs.py). A lower bound on `block_start` lets the index answer.
LONGEST_BLOCK = dt.timedelta(minutes=24 * 60 + 120 + 1440)


@dataclass(frozen=True)
class Block:
    """A Zoom request's window on its pool host: [start, end) = [start - lead, end + padding)."""

    request_id: str
    host_email: str
    start: dt.datetime
    end: dt.datetime


def zoom_blocks(db: Database, org_id: str, start: dt.datetime, end: dt.datetime) -> list[Block]:
    """Every Zoom request's held window that overlaps [start, end), by start."""
    with db.read() as s:
        rows = s.execute(
            select(
                ServiceRequest.id,
                ServiceRequest.zoom_host_email,
                ServiceRequest.block_start,
                ServiceRequest.block_end,
            )
            .where(
                ServiceRequest.org_id == org_id,
                ServiceRequest.block_start.is_not(None),
                ServiceRequest.block_start >= start - LONGEST_BLOCK,
                ServiceRequest.block_start < end,
                ServiceRequest.block_end > start,
            )
            .order_by(ServiceRequest.block_start)
        ).all()
    return [Block(r.id, r.zoom_host_email or "", r.block_start, r.block_end) for r in rows]


def pool_size(db: Database, org_id: str) -> int:
    """How many hosts the organisation's pool holds (the capacity: one meeting per host at a
    time)."""
    with db.read() as s:
        pool = s.scalar(select(RequestSettings.host_pool).where(RequestSettings.org_id == org_id))
    return len(pool or [])


def _of_person(org_id: str, user_id: str, email: str) -> tuple[ColumnElement[bool], ...]:
    """The requests (drafts left out) in which the person takes part: as a provider or a
    client contact (by their member id or their e-mail), or as whoever created it."""
    mine = select(RequestParticipant.request_id).where(
        or_(RequestParticipant.user_id == user_id, RequestParticipant.email == email.lower())
    )
    return (
        ServiceRequest.org_id == org_id,
        ServiceRequest.status != RequestStatus.DRAFT,
        or_(ServiceRequest.id.in_(mine), ServiceRequest.created_by == user_id),
    )


def members_busy(
    db: Database, org_id: str, user_ids: Sequence[str], start: dt.datetime, end: dt.datetime
) -> list[tuple[str, dt.datetime, dt.datetime]]:
    """(member id, start, end) of the requests overlapping [start, end) in which these members
    take part (a provider, or a client contact who is a member), drafts and cancelled ones
    left out: the time booking must not offer them (core/busy.py)."""
    r, p = ServiceRequest, RequestParticipant
    query = (
        select(p.user_id, r.start_at, r.end_at)
        .join(r, r.id == p.request_id)
        .where(
            p.user_id.in_(list(user_ids)),
            r.org_id == org_id,
            r.status.not_in([RequestStatus.DRAFT, RequestStatus.CANCELED]),
            r.start_at < end,
            r.end_at > start,
        )
    )
    with db.connect() as conn:
        return [(u, a, z) for u, a, z in conn.execute(query) if u is not None]


def _held(org_id: str) -> ColumnElement[bool]:
    """The meeting a request holds: its `meeting_id`, made by the request (as the engine's
    `list_by_source_ids` finds it)."""
    r, m = ServiceRequest, Meeting
    return (
        (m.id == r.meeting_id)
        & (m.source_id == r.id)
        & (m.org_id == org_id)
        & (m.source_kind == SourceKind.REQUEST.value)
    )


def of_person(
    db: Database, org_id: str, user_id: str, email: str, start: dt.datetime, end: dt.datetime
) -> Sequence[Row[Any]]:
    """Every request in which the person takes part (`_of_person`) that overlaps
    [start, end), by start: the columns its calendar entry is written from, and of the
    meeting it holds (if any) `held_id`, `held_status` and `held_join_url`. Rows, not
    objects: a feed holds thousands and its ORM objects cost several times more."""
    r, m = ServiceRequest, Meeting
    query = (
        select(
            *(r.id, r.kind, r.status, r.sequence, r.updated_at, r.start_at, r.end_at),
            *(r.service, r.client, r.requester, r.location, r.notes),
            m.id.label("held_id"),
            m.status.label("held_status"),
            m.join_url.label("held_join_url"),
        )
        .select_from(r)
        .outerjoin(m, _held(org_id))
        .where(*_of_person(org_id, user_id, email), r.start_at < end, r.end_at > start)
        .order_by(r.start_at, r.id)
    )
    with db.connect() as conn:
        return cast(Sequence[Row[Any]], conn.execute(query).all())


def version_of_person(
    db: Database, org_id: str, user_id: str, email: str, start: dt.datetime, end: dt.datetime
) -> list[tuple[Any, ...]]:
    """What changes whenever `of_person(…, start, end)` or the meetings those requests hold
    change, counted by the database without reading a row out: per status and kind of the
    request and status of its meeting, how many requests, their last change (every write of
    a request stamps `updated_at`), the sum of their sequences, how many hold a meeting, the
    latest start and earliest end (a request leaving or entering the window at its edges
    moves one of them, even when another goes the other way); of their meetings, how many,
    the last change, sequences, how many have a join link; and a checksum of the links."""
    r, m = ServiceRequest, Meeting
    where = (*_of_person(org_id, user_id, email), r.start_at < end, r.end_at > start)
    held = _held(org_id)
    # One pass over the requests, each with the meeting it holds (at most one: by its id).
    query = (
        select(
            *(r.status, r.kind, m.status, func.count(), func.max(r.updated_at)),
            *(func.sum(r.sequence), func.count(r.meeting_id), func.max(r.start_at)),
            *(func.min(r.end_at), func.count(m.id), func.max(m.updated_at)),
            *(func.sum(m.sequence), func.count(m.join_url), all_links(db, m.join_url)),
        )
        .select_from(r)
        .outerjoin(m, held)
        .where(*where)
        .group_by(r.status, r.kind, m.status)
        .order_by(r.status, r.kind, m.status)
    )
    with db.connect() as conn:
        return [(*row[:-1], links_sum(row[-1])) for row in conn.execute(query)]


def is_zoom(r: ServiceRequest) -> bool:
    return r.kind == RequestKind.ZOOM

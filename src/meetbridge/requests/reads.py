"""Reads of service requests that other modules use (reports, the calendar feed): plain
queries, no writes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import or_, select

from meetbridge.core.db import Database
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


def of_person(db: Database, org_id: str, user_id: str, email: str) -> Sequence[ServiceRequest]:
    """Every request (drafts left out) in which the person takes part: as a provider or a
    client contact (by their member id or their e-mail), or as whoever created it."""
    with db.read() as s:
        mine = select(RequestParticipant.request_id).where(
            or_(RequestParticipant.user_id == user_id, RequestParticipant.email == email.lower())
        )
        return s.scalars(
            select(ServiceRequest)
            .where(
                ServiceRequest.org_id == org_id,
                ServiceRequest.status != RequestStatus.DRAFT,
                or_(ServiceRequest.id.in_(mine), ServiceRequest.created_by == user_id),
            )
            .order_by(ServiceRequest.start_at)
        ).all()


def is_zoom(r: ServiceRequest) -> bool:
    return r.kind == RequestKind.ZOOM

"""Rows the requests service would write, inserted directly: a Zoom request holding its host
over [block_start, block_end), and the organisation's host pool."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import update

from meetbridge.container import Container
from meetbridge.core.models import Organization
from meetbridge.requests.tables import RequestKind, RequestSettings, RequestStatus, ServiceRequest

LEAD = dt.timedelta(minutes=15)
PADDING = dt.timedelta(minutes=15)


def zoom_request(
    c: Container,
    org_id: str,
    start: dt.datetime,
    end: dt.datetime,
    host: str = "host-a@zoom.test",
) -> str:
    """A confirmed Zoom request from `start` to `end`; it holds its host from 15 minutes
    before to 15 minutes after."""
    with c.db.write() as s:
        r = ServiceRequest(
            org_id=org_id,
            client="Client",
            service="Interpreting",
            start_at=start,
            end_at=end,
            timezone="UTC",
            status=RequestStatus.CONFIRMED,
            kind=RequestKind.ZOOM,
            zoom_host_id=host,
            zoom_host_email=host,
            block_start=start - LEAD,
            block_end=end + PADDING,
        )
        s.add(r)
        s.flush()
        return r.id


def regular_request(c: Container, org_id: str, start: dt.datetime, end: dt.datetime) -> None:
    with c.db.write() as s:
        s.add(
            ServiceRequest(
                org_id=org_id,
                client="Client",
                service="In person",
                start_at=start,
                end_at=end,
                timezone="UTC",
            )
        )


def set_pool(c: Container, org_id: str, hosts: list[str]) -> None:
    with c.db.write() as s:
        s.merge(RequestSettings(org_id=org_id, host_pool=hosts))


def set_org_zone(c: Container, org_id: str, tz: str) -> None:
    with c.db.write() as s:
        s.execute(update(Organization).where(Organization.id == org_id).values(timezone=tz))

"""Reports under /api/v1/reports: Zoom Demand (`GET /reports/zoom-demand?from=&to=&bucket=`),
the figures of the page as JSON. For schedulers and admins (403 otherwise); dates are days of
the organisation's zone, both included; a bad date, `to` before `from` or a period over 366
days is a 422 naming the field."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from meetbridge.api.deps import ERRORS, Actor, C
from meetbridge.reports import zoom_demand as zd

router = APIRouter(prefix="/api/v1/reports", responses=ERRORS, tags=["reports"])


class StretchOut(BaseModel):
    start: str = Field(description="UTC, ISO 8601")
    end: str
    concurrent: int


class BucketOut(BaseModel):
    start: str
    end: str
    peak: int = Field(description="The highest concurrency at any moment of the bucket")
    minutes_above_pool: int


class ZoomDemandOut(BaseModel):
    model_config = {"populate_by_name": True}

    from_: str = Field(alias="from")
    to: str
    timezone: str
    bucket: Literal["hour", "day"]
    start: str
    end: str
    pool_size: int
    meetings: int = Field(description="Zoom meetings whose held window overlaps the period")
    peak: int
    hosts_needed: int = Field(description="The smallest pool that never runs out")
    shortfall: int = Field(description="Hosts to add to the pool (0 when it is enough)")
    summary: str
    peaks: list[StretchOut] = Field(description="Every stretch at the peak (first 1,000)")
    peaks_total: int
    above_pool: list[StretchOut] = Field(description="Every stretch above the pool (first 1,000)")
    above_pool_total: int
    buckets: list[BucketOut]


# A plain `def`: a year of 100,000 windows is a read and a sort of some tens of milliseconds,
# which would hold up every other request on the event loop.
@router.get(
    "/zoom-demand",
    response_model=ZoomDemandOut,
    response_model_by_alias=True,
    summary="Concurrent Zoom meetings against the host pool",
)
def zoom_demand(
    c: C,
    actor: Actor,
    from_: Annotated[str | None, Query(alias="from", max_length=10)] = None,
    to: Annotated[str | None, Query(max_length=10)] = None,
    bucket: Annotated[str | None, Query(max_length=5, description="hour, day or auto")] = None,
) -> dict[str, object]:
    return zd.as_json(zd.report(c.db, actor, from_, to, bucket, c.clock.now()))

"""Service requests under /api/v1: the organisation's Zoom settings for requests (admins),
the requests (list with filters, CSV, create, change, status), converting them to and from
Zoom meetings on the host pool, and the host link."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel, Field

from meetbridge.api.deps import ERRORS, Actor, C, From, TimeFrom, TimeTo
from meetbridge.api.schemas import Input
from meetbridge.core.errors import ValidationFailed
from meetbridge.requests import inputs as ri
from meetbridge.requests.service import Filters, RequestView

router = APIRouter(prefix="/api/v1", responses=ERRORS, tags=["service requests"])

StatusName = Literal["draft", "requested", "confirmed", "completed", "canceled"]
RoleName = Literal["schedulers", "provider", "client"]


class SettingsIn(Input):
    lead_minutes: int = Field(strict=True, description="Host link opens this early (0-120)")
    padding_minutes: int = Field(strict=True, description="Blocked after the end (0-1440)")
    host_pool: list[str] = Field(
        default_factory=list, max_length=ri.POOL_MAX, description="Zoom user e-mails"
    )
    host_link_roles: list[RoleName] = Field(default=["schedulers"])


class PoolCheckOut(BaseModel):
    email: str
    problem: str | None


class SettingsOut(BaseModel):
    lead_minutes: int
    padding_minutes: int
    host_pool: list[str]
    host_link_roles: list[str]
    warnings: list[PoolCheckOut]


class ParticipantIn(Input):
    role: Literal["provider", "client"]
    email: str = Field(max_length=254)
    name: str = Field("", max_length=ri.TEXT_MAX)


class RequestIn(Input):
    client: str = Field(max_length=ri.TEXT_MAX)
    service: str = Field(max_length=ri.TEXT_MAX)
    start: dt.datetime = Field(description="Wall-clock time in `timezone` (or with an offset)")
    end: dt.datetime
    timezone: str = Field(max_length=64)
    requester: str = Field("", max_length=ri.TEXT_MAX)
    location: str = Field("", max_length=ri.LOCATION_MAX)
    notes: str = Field("", max_length=ri.NOTES_MAX)
    status: StatusName = "requested"
    tags: list[str] = Field(default_factory=list, max_length=ri.TAGS_MAX)
    participants: list[ParticipantIn] = Field(default_factory=list, max_length=ri.PARTICIPANTS_MAX)

    def to_input(self) -> ri.RequestInput:
        data = self.model_dump(exclude={"repeat"})
        data["participants"] = [ri.Participant(**p) for p in data["participants"]]
        return ri.RequestInput(**data)


class RepeatIn(Input):
    """How the series repeats (its first occurrence is the request's start and end)."""

    frequency: Literal["daily", "weekly", "monthly"]
    interval: int = Field(1, strict=True, description="Every N days, weeks or months (1-99)")
    weekdays: list[int] = Field(
        default_factory=list, max_length=7, description="Weekly: 0 Monday … 6 Sunday"
    )
    monthly_by: Literal["day", "weekday"] = "day"
    until: dt.date | None = Field(None, description="The last day (inclusive)")
    count: int | None = Field(None, strict=True, description="Or: this many times")
    exceptions: list[dt.date] = Field(default_factory=list, max_length=1000)


class SeriesIn(RequestIn):
    repeat: RepeatIn


class SeriesJobOut(BaseModel):
    id: str
    series_id: str
    status: str = Field(description="pending (running or waiting), done, failed")
    total: int
    done: int
    placed: int
    not_placed: list[dict[str, str]] = Field(description="Occurrences not made, with why")
    last_error: str | None


class SeriesOut(BaseModel):
    id: str
    occurrences: list[RequestOut]
    job: SeriesJobOut | None = None


class CloneZoomIn(Input):
    clone_zoom_settings: bool = Field(
        description="Yes: every occurrence to come becomes a Zoom meeting of its own"
    )


class StatusIn(Input):
    status: StatusName


class ParticipantOut(BaseModel):
    role: str
    email: str
    name: str
    user_id: str | None


class RequestOut(BaseModel):
    id: str
    client: str
    requester: str
    service: str
    location: str
    start: dt.datetime
    end: dt.datetime
    timezone: str
    notes: str
    status: str
    type: str = Field(description="regular, or zoom: a Zoom meeting on a host of the pool")
    tags: list[str]
    participants: list[ParticipantOut]
    zoom_host: str | None
    held_from: dt.datetime | None = Field(description="The host is held from (start - lead)")
    held_until: dt.datetime | None = Field(description="… until (end + padding)")
    host_choice: str
    meeting_id: str | None
    meeting_status: str | None
    join_url: str | None
    problems: list[str]


class HostLinkOut(BaseModel):
    host_url: str = Field(description="Starts the meeting as its host: a credential, not kept")


def _out(v: RequestView) -> dict[str, Any]:
    r = v.request
    return {
        "id": r.id,
        "client": r.client,
        "requester": r.requester,
        "service": r.service,
        "location": r.location,
        "start": r.start_at,
        "end": r.end_at,
        "timezone": r.timezone,
        "notes": r.notes,
        "status": r.status,
        "type": r.kind,
        "tags": v.tags,
        "participants": [
            {"role": p.role, "email": p.email, "name": p.name, "user_id": p.user_id}
            for p in v.participants
        ],
        "zoom_host": r.zoom_host_email,
        "held_from": r.block_start,
        "held_until": r.block_end,
        "host_choice": r.choice_note,
        "meeting_id": r.meeting_id,
        "meeting_status": v.meeting.status if v.meeting is not None else None,
        "join_url": v.join_url,
        "problems": v.problems,
    }


def _settings_out(c: Any, org_id: str, checks: list[Any] | None = None) -> dict[str, Any]:
    st = c.requests.settings_of(org_id)
    warnings = (
        [{"email": ch.email, "problem": ch.problem} for ch in checks if ch.problem]
        if checks is not None
        else st.pool_warnings
    )
    return {
        "lead_minutes": st.lead_minutes,
        "padding_minutes": st.padding_minutes,
        "host_pool": st.host_pool,
        "host_link_roles": st.host_link_roles,
        "warnings": warnings,
    }


@router.get("/requests/settings", response_model=SettingsOut)
def get_request_settings(c: C, actor: Actor) -> dict[str, Any]:
    return _settings_out(c, actor.org_id)


@router.put("/requests/settings", response_model=SettingsOut)
def save_request_settings(body: SettingsIn, c: C, actor: Actor, origin: From) -> dict[str, Any]:
    data = ri.SettingsInput(
        body.lead_minutes,
        body.padding_minutes,
        "\n".join(body.host_pool),
        [str(r) for r in body.host_link_roles],
    )
    _row, checks = c.requests.save_settings(actor, data, origin)
    return _settings_out(c, actor.org_id, checks)


Text = Annotated[str | None, Query(max_length=64)]
StatusFilter = Annotated[StatusName | None, Query()]
TypeFilter = Annotated[Literal["regular", "zoom"] | None, Query(alias="type")]


def _found(
    c: C,
    actor: Actor,
    status: StatusFilter = None,
    tag: Text = None,
    kind: TypeFilter = None,
    start: TimeFrom = None,
    end: TimeTo = None,
    provider_id: Annotated[str | None, Query(max_length=36)] = None,
) -> list[RequestView]:
    """The requests the list and its CSV show, by the same filters."""
    f = Filters(status=status, tag=tag, kind=kind, start=start, end=end, provider_id=provider_id)
    return c.requests.search(actor, f)


Found = Annotated[list[RequestView], Depends(_found)]


@router.get("/requests", response_model=list[RequestOut])
def list_requests(rows: Found) -> list[dict[str, Any]]:
    return [_out(v) for v in rows]


@router.get("/requests.csv", response_class=Response)
def export_requests(c: C, rows: Found) -> Response:
    return Response(
        c.requests.csv(rows),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="service-requests.csv"'},
    )


@router.post("/requests", response_model=RequestOut, status_code=201)
def create_request(body: RequestIn, c: C, actor: Actor, origin: From) -> dict[str, Any]:
    r = c.requests.create(actor, body.to_input(), origin)
    return _out(c.requests.view(actor, r.id))


@router.get("/requests/{request_id}", response_model=RequestOut)
def get_request(request_id: str, c: C, actor: Actor) -> dict[str, Any]:
    return _out(c.requests.view(actor, request_id))


@router.put("/requests/{request_id}", response_model=RequestOut)
def update_request(
    request_id: str, body: RequestIn, c: C, actor: Actor, origin: From
) -> dict[str, Any]:
    c.requests.update(actor, request_id, body.to_input(), origin)
    return _out(c.requests.view(actor, request_id))


@router.post("/requests/{request_id}/status", response_model=RequestOut)
def set_request_status(
    request_id: str, body: StatusIn, c: C, actor: Actor, origin: From
) -> dict[str, Any]:
    c.requests.set_status(actor, request_id, body.status, origin)
    return _out(c.requests.view(actor, request_id))


@router.post("/requests/{request_id}/convert-to-zoom", response_model=RequestOut)
def convert_request_to_zoom(request_id: str, c: C, actor: Actor, origin: From) -> dict[str, Any]:
    c.requests.convert_to_zoom(actor, request_id, origin)
    return _out(c.requests.view(actor, request_id))


@router.post("/requests/{request_id}/convert-to-regular", response_model=RequestOut)
def convert_request_to_regular(request_id: str, c: C, actor: Actor, origin: From) -> dict[str, Any]:
    c.requests.convert_to_regular(actor, request_id, origin)
    return _out(c.requests.view(actor, request_id))


@router.post("/requests/{request_id}/host-link", response_model=HostLinkOut)
def request_host_link(request_id: str, c: C, actor: Actor, origin: From) -> dict[str, str]:
    """Fresh from Zoom each time, only inside the host-link window, audited."""
    return {"host_url": c.requests.host_link(actor, request_id, origin)}


def _job_out(job: Any) -> dict[str, Any]:
    return {
        "id": job.id,
        "series_id": job.series_id,
        "status": job.status,
        "total": job.total,
        "done": job.done,
        "placed": job.placed,
        "not_placed": job.report,
        "last_error": job.last_error,
    }


def _series_out(c: Any, actor: Any, series_id: str) -> dict[str, Any]:
    rows = c.request_series.occurrences(actor, series_id)
    views = c.requests.views(actor.org_id, rows)
    job = c.request_series.latest_job(series_id)
    return {
        "id": series_id,
        "occurrences": [_out(v) for v in views],
        "job": _job_out(job) if job is not None else None,
    }


@router.post("/requests/series", response_model=SeriesOut, status_code=201)
def create_request_series(body: SeriesIn, c: C, actor: Actor, origin: From) -> dict[str, Any]:
    """A recurring request: every occurrence a request of its own (at most 500)."""
    repeat = body.repeat.model_dump(mode="json")
    series, _rows = c.request_series.create(actor, body.to_input(), repeat, origin)
    return _series_out(c, actor, series.id)


@router.get("/requests/series/{series_id}", response_model=SeriesOut)
def get_request_series(series_id: str, c: C, actor: Actor) -> dict[str, Any]:
    return _series_out(c, actor, series_id)


@router.post("/requests/series/{series_id}/update", response_model=SeriesJobOut, status_code=202)
def update_request_series(
    series_id: str, body: CloneZoomIn, c: C, actor: Actor, origin: From
) -> dict[str, Any]:
    """Update recurring requests. With Clone Zoom Settings, a job makes every occurrence to
    come a Zoom meeting on a pool host (its progress: GET /requests/series-jobs/{id})."""
    if not body.clone_zoom_settings:
        raise ValidationFailed(
            "clone_zoom_settings", "nothing to update: only Clone Zoom Settings is offered yet"
        )
    return _job_out(c.request_series.clone_zoom(actor, series_id, origin))


@router.get("/requests/series-jobs/{job_id}", response_model=SeriesJobOut)
def get_request_series_job(job_id: str, c: C, actor: Actor) -> dict[str, Any]:
    return _job_out(c.request_series.job(actor, job_id))

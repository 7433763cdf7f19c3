"""A recurring series of requests: its occurrences (each a request of its own, a Zoom meeting
once converted), the "Update recurring requests" form whose Clone Zoom Settings makes every
occurrence to come a Zoom meeting on a pool host, and that job's page, which reloads itself
(a meta refresh: no JavaScript needed) until the job is finished.

Schedulers and admins only, as the series service has it: anyone else gets a 404."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from meetbridge.core.errors import DomainError, NotFound
from meetbridge.core.models import User
from meetbridge.requests.tables import RequestKind, SeriesJob, WorkStatus
from meetbridge.web.http import origin_of
from meetbridge.web.kit import container, in_thread, posted_form, redirect, render, signed_in_user
from meetbridge.web.requests import _local

router = APIRouter(include_in_schema=False)

# The job page reloads itself this often while the job runs.
REFRESH_SECONDS = 2


def _series_page(
    request: Request, user: User, series_id: str, status: int = 200, **ctx: Any
) -> Response:
    c = container(request)
    rows = c.request_series.occurrences(user, series_id)  # NotFound for anyone else's
    views = c.requests.views(user.org_id, rows)
    job = c.request_series.latest_job(series_id)
    first = rows[0] if rows else None
    ctx.setdefault("errors", {})
    return render(
        request,
        "requests_series.html",
        user,
        status,
        series_id=series_id,
        views=views,
        first=first,
        zoom_count=sum(1 for r in rows if r.kind == RequestKind.ZOOM),
        job=job,
        running=job is not None and job.status == WorkStatus.PENDING,
        local_request=_local,
        nav="requests",
        **ctx,
    )


@router.get("/requests/series/{series_id}")
async def series_page(request: Request, series_id: str) -> Response:
    return _series_page(request, signed_in_user(request), series_id[:36])


@router.post("/requests/series/{series_id}/update")
async def series_update(request: Request, series_id: str) -> Response:
    """Update recurring requests: with Clone Zoom Settings "Yes" the job starts and its page
    follows; "No" leaves the series as it is (nothing else is offered to update yet)."""
    user = signed_in_user(request)
    form = await posted_form(request)
    c = container(request)
    series_id = series_id[:36]
    c.request_series.occurrences(user, series_id)  # 404 first for anyone else's series
    choice = form.get("clone_zoom_settings", "")
    if choice != "yes":
        why = (
            "nothing to update: choose Yes to make every occurrence a Zoom meeting"
            if choice == "no"
            else "choose Yes or No"
        )
        return _series_page(request, user, series_id, 422, errors={"clone_zoom_settings": why})
    try:
        job = await in_thread(c.request_series.clone_zoom, user, series_id, origin_of(request))
    except DomainError as exc:
        if isinstance(exc, NotFound):
            raise
        reason = "; ".join(e.reason for e in exc.errors) or exc.message
        return _series_page(
            request, user, series_id, exc.status, errors={"clone_zoom_settings": reason}
        )
    said = f"Making {job.total} occurrences Zoom meetings on the pool's hosts."
    return redirect(request, f"/requests/series-jobs/{job.id}", said)


def _not_placed(job: SeriesJob, tz: str) -> list[dict[str, str]]:
    """The job's report of occurrences not placed, each with its start in the viewer's zone."""
    out = []
    for item in job.report or []:
        raw = str(item.get("start", ""))
        try:
            when = _local(dt.datetime.fromisoformat(raw), tz)
        except ValueError:
            when = raw
        out.append(
            {
                "request_id": str(item.get("request_id", "")),
                "when": when,
                "reason": str(item.get("reason", "")),
            }
        )
    return out


@router.get("/requests/series-jobs/{job_id}")
async def job_page(request: Request, job_id: str) -> Response:
    user = signed_in_user(request)
    c = container(request)
    job = c.request_series.job(user, job_id[:36])  # NotFound for anyone else's
    running = job.status == WorkStatus.PENDING
    return render(
        request,
        "requests_series_job.html",
        user,
        job=job,
        running=running,
        refresh=REFRESH_SECONDS if running else None,
        not_placed=_not_placed(job, user.timezone),
        local=lambda at: _local(at, user.timezone),
        nav="requests",
    )

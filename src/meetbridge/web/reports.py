"""Reports → Scheduling → Zoom Demand: the period chooser (from / to in the organisation's
zone, default the next 30 days), the answer in words, the chart inline (and as an .svg to
download), the peaks and every stretch above the pool, a table per bucket and its CSV. For
schedulers and admins; anyone else gets the 403 page."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response
from markupsafe import Markup

from meetbridge.core.errors import PermissionDenied, ValidationFailed
from meetbridge.core.models import User
from meetbridge.reports import svg
from meetbridge.reports import zoom_demand as zd
from meetbridge.web.kit import container, field_errors, in_thread, render, signed_in_user

router = APIRouter(include_in_schema=False)
LISTED = 50  # stretches the page lists; the API lists more
KEYS = ("from", "to", "bucket")


def _query(request: Request) -> dict[str, str]:
    return {k: request.query_params.get(k, "")[:40] for k in KEYS}


def _refused(request: Request, user: User) -> Response:
    return render(
        request,
        "error.html",
        user,
        403,
        message="Only schedulers and admins see reports.",
    )


async def _report(request: Request, user: User) -> zd.ZoomDemand:
    q = _query(request)
    c = container(request)
    # A year of 100,000 windows is a read of tens of milliseconds and a sort: off the loop.
    return await in_thread(zd.report, c.db, user, q["from"], q["to"], q["bucket"], c.clock.now())


@router.get("/reports")
async def reports_page(request: Request) -> Response:
    user = signed_in_user(request)
    if not zd.may_see(user):
        return _refused(request, user)
    return render(request, "reports.html", user, nav="reports")


@router.get("/reports/zoom-demand")
async def zoom_demand_page(request: Request) -> Response:
    user = signed_in_user(request)
    if not zd.may_see(user):
        return _refused(request, user)
    q = _query(request)
    try:
        r = await _report(request, user)
    except ValidationFailed as exc:
        return render(
            request,
            "reports_zoom_demand.html",
            user,
            422,
            r=None,
            errors=field_errors(exc),
            picked=q,
            nav="reports",
        )
    picked = {"from": r.period.first.isoformat(), "to": r.period.last.isoformat()}
    picked["bucket"] = q["bucket"] if q["bucket"] in ("hour", "day") else ""
    query = urlencode({k: v for k, v in picked.items() if v})
    local = r.local
    return render(
        request,
        "reports_zoom_demand.html",
        user,
        r=r,
        d=r.demand,
        chart=Markup(svg.chart(r)),  # noqa: S704  (built from numbers and escaped text)
        errors={},
        picked=picked,
        query=query,
        listed=LISTED,
        when=lambda at: zd.fmt(local(at), "%a %-d %b %Y %H:%M"),
        bucket_label=lambda at: zd.fmt(
            local(at), "%a %-d %b %Y %H:%M" if r.period.unit == "hour" else "%a %-d %b %Y"
        ),
        minutes=lambda td: int(td.total_seconds() // 60),
        nav="reports",
    )


@router.get("/reports/zoom-demand.svg")
async def zoom_demand_svg(request: Request) -> Response:
    user = signed_in_user(request)
    if not zd.may_see(user):
        raise PermissionDenied("Only schedulers and admins see reports.")
    r = await _report(request, user)  # bad input: the 422 page, naming the field
    return Response(
        svg.document(r),
        media_type="image/svg+xml",
        headers={"Content-Disposition": f'attachment; filename="{zd.filename(r, "svg")}"'},
    )


@router.get("/reports/zoom-demand.csv")
async def zoom_demand_csv(request: Request) -> Response:
    user = signed_in_user(request)
    if not zd.may_see(user):
        raise PermissionDenied("Only schedulers and admins see reports.")
    r = await _report(request, user)
    return Response(
        zd.as_csv(r),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{zd.filename(r, "csv")}"'},
    )

"""Service requests' pages: the Service Requests report (filters, Type column, CSV), a new
request (or a recurring series of them: the form's Repeats in repeats.py, the series' own
pages in request_series.py), a request's details with its actions (convert to and from a
Zoom meeting on a pool host, cancel, edit, the host link in its window), the scheduling
views (day / week, by provider), and the "Zoom settings for requests" form of Settings →
Integrations → Zoom.

Every form re-renders with all of its field errors at once and the values typed: what the
page cannot read (a date, a number) is reported together with what the service refuses."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from meetbridge.core.errors import DomainError, NotFound, PermissionDenied, ValidationFailed
from meetbridge.core.models import User
from meetbridge.requests import inputs
from meetbridge.requests.inputs import Participant, RequestInput, SettingsInput
from meetbridge.requests.service import UNKNOWN, Filters, RequestView
from meetbridge.requests.tables import (
    HostLinkRole,
    ParticipantRole,
    RequestKind,
    RequestStatus,
    ServiceRequest,
)
from meetbridge.scheduling import recurrence
from meetbridge.web import repeats, zoom
from meetbridge.web.http import origin_of
from meetbridge.web.kit import (
    TIMEZONES,
    container,
    in_thread,
    posted_form,
    redirect,
    render,
    signed_in_user,
)

router = APIRouter(include_in_schema=False)

STATUSES = [s.value for s in RequestStatus]
TYPES = {"zoom": "Zoom meeting", "regular": "Regular"}
HOST_LINK_ROLES = {
    HostLinkRole.SCHEDULERS.value: "Schedulers and admins",
    HostLinkRole.PROVIDER.value: "The request's assigned provider",
    HostLinkRole.CLIENT.value: "The request's client contact",
}
FILTER_KEYS = ("tag", "status", "from", "to", "type", "provider")
# The form's fields, by the names the service gives its errors.
REQUEST_FIELDS = {
    "client",
    "requester",
    "service",
    "start",
    "end",
    "timezone",
    "location",
    "notes",
    "tags",
    "providers",
    "clients",
    "status",
}
# A placeholder time for a start or end the page could not read, so the service still checks
# every other field (its answer for start / end is then replaced by the page's own).
_PLACEHOLDER = dt.datetime(2030, 1, 1, 9, 0)


def _zone(name: str) -> zoneinfo.ZoneInfo:
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo("UTC")


def _local(at: dt.datetime, tz: str, fmt: str = "%a %d %b %Y, %H:%M") -> str:
    return at.astimezone(_zone(tz)).strftime(fmt)


def _lines(raw: str) -> list[str]:
    """E-mail addresses one per line (commas and spaces tolerated between them)."""
    return (raw or "").replace(",", "\n").replace(";", "\n").split()


def _emails(form: dict[str, str], name: str, errors: dict[str, str]) -> list[str]:
    good, bad = [], []
    for line in _lines(form.get(name, "")):
        try:
            good.append(inputs.normalize_email(line, name))
        except ValidationFailed:
            bad.append(line[:60])
    if bad:
        errors[name] = f"not an e-mail address: {', '.join(bad)}"
    return good


# ---- the request form -------------------------------------------------------------------------


def _wall(form: dict[str, str], which: str, errors: dict[str, str]) -> dt.datetime | None:
    date = form.get(f"{which}_date", "").strip()
    if which == "end" and not date:
        date = form.get("start_date", "").strip()  # the same day unless told otherwise
    time = form.get(f"{which}_time", "").strip()
    try:
        return dt.datetime.fromisoformat(f"{date[:10]}T{time[:8]}")
    except ValueError:
        errors[which] = "enter a date (YYYY-MM-DD) and a time (HH:MM)"
        return None


def _request_input(form: dict[str, str]) -> tuple[RequestInput, dict[str, str], int]:
    """The request the form describes, what the page could not read, and how many of the
    participants are providers (the rest are client contacts)."""
    parsed: dict[str, str] = {}
    start = _wall(form, "start", parsed)
    end = _wall(form, "end", parsed)
    if start is None or end is None:
        start, end = _PLACEHOLDER, _PLACEHOLDER + dt.timedelta(hours=1)
    # Each address is read here so that a bad one in either list is named, with the line.
    providers = _emails(form, "providers", parsed)
    clients = _emails(form, "clients", parsed)
    people = [Participant(ParticipantRole.PROVIDER.value, e) for e in providers]
    people += [Participant(ParticipantRole.CLIENT.value, e) for e in clients]
    data = RequestInput(
        client=form.get("client", ""),
        service=form.get("service", ""),
        start=start,
        end=end,
        timezone=form.get("timezone", "").strip(),
        requester=form.get("requester", ""),
        location=form.get("location", ""),
        notes=form.get("notes", ""),
        status=form.get("status", RequestStatus.REQUESTED.value),
        tags=form.get("tags", "").split(","),
        participants=people,
    )
    return data, parsed, len(providers)


def _request_errors(exc: DomainError, parsed: dict[str, str], providers: int) -> dict[str, str]:
    """The service's reasons at the form's fields: a participant's at its textarea (with the
    address it is about), anything without a field of the form at the top."""
    out: dict[str, str] = {}
    for e in exc.errors:
        name = e.field
        if name.startswith("repeat"):
            continue  # a series' rule: at the Repeats fieldset (repeats.service_errors)
        if name.startswith("participants["):
            index = name[len("participants[") :].split("]", 1)[0]
            i = int(index) if index.isdigit() else 0
            name = "providers" if i < providers else "clients"
        elif name == "participants":
            name = "providers"
        if name not in REQUEST_FIELDS:
            name = "_"
        if name in out:
            out[name] = f"{out[name]}; {e.reason}"
        else:
            out[name] = e.reason
    if not exc.errors:
        out["_"] = exc.message
    return {**out, **parsed}


def _checked_errors(data: RequestInput, parsed: dict[str, str], providers: int) -> dict[str, str]:
    """What the page could not read, with every other field the rules refuse (the
    service's own pure check: nothing is written)."""
    try:
        inputs.checked(data)
    except ValidationFailed as exc:
        return _request_errors(exc, parsed, providers)
    return parsed


def _request_values(r: ServiceRequest, view: RequestView) -> dict[str, str]:
    start = r.start_at.astimezone(_zone(r.timezone))
    end = r.end_at.astimezone(_zone(r.timezone))
    people = view.participants
    return {
        "client": r.client,
        "requester": r.requester,
        "service": r.service,
        "start_date": start.strftime("%Y-%m-%d"),
        "start_time": start.strftime("%H:%M"),
        "end_date": end.strftime("%Y-%m-%d"),
        "end_time": end.strftime("%H:%M"),
        "timezone": r.timezone,
        "location": r.location,
        "notes": r.notes,
        "tags": ", ".join(view.tags),
        "providers": "\n".join(p.email for p in people if p.role == ParticipantRole.PROVIDER),
        "clients": "\n".join(p.email for p in people if p.role == ParticipantRole.CLIENT),
        "status": r.status,
    }


def _form_ctx() -> dict[str, Any]:
    return {"statuses": STATUSES, "timezones": TIMEZONES, "nav": "requests"}


def _new_ctx() -> dict[str, Any]:
    return {
        "frequencies": repeats.FREQUENCIES,
        "weekdays": repeats.WEEKDAYS,
        "monthly_by": repeats.MONTHLY_BY,
        "max_occurrences": recurrence.MAX_OCCURRENCES,
    }


def _scheduler_only(request: Request, user: User) -> Response | None:
    if user.is_scheduler:
        return None
    return render(
        request,
        "error.html",
        user,
        403,
        message="Only schedulers and admins add and change service requests.",
    )


# ---- the Service Requests report --------------------------------------------------------------


@dataclass
class Picked:
    values: dict[str, str]
    filters: Filters
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def query(self) -> str:
        return urlencode({k: v for k, v in self.values.items() if v})


def _day(raw: str, tz: str, name: str, errors: dict[str, str]) -> dt.datetime | None:
    """A YYYY-MM-DD filter as the start of that day in the viewer's zone."""
    if not raw:
        return None
    try:
        day = dt.date.fromisoformat(raw[:10])
        if not 2000 <= day.year <= 2999:
            raise ValueError
        return dt.datetime.combine(day, dt.time(), _zone(tz)).astimezone(dt.UTC)
    except (ValueError, OverflowError):
        errors[name] = "a date like 2027-03-01 (years 2000 to 2999)"
        return None


def _picked(request: Request, user: User) -> Picked:
    q = request.query_params
    values = {k: (q.get(k) or "").strip()[:64] for k in FILTER_KEYS}
    errors: dict[str, str] = {}
    start = _day(values["from"], user.timezone, "from", errors)
    end = _day(values["to"], user.timezone, "to", errors)
    if end is not None:
        end += dt.timedelta(days=1)  # "to" includes that day
    if values["status"] and values["status"] not in STATUSES:
        errors["status"] = f"one of {', '.join(STATUSES)}"
    if values["type"] and values["type"] not in TYPES:
        errors["type"] = "Zoom meeting or Regular"
    filters = Filters(
        status=values["status"] if values["status"] in STATUSES else None,
        tag=values["tag"] or None,
        kind=values["type"] if values["type"] in TYPES else None,
        start=start,
        end=end,
        provider_id=values["provider"] or None,
    )
    return Picked(values, filters, errors)


@router.get("/requests")
async def requests_page(request: Request) -> Response:
    user = signed_in_user(request)
    c = container(request)
    picked = _picked(request, user)
    views = c.requests.search(user, picked.filters)
    return render(
        request,
        "requests_list.html",
        user,
        422 if picked.errors else 200,
        views=views,
        picked=picked.values,
        filter_errors=picked.errors,
        query=picked.query,
        tags=c.requests.tags(user.org_id),
        providers=c.requests.providers(user.org_id),
        statuses=STATUSES,
        types=TYPES,
        names=_names(request, user),
        local=lambda at: _local(at, user.timezone),
        nav="requests",
    )


@router.get("/requests.csv")
async def requests_csv(request: Request) -> Response:
    user = signed_in_user(request)
    c = container(request)
    views = c.requests.search(user, _picked(request, user).filters)
    return Response(
        c.requests.csv(views),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="service-requests.csv"'},
    )


# ---- a new request ----------------------------------------------------------------------------


def _new_page(request: Request, user: User, status: int = 200, **ctx: Any) -> Response:
    ctx.setdefault(
        "values",
        {"timezone": user.org.timezone or "UTC", "status": RequestStatus.REQUESTED.value},
    )
    ctx.setdefault("errors", {})
    return render(request, "requests_new.html", user, status, **_form_ctx(), **_new_ctx(), **ctx)


@router.get("/requests/new")
async def request_new(request: Request) -> Response:
    user = signed_in_user(request)
    return _scheduler_only(request, user) or _new_page(request, user)


@router.post("/requests/new")
async def request_create(request: Request) -> Response:
    user = signed_in_user(request)
    form = await posted_form(request)
    refused = _scheduler_only(request, user)
    if refused:
        return refused
    data, parsed, providers = _request_input(form)
    if repeats.frequency(form) != repeats.NONE:
        return await _series_create(request, user, form, data, parsed, providers)
    if parsed:
        errors = _checked_errors(data, parsed, providers)
        return _new_page(request, user, 422, values=form, errors=errors)
    try:
        r = await in_thread(container(request).requests.create, user, data, origin_of(request))
    except DomainError as exc:
        errors = _request_errors(exc, {}, providers)
        return _new_page(request, user, exc.status, values=form, errors=errors)
    return redirect(request, f"/requests/{r.id}", f"Request for {r.client} created.")


async def _series_create(
    request: Request,
    user: User,
    form: dict[str, str],
    data: RequestInput,
    parsed: dict[str, str],
    providers: int,
) -> Response:
    """A request that repeats: its series, every occurrence a request of its own. The page
    checks the request and the rule together, so every bad field of both is named at once."""
    c = container(request)
    repeat, unread = repeats.parsed(form)
    time_known = "start" not in parsed and "end" not in parsed
    errors = repeats.merged(
        _checked_errors(data, parsed, providers),
        repeats.rule_errors(data, repeat, time_known, c.clock.now()),
    )
    errors.update(unread)  # what the page could not read replaces the rule's guess at it
    if errors:
        return _new_page(request, user, 422, values=form, errors=errors)
    try:
        series, rows = await in_thread(
            c.request_series.create, user, data, repeat, origin_of(request)
        )
    except DomainError as exc:
        errors = repeats.merged(_request_errors(exc, {}, providers), repeats.service_errors(exc))
        return _new_page(request, user, exc.status, values=form, errors=errors)
    said = f"Series for {rows[0].client} created: {len(rows)} occurrences."
    return redirect(request, f"/requests/series/{series.id}", said)


# ---- the scheduling views ---------------------------------------------------------------------


@dataclass
class Box:
    view: RequestView
    start: dt.datetime  # in the viewer's zone
    end: dt.datetime


@dataclass
class Lane:
    label: str
    cells: dict[Any, list[Box]]


def _schedule_lanes(
    views: list[RequestView], names: dict[str, str], tz: zoneinfo.ZoneInfo, key: Any
) -> list[Lane]:
    """One lane per provider (a member by name, anyone else by e-mail), requests without a
    provider last; each box in the column `key(start)` gives."""
    lanes: dict[str, Lane] = {}
    nobody = Lane("No provider", {})
    for v in views:
        box = Box(v, v.request.start_at.astimezone(tz), v.request.end_at.astimezone(tz))
        providers = [p for p in v.participants if p.role == ParticipantRole.PROVIDER]
        if not providers:
            nobody.cells.setdefault(key(box.start), []).append(box)
        for p in providers:
            who = p.user_id or p.email
            label = names.get(p.user_id or "") or p.name or p.email
            lane = lanes.setdefault(who, Lane(label, {}))
            lane.cells.setdefault(key(box.start), []).append(box)
    out = sorted(lanes.values(), key=lambda lane: lane.label.lower())
    return [*out, nobody] if nobody.cells else out


@router.get("/requests/schedule")
async def schedule(request: Request) -> Response:
    user = signed_in_user(request)
    c = container(request)
    q = request.query_params
    view = "week" if q.get("view") == "week" else "day"
    tz = _zone(user.timezone)
    errors: dict[str, str] = {}
    today = dt.datetime.now(tz).date()
    try:
        day = dt.date.fromisoformat((q.get("date") or today.isoformat())[:10])
    except ValueError:
        errors["date"] = "a date like 2027-03-01"
        day = today
    if not 2000 <= day.year <= 2999:  # requests live in these years (and the week fits)
        errors["date"] = "a date between the years 2000 and 2999"
        day = today
    if view == "week":
        first = day - dt.timedelta(days=day.weekday())
        columns: list[Any] = [first + dt.timedelta(days=i) for i in range(7)]
        span = dt.timedelta(days=7)
    else:
        first = day
        span = dt.timedelta(days=1)
    start = dt.datetime.combine(first, dt.time(), tz)
    end = dt.datetime.combine(first + span, dt.time(), tz)
    views = c.requests.search(
        user, Filters(start=start.astimezone(dt.UTC), end=end.astimezone(dt.UTC))
    )
    if view == "day":
        hours = [v.request.start_at.astimezone(tz).hour for v in views]
        columns = list(range(min([8, *hours]), max([18, *hours]) + 1))
        lanes = _schedule_lanes(views, _names(request, user), tz, lambda at: at.hour)
    else:
        lanes = _schedule_lanes(views, _names(request, user), tz, lambda at: at.date())
    step = span if view == "week" else dt.timedelta(days=1)
    return render(
        request,
        "requests_schedule.html",
        user,
        422 if errors else 200,
        view=view,
        day=day,
        first=first,
        columns=columns,
        lanes=lanes,
        count=len(views),
        prev=(first - step).isoformat(),
        next=(first + step).isoformat(),
        today=today.isoformat(),
        errors=errors,
        nav="requests",
    )


def _names(request: Request, user: User) -> dict[str, str]:
    return {m.id: m.name for m in container(request).accounts.list_members(user)}


# ---- a request --------------------------------------------------------------------------------


def _detail(
    request: Request, user: User, request_id: str, status: int = 200, **ctx: Any
) -> Response:
    c = container(request)
    view = c.requests.view(user, request_id)
    r = view.request
    settings = c.requests.settings_of(user.org_id)
    zoom_meeting = r.kind == RequestKind.ZOOM
    ctx.setdefault("values", _request_values(r, view))
    ctx.setdefault("errors", {})
    m = view.meeting
    in_series = 0
    if r.series_id and user.is_scheduler:
        in_series = c.request_series.size(user, r.series_id)
    return render(
        request,
        "requests_detail.html",
        user,
        status,
        v=view,
        r=r,
        m=m,
        zoom_meeting=zoom_meeting,
        settings=settings,
        busy=m is not None and m.status in ("creating", "updating", "cancelling"),
        may_take=zoom_meeting and c.requests.may_take_host_link(user, view),
        link_open=zoom_meeting and c.requests.host_link_open(r),
        link_opens=c.requests.host_link_opens(r),
        over=r.end_at <= c.clock.now(),
        in_series=in_series,
        names=_names(request, user),
        local=lambda at: _local(at, user.timezone),
        local_request=lambda at: _local(at, r.timezone),
        **_form_ctx(),
        **ctx,
    )


@router.get("/requests/{request_id}")
async def request_detail(request: Request, request_id: str) -> Response:
    return _detail(request, signed_in_user(request), request_id[:36])


@router.post("/requests/{request_id}")
async def request_update(request: Request, request_id: str) -> Response:
    user = signed_in_user(request)
    form = await posted_form(request)
    c = container(request)
    c.requests.get(user, request_id[:36])  # 404 first for another organisation's id
    refused = _scheduler_only(request, user)
    if refused:
        return refused
    data, parsed, providers = _request_input(form)
    if parsed:
        errors = _checked_errors(data, parsed, providers)
        return _detail(request, user, request_id, 422, values=form, errors=errors)
    try:
        await in_thread(c.requests.update, user, request_id, data, origin_of(request))
    except DomainError as exc:
        if isinstance(exc, NotFound):
            raise
        errors = _request_errors(exc, {}, providers)
        return _detail(request, user, request_id, exc.status, values=form, errors=errors)
    return redirect(request, f"/requests/{request_id}", "Request saved.")


async def _act(request: Request, request_id: str, action: str) -> Response:
    user = signed_in_user(request)
    await posted_form(request)
    c = container(request)
    r = c.requests.get(user, request_id[:36])  # 404 for another organisation's id
    origin = origin_of(request)
    try:
        if action == "zoom":
            done = await in_thread(c.requests.convert_to_zoom, user, r.id, origin)
            said = f"Converted to a Zoom meeting on {done.zoom_host_email}."
        elif action == "regular":
            await in_thread(c.requests.convert_to_regular, user, r.id, origin)
            said = "Converted to a regular request: its Zoom meeting is deleted in Zoom."
        else:
            await in_thread(c.requests.set_status, user, r.id, RequestStatus.CANCELED.value, origin)
            said = "Request canceled." + (
                " Its Zoom meeting is deleted in Zoom." if r.kind == RequestKind.ZOOM else ""
            )
    except DomainError as exc:
        if isinstance(exc, NotFound):
            raise
        reason = "; ".join(e.reason for e in exc.errors) or exc.message
        what = {"zoom": "Not converted", "regular": "Not converted", "cancel": "Not canceled"}
        return _detail(request, user, r.id, exc.status, action_error=f"{what[action]}: {reason}")
    return redirect(request, f"/requests/{r.id}", said)


@router.post("/requests/{request_id}/convert-to-zoom")
async def convert_to_zoom(request: Request, request_id: str) -> Response:
    return await _act(request, request_id, "zoom")


@router.post("/requests/{request_id}/convert-to-regular")
async def convert_to_regular(request: Request, request_id: str) -> Response:
    return await _act(request, request_id, "regular")


@router.post("/requests/{request_id}/cancel")
async def cancel(request: Request, request_id: str) -> Response:
    return await _act(request, request_id, "cancel")


@router.post("/requests/{request_id}/host-link")
async def host_link(request: Request, request_id: str) -> Response:
    """Fetched from Zoom on this click and sent on as the redirect: never stored, never in
    a page, not cached, and not passed on as a referrer."""
    user = signed_in_user(request)
    await posted_form(request)
    c = container(request)
    r = c.requests.get(user, request_id[:36])
    try:
        url = await in_thread(c.requests.host_link, user, r.id, origin_of(request))
    except DomainError as exc:
        if isinstance(exc, NotFound):
            raise
        reason = "; ".join(e.reason for e in exc.errors) or exc.message
        return _detail(request, user, r.id, exc.status, action_error=reason)
    return RedirectResponse(
        url,
        status_code=303,
        headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"},
    )


# ---- Settings → Integrations → Zoom: the Zoom settings for requests ----------------------------


def _minutes(form: dict[str, str], name: str, most: int, errors: dict[str, str]) -> int:
    raw = form.get(name, "").strip()
    if raw.isdigit() and len(raw) <= 6:
        return int(raw)
    errors[name] = f"must be a whole number of minutes from 0 to {most}"
    return 0


@router.post("/integrations/zoom/requests")
async def settings_save(request: Request) -> Response:
    user = signed_in_user(request)
    form = await posted_form(request)
    c = container(request)
    if not user.is_admin:
        raise PermissionDenied("only admins change the Zoom settings for requests")
    parsed: dict[str, str] = {}
    data = SettingsInput(
        lead_minutes=_minutes(form, "lead_minutes", inputs.LEAD_MAX, parsed),
        padding_minutes=_minutes(form, "padding_minutes", inputs.PADDING_MAX, parsed),
        host_pool=form.get("host_pool", ""),
        host_link_roles=[r for r in HOST_LINK_ROLES if form.get(f"role_{r}") == "on"],
    )
    errors: dict[str, str] = {}
    status = 422
    try:
        inputs.checked_settings(data)
    except ValidationFailed as exc:
        errors = {e.field: e.reason for e in exc.errors}
    if errors or parsed:
        if "host_pool" not in errors:
            # The pool's own check against the account, so its unknown users are named now
            # too rather than after the other fields are put right.
            errors.update(await in_thread(_unknown_hosts, c, user, data.host_pool))
        errors.update(parsed)
    else:
        try:
            _row, checks = await in_thread(c.requests.save_settings, user, data, origin_of(request))
        except DomainError as exc:
            errors = {e.field: e.reason for e in exc.errors} or {"host_pool": exc.message}
            status = exc.status
    if errors:
        return await in_thread(zoom.page, request, user, status, req_values=form, req_errors=errors)
    warned = sum(1 for x in checks if x.problem)
    said = f"Zoom settings for requests saved: {len(checks)} host(s) in the pool"
    said += f", {warned} with a warning (below)." if warned else "."
    return redirect(request, "/integrations/zoom#requests-zoom", said)


def _unknown_hosts(c: Any, user: User, text: str) -> dict[str, str]:
    try:
        emails = inputs.pool(text)
        checks = c.requests.check_pool(user.org_id, emails)
    except DomainError as exc:
        return {"host_pool": "; ".join(e.reason for e in exc.errors) or exc.message}
    unknown = [x.email for x in checks if x.problem == UNKNOWN]
    if unknown:
        return {"host_pool": f"not a user of the organisation's Zoom account: {', '.join(unknown)}"}
    return {}

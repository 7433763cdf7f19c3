"""The signed-in booking pages: meeting types (admins write them, members read them), each
member's availability and calendars, and the bookings (list, filters, CSV, cancel, reschedule,
reassign). Every form re-renders with all of its field errors at once: what the page cannot
parse (a number, a time range) is reported together with what the service refuses."""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from collections.abc import Callable
from typing import Any
from urllib.parse import quote, urlencode, urlsplit, urlunsplit

from fastapi import APIRouter, Request
from fastapi.responses import Response

from meetbridge.booking.inputs import (
    AvailabilityInput,
    MeetingTypeInput,
    TypeMember,
    checked_availability,
    checked_type,
)
from meetbridge.booking.tables import Assignment, Fallback
from meetbridge.core.errors import (
    DomainError,
    FieldError,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from meetbridge.core.models import User
from meetbridge.web.http import origin_of
from meetbridge.web.kit import (
    TIMEZONES,
    container,
    field_errors,
    in_thread,
    posted_form,
    redirect,
    render,
    signed_in_user,
)

router = APIRouter(include_in_schema=False)

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
PRIORITIES = {"high": 2, "medium": 1, "low": 0}
PRIORITY_NAMES = {v: k for k, v in PRIORITIES.items()}
ASSIGNMENTS = {
    Assignment.ONE: "One person",
    Assignment.ROUND_ROBIN: "Round-robin",
    Assignment.COLLECTIVE: "Collective (everyone)",
}
FALLBACKS = {
    Fallback.NONE: "None (only Zoom)",
    Fallback.JITSI: "Jitsi Meet room (server)",
    Fallback.LINK: "Fixed link",
    Fallback.PHONE: "Phone",
    Fallback.IN_PERSON: "In person",
}
LOCATIONS = {"zoom": "Zoom", "link": "Fixed link", "phone": "Phone", "in_person": "In person"}
ZOOM_STATES = {
    "connected": "Zoom connected",
    "needs_reconnect": "Zoom needs reconnecting",
    "not_connected": "No Zoom",
}
NUMBER = re.compile(r"^\s*\d{1,7}\s*$")
# "09:00-12:00", with a hyphen or the dashes people paste from documents.
RANGE = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*[-\u2013\u2014]\s*(\d{1,2}):(\d{2})\s*$")
OFF_WORDS = {"off", "day off", "closed", "unavailable", "none", "-"}


# ---- form parsing ---------------------------------------------------------------------------


def _number(form: dict[str, str], name: str, errors: dict[str, str], default: int) -> int:
    raw = form.get(name, "")
    if not raw.strip():
        return default
    if not NUMBER.match(raw):
        errors[name] = "must be a whole number"
        return default
    return int(raw)


def _optional(form: dict[str, str], name: str, errors: dict[str, str]) -> int | None:
    raw = form.get(name, "")
    if not raw.strip():
        return None
    if not NUMBER.match(raw):
        errors[name] = "must be a whole number, or empty"
        return None
    return int(raw)


def _reminders(raw: str, errors: dict[str, str]) -> list[int]:
    parts = [p for p in re.split(r"[,\s;]+", raw or "") if p]
    if len(parts) > 20 or not all(NUMBER.match(p) for p in parts):
        errors["reminders"] = "give minutes before the meeting, separated by commas (1440, 60)"
        return []
    return [int(p) for p in parts]


def _type_input(
    form: dict[str, str], member_ids: list[str]
) -> tuple[MeetingTypeInput, dict[str, str]]:
    """The meeting type the form describes, and what could not be read from it."""
    errors: dict[str, str] = {}
    members = []
    for uid in member_ids:
        if form.get(f"member_{uid}") != "on":
            continue
        weight = _number(form, f"weight_{uid}", errors, 1)
        priority = PRIORITIES.get(form.get(f"priority_{uid}", "medium"), 1)
        members.append(TypeMember(uid, weight=weight, priority=priority))
    for key in [k for k in errors if k.startswith("weight_")]:
        errors["members"] = "each weight is a whole number from 1 to 100"
        del errors[key]
    data = MeetingTypeInput(
        name=form.get("name", ""),
        slug=form.get("slug", "").strip(),
        duration=_number(form, "duration", errors, 30),
        assignment=form.get("assignment", Assignment.ONE),
        members=members,
        description=form.get("description", ""),
        buffer_before=_number(form, "buffer_before", errors, 0),
        buffer_after=_number(form, "buffer_after", errors, 0),
        min_notice=_number(form, "min_notice", errors, 0),
        horizon_days=_number(form, "horizon_days", errors, 60),
        interval=_optional(form, "interval", errors),
        daily_cap=_optional(form, "daily_cap", errors),
        reminders=_reminders(form.get("reminders", ""), errors),
        cutoff=_number(form, "cutoff", errors, 0),
        fallback=form.get("fallback", Fallback.NONE),
        fallback_value=form.get("fallback_value", ""),
        show_members=form.get("show_members") == "on",
    )
    return data, errors


def _with_parsed(check: Any, data: Any, parsed: dict[str, str], mapper: Any) -> dict[str, str]:
    """What the page could not parse, with every other field the rules refuse (`check` is the
    service's own pure validation, so nothing is written)."""
    try:
        check(data)
    except ValidationFailed as exc:
        return dict(mapper(exc, parsed))
    return parsed


def _reason(exc: DomainError) -> str:
    """What a refusal says, without field names (the page says where it belongs)."""
    return "; ".join(e.reason for e in exc.errors) or exc.message


def _grouped_errors(group: str) -> Callable[[DomainError, dict[str, str]], dict[str, str]]:
    """The service's reasons by form field, fields under `group` ("members.weight",
    "overrides.2027-01-04") shown at the group's one place, with what the page could not
    parse on top."""

    def errors(exc: DomainError, parsed: dict[str, str]) -> dict[str, str]:
        out: dict[str, str] = {}
        for e in exc.errors:
            out.setdefault(group if e.field.startswith(group) else e.field, e.reason)
        if not exc.errors:
            out["_"] = exc.message
        return {**out, **parsed}

    return errors


_all_errors = _grouped_errors("members")
_availability_errors = _grouped_errors("overrides")


def _minutes(text: str) -> int | None:
    hours, _, minutes = text.partition(":")
    h, m = int(hours), int(minutes)
    if m > 59 or h > 24 or (h == 24 and m):
        return None
    return h * 60 + m


def _ranges(raw: str) -> list[list[int]] | None:
    """'09:00-12:00, 13:00-17:00' as minute ranges; [] for an empty day; None if unreadable."""
    text = (raw or "").strip()
    if not text or text.lower() in OFF_WORDS:
        return []
    out = []
    for part in re.split(r"[,;]", text)[:20]:
        match = RANGE.match(part)
        if not match:
            return None
        a = _minutes(f"{match[1]}:{match[2]}")
        b = _minutes(f"{match[3]}:{match[4]}")
        if a is None or b is None:
            return None
        out.append([a, b])
    return out


def _availability_input(form: dict[str, str]) -> tuple[AvailabilityInput, dict[str, str]]:
    errors: dict[str, str] = {}
    weekly: dict[str, list[list[int]]] = {}
    for d in range(7):
        ranges = _ranges(form.get(f"day_{d}", ""))
        if ranges is None:
            errors[f"weekly.{d}"] = "write ranges like 09:00-12:00, 13:00-17:00 (empty: no hours)"
        elif ranges:
            weekly[str(d)] = ranges
    overrides: dict[str, list[list[int]]] = {}
    bad = []
    for n, line in enumerate((form.get("overrides", "") or "").splitlines()[:400], 1):
        if not line.strip():
            continue
        day, sep, rest = line.partition(" ")
        day = day.strip().rstrip(":")
        ranges = _ranges(rest.strip().lstrip(":")) if sep else []
        try:
            dt.date.fromisoformat(day)
        except ValueError:
            ranges = None
        if ranges is None:
            bad.append(str(n))
        else:
            overrides[day] = ranges
    if bad:
        errors["overrides"] = (
            f"line {', '.join(bad[:5])}: write YYYY-MM-DD then hours (09:00-12:00) or 'off'"
        )
    data = AvailabilityInput(
        timezone=form.get("timezone", "").strip(),
        weekly=weekly,
        overrides=overrides,
        location=form.get("location", "zoom"),
        location_value=form.get("location_value", ""),
    )
    return data, errors


def shown_url(url: str) -> str:
    """A calendar's address without any user name or password written into it."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port:
        host += f":{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))


def _hhmm(m: int) -> str:
    return f"{m // 60:02d}:{m % 60:02d}"


def ranges_text(ranges: Any) -> str:
    return ", ".join(f"{_hhmm(a)}-{_hhmm(b)}" for a, b in ranges or [])


# ---- meeting types --------------------------------------------------------------------------


def _org_members(request: Request, user: User) -> list[User]:
    return [m for m in container(request).accounts.list_members(user) if m.status == "active"]


def _type_values(view: Any) -> dict[str, Any]:
    t = view.type
    values: dict[str, Any] = {
        "name": t.name,
        "slug": t.slug,
        "description": t.description,
        "duration": str(t.duration_min),
        "assignment": t.assignment,
        "buffer_before": str(t.buffer_before_min),
        "buffer_after": str(t.buffer_after_min),
        "min_notice": str(t.min_notice_min),
        "horizon_days": str(t.horizon_days),
        "interval": str(t.interval_min),
        "daily_cap": "" if t.daily_cap is None else str(t.daily_cap),
        "reminders": ", ".join(str(r) for r in t.reminders_min or []),
        "cutoff": str(t.cutoff_min),
        "fallback": t.fallback,
        "fallback_value": t.fallback_value,
        "show_members": "on" if t.show_members else "",
    }
    for m in view.members:
        values[f"member_{m.user_id}"] = "on"
        values[f"weight_{m.user_id}"] = str(m.weight)
        values[f"priority_{m.user_id}"] = PRIORITY_NAMES.get(m.priority, "medium")
    return values


def _links(request: Request, user: User, slug: str) -> dict[str, str]:
    base = container(request).settings.effective_base_url
    page = f"{base}/book/{user.org.slug}/{slug}"
    script = f'<script src="{base}/static/embed.js" data-meetbridge-book="{page}"'
    return {
        "page": page,
        "inline": f'{script} data-mode="inline"></script>',
        "popup": f'{script} data-mode="popup"></script>',
        "iframe": (
            f'<iframe src="{page}" title="Book a meeting" width="100%" height="720" '
            'style="border:0" loading="lazy"></iframe>'
        ),
    }


def _form_ctx(request: Request, user: User) -> dict[str, Any]:
    return {
        "members": _org_members(request, user),
        "assignments": ASSIGNMENTS,
        "fallbacks": FALLBACKS,
        "priorities": PRIORITIES,
        "nav": "booking",
        "tab": "types",
    }


@router.get("/booking")
async def booking_home(request: Request) -> Response:
    signed_in_user(request)
    return redirect(request, "/booking/types")


@router.get("/booking/types")
async def types_page(request: Request) -> Response:
    user = signed_in_user(request)
    c = container(request)
    views = c.meeting_types.all(user)
    names = {m.id: m.name for m in c.accounts.list_members(user, include_inactive=True)}
    return render(
        request,
        "booking_types.html",
        user,
        views=views,
        names=names,
        assignments=ASSIGNMENTS,
        links={v.type.id: _links(request, user, v.type.slug)["page"] for v in views},
        nav="booking",
        tab="types",
    )


@router.get("/booking/types/new")
async def type_new_page(request: Request) -> Response:
    user = signed_in_user(request)
    if not user.is_admin:
        return render(request, "error.html", user, 403, message="Only admins add meeting types.")
    values = {"duration": "30", "horizon_days": "60", "reminders": "1440, 60"}
    values[f"member_{user.id}"] = "on"
    return render(
        request,
        "booking_type_form.html",
        user,
        view=None,
        values=values,
        errors={},
        **_form_ctx(request, user),
    )


@router.post("/booking/types/new")
async def type_create(request: Request) -> Response:
    user = signed_in_user(request)
    form = await posted_form(request)
    c = container(request)
    members = _org_members(request, user)
    data, parsed = _type_input(form, [m.id for m in members])
    errors, status = {}, 422
    if parsed:
        errors = _with_parsed(checked_type, data, parsed, _all_errors)
    else:
        try:
            view = await in_thread(c.meeting_types.create, user, data, origin_of(request))
        except DomainError as exc:
            errors, status = _all_errors(exc, {}), exc.status
    if errors:
        return render(
            request,
            "booking_type_form.html",
            user,
            status,
            view=None,
            values=form,
            errors=errors,
            **_form_ctx(request, user),
        )
    return redirect(
        request, f"/booking/types/{view.type.id}", f"Meeting type {view.type.name} created."
    )


def _type_page(
    request: Request, user: User, type_id: str, status: int = 200, **ctx: Any
) -> Response:
    c = container(request)
    view = c.meeting_types.get(user, type_id)
    ids = [m.user_id for m in view.members]
    zoom = {u: str(s) for u, s in c.meetings.zoom_of_hosts(ids).items()} if ids else {}
    names = {m.id: m.name for m in c.accounts.list_members(user, include_inactive=True)}
    ctx.setdefault("errors", {})
    ctx.setdefault("values", _type_values(view))
    return render(
        request,
        "booking_type.html",
        user,
        status,
        view=view,
        zoom=zoom,
        zoom_states=ZOOM_STATES,
        names=names,
        links=_links(request, user, view.type.slug),
        priority_names=PRIORITY_NAMES,
        **_form_ctx(request, user),
        **ctx,
    )


@router.get("/booking/types/{type_id}")
async def type_page(request: Request, type_id: str) -> Response:
    return _type_page(request, signed_in_user(request), type_id)


@router.post("/booking/types/{type_id}")
async def type_update(request: Request, type_id: str) -> Response:
    user = signed_in_user(request)
    form = await posted_form(request)
    c = container(request)
    c.meeting_types.get(user, type_id)  # 404 before anything else for another org's id
    data, parsed = _type_input(form, [m.id for m in _org_members(request, user)])
    errors, status = {}, 422
    if parsed:
        errors = _with_parsed(checked_type, data, parsed, _all_errors)
    else:
        try:
            view = await in_thread(c.meeting_types.update, user, type_id, data, origin_of(request))
        except DomainError as exc:
            if isinstance(exc, NotFound):
                raise
            errors, status = _all_errors(exc, {}), exc.status
    if errors:
        return _type_page(request, user, type_id, status, values=form, errors=errors)
    return redirect(request, f"/booking/types/{type_id}", f"Meeting type {view.type.name} saved.")


@router.post("/booking/types/{type_id}/publish")
async def type_publish(request: Request, type_id: str) -> Response:
    user = signed_in_user(request)
    form = await posted_form(request)
    c = container(request)
    publish = form.get("published") != "no"
    try:
        view = await in_thread(c.meeting_types.publish, user, type_id, publish, origin_of(request))
    except DomainError as exc:
        if isinstance(exc, NotFound):
            raise
        return _type_page(request, user, type_id, exc.status, publish_error=_reason(exc))
    said = "is published: its page takes bookings" if publish else "is unpublished"
    return redirect(request, f"/booking/types/{type_id}", f"{view.type.name} {said}.")


@router.post("/booking/types/{type_id}/delete")
async def type_delete(request: Request, type_id: str) -> Response:
    user = signed_in_user(request)
    form = await posted_form(request)
    c = container(request)
    name = c.meeting_types.get(user, type_id).type.name
    if form.get("confirm") != "on":
        return _type_page(request, user, type_id, 422, delete_error="tick the box to confirm")
    try:
        await in_thread(c.meeting_types.delete, user, type_id, origin_of(request))
    except DomainError as exc:
        if isinstance(exc, NotFound):
            raise
        return _type_page(request, user, type_id, exc.status, delete_error=_reason(exc))
    return redirect(request, "/booking/types", f"Meeting type {name} deleted.")


# ---- availability ---------------------------------------------------------------------------


def _availability_values(row: Any) -> dict[str, str]:
    values = {
        "timezone": row.timezone,
        "location": row.location,
        "location_value": row.location_value,
        "overrides": "\n".join(
            f"{day} {ranges_text(r) or 'off'}" for day, r in sorted((row.overrides or {}).items())
        ),
    }
    for d in range(7):
        values[f"day_{d}"] = ranges_text((row.weekly or {}).get(str(d)))
    return values


async def _availability_page(
    request: Request, user: User, member_id: str, status: int = 200, **ctx: Any
) -> Response:
    c = container(request)
    member = c.accounts.get_member(user, member_id)
    if member.id != user.id and not user.is_admin:
        raise NotFound("no such member")
    # The service writes the default hours on a member's first read: off the event loop.
    row = await in_thread(c.availability.get, user, member_id)
    zoom = str(c.meetings.zoom_of_hosts([member_id]).get(member_id, "not_connected"))
    calendars = c.availability.list_calendars(user, member_id)
    ctx.setdefault("values", _availability_values(row))
    ctx.setdefault("errors", {})
    ctx.setdefault("cal_values", {})
    ctx.setdefault("cal_errors", {})
    return render(
        request,
        "booking_availability.html",
        user,
        status,
        member=member,
        zoom=zoom,
        zoom_states=ZOOM_STATES,
        calendars=calendars,
        weekdays=WEEKDAYS,
        locations=LOCATIONS,
        timezones=TIMEZONES,
        local_time=lambda at: _local(at, user.timezone),
        shown_url=shown_url,
        others=_org_members(request, user) if user.is_admin else [],
        nav="booking",
        tab="availability",
        **ctx,
    )


@router.get("/booking/availability")
async def my_availability(request: Request) -> Response:
    user = signed_in_user(request)
    return await _availability_page(request, user, user.id)


@router.get("/booking/availability/pick")
async def pick_member(request: Request) -> Response:
    """The member picker's answer (a GET form, so it works without JavaScript)."""
    user = signed_in_user(request)
    member = (request.query_params.get("member") or user.id)[:36]
    return redirect(request, _availability_url(user, member))


@router.get("/booking/availability/{user_id}")
async def member_availability(request: Request, user_id: str) -> Response:
    return await _availability_page(request, signed_in_user(request), user_id)


@router.post("/booking/availability/{user_id}")
async def availability_save(request: Request, user_id: str) -> Response:
    user = signed_in_user(request)
    form = await posted_form(request)
    c = container(request)
    data, parsed = _availability_input(form)
    c.availability.list_calendars(user, user_id)  # 404/403 first for a member not one's own
    errors, status = {}, 422
    if parsed:
        errors = _with_parsed(checked_availability, data, parsed, _availability_errors)
    else:
        try:
            await in_thread(c.availability.set, user, user_id, data, origin_of(request))
        except DomainError as exc:
            if isinstance(exc, NotFound | PermissionDenied):
                raise
            errors, status = _availability_errors(exc, {}), exc.status
    if errors:
        return await _availability_page(request, user, user_id, status, values=form, errors=errors)
    return redirect(request, _availability_url(user, user_id), "Availability saved.")


def _availability_url(user: User, member_id: str) -> str:
    if member_id == user.id:
        return "/booking/availability"
    return f"/booking/availability/{quote(member_id, safe='')}"


@router.post("/booking/availability/{user_id}/calendars")
async def calendar_add(request: Request, user_id: str) -> Response:
    user = signed_in_user(request)
    form = await posted_form(request)
    c = container(request)
    c.availability.list_calendars(user, user_id)  # 404/403 first, before any CalDAV check
    kind = form.get("kind", "feed")
    try:
        await in_thread(
            c.availability.add_calendar,
            user,
            user_id,
            kind,
            form.get("url", "")[:4000],
            origin_of(request),
            form.get("username", "")[:200] if kind == "caldav" else "",
            form.get("password", "")[:500] if kind == "caldav" else "",
        )
    except DomainError as exc:
        if isinstance(exc, NotFound):
            raise
        values = {k: v for k, v in form.items() if k != "password"}
        return await _availability_page(
            request, user, user_id, exc.status, cal_values=values, cal_errors=field_errors(exc)
        )
    return redirect(request, _availability_url(user, user_id), "Calendar added.")


@router.post("/booking/availability/{user_id}/calendars/{calendar_id}/remove")
async def calendar_remove(request: Request, user_id: str, calendar_id: str) -> Response:
    user = signed_in_user(request)
    await posted_form(request)
    c = container(request)
    if calendar_id not in {x.id for x in c.availability.list_calendars(user, user_id)}:
        raise NotFound("no such calendar")
    await in_thread(c.availability.remove_calendar, user, calendar_id, origin_of(request))
    return redirect(request, _availability_url(user, user_id), "Calendar removed.")


# ---- bookings -------------------------------------------------------------------------------


def _zone(name: str) -> zoneinfo.ZoneInfo:
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo("UTC")


def _local(at: dt.datetime | str | None, tz: str) -> str:
    if at is None:
        return ""
    if isinstance(at, str):
        at = dt.datetime.fromisoformat(at)
    if at.tzinfo is None:
        at = at.replace(tzinfo=dt.UTC)
    return at.astimezone(_zone(tz)).strftime("%a %d %b %Y, %H:%M")


def _day(raw: str | None, tz: str, name: str, errors: dict[str, str]) -> dt.datetime | None:
    """A YYYY-MM-DD filter as the start of that day in the viewer's zone."""
    if not raw:
        return None
    try:
        day = dt.date.fromisoformat(raw[:10])
        return dt.datetime.combine(day, dt.time(), _zone(tz)).astimezone(dt.UTC)
    except (ValueError, OverflowError):
        errors[name] = "a date like 2027-03-01"
        return None


def _filters(request: Request, user: User) -> tuple[dict[str, Any], dict[str, str], dict[str, str]]:
    q = request.query_params
    errors: dict[str, str] = {}
    picked = {k: (q.get(k) or "")[:36] for k in _FILTER_KEYS}
    start = _day(picked["from"], user.timezone, "from", errors)
    end = _day(picked["to"], user.timezone, "to", errors)
    if end is not None:
        end += dt.timedelta(days=1)  # "to" includes that day
    status = picked["status"] if picked["status"] in ("confirmed", "cancelled") else None
    found = {
        "member_id": picked["member"] or None,
        "type_id": picked["type"] or None,
        "status": status,
        "start": start,
        "end": end,
        "attention": {"yes": True, "no": False}.get(picked["attention"]),
    }
    return found, errors, picked


def _bookings_page(request: Request, user: User, status: int = 200, **ctx: Any) -> Response:
    c = container(request)
    found, errors, picked = _filters(request, user)
    rows = c.bookings.find(user, **found)
    details = c.bookings.details(user, rows)
    query = urlencode({k: v for k, v in picked.items() if v})
    types = [v.type for v in c.meeting_types.all(user)]
    return render(
        request,
        "booking_bookings.html",
        user,
        status,
        bookings=details,
        round_robin={t.id for t in types if t.assignment == Assignment.ROUND_ROBIN},
        types=types,
        members=c.accounts.list_members(user, include_inactive=True) if user.is_admin else [],
        picked=picked,
        filter_errors=errors,
        query=query,
        local_time=lambda at: _local(at, user.timezone),
        local_input=lambda at: _local_input(at, user.timezone),
        timezones=TIMEZONES,
        nav="booking",
        tab="bookings",
        **ctx,
    )


def _local_input(at: str, tz: str) -> str:
    return dt.datetime.fromisoformat(at).astimezone(_zone(tz)).strftime("%Y-%m-%dT%H:%M")


@router.get("/booking/bookings")
async def bookings_page(request: Request) -> Response:
    return _bookings_page(request, signed_in_user(request))


@router.get("/booking/bookings.csv")
async def bookings_csv(request: Request) -> Response:
    user = signed_in_user(request)
    c = container(request)
    found, _errors, _picked = _filters(request, user)
    rows = c.bookings.find(user, **found)
    return Response(
        c.bookings.csv(user, rows),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="bookings.csv"'},
    )


def _back(request: Request) -> str:
    """The bookings list with the filters it was posted from (only its own parameters)."""
    q = {k: v[:36] for k, v in request.query_params.items() if k in _FILTER_KEYS and v}
    return "/booking/bookings" + (f"?{urlencode(q)}" if q else "")


_FILTER_KEYS = ("member", "type", "status", "attention", "from", "to")


async def _act(request: Request, booking_id: str, action: str) -> Response:
    user = signed_in_user(request)
    form = await posted_form(request)
    c = container(request)
    bk = c.bookings.get(user, booking_id)  # 404 for another org's (or another member's) id
    origin = origin_of(request)
    try:
        if action == "cancel":
            if form.get("confirm") != "on":
                raise ValidationFailed("confirm", "tick the box to confirm the cancellation")
            await in_thread(c.bookings.cancel, user, bk.id, origin)
            said = f"Booking with {bk.booker_name} cancelled; they are told."
        elif action == "reschedule":
            start = _new_start(form)
            await in_thread(c.bookings.reschedule, user, bk.id, start, origin)
            said = f"Booking with {bk.booker_name} moved; they are told."
        elif action == "seen":
            await in_thread(c.bookings.attention_seen, user, bk.id, origin)
            said = f"Booking with {bk.booker_name} marked as seen."
        else:
            await in_thread(c.bookings.reassign, user, bk.id, origin)
            said = f"Booking with {bk.booker_name} went to another member."
    except DomainError as exc:
        if isinstance(exc, NotFound):
            raise
        return _bookings_page(request, user, exc.status, problem=(bk.id, _reason(exc)))
    return redirect(request, _back(request), said)


def _new_start(form: dict[str, str]) -> dt.datetime:
    tz = form.get("timezone", "").strip()
    problems = []
    try:
        zone = zoneinfo.ZoneInfo(tz)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        problems.append(("timezone", f"unknown time zone {tz[:64]!r}"))
        zone = zoneinfo.ZoneInfo("UTC")
    try:
        local = dt.datetime.fromisoformat(form.get("start", "")[:20])
        if local.tzinfo is not None:
            raise ValueError
        start = local.replace(tzinfo=zone).astimezone(dt.UTC)
    except (ValueError, OverflowError):
        problems.append(("start", "give the new start as a date and time (2027-03-01T09:30)"))
    if problems:
        raise ValidationFailed.many([FieldError(f, r) for f, r in problems])
    return start


@router.post("/booking/bookings/{booking_id}/cancel")
async def booking_cancel(request: Request, booking_id: str) -> Response:
    return await _act(request, booking_id, "cancel")


@router.post("/booking/bookings/{booking_id}/reschedule")
async def booking_reschedule(request: Request, booking_id: str) -> Response:
    return await _act(request, booking_id, "reschedule")


@router.post("/booking/bookings/{booking_id}/reassign")
async def booking_reassign(request: Request, booking_id: str) -> Response:
    return await _act(request, booking_id, "reassign")


@router.post("/booking/bookings/{booking_id}/seen")
async def booking_attention_seen(request: Request, booking_id: str) -> Response:
    return await _act(request, booking_id, "seen")


# ---- the team page's booking health -----------------------------------------------------------


def booking_health(request: Request, user: User, member_ids: list[str]) -> dict[str, Any]:
    """For the Team page: each member's Zoom state for booking, and the published meeting
    types that suffer while it is not connected (those they are assigned to)."""
    c = container(request)
    states = {u: str(s) for u, s in c.meetings.zoom_of_hosts(member_ids).items()}
    affected: dict[str, list[str]] = {}
    for v in c.meeting_types.all(user):
        if v.type.published:
            for m in v.members:
                affected.setdefault(m.user_id, []).append(v.type.name)
    return {
        u: {
            "state": states.get(u, "not_connected"),
            "label": ZOOM_STATES.get(states.get(u, "not_connected"), "No Zoom"),
            "affected": affected.get(u, []) if states.get(u) != "connected" else [],
        }
        for u in member_ids
    }

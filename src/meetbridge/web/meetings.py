"""Meetings pages, and Zoom troubleshooting. Scheduling answers at once with the meeting in
"creating…"; the detail page follows it with htmx (the whole view, buttons and join link with
the status) until it is settled."""

from __future__ import annotations

import dataclasses
import datetime as dt
import zoneinfo
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from meetbridge.core.errors import DomainError, ValidationFailed
from meetbridge.core.models import Meeting, User, new_id
from meetbridge.meetings.inputs import MeetingChanges, MeetingInput
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


def local(m: Meeting, user: User) -> str:
    """The meeting's time in the viewer's time zone."""
    tz = zoneinfo.ZoneInfo(user.timezone)
    return m.start_at.astimezone(tz).strftime("%a %d %b %Y, %H:%M") + f" ({user.timezone})"


def _parse_start(form: dict[str, str]) -> dt.datetime:
    date, time = form.get("date", ""), form.get("time", "")
    try:
        return dt.datetime.fromisoformat(f"{date}T{time}")
    except ValueError:
        field = "date" if not date else "time"
        raise ValidationFailed(field, "enter a date (YYYY-MM-DD) and a time (HH:MM)") from None


def _int(form: dict[str, str], name: str) -> int:
    try:
        return int(form.get(name, ""))
    except ValueError:
        raise ValidationFailed(name, "must be a whole number of minutes") from None


@router.get("/meetings")
async def meetings(request: Request) -> Response:
    user = signed_in_user(request)
    c = container(request)
    asked = request.query_params.get("when")
    when = asked if asked in ("past", "cancelled") else "upcoming"
    project_id = request.query_params.get("project") or None
    rows = c.meetings.list_meetings(user, when=when, project_id=project_id)
    return render(
        request,
        "meetings.html",
        user,
        meetings=rows,
        when=when,
        projects=c.projects.list(user),
        project_id=project_id,
        local=local,
        nav="meetings",
    )


def _new_page(request: Request, user: User, status: int = 200, **ctx: Any) -> Response:
    c = container(request)
    conn = c.connections.my_connection(user)
    ctx.setdefault(
        "values",
        {
            "timezone": user.timezone,
            "duration": "30",
            "project_id": request.query_params.get("project", ""),
            # The form's own idempotency key: sent twice (a double click, a reload that posts
            # again), it schedules one meeting (core/idempotency.py).
            "form_key": new_id(),
        },
    )
    ctx.setdefault("errors", {})
    own_zoom = conn is not None and conn.status == "connected"
    hosts = c.meetings.host_choices(user)  # the account connection's, when allowed
    return render(
        request,
        "meeting_new.html",
        user,
        status,
        timezones=TIMEZONES,
        projects=c.projects.list(user),
        connected=own_zoom or bool(hosts),
        own_zoom=own_zoom,
        hosts=hosts,
        nav="meetings",
        **ctx,
    )


@router.get("/meetings/new")
async def meeting_new(request: Request) -> Response:
    # In the pool: listing the account's hosts may fetch (and store) a Zoom token.
    return await in_thread(_new_page, request, signed_in_user(request))


@router.post("/meetings/new")
async def meeting_create(request: Request) -> Response:
    user = signed_in_user(request)
    form = await posted_form(request)
    try:
        data = MeetingInput(
            title=form.get("title", ""),
            start=_parse_start(form),
            timezone=form.get("timezone") or user.timezone,
            duration=_int(form, "duration"),
            agenda=form.get("agenda", ""),
            passcode=form.get("passcode") or None,
            waiting_room=form.get("waiting_room") == "on",
            join_before_host=form.get("join_before_host") == "on",
            project_id=form.get("project_id") or None,
            invitees=form.get("invitees", "").replace(",", "\n").split(),
            host=form.get("host") or None,
        )
        c = container(request)
        m, _replayed = await in_thread(
            c.idempotency.create,
            user.id,
            "meetings.form",
            form.get("form_key") or None,
            dataclasses.asdict(data),
            lambda mid: c.meetings.schedule(user, data, origin_of(request), meeting_id=mid),
            lambda mid: c.meetings.get(user, mid),
            "form_key",
        )
    except DomainError as exc:
        errors = field_errors(exc)
        if "form_key" in errors:  # this form was sent before with other values: a fresh one
            form = {**form, "form_key": new_id()}
            errors["_"] = (
                "This form was already used to schedule a meeting; "
                "send it again to schedule another."
            )
        return await in_thread(_new_page, request, user, exc.status, values=form, errors=errors)
    # No flash: the page's own status says "Creating in Zoom…" and stays true (a banner
    # would still say "Scheduling" after Zoom has answered).
    return redirect(request, f"/meetings/{m.id}")


def _detail(
    request: Request,
    user: User,
    meeting_id: str,
    status: int = 200,
    page: str = "meeting_detail.html",
    **ctx: Any,
) -> Response:
    c = container(request)
    m = c.meetings.get(user, meeting_id)
    ctx.setdefault("errors", {})
    return render(
        request,
        page,
        user,
        status,
        m=m,
        local=local(m, user),
        host_zoom=c.meetings.host_zoom([m])[m.id],
        invitees=c.meetings.invitees(user, meeting_id),
        timezones=TIMEZONES,
        tz_local=m.start_at.astimezone(zoneinfo.ZoneInfo(m.timezone)),
        nav="meetings",
        **ctx,
    )


@router.get("/meetings/{meeting_id}")
async def meeting_detail(request: Request, meeting_id: str) -> Response:
    return _detail(request, signed_in_user(request), meeting_id)


@router.get("/meetings/{meeting_id}/view")
async def meeting_view(request: Request, meeting_id: str) -> Response:
    """The htmx fragment: the whole page below the navigation, which replaces itself every
    second while the meeting is on its way to Zoom (and stops once it is settled)."""
    return _detail(request, signed_in_user(request), meeting_id, page="meeting_view.html")


def _changes(form: dict[str, str]) -> MeetingChanges:
    """Only what the user changed: the form carries the start it showed (`was_start`), and an
    unchanged start is not sent again, so a meeting in progress (its start now in the past)
    can still be renamed or lengthened."""
    shown = f"{form.get('date', '')}T{form.get('time', '')}|{form.get('timezone', '')}"
    moved = form.get("was_start") != shown
    return MeetingChanges(
        title=form.get("title"),
        start=_parse_start(form) if moved else None,
        timezone=(form.get("timezone") or None) if moved else None,
        duration=_int(form, "duration"),
        agenda=form.get("agenda"),
    )


@router.post("/meetings/{meeting_id}")
async def meeting_update(request: Request, meeting_id: str) -> Response:
    user = signed_in_user(request)
    form = await posted_form(request)
    try:
        changes = _changes(form)
        await in_thread(
            container(request).meetings.update, user, meeting_id, changes, origin_of(request)
        )
    except DomainError as exc:
        return _detail(request, user, meeting_id, exc.status, errors=field_errors(exc))
    return redirect(request, f"/meetings/{meeting_id}")


@router.post("/meetings/{meeting_id}/cancel")
async def meeting_cancel(request: Request, meeting_id: str) -> Response:
    user = signed_in_user(request)
    await posted_form(request)
    await in_thread(container(request).meetings.cancel, user, meeting_id, origin_of(request))
    return redirect(request, f"/meetings/{meeting_id}")


@router.post("/meetings/{meeting_id}/retry")
async def meeting_retry(request: Request, meeting_id: str) -> Response:
    user = signed_in_user(request)
    await posted_form(request)
    try:
        await in_thread(container(request).meetings.retry, user, meeting_id)
    except DomainError as exc:
        return redirect(request, f"/meetings/{meeting_id}", exc.message)
    if request.query_params.get("back") == "troubleshooting":
        return redirect(request, "/troubleshooting", "Trying again…")
    return redirect(request, f"/meetings/{meeting_id}")  # its status says so, and stays true


@router.post("/meetings/{meeting_id}/invite")
async def meeting_invite(request: Request, meeting_id: str) -> Response:
    user = signed_in_user(request)
    form = await posted_form(request)
    emails = form.get("emails", "").replace(",", "\n").split()
    try:
        n = await in_thread(container(request).meetings.add_invitees, user, meeting_id, emails)
    except DomainError as exc:
        return _detail(request, user, meeting_id, exc.status, errors=field_errors(exc))
    return redirect(
        request,
        f"/meetings/{meeting_id}",
        f"Invited {n} {'person' if n == 1 else 'people'} by e-mail with a calendar invite.",
    )


@router.get("/troubleshooting")
async def troubleshooting(request: Request) -> Response:
    """The troubleshooting list, live: the connection, and meetings with errors."""
    user = signed_in_user(request)
    c = container(request)
    upcoming = c.meetings.list_meetings(user, limit=500)
    host_zoom = c.meetings.host_zoom(upcoming)  # a meeting whose host has no Zoom is one too
    rows = [m for m in upcoming if m.last_error or host_zoom[m.id] != "connected"] + [
        m  # a cancel stuck at Zoom is a problem too
        for m in c.meetings.list_meetings(user, when="cancelled", limit=500)
        if m.last_error
    ]
    return render(
        request,
        "troubleshooting.html",
        user,
        conn=c.connections.my_connection(user),
        problems=rows,
        host_zoom=host_zoom,
        local=local,
        nav="meetings",
    )

"""The team: members, adding, editing, deactivating and restoring them."""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import Response

from meetbridge.accounts.inputs import normalize_email, start_date_bounds
from meetbridge.core.errors import DomainError
from meetbridge.web.booking_admin import booking_health
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


def _form_context(request: Request) -> dict[str, Any]:
    """What the member form needs besides the member: the zones, and the start dates the
    service accepts today (the date picker's min and max)."""
    today = container(request).clock.now().astimezone(dt.UTC).date()
    earliest, latest = start_date_bounds(today)
    return {"timezones": TIMEZONES, "start_min": earliest, "start_max": latest, "nav": "team"}


@router.get("/team")
async def team(request: Request) -> Response:
    user = signed_in_user(request)
    show_all = user.is_admin and request.query_params.get("show") == "all"
    c = container(request)
    members = c.accounts.list_members(user, include_inactive=show_all)
    zoom = {x.user_id: x for x in c.connections.connections(user)}
    health = booking_health(request, user, [m.id for m in members])
    return render(
        request,
        "team.html",
        user,
        members=members,
        show_all=show_all,
        zoom=zoom,
        health=health,
        today=c.clock.now().astimezone(dt.UTC).date(),
        nav="team",
    )


@router.get("/team/new")
async def member_new_page(request: Request) -> Response:
    user = signed_in_user(request)
    return render(
        request,
        "member_form.html",
        user,
        member=None,
        values={},
        errors={},
        **_form_context(request),
    )


@router.post("/team/new")
async def member_create(request: Request) -> Response:
    user = signed_in_user(request)
    form = await posted_form(request)
    try:
        member = await in_thread(
            container(request).accounts.create_member,
            user,
            email=form.get("email", ""),
            name=form.get("name", ""),
            role=form.get("role", "member"),
            password=form.get("password", ""),
            timezone=form.get("timezone") or None,
            start_date=form.get("start_date") or None,
            origin=origin_of(request),
        )
    except DomainError as exc:
        values = {k: v for k, v in form.items() if k != "password"}
        return render(
            request,
            "member_form.html",
            user,
            exc.status,
            member=None,
            values=values,
            errors=field_errors(exc),
            **_form_context(request),
        )
    return redirect(request, "/team", f"{member.name} can now sign in as {member.email}.")


@router.get("/team/{user_id}")
async def member_edit_page(request: Request, user_id: str) -> Response:
    user = signed_in_user(request)
    member = container(request).accounts.get_member(user, user_id)
    values = {
        "name": member.name,
        "email": member.email,
        "role": member.role,
        "timezone": member.timezone,
        "start_date": member.start_date.isoformat() if member.start_date else "",
    }
    return render(
        request,
        "member_form.html",
        user,
        member=member,
        values=values,
        errors={},
        **_form_context(request),
    )


@router.post("/team/{user_id}")
async def member_update(request: Request, user_id: str) -> Response:
    user = signed_in_user(request)
    form = await posted_form(request)
    c = container(request)
    said = ""
    try:
        member = c.accounts.get_member(user, user_id)
        email = form.get("email")
        if email is not None and normalize_email(email) != member.email:
            # A new address is confirmed from it (accounts/email_change.py); the rest is saved.
            said = await in_thread(
                c.email_changes.request,
                user,
                user_id,
                email,
                origin_of(request),
                current_password=form.get("current_password") or None,
            )
        member = await in_thread(
            c.accounts.update_member,
            user,
            user_id,
            origin=origin_of(request),
            name=form.get("name"),
            role=form.get("role") if user.is_admin else None,
            timezone=form.get("timezone"),
            # Emptied: cleared. Only admins see the field (accounts.service).
            start_date=form.get("start_date") if user.is_admin else None,
        )
    except DomainError as exc:
        member = c.accounts.get_member(user, user_id)
        return render(
            request,
            "member_form.html",
            user,
            exc.status,
            member=member,
            values=form,
            errors=field_errors(exc),
            **_form_context(request),
        )
    return redirect(request, "/team", f"Saved {member.name}. {said}".strip())


@router.post("/team/{user_id}/deactivate")
async def member_deactivate(request: Request, user_id: str) -> Response:
    user = signed_in_user(request)
    await posted_form(request)
    try:
        member = await in_thread(
            container(request).accounts.deactivate_member, user, user_id, origin=origin_of(request)
        )
    except DomainError as exc:
        return redirect(request, f"/team/{quote(user_id)}", exc.message)
    return redirect(request, "/team", f"{member.name} is deactivated and signed out.")


@router.post("/team/{user_id}/restore")
async def member_restore(request: Request, user_id: str) -> Response:
    user = signed_in_user(request)
    form = await posted_form(request)
    try:
        member = await in_thread(
            container(request).accounts.restore_member,
            user,
            user_id,
            password=form.get("password", ""),
            origin=origin_of(request),
        )
    except DomainError as exc:
        return redirect(request, f"/team/{quote(user_id)}", exc.message)
    return redirect(request, "/team", f"{member.name} is restored as a new login.")

"""Settings → Password: the signed-in user changes their own password."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from meetbridge.core.errors import DomainError
from meetbridge.web.http import origin_of
from meetbridge.web.kit import (
    SESSION_COOKIE,
    container,
    field_errors,
    in_thread,
    posted_form,
    redirect,
    render,
    signed_in_user,
)

router = APIRouter(include_in_schema=False)


@router.get("/settings/password")
async def password_page(request: Request) -> Response:
    return render(request, "password.html", signed_in_user(request), errors={}, nav="settings")


@router.post("/settings/password")
async def password_change(request: Request) -> Response:
    user = signed_in_user(request)
    form = await posted_form(request)
    try:
        await in_thread(
            container(request).accounts.change_password,
            user,
            current=form.get("current_password", ""),
            new=form.get("new_password", ""),
            origin=origin_of(request),
            keep_session=request.cookies.get(SESSION_COOKIE),
        )
    except DomainError as exc:
        return render(
            request, "password.html", user, exc.status, errors=field_errors(exc), nav="settings"
        )
    return redirect(request, "/team", "Your password is changed.")

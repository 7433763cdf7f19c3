"""Sign in and out."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from meetbridge.core.errors import NotAuthenticated, Throttled
from meetbridge.web.http import origin_of
from meetbridge.web.kit import (
    ANON_COOKIE,
    SESSION_COOKIE,
    container,
    in_thread,
    posted_form,
    redirect,
    render,
    set_cookie,
)

router = APIRouter(include_in_schema=False)


@router.get("/")
async def home(request: Request) -> Response:
    raw = request.cookies.get(SESSION_COOKIE)
    signed_in = raw and container(request).accounts.session_user(raw)
    return RedirectResponse("/team" if signed_in else "/signin", status_code=303)


@router.get("/signin")
async def signin_page(request: Request) -> Response:
    return render(request, "signin.html", None, email="", errors={})


@router.post("/signin")
async def signin(request: Request) -> Response:
    form = await posted_form(request)
    email = form.get("email", "")[:254]
    c = container(request)
    try:
        user = await in_thread(
            c.accounts.authenticate, email, form.get("password", "")[:256], origin_of(request)
        )
    except (NotAuthenticated, Throttled) as exc:
        status = 429 if isinstance(exc, Throttled) else 401
        return render(request, "signin.html", None, status, email=email, errors={"_": exc.message})
    resp = redirect(request, "/team")
    set_cookie(
        request,
        resp,
        SESSION_COOKIE,
        await in_thread(c.accounts.start_session, user, origin_of(request)),
        max_age=c.settings.session_hours * 3600,
    )
    resp.delete_cookie(ANON_COOKIE)
    return resp


@router.post("/signout")
async def signout(request: Request) -> Response:
    await posted_form(request)
    raw = request.cookies.get(SESSION_COOKIE)
    if raw:
        await in_thread(container(request).accounts.end_session, raw, origin_of(request))
    resp = redirect(request, "/signin", "You are signed out.")
    resp.delete_cookie(SESSION_COOKIE)
    return resp

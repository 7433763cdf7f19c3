"""Server-rendered pages (Jinja2 + htmx). Every form carries a CSRF token; every page works
without JavaScript. Thin: parse the form, call a service, render or redirect."""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote, unquote

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool

from meetbridge.container import Container
from meetbridge.core.errors import DomainError, NotAuthenticated, Throttled, ValidationFailed
from meetbridge.core.models import ROLES, User
from meetbridge.core.security import csrf_token, csrf_valid, digest, new_token
from meetbridge.web.http import origin_of

T = TypeVar("T")
HERE = Path(__file__).resolve().parent
STATIC_DIR = HERE / "static"
SESSION_COOKIE = "mb_session"
ANON_COOKIE = "mb_anon"
FLASH_COOKIE = "mb_flash"
templates = Jinja2Templates(directory=HERE / "templates")
TIMEZONES = sorted(zoneinfo.available_timezones())

# Modules that arrive with later work; the navigation shows them already, honestly marked.
COMING = {
    "booking": ("Booking", "Meeting types, availability and public booking pages."),
    "requests": ("Requests", "Service requests converted to Zoom meetings on a host pool."),
    "workflows": ("Workflows", "Event-triggered actions that create and manage Zoom meetings."),
    "reports": ("Reports", "Zoom Demand and usage reports."),
}


class SignInRequired(Exception):
    pass


class CsrfFailed(Exception):
    pass


# GET pages do one or two short indexed reads: they run on the event loop (`async def`), where a
# thread-pool hop would cost more than the query. POST handlers call services through `_slow`
# (the thread pool): they hash passwords (argon2, tens of ms) and write.
router = APIRouter(include_in_schema=False)


async def _slow(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    return await run_in_threadpool(fn, *args, **kwargs)


def _c(request: Request) -> Container:
    c: Container = request.app.state.container
    return c


def _user(request: Request) -> User:
    raw = request.cookies.get(SESSION_COOKIE)
    user = _c(request).accounts.session_user(raw) if raw else None
    if user is None:
        raise SignInRequired
    return user


def _binding(request: Request) -> str:
    raw = request.cookies.get(SESSION_COOKIE) or request.cookies.get(ANON_COOKIE) or ""
    return digest(raw) if raw else ""


async def _form(request: Request) -> dict[str, str]:
    """The posted form, after the CSRF check."""
    form = await request.form()
    data = {k: v for k, v in form.items() if isinstance(v, str)}
    secret = _c(request).settings.secret_key.get_secret_value()
    if not csrf_valid(secret, _binding(request), data.get("csrf_token")):
        raise CsrfFailed
    for key, value in data.items():
        if "\x00" in value:  # PostgreSQL cannot store text with NUL
            raise ValidationFailed(key, "must not contain NUL characters")
    return data


def _render(
    request: Request, name: str, user: User | None, status: int = 200, **ctx: Any
) -> HTMLResponse:
    secret = _c(request).settings.secret_key.get_secret_value()
    binding = _binding(request)
    anon_nonce = None
    if not binding:
        anon_nonce = new_token()
        binding = digest(anon_nonce)
    flash = request.cookies.get(FLASH_COOKIE)
    resp = templates.TemplateResponse(
        request,
        name,
        {
            "user": user,
            "csrf": csrf_token(secret, binding),
            "roles": ROLES,
            "flash": unquote(flash) if flash else None,
            "coming": COMING,
            **ctx,
        },
        status_code=status,
    )
    if anon_nonce:
        _cookie(request, resp, ANON_COOKIE, anon_nonce)
    if flash:
        resp.delete_cookie(FLASH_COOKIE)
    return resp


def _cookie(request: Request, resp: Response, name: str, value: str, **kw: Any) -> None:
    resp.set_cookie(
        name,
        value,
        httponly=True,
        samesite="lax",
        secure=_c(request).settings.secure_cookies,
        **kw,
    )


def _redirect(request: Request, to: str, flash: str | None = None) -> RedirectResponse:
    resp = RedirectResponse(to, status_code=303)
    if flash:
        _cookie(request, resp, FLASH_COOKIE, quote(flash), max_age=60)
    return resp


def _errors(exc: DomainError) -> dict[str, str]:
    return {e.field: e.reason for e in exc.errors} or {"_": exc.message}


# ---- sign-in -------------------------------------------------------------------------------


@router.get("/")
async def home(request: Request) -> Response:
    raw = request.cookies.get(SESSION_COOKIE)
    signed_in = raw and _c(request).accounts.session_user(raw)
    return RedirectResponse("/team" if signed_in else "/signin", status_code=303)


@router.get("/signin")
async def signin_page(request: Request) -> Response:
    return _render(request, "signin.html", None, email="", errors={})


@router.post("/signin")
async def signin(request: Request) -> Response:
    form = await _form(request)
    email = form.get("email", "")[:254]
    c = _c(request)
    try:
        user = await _slow(
            c.accounts.authenticate, email, form.get("password", "")[:256], origin_of(request)
        )
    except (NotAuthenticated, Throttled) as exc:
        status = 429 if isinstance(exc, Throttled) else 401
        return _render(request, "signin.html", None, status, email=email, errors={"_": exc.message})
    resp = _redirect(request, "/team")
    _cookie(
        request,
        resp,
        SESSION_COOKIE,
        await _slow(c.accounts.start_session, user, origin_of(request)),
        max_age=c.settings.session_hours * 3600,
    )
    resp.delete_cookie(ANON_COOKIE)
    return resp


@router.post("/signout")
async def signout(request: Request) -> Response:
    await _form(request)
    raw = request.cookies.get(SESSION_COOKIE)
    if raw:
        await _slow(_c(request).accounts.end_session, raw, origin_of(request))
    resp = _redirect(request, "/signin", "You are signed out.")
    resp.delete_cookie(SESSION_COOKIE)
    return resp


# ---- team ------------------------------------------------------------------------------------


@router.get("/team")
async def team(request: Request) -> Response:
    user = _user(request)
    show_all = user.is_admin and request.query_params.get("show") == "all"
    c = _c(request)
    members = c.accounts.list_members(user, include_inactive=show_all)
    zoom = {x.user_id: x for x in c.connections.connections(user)}
    return _render(
        request, "team.html", user, members=members, show_all=show_all, zoom=zoom, nav="team"
    )


@router.get("/team/new")
async def member_new_page(request: Request) -> Response:
    user = _user(request)
    return _render(
        request,
        "member_form.html",
        user,
        member=None,
        values={},
        errors={},
        timezones=TIMEZONES,
        nav="team",
    )


@router.post("/team/new")
async def member_create(request: Request) -> Response:
    user = _user(request)
    form = await _form(request)
    try:
        member = await _slow(
            _c(request).accounts.create_member,
            user,
            email=form.get("email", ""),
            name=form.get("name", ""),
            role=form.get("role", "member"),
            password=form.get("password", ""),
            timezone=form.get("timezone") or None,
            origin=origin_of(request),
        )
    except DomainError as exc:
        values = {k: v for k, v in form.items() if k != "password"}
        return _render(
            request,
            "member_form.html",
            user,
            exc.status,
            member=None,
            values=values,
            errors=_errors(exc),
            timezones=TIMEZONES,
            nav="team",
        )
    return _redirect(request, "/team", f"{member.name} can now sign in as {member.email}.")


@router.get("/team/{user_id}")
async def member_edit_page(request: Request, user_id: str) -> Response:
    user = _user(request)
    member = _c(request).accounts.get_member(user, user_id)
    values = {
        "name": member.name,
        "email": member.email,
        "role": member.role,
        "timezone": member.timezone,
    }
    return _render(
        request,
        "member_form.html",
        user,
        member=member,
        values=values,
        errors={},
        timezones=TIMEZONES,
        nav="team",
    )


@router.post("/team/{user_id}")
async def member_update(request: Request, user_id: str) -> Response:
    user = _user(request)
    form = await _form(request)
    c = _c(request)
    try:
        member = await _slow(
            c.accounts.update_member,
            user,
            user_id,
            origin=origin_of(request),
            name=form.get("name"),
            email=form.get("email"),
            role=form.get("role") if user.is_admin else None,
            timezone=form.get("timezone"),
        )
    except DomainError as exc:
        member = c.accounts.get_member(user, user_id)
        return _render(
            request,
            "member_form.html",
            user,
            exc.status,
            member=member,
            values=form,
            errors=_errors(exc),
            timezones=TIMEZONES,
            nav="team",
        )
    return _redirect(request, "/team", f"Saved {member.name}.")


@router.post("/team/{user_id}/deactivate")
async def member_deactivate(request: Request, user_id: str) -> Response:
    user = _user(request)
    await _form(request)
    try:
        member = await _slow(
            _c(request).accounts.deactivate_member, user, user_id, origin=origin_of(request)
        )
    except DomainError as exc:
        return _redirect(request, f"/team/{quote(user_id)}", exc.message)
    return _redirect(request, "/team", f"{member.name} is deactivated and signed out.")


@router.post("/team/{user_id}/restore")
async def member_restore(request: Request, user_id: str) -> Response:
    user = _user(request)
    form = await _form(request)
    try:
        member = await _slow(
            _c(request).accounts.restore_member,
            user,
            user_id,
            password=form.get("password", ""),
            origin=origin_of(request),
        )
    except DomainError as exc:
        return _redirect(request, f"/team/{quote(user_id)}", exc.message)
    return _redirect(request, "/team", f"{member.name} is restored as a new login.")


# ---- own settings ----------------------------------------------------------------------------


@router.get("/settings/tokens")
async def tokens_page(request: Request) -> Response:
    user = _user(request)
    tokens = _c(request).accounts.list_api_tokens(user)
    return _render(
        request, "tokens.html", user, tokens=tokens, created=None, errors={}, nav="settings"
    )


@router.post("/settings/tokens")
async def token_create(request: Request) -> Response:
    user = _user(request)
    form = await _form(request)
    c = _c(request)
    created, errors, status = None, {}, 201
    try:
        created = await _slow(
            c.accounts.create_api_token, user, name=form.get("name", ""), origin=origin_of(request)
        )
    except DomainError as exc:
        errors, status = _errors(exc), exc.status
    tokens = c.accounts.list_api_tokens(user)
    # The secret is shown on this response only; it is never stored or shown again.
    return _render(
        request,
        "tokens.html",
        user,
        status,
        tokens=tokens,
        created=created,
        errors=errors,
        nav="settings",
    )


@router.post("/settings/tokens/{token_id}/revoke")
async def token_revoke(request: Request, token_id: str) -> Response:
    user = _user(request)
    await _form(request)
    token = await _slow(
        _c(request).accounts.revoke_api_token, user, token_id, origin=origin_of(request)
    )
    return _redirect(request, "/settings/tokens", f"Token “{token.name}” is revoked.")


@router.get("/settings/password")
async def password_page(request: Request) -> Response:
    return _render(request, "password.html", _user(request), errors={}, nav="settings")


@router.post("/settings/password")
async def password_change(request: Request) -> Response:
    user = _user(request)
    form = await _form(request)
    try:
        await _slow(
            _c(request).accounts.change_password,
            user,
            current=form.get("current_password", ""),
            new=form.get("new_password", ""),
            origin=origin_of(request),
            keep_session=request.cookies.get(SESSION_COOKIE),
        )
    except DomainError as exc:
        return _render(
            request, "password.html", user, exc.status, errors=_errors(exc), nav="settings"
        )
    return _redirect(request, "/team", "Your password is changed.")


@router.get("/audit")
async def audit_page(request: Request) -> Response:
    user = _user(request)
    before = request.query_params.get("before")
    before_id = int(before) if before and before.isdigit() and int(before) < 2**31 else None
    events = _c(request).accounts.list_audit(user, limit=50, before_id=before_id)
    return _render(request, "audit.html", user, events=events, nav="audit")


@router.get("/m/{module}")
async def coming_page(request: Request, module: str) -> Response:
    user = _user(request)
    if module not in COMING:
        return _render(request, "error.html", user, 404, message="There is no such page.")
    title, what = COMING[module]
    return _render(request, "coming.html", user, title=title, what=what, nav=module)


def error_page(request: Request, status: int, message: str) -> Response:
    raw = request.cookies.get(SESSION_COOKIE)
    user = _c(request).accounts.session_user(raw) if raw else None
    return _render(request, "error.html", user, status, message=message)


def install_page_handlers(app: FastAPI) -> None:
    @app.exception_handler(CsrfFailed)
    async def _csrf(request: Request, exc: CsrfFailed) -> Response:
        return error_page(
            request,
            403,
            "This form has expired or did not come from "
            "meetbridge. Go back, reload the page and try again.",
        )

"""What every page module uses: the signed-in user, the CSRF-checked form, rendering with the
flash message, redirects, the thread-pool hop for slow service calls, and the error pages.

Every form carries a CSRF token; every page works without JavaScript. A page handler is thin:
parse the form, call a service, render or redirect.

GET pages do one or two short indexed reads: they run on the event loop (`async def`), where a
thread-pool hop would cost more than the query. Anything that writes or is slow (argon2 hashes
take tens of ms, Zoom calls) goes through `in_thread`: a write on the event loop would stall
every request of the process while it waits for the database's write lock.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote, unquote

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool

from meetbridge.container import Container
from meetbridge.core.errors import DomainError, ValidationFailed
from meetbridge.core.models import ROLES, User
from meetbridge.core.security import csrf_token, csrf_valid, digest, new_token

T = TypeVar("T")
HERE = Path(__file__).resolve().parent
STATIC_DIR = HERE / "static"
SESSION_COOKIE = "mb_session"
ANON_COOKIE = "mb_anon"
FLASH_COOKIE = "mb_flash"
templates = Jinja2Templates(directory=HERE / "templates")
TIMEZONES = sorted(zoneinfo.available_timezones())

# Modules that arrive with later work; the navigation shows them already, honestly marked.
COMING: dict[str, tuple[str, str]] = {}


class SignInRequired(Exception):
    """Raised by `signed_in_user`; answered with a redirect to the sign-in page."""


class CsrfFailed(Exception):
    """Raised by `posted_form`; answered with a 403 page."""


async def in_thread(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Runs a service call that writes or is slow in the thread pool, off the event loop."""
    return await run_in_threadpool(fn, *args, **kwargs)


def container(request: Request) -> Container:
    c: Container = request.app.state.container
    return c


def signed_in_user(request: Request) -> User:
    """The user of the request's session; `SignInRequired` if there is none."""
    raw = request.cookies.get(SESSION_COOKIE)
    user = container(request).signin.session_user(raw) if raw else None
    if user is None:
        raise SignInRequired
    return user


def _binding(request: Request) -> str:
    raw = request.cookies.get(SESSION_COOKIE) or request.cookies.get(ANON_COOKIE) or ""
    return digest(raw) if raw else ""


async def posted_form(request: Request) -> dict[str, str]:
    """The posted form, after the CSRF check."""
    form = await request.form()
    data = {k: v for k, v in form.items() if isinstance(v, str)}
    secret = container(request).settings.secret_key.get_secret_value()
    if not csrf_valid(secret, _binding(request), data.get("csrf_token")):
        raise CsrfFailed
    for key, value in data.items():
        if "\x00" in value:  # PostgreSQL cannot store text with NUL
            raise ValidationFailed(key, "must not contain NUL characters")
    return data


def render(
    request: Request, name: str, user: User | None, status: int = 200, **ctx: Any
) -> HTMLResponse:
    """A page from `templates/`, with the CSRF token, the roles and the flash message."""
    secret = container(request).settings.secret_key.get_secret_value()
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
        set_cookie(request, resp, ANON_COOKIE, anon_nonce)
    if flash:
        resp.delete_cookie(FLASH_COOKIE)
    return resp


def set_cookie(request: Request, resp: Response, name: str, value: str, **kw: Any) -> None:
    resp.set_cookie(
        name,
        value,
        httponly=True,
        samesite="lax",
        secure=container(request).settings.secure_cookies,
        **kw,
    )


def redirect(request: Request, to: str, flash: str | None = None) -> RedirectResponse:
    """A 303 to `to`, with a message the next page shows once."""
    resp = RedirectResponse(to, status_code=303)
    if flash:
        set_cookie(request, resp, FLASH_COOKIE, quote(flash), max_age=60)
    return resp


def field_errors(exc: DomainError) -> dict[str, str]:
    """The error's reasons by form field (`_` for the form as a whole)."""
    return {e.field: e.reason for e in exc.errors} or {"_": exc.message}


def error_page(request: Request, status: int, message: str) -> Response:
    raw = request.cookies.get(SESSION_COOKIE)
    user = container(request).signin.session_user(raw) if raw else None
    return render(request, "error.html", user, status, message=message)


def install_page_handlers(app: FastAPI) -> None:
    @app.exception_handler(CsrfFailed)
    async def _csrf(request: Request, exc: CsrfFailed) -> Response:
        return error_page(
            request,
            403,
            "This form has expired or did not come from "
            "meetbridge. Go back, reload the page and try again.",
        )

    @app.exception_handler(SignInRequired)
    async def _sign_in(request: Request, exc: SignInRequired) -> Response:
        return Response(status_code=303, headers={"location": "/signin"})

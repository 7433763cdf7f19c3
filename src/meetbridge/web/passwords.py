"""The pages one-time links open: Forgot password, choosing a password, and confirming a new
e-mail address."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import Response

from meetbridge.core.errors import DomainError
from meetbridge.web.http import origin_of
from meetbridge.web.kit import (
    container,
    field_errors,
    in_thread,
    posted_form,
    redirect,
    render,
    signed_in_user,
)

router = APIRouter(include_in_schema=False)
SENT = (
    "If {email} has a meetbridge login, an e-mail with a link to choose a new password is on "
    "its way. The link works once, for an hour."
)


@router.get("/password/forgot")
async def forgot_page(request: Request) -> Response:
    return render(request, "password_forgot.html", None, email="", sent=None)


@router.post("/password/forgot")
async def forgot(request: Request) -> Response:
    form = await posted_form(request)
    email = form.get("email", "").strip()[:254]
    await in_thread(container(request).passwords.request_reset, email, origin_of(request))
    # The same answer whether or not the address has a login.
    return render(request, "password_forgot.html", None, email=email, sent=SENT.format(email=email))


@router.get("/password/set")
async def set_page(request: Request, token: str = "") -> Response:
    user = container(request).passwords.user_for(token)
    return _private(render(request, "password_set.html", None, token=token, person=user, errors={}))


def _private(resp: Response) -> Response:
    """The page's address holds a one-time token: not cached, not sent on as a Referer."""
    resp.headers["Cache-Control"] = "no-store"
    resp.headers["Referrer-Policy"] = "no-referrer"
    return resp


@router.post("/password/set")
async def set_password(request: Request) -> Response:
    form = await posted_form(request)
    token = form.get("token", "")
    c = container(request)
    try:
        await in_thread(
            c.passwords.use, token, form.get("new_password", "")[:256], origin_of(request)
        )
    except DomainError as exc:
        return _private(
            render(
                request,
                "password_set.html",
                None,
                exc.status,
                token=token,
                person=c.passwords.user_for(token),
                errors=field_errors(exc),
            )
        )
    return redirect(request, "/signin", "Your password is set. Sign in with it now.")


@router.get("/email/confirm")
async def email_confirm_page(request: Request, token: str = "") -> Response:
    # Opening the link only shows the change: a mail scanner that follows links changes nothing.
    found = container(request).email_changes.pending(token)
    return _private(render(request, "email_confirm.html", None, token=token, found=found))


@router.post("/email/confirm")
async def email_confirm(request: Request) -> Response:
    form = await posted_form(request)
    token = form.get("token", "")
    c = container(request)
    try:
        user = await in_thread(c.email_changes.confirm, token, origin_of(request))
    except DomainError as exc:
        return _private(
            render(
                request,
                "email_confirm.html",
                None,
                exc.status,
                token=token,
                found=None,
                error=exc.message,
            )
        )
    return redirect(request, "/signin", f"Your address is now {user.email}. Sign in with it.")


@router.post("/team/{user_id}/password-reset")
async def send_reset(request: Request, user_id: str) -> Response:
    user = signed_in_user(request)
    await posted_form(request)
    c = container(request)
    try:
        await in_thread(c.passwords.send_reset, user, user_id, origin_of(request))
    except DomainError as exc:
        return redirect(request, f"/team/{quote(user_id)}", exc.message)
    member = c.accounts.get_member(user, user_id)
    return redirect(
        request,
        f"/team/{quote(user_id)}",
        f"A link to choose a new password went to {member.email}.",
    )

"""Settings → Integrations → Zoom: connect and disconnect your own Zoom, the organisation's
Zoom account (admin OAuth, or Server-to-Server with "Test Zoom"), and the team's
connections."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from meetbridge.core.errors import DomainError
from meetbridge.core.models import User
from meetbridge.web.http import origin_of
from meetbridge.web.kit import (
    container,
    in_thread,
    posted_form,
    redirect,
    render,
    signed_in_user,
)

router = APIRouter(include_in_schema=False)


def request_settings_values(req: Any) -> dict[str, str]:
    """The form's values for the saved Zoom settings for requests."""
    values = {
        "lead_minutes": str(req.lead_minutes),
        "padding_minutes": str(req.padding_minutes),
        "host_pool": "\n".join(req.host_pool or []),
    }
    for role in req.host_link_roles or []:
        values[f"role_{role}"] = "on"
    return values


def page(request: Request, user: User, status: int = 200, **ctx: object) -> Response:
    c = container(request)
    conn = c.connections.my_connection(user)
    team: list[tuple[object, User | None]] = []
    if user.is_admin:
        members = {m.id: m for m in c.accounts.list_members(user, include_inactive=True)}
        team = [(x, members.get(x.user_id or "")) for x in c.connections.connections(user)]
    ctx.setdefault("account_values", {})
    ctx.setdefault("test", None)
    if user.is_admin:  # the Zoom settings for requests (web/requests.py saves them)
        req = c.requests.settings_of(user.org_id)
        ctx["req_settings"] = req
        ctx.setdefault("req_values", request_settings_values(req))
        ctx.setdefault("req_errors", {})
    return render(
        request,
        "integrations.html",
        user,
        status,
        conn=conn,
        account=c.connections.account_connection(user) if user.is_admin else None,
        team=team,
        settings=c.settings,
        nav="integrations",
        **ctx,
    )


@router.get("/integrations/zoom")
async def integrations(request: Request) -> Response:
    return page(request, signed_in_user(request))


@router.post("/integrations/zoom/connect")
async def connect(request: Request) -> Response:
    user = signed_in_user(request)
    await posted_form(request)
    url = await in_thread(container(request).connections.start_connect, user)
    return RedirectResponse(url, status_code=303)


@router.get("/integrations/zoom/callback")
async def callback(request: Request) -> Response:
    user = signed_in_user(request)
    q = request.query_params
    try:
        conn = await in_thread(
            container(request).connections.finish_connect,
            user,
            state=q.get("state"),
            code=q.get("code"),
            error=q.get("error"),
            origin=origin_of(request),
        )
    except DomainError as exc:
        return page(request, user, exc.status, connect_error=exc.message)
    return redirect(request, "/integrations/zoom", f"Zoom is connected as {conn.zoom_email}.")


@router.get("/integrations/zoom/disconnect")
async def disconnect_confirm(request: Request) -> Response:
    user = signed_in_user(request)
    conn = container(request).connections.my_connection(user)
    return render(request, "zoom_disconnect.html", user, conn=conn, nav="integrations")


@router.post("/integrations/zoom/disconnect")
async def disconnect(request: Request) -> Response:
    user = signed_in_user(request)
    await posted_form(request)
    try:
        await in_thread(container(request).connections.disconnect, user, origin_of(request))
    except DomainError as exc:
        return redirect(request, "/integrations/zoom", exc.message)
    return redirect(
        request,
        request.query_params.get("back", "/integrations/zoom")
        if request.query_params.get("back") == "/team"
        else "/integrations/zoom",
        "Zoom is disconnected: meetbridge's access is revoked and its tokens are "
        "deleted. Meetings already created stay, here and in Zoom; connect the same Zoom "
        "user again to edit them.",
    )


@router.post("/integrations/zoom/account")
async def account_test_and_save(request: Request) -> Response:
    """ "Test Zoom": fetch a token, check scopes, look up a user; when all pass, save."""
    user = signed_in_user(request)
    form = await posted_form(request)
    c = container(request)
    values = {k: form.get(k, "") for k in ("account_id", "client_id")}
    secret = form.get("client_secret", "")
    result = await in_thread(
        c.connections.test_account, user, values["account_id"], values["client_id"], secret
    )
    if not result.ok:
        return page(request, user, 400, test=result, account_values=values)
    await in_thread(
        c.connections.save_account,
        user,
        values["account_id"],
        values["client_id"],
        secret,
        origin_of(request),
    )
    return redirect(
        request,
        "/integrations/zoom",
        f"{result.message} The Zoom account is "
        "saved; the client secret is stored encrypted and not shown again.",
    )


@router.post("/integrations/zoom/account/connect")
async def account_connect(request: Request) -> Response:
    """Connect with Zoom (admin OAuth): off to Zoom's consent page for the admin app."""
    user = signed_in_user(request)
    await posted_form(request)
    url = await in_thread(container(request).connections.start_admin_connect, user)
    return RedirectResponse(url, status_code=303)


@router.get("/integrations/zoom/account/callback")
async def account_callback(request: Request) -> Response:
    """Zoom's redirect back from the admin app's consent page."""
    user = signed_in_user(request)
    q = request.query_params
    try:
        conn = await in_thread(
            container(request).connections.finish_admin_connect,
            user,
            state=q.get("state"),
            code=q.get("code"),
            error=q.get("error"),
            origin=origin_of(request),
        )
    except DomainError as exc:  # shown in the account's section (a member's: their own)
        where = "account_error" if user.is_admin else "connect_error"
        return page(request, user, exc.status, **{where: exc.message})
    return redirect(
        request,
        "/integrations/zoom",
        f"The Zoom account {conn.zoom_account_id} is connected through admin OAuth, "
        f"authorized by {conn.zoom_email}.",
    )


@router.post("/integrations/zoom/account/members")
async def account_members(request: Request) -> Response:
    """Whether members (not only admins) may schedule for any licensed user of the account."""
    user = signed_in_user(request)
    form = await posted_form(request)
    allowed = form.get("members_may_schedule") == "on"
    await in_thread(
        container(request).connections.set_members_may_schedule, user, allowed, origin_of(request)
    )
    return redirect(
        request,
        "/integrations/zoom",
        "Members may now schedule for any licensed user of the Zoom account."
        if allowed
        else "Only admins schedule for other hosts of the Zoom account.",
    )


@router.post("/integrations/zoom/account/disconnect")
async def account_disconnect(request: Request) -> Response:
    user = signed_in_user(request)
    await posted_form(request)
    await in_thread(container(request).connections.disconnect_account, user, origin_of(request))
    return redirect(request, "/integrations/zoom", "The Zoom account is disconnected.")


@router.post("/integrations/zoom/connections/{connection_id}/release")
async def release(request: Request, connection_id: str) -> Response:
    user = signed_in_user(request)
    await posted_form(request)
    try:
        await in_thread(
            container(request).connections.release, user, connection_id, origin_of(request)
        )
    except DomainError as exc:
        return redirect(request, "/integrations/zoom", exc.message)
    return redirect(request, "/integrations/zoom", "The Zoom account is released.")

"""The Zoom-side pages: sign-in of sandbox Zoom users, the OAuth consent page, "Manage → Added
Apps", and a host's meetings (edit, delete, start, end), so the product's sync with changes made
in Zoom can be tested and shown."""

from __future__ import annotations

import datetime as dt
import html
import secrets
import zoneinfo
from typing import Any
from urllib.parse import urlencode, urlsplit

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from meetbridge_sandbox.core import Sandbox, ZoomError
from meetbridge_sandbox.state import UTC, Meeting, User

COOKIE = "zsb_session"
SCOPE_TEXT = {
    "meeting:write": "Create, update and delete your meetings",
    "meeting:read": "View your meetings",
    "user:read": "View your user information",
    "user_info:read": "View your basic profile",
    "recording:read": "View your cloud recordings",
    # Granular, account-wide (the admin-managed app's).
    "meeting:read:list_meetings:admin": "View the meetings of every user on the account",
    "meeting:read:meeting:admin": "View any meeting on the account",
    "meeting:write:meeting:admin": "Create meetings for any user on the account",
    "meeting:update:meeting:admin": "Update any meeting on the account",
    "meeting:delete:meeting:admin": "Delete any meeting on the account",
    "meeting:read:list_registrants:admin": "View the registrants of any meeting",
    "meeting:write:registrant:admin": "Register people for any meeting",
    "user:read:list_users:admin": "View the account's users",
    "user:read:user:admin": "View any user's information",
    "user:write:user:admin": "Add users to the account",
    "cloud_recording:read:list_recording_files:admin": "View any meeting's cloud recordings",
    "cloud_recording:read:list_user_recordings:admin": "View every user's cloud recordings",
}
# Who may authorize an admin-managed app: the account's owner or an admin (Zoom checks the
# installer's role; a member with no admin role cannot add such an app: community.zoom.com
# t5/Zoom-App-Marketplace/.../m-p/215195, ZOOM_API_FACTS.md §1 "User-level vs account-level").
ADMIN_ROLES = ("Owner", "Admin")
# What Zoom shows a member who tries (quoted in devforum.zoom.us/t/50993, "Zoom app
# authorisation changes"). Zoom shows it on its own page and sends nothing back to the app.
ADMIN_REQUIRED = (
    "An account admin is required to install this type of app. Please contact your account "
    "admin or IT administrator to install this app."
)
STYLE = """
body{font-family:system-ui,sans-serif;margin:0;background:#f4f6fa;color:#232333}
header{background:#0b5cff;color:#fff;padding:.8rem 1.5rem;font-weight:700}
header small{font-weight:400;opacity:.8;margin-left:.5rem}
main{max-width:760px;margin:2rem auto;background:#fff;border-radius:12px;padding:1.5rem 2rem;
box-shadow:0 2px 12px rgba(0,0,0,.08)}
button,.btn{font:inherit;padding:.5rem 1rem;border-radius:8px;border:1px solid #ccd;background:#fff;
cursor:pointer}.primary{background:#0b5cff;color:#fff;border-color:#0b5cff}
.danger{color:#c00}label{display:block;margin:.6rem 0}input{font:inherit;padding:.4rem;width:100%;
box-sizing:border-box}table{width:100%;border-collapse:collapse}td,th{padding:.4rem;
border-bottom:1px solid #eee;text-align:left}.error{color:#c00}.row{display:flex;gap:.6rem}
"""


def page(title: str, body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)} · Zoom "
        f"sandbox</title><style>{STYLE}</style></head><body><header>zoom<small>sandbox</small>"
        f"</header><main><h1>{html.escape(title)}</h1>{body}</main></body></html>",
        status_code=status,
    )


def e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _sessions(request: Request) -> dict[str, tuple[str, str]]:
    store: dict[str, tuple[str, str]] = request.app.state.__dict__.setdefault("_sessions", {})
    return store


def signed_in(request: Request) -> tuple[User, str] | None:
    sid = request.cookies.get(COOKIE)
    entry = _sessions(request).get(sid or "")
    if not entry:
        return None
    sb: Sandbox = request.app.state.sandbox
    user = sb.state.users.get(entry[0])
    return (user, entry[1]) if user else None


def _csrf(value: str) -> str:
    return f"<input type='hidden' name='csrf' value='{e(value)}'>"


async def _form(request: Request, csrf: str | None) -> dict[str, str] | None:
    form = await request.form()
    data = {k: v for k, v in form.items() if isinstance(v, str)}
    if csrf is not None and not secrets.compare_digest(data.get("csrf", ""), csrf):
        return None
    return data


def own_path(target: str) -> str:
    """Where sign-in may send the browser: a path on the sandbox itself. `//host`, `/\\host`
    and anything with a scheme or host would leave it (an open redirect)."""
    parts = urlsplit(target)
    if (
        not target.startswith("/")
        or target.startswith(("//", "/\\"))
        or parts.scheme
        or parts.netloc
        or any(c in target for c in "\\\r\n\t")
    ):
        return "/meetings"
    return target


# ---- sign-in ---------------------------------------------------------------------------------


async def signin(request: Request) -> Response:
    sb: Sandbox = request.app.state.sandbox
    nxt = own_path(request.query_params.get("next", ""))
    error = ""
    if request.method == "POST":
        form = await _form(request, None) or {}
        user = sb.state.user_by_email(form.get("email", ""))
        if (
            user
            and user.status == "active"
            and secrets.compare_digest(user.password, form.get("password", ""))
        ):
            sid = secrets.token_urlsafe(24)
            _sessions(request)[sid] = (user.id, secrets.token_urlsafe(16))
            resp = RedirectResponse(nxt, status_code=303)
            resp.set_cookie(COOKIE, sid, httponly=True, samesite="lax")
            return resp
        error = "<p class='error' role='alert'>Incorrect e-mail or password.</p>"
    return page(
        "Sign in to Zoom",
        f"""{error}
<form method="post"><label>Email <input name="email" type="email" required autofocus></label>
<label>Password <input name="password" type="password" required></label>
<button class="primary">Sign In</button></form>
<p><small>Sandbox users: dana@ (the owner), maria@, sam@, priya@ (an admin), li@ and
basil@zoom-sandbox.test, password <code>sandbox-password</code>.</small></p>""",
    )


# ---- OAuth consent -----------------------------------------------------------------------------


async def authorize(request: Request) -> Response:
    """GET shows the consent page (after sign-in); POST records Allow or Deny."""
    sb: Sandbox = request.app.state.sandbox
    q = (
        dict(request.query_params)
        if request.method == "GET"
        else {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    )
    app = sb.state.apps.get(q.get("client_id", ""))
    if app is None or app.kind not in ("user", "admin"):
        return page("Invalid client_id", "<p class='error'>The app was not found (4,700).</p>", 400)
    redirect_uri = q.get("redirect_uri", "")
    if redirect_uri not in app.redirect_uris:
        # Zoom does not redirect to an unregistered URI; it shows an error.
        return page(
            "Invalid redirect",
            "<p class='error'>The redirect URI is not on this app's allow list.</p>",
            400,
        )
    state = q.get("state")

    def back(**params: str) -> Response:
        if state is not None:
            params["state"] = state
        sep = "&" if "?" in redirect_uri else "?"
        return RedirectResponse(f"{redirect_uri}{sep}{urlencode(params)}", status_code=302)

    if q.get("response_type") != "code":
        return back(error="unsupported_response_type")
    method = q.get("code_challenge_method") or "plain"
    challenge = q.get("code_challenge")
    if challenge is not None and method not in ("S256", "plain"):
        return back(error="invalid_request", error_description="code_challenge_method")
    requested = q.get("scope", "").replace(",", " ").split() or list(app.scopes)
    if not set(requested) <= set(app.scopes):
        return back(error="invalid_scope")
    who = signed_in(request)
    if who is None:
        return RedirectResponse(
            "/signin?" + urlencode({"next": str(request.url.path) + "?" + urlencode(q)}),
            status_code=303,
        )
    user, csrf = who
    if app.kind == "admin" and user.role_name not in ADMIN_ROLES:
        return page(
            "You cannot install this app",
            f"<p>Signed in as <strong>{e(user.email)}</strong>.</p>"
            f"<p class='error' role='alert'>{e(ADMIN_REQUIRED)}</p>",
            403,
        )
    if request.method == "POST":
        if not secrets.compare_digest(q.get("csrf", ""), csrf):
            return page("Expired", "<p class='error'>Reload the page and try again.</p>", 403)
        if q.get("decision") != "allow":
            return back(error="access_denied")
        code = sb.issue_code(app, user, redirect_uri, requested, challenge, method)
        return back(code=code)
    hidden = "".join(f"<input type='hidden' name='{e(k)}' value='{e(v)}'>" for k, v in q.items())
    items = "".join(
        f"<li><code>{e(s)}</code> — "
        f"{e(SCOPE_TEXT.get(s) or SCOPE_TEXT.get(s.removesuffix(':admin'), s))}</li>"
        for s in requested
    )
    everyone = " and every user on it" if app.kind == "admin" else ""
    return page(
        f"{app.name} would like to access your Zoom account{everyone}",
        f"""
<p>Signed in as <strong>{e(user.email)}</strong>.</p>
<p>This app is requesting the following permissions:</p><ul class="scopes">{items}</ul>
<form method="post" action="/oauth/authorize">{hidden}{_csrf(csrf)}<div class="row">
<button class="primary" name="decision" value="allow">Allow</button>
<button name="decision" value="deny">Decline</button></div></form>""",
    )


# ---- Manage → Added Apps -------------------------------------------------------------------


async def added_apps(request: Request) -> Response:
    sb: Sandbox = request.app.state.sandbox
    who = signed_in(request)
    if who is None:
        return RedirectResponse("/signin?next=/marketplace/user/installed", status_code=303)
    user, csrf = who
    notice = ""
    if request.method == "POST":
        form = await _form(request, csrf)
        if form is None:
            return page("Expired", "<p class='error'>Reload the page and try again.</p>", 403)
        client_id = form.get("client_id", "")
        if f"{client_id}/{user.id}" in sb.state.grants:
            sb.deauthorize(client_id, user.id, user_data_retention=form.get("retain") == "on")
            notice = "<p role='status'>The app was removed.</p>"
    rows = ""
    for g in sb.state.grants.values():
        if g.user_id != user.id:
            continue
        app = sb.state.apps[g.client_id]
        added = dt.datetime.fromtimestamp(g.granted_at, UTC).strftime("%Y-%m-%d")
        rows += f"""<tr><td>{e(app.name)}</td><td>{e(added)}</td><td>
<form method="post">{_csrf(csrf)}<input type="hidden" name="client_id" value="{e(app.client_id)}">
<label><input type="checkbox" name="retain" style="width:auto"> Let the app keep my data</label>
<button class="danger">Remove</button></form></td></tr>"""
    table = (
        f"<table><tr><th>App</th><th>Added</th><th></th></tr>{rows}</table>"
        if rows
        else "<p>You have not added any apps.</p>"
    )
    return page("Added Apps", notice + table)


# ---- a host's meetings --------------------------------------------------------------------------


def edit_in_zoom(sb: Sandbox, m: Meeting, changes: dict[str, Any]) -> None:
    """A change the host makes in Zoom's own UI: it counts like any update and raises
    meeting.updated (its start_time as Zoom writes it, a UTC date string)."""
    host = sb.state.users[m.host_id]
    sb.change(m, sb._meeting_fields(changes, host, creating=False), host)


def _local(m: Meeting) -> str:
    tz = zoneinfo.ZoneInfo(m.timezone)
    return dt.datetime.fromtimestamp(m.start_time or 0, tz).strftime("%Y-%m-%dT%H:%M")


async def meetings(request: Request) -> Response:
    sb: Sandbox = request.app.state.sandbox
    who = signed_in(request)
    if who is None:
        return RedirectResponse("/signin?next=/meetings", status_code=303)
    user, csrf = who
    notice = ""
    if request.method == "POST":
        form = await _form(request, csrf)
        if form is None:
            return page("Expired", "<p class='error'>Reload the page and try again.</p>", 403)
        m = sb.find_meeting(form.get("meeting_id", ""))
        if m is None or m.host_id != user.id:
            return page("Not found", "<p class='error'>No such meeting.</p>", 404)
        action = form.get("action")
        try:
            if action == "save":
                tz = zoneinfo.ZoneInfo(m.timezone)
                local = dt.datetime.fromisoformat(form.get("start", "")).replace(tzinfo=tz)
                edit_in_zoom(
                    sb,
                    m,
                    {
                        "topic": form.get("topic", m.topic),
                        "duration": int(form.get("duration", m.duration)),
                        "start_time": local.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                    },
                )
                notice = "Meeting saved."
            elif action == "delete":
                sb.remove_meeting(m)
                notice = "Meeting deleted."
            elif action == "start":
                sb.start_meeting(m)
                notice = "Meeting started."
            elif action == "end":
                sb.end_meeting(m, record=form.get("record") == "on")
                notice = "Meeting ended."
        except (ZoomError, ValueError) as exc:
            notice = f"Could not {action}: {exc}"
        notice = f"<p role='status'>{e(notice)}</p>"
    rows = ""
    mine = sorted(
        (m for m in sb.state.meetings.values() if m.host_id == user.id and not m.deleted),
        key=lambda m: m.start_time or 0,
    )
    for m in mine:
        hidden = f"{_csrf(csrf)}<input type='hidden' name='meeting_id' value='{m.id}'>"
        live = m.status == "started"
        rows += f"""<tr data-meeting-id="{m.id}"><td colspan="2"><form method="post">{hidden}
<div class="row"><input name="topic" value="{e(m.topic)}" aria-label="Topic" maxlength="200">
<input name="start" type="datetime-local" value="{_local(m)}" aria-label="Start">
<input name="duration" type="number" min="0" value="{m.duration}" aria-label="Duration"
style="width:6rem"></div>
<div class="row"><span>{m.id} · {e(m.timezone)} · {"live" if live else "not started"}</span>
<button name="action" value="save">Save</button>
<button name="action" value="{"end" if live else "start"}">{"End" if live else "Start"}</button>
{"<label><input type='checkbox' name='record' style='width:auto'> record</label>" if live else ""}
<button name="action" value="delete" class="danger">Delete</button></div></form></td></tr>"""
    body = notice + (f"<table>{rows}</table>" if rows else "<p>No upcoming meetings.</p>")
    return page(f"Meetings of {user.first_name} {user.last_name}", body)


async def join(request: Request) -> Response:
    sb: Sandbox = request.app.state.sandbox
    m = sb.find_meeting(request.path_params["meeting_id"])
    if m is None:
        return page("Meeting not found", "<p class='error'>This meeting ID is not valid.</p>", 404)
    if request.query_params.get("pwd") != sb._pwd_token(m):
        return page(m.topic, "<p>Enter the meeting passcode to join.</p>", 401)
    state = "in progress" if m.status == "started" else "waiting for the host to start it"
    return page(m.topic, f"<p>Meeting {m.id} is {state}.</p>")


async def start(request: Request) -> Response:
    sb: Sandbox = request.app.state.sandbox
    m = sb.find_meeting(request.path_params["meeting_id"])
    if m is None or not sb.start_url_valid(m, request.query_params.get("zak", "")):
        return page(
            "Link expired",
            "<p class='error'>This start link has expired. Get a new "
            "one from the app that scheduled the meeting.</p>",
            403,
        )
    try:
        sb.start_meeting(m)
    except ZoomError as exc:
        return page(m.topic, f"<p class='error'>{e(exc.message)}</p>", 409)
    return page(m.topic, f"<p>You are hosting meeting {m.id}.</p>")


def routes() -> list[Route]:
    return [
        Route("/signin", signin, methods=["GET", "POST"]),
        Route("/oauth/authorize", authorize, methods=["GET", "POST"]),
        Route("/marketplace/user/installed", added_apps, methods=["GET", "POST"]),
        Route("/meetings", meetings, methods=["GET", "POST"]),
        Route("/j/{meeting_id}", join, methods=["GET"]),
        Route("/s/{meeting_id}", start, methods=["GET"]),
    ]

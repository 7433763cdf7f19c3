"""The control API under /_sandbox (tests and demos; not part of Zoom)."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from meetbridge_sandbox import pages
from meetbridge_sandbox.access import ROLE_IDS
from meetbridge_sandbox.config import DEMO_USER_PASSWORD
from meetbridge_sandbox.core import Sandbox, ZoomError
from meetbridge_sandbox.faults import Faults
from meetbridge_sandbox.http import Handler
from meetbridge_sandbox.state import Account, App, User, iso, zoom_id

LOOPBACK = ("127.", "::1", "::ffff:127.")


def from_loopback(request: Request) -> bool:
    host = request.client.host if request.client else ""
    return host.startswith(LOOPBACK) or host == "localhost"


def control(fn: Callable[[Request, Sandbox], Awaitable[Any]]) -> Handler:
    """A control call: anyone who reaches it can reset the sandbox, read every token and
    move its clock, so it answers loopback only unless the sandbox was started with
    `--control-from-anywhere` (MEETBRIDGE_SANDBOX_CONTROL_FROM_ANYWHERE=1)."""

    async def handler(request: Request) -> Response:
        sb: Sandbox = request.app.state.sandbox
        if not sb.config.control_from_anywhere and not from_loopback(request):
            return JSONResponse(
                {"error": "the sandbox's control API answers loopback only"}, status_code=403
            )
        try:
            result = await fn(request, request.app.state.sandbox)
        except (ValueError, TypeError, KeyError) as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        except LookupError as exc:
            return JSONResponse({"error": str(exc)}, status_code=404)
        if isinstance(result, Response):
            return result
        return JSONResponse(result)

    return handler


async def _body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    body = json.loads(raw) if raw else {}
    if not isinstance(body, dict):
        raise ValueError("the body must be a JSON object")
    return body


@control
async def c_reset(request: Request, sb: Sandbox) -> Any:
    sb.reset()
    request.app.state.faults.clear()
    return {"status": "reset"}


@control
async def c_summary(request: Request, sb: Sandbox) -> Any:
    s = sb.state
    return {
        "now": iso(sb.clock.now()),
        "clock_offset": sb.clock.offset,
        "accounts": [vars(a) for a in s.accounts.values()],
        "users": [{k: v for k, v in vars(u).items() if k != "password"} for u in s.users.values()],
        "apps": [
            {k: v for k, v in vars(a).items() if k != "client_secret"} for a in s.apps.values()
        ],
        "grants": [vars(g) for g in s.grants.values()],
        "meetings": len([m for m in s.meetings.values() if not m.deleted]),
        "deliveries": len(s.deliveries),
    }


@control
async def c_account_create(request: Request, sb: Sandbox) -> Any:
    b = await _body(request)
    acct = Account(
        id=b.get("id") or zoom_id(9),
        name=b.get("name", "Sandbox account"),
        plan=b.get("plan", "pro"),
        rate_limit_multiplier=float(b.get("rate_limit_multiplier", 1.0)),
    )
    if acct.plan not in ("basic", "pro", "business"):
        raise ValueError("plan must be basic, pro or business")
    sb.state.accounts[acct.id] = acct
    sb.save()
    return vars(acct)


@control
async def c_account_update(request: Request, sb: Sandbox) -> Any:
    acct = sb.state.accounts.get(request.path_params["account_id"])
    if acct is None:
        raise LookupError("no such account")
    b = await _body(request)
    if "plan" in b:
        if b["plan"] not in ("basic", "pro", "business"):
            raise ValueError("plan must be basic, pro or business")
        acct.plan = b["plan"]
    if "rate_limit_multiplier" in b:
        acct.rate_limit_multiplier = float(b["rate_limit_multiplier"])
    sb.save()
    return vars(acct)


@control
async def c_user_create(request: Request, sb: Sandbox) -> Any:
    account_id = request.path_params["account_id"]
    if account_id not in sb.state.accounts:
        raise LookupError("no such account")
    b = await _body(request)
    if sb.state.user_by_email(b["email"]):
        raise ValueError("a user with this e-mail exists")
    user = User(
        id=b.get("id") or zoom_id(),
        account_id=account_id,
        email=b["email"],
        first_name=b.get("first_name", ""),
        last_name=b.get("last_name", ""),
        type=int(b.get("type", 2)),
        status=b.get("status", "active"),
        timezone=b.get("timezone", "America/New_York"),
        password=b.get("password", DEMO_USER_PASSWORD),
        created_at=sb.clock.time(),
        role_name=_role(b.get("role_name", "Member")),
    )
    sb.state.users[user.id] = user
    sb.save()
    return {k: v for k, v in vars(user).items() if k != "password"}


def _role(value: object) -> str:
    if value not in ROLE_IDS:
        raise ValueError(f"role_name must be one of {', '.join(ROLE_IDS)}")
    return str(value)


@control
async def c_user_update(request: Request, sb: Sandbox) -> Any:
    """A change an owner makes in Zoom's admin pages: a user's role (an admin demoted to
    member, say), status or licence type."""
    user = sb.state.users.get(request.path_params["user_id"]) or sb.state.user_by_email(
        request.path_params["user_id"]
    )
    if user is None:
        raise LookupError("no such user")
    b = await _body(request)
    if "role_name" in b:
        user.role_name = _role(b["role_name"])
    if "status" in b:
        if b["status"] not in ("active", "inactive", "pending"):
            raise ValueError("status must be active, inactive or pending")
        user.status = b["status"]
    if "type" in b:
        user.type = int(b["type"])
    sb.save()
    return {k: v for k, v in vars(user).items() if k != "password"}


APP_FIELDS = (
    "scopes",
    "redirect_uris",
    "webhook_url",
    "webhook_secret",
    "events",
    "deauth_url",
    "name",
)


@control
async def c_app_create(request: Request, sb: Sandbox) -> Any:
    b = await _body(request)
    if b.get("kind") not in ("user", "admin", "s2s"):
        raise ValueError("kind must be user, admin or s2s")
    if b.get("account_id") not in sb.state.accounts:
        raise ValueError("account_id must name an account")
    app = App(
        client_id=b.get("client_id") or zoom_id(12),
        client_secret=b.get("client_secret") or zoom_id(24),
        kind=b["kind"],
        account_id=b["account_id"],
        name=b.get("name", "Sandbox app"),
        scopes=list(b.get("scopes", [])),
    )
    for f in APP_FIELDS[1:]:
        if f in b:
            setattr(app, f, b[f])
    sb.state.apps[app.client_id] = app
    sb.save()
    out = dict(vars(app))
    if app.webhook_url:
        out["validation"] = await request.app.state.dispatcher.validate(app)
    return out


@control
async def c_app_update(request: Request, sb: Sandbox) -> Any:
    app = sb.state.apps.get(request.path_params["client_id"])
    if app is None:
        raise LookupError("no such app")
    b = await _body(request)
    for f in APP_FIELDS:
        if f in b:
            setattr(app, f, b[f])
    if b.get("client_secret"):  # "Regenerate" on the app's credentials page: the old one dies
        app.client_secret = str(b["client_secret"])
    sb.save()
    out = dict(vars(app))
    if "webhook_url" in b and app.webhook_url:
        out["validation"] = await request.app.state.dispatcher.validate(app)
    return out


@control
async def c_app_validate(request: Request, sb: Sandbox) -> Any:
    app = sb.state.apps.get(request.path_params["client_id"])
    if app is None or not app.webhook_url:
        raise LookupError("no such app, or it has no webhook URL")
    return await request.app.state.dispatcher.validate(app)


@control
async def c_meetings(request: Request, sb: Sandbox) -> Any:
    host = request.query_params.get("host")
    include_deleted = request.query_params.get("include_deleted") == "true"
    user = (sb.state.users.get(host) or sb.state.user_by_email(host)) if host else None
    if host and user is None:
        raise LookupError("no such host")
    out = []
    for m in sb.state.meetings.values():
        if (user and m.host_id != user.id) or (m.deleted and not include_deleted):
            continue
        row = sb.meeting_json(m)
        row.update(
            deleted=m.deleted,
            registrants=[vars(r) for r in m.registrants],
            recording_files=m.recording_files,
            started_at=m.started_at,
            ended_at=m.ended_at,
            create_ms=m.create_ms,
        )
        out.append(row)
    return out


def _meeting_or_404(sb: Sandbox, request: Request) -> Any:
    m = sb.find_meeting(request.path_params["meeting_id"])
    if m is None:
        raise LookupError("no such meeting")
    return m


@control
async def c_meeting_action(request: Request, sb: Sandbox) -> Any:
    m = _meeting_or_404(sb, request)
    action = request.path_params["action"]
    try:
        if action == "start":
            uuid = (await _body(request)).get("uuid")
            sb.start_meeting(m, str(uuid) if uuid else None)
        elif action == "end":
            sb.end_meeting(m, record=bool((await _body(request)).get("record")))
        else:
            raise LookupError("unknown action")
    except ZoomError as exc:
        return JSONResponse({"error": exc.message}, status_code=409)
    return sb.meeting_json(m)


@control
async def c_meeting_edit(request: Request, sb: Sandbox) -> Any:
    """A change made in Zoom by the host (what the sandbox's meeting pages do)."""
    m = _meeting_or_404(sb, request)
    if request.method == "DELETE":
        sb.remove_meeting(m)
        return {"deleted": m.id}
    pages.edit_in_zoom(sb, m, await _body(request))
    return sb.meeting_json(m)


@control
async def c_tokens(request: Request, sb: Sandbox) -> Any:
    return [vars(t) for t in sb.state.tokens.values()]


@control
async def c_tokens_revoke(request: Request, sb: Sandbox) -> Any:
    """Fault: tokens stop working at Zoom without any event (e.g. an admin action)."""
    b = await _body(request)
    count = 0
    for t in sb.state.tokens.values():
        if (
            (b.get("user_id") in (None, t.user_id))
            and (b.get("client_id") in (None, t.client_id))
            and (not b.get("kind") or b["kind"] == t.kind)
            and not t.revoked
        ):
            t.revoked = True
            count += 1
    sb.save()
    return {"revoked": count}


@control
async def c_tokens_expire(request: Request, sb: Sandbox) -> Any:
    b = await _body(request)
    count = 0
    for t in sb.state.tokens.values():
        if t.kind == "access" and b.get("user_id") in (None, t.user_id) and not t.revoked:
            t.expires_at = sb.clock.time() - 1
            count += 1
    sb.save()
    return {"expired": count}


@control
async def c_webhooks(request: Request, sb: Sandbox) -> Any:
    return [vars(d) for d in sb.state.deliveries]


@control
async def c_webhooks_flush(request: Request, sb: Sandbox) -> Any:
    return {"attempted": await request.app.state.dispatcher.flush()}


@control
async def c_clock(request: Request, sb: Sandbox) -> Any:
    if request.method == "POST":
        b = await _body(request)
        if "advance" in b:
            advance = float(b["advance"])
            if advance < 0:
                raise ValueError("the clock only moves forward")
            sb.clock.offset += advance
        sb.save()
        request.app.state.dispatcher.wakeup.set()
    return {"now": iso(sb.clock.now()), "offset": sb.clock.offset}


@control
async def c_faults(request: Request, sb: Sandbox) -> Any:
    faults: Faults = request.app.state.faults
    if request.method == "DELETE":
        faults.clear()
    elif request.method == "POST":
        b = await _body(request)
        rules = b.get("rules", [b] if b and "rules" not in b else [])
        faults.set(rules, b.get("seed"))
    return {"rules": faults.describe()}


def routes() -> list[Route]:
    return [
        Route("/_sandbox", c_summary, methods=["GET"]),
        Route("/_sandbox/reset", c_reset, methods=["POST"]),
        Route("/_sandbox/accounts", c_account_create, methods=["POST"]),
        Route("/_sandbox/accounts/{account_id}", c_account_update, methods=["PATCH"]),
        Route("/_sandbox/accounts/{account_id}/users", c_user_create, methods=["POST"]),
        Route("/_sandbox/users/{user_id}", c_user_update, methods=["PATCH"]),
        Route("/_sandbox/apps", c_app_create, methods=["POST"]),
        Route("/_sandbox/apps/{client_id}", c_app_update, methods=["PATCH"]),
        Route("/_sandbox/apps/{client_id}/validate", c_app_validate, methods=["POST"]),
        Route("/_sandbox/meetings", c_meetings, methods=["GET"]),
        Route("/_sandbox/meetings/{meeting_id}", c_meeting_edit, methods=["PATCH", "DELETE"]),
        Route("/_sandbox/meetings/{meeting_id}/{action}", c_meeting_action, methods=["POST"]),
        Route("/_sandbox/tokens", c_tokens, methods=["GET"]),
        Route("/_sandbox/tokens/revoke", c_tokens_revoke, methods=["POST"]),
        Route("/_sandbox/tokens/expire", c_tokens_expire, methods=["POST"]),
        Route("/_sandbox/webhooks", c_webhooks, methods=["GET"]),
        Route("/_sandbox/webhooks/flush", c_webhooks_flush, methods=["POST"]),
        Route("/_sandbox/clock", c_clock, methods=["GET", "POST"]),
        Route("/_sandbox/faults", c_faults, methods=["GET", "POST", "DELETE"]),
    ]

"""The sandbox's HTTP face: Zoom's OAuth endpoints and REST API under /v2, the Zoom-side pages,
and the control API under /_sandbox."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from meetbridge_sandbox import pages
from meetbridge_sandbox.config import DEMO_USER_PASSWORD, SandboxConfig
from meetbridge_sandbox.core import Caller, OAuthError, Sandbox, ZoomError
from meetbridge_sandbox.faults import Faults
from meetbridge_sandbox.state import Account, App, Persistence, User, iso, zoom_id
from meetbridge_sandbox.webhooks import Dispatcher

Handler = Callable[[Request], Awaitable[Response]]


class _Arrival:
    """Notes when a request reached the app, so the time Zoom took over a create (reported by
    the control API) includes the sandbox's own routing."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            scope.setdefault("state", {})["arrived"] = time.perf_counter()
        await self.app(scope, receive, send)


def zoom_json(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    if status == 204:
        return Response(status_code=204, headers=headers)
    return JSONResponse(body, status_code=status, headers=headers)


def zoom_route(fn: Callable[[Request, Sandbox, Caller], Awaitable[Response]]) -> Handler:
    """Wraps a /v2 handler: faults first, then the bearer token, then Zoom's error mapping."""

    async def handler(request: Request) -> Response:
        start = getattr(request.state, "arrived", None) or time.perf_counter()
        sandbox: Sandbox = request.app.state.sandbox
        faults: Faults = request.app.state.faults
        decision = faults.decide(request.method, request.url.path)
        if decision.latency_ms:
            await asyncio.sleep(decision.latency_ms / 1000)
        if decision.too_many is not None:
            headers = {
                "X-RateLimit-Category": "Light",
                "X-RateLimit-Type": "QPS",
                "X-RateLimit-Limit": "30",
                "X-RateLimit-Remaining": "0",
            }
            if decision.too_many == "seconds":
                headers["Retry-After"] = "1"
            elif decision.too_many == "date":
                headers["Retry-After"] = iso(sandbox.clock.now() + dt.timedelta(seconds=2))
            return zoom_json(
                429,
                {
                    "code": 429,
                    "message": "You have reached the maximum "
                    "per-second rate limit for this API. Try again later.",
                },
                headers,
            )
        if decision.error_status:
            return zoom_json(
                decision.error_status,
                {"code": decision.error_status, "message": "Service unavailable."},
            )
        if decision.timeout:
            await asyncio.sleep(decision.hang_seconds)
            return zoom_json(504, {"code": 504, "message": "Gateway timeout."})
        try:
            caller = sandbox.authenticate(request.headers.get("authorization"))
            response = await fn(request, sandbox, caller)
        except ZoomError as exc:
            response = zoom_json(exc.status, exc.body(), exc.headers)
        if decision.lost:
            await asyncio.sleep(decision.hang_seconds)  # the work is done; the reply never comes
            return zoom_json(504, {"code": 504, "message": "Gateway timeout."})
        created = getattr(request.state, "created_meeting", None)
        if created is not None:
            sandbox.state.meetings[created].create_ms = (time.perf_counter() - start) * 1000
        return response

    return handler


async def json_body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw:
        return {}
    try:
        body = json.loads(raw)
    except ValueError:
        raise ZoomError(400, 300, "Request Body should be a valid JSON object.") from None
    if not isinstance(body, dict):
        raise ZoomError(400, 300, "Request Body should be a valid JSON object.")
    return body


def page_size(request: Request) -> int:
    raw = request.query_params.get("page_size", "30")
    if not raw.isdigit() or not 1 <= int(raw) <= 300:
        raise ZoomError(
            400,
            300,
            "Validation Failed.",
            errors=[{"field": "page_size", "message": "Invalid field."}],
        )
    return int(raw)


# ---- /v2 ---------------------------------------------------------------------------------------


@zoom_route
async def users_list(request: Request, sb: Sandbox, caller: Caller) -> Response:
    status = request.query_params.get("status", "active")
    if status not in ("active", "inactive", "pending"):
        raise ZoomError(
            400,
            300,
            "Validation Failed.",
            errors=[{"field": "status", "message": "Invalid field."}],
        )
    return zoom_json(
        200,
        sb.list_users(
            caller, status, page_size(request), request.query_params.get("next_page_token")
        ),
    )


@zoom_route
async def users_create(request: Request, sb: Sandbox, caller: Caller) -> Response:
    return zoom_json(201, sb.create_user(caller, await json_body(request)))


@zoom_route
async def user_get(request: Request, sb: Sandbox, caller: Caller) -> Response:
    return zoom_json(200, sb.get_user(caller, request.path_params["user_id"]))


@zoom_route
async def meetings_create(request: Request, sb: Sandbox, caller: Caller) -> Response:
    body = await json_body(request)
    meeting = sb.create_meeting(caller, request.path_params["user_id"], body)
    request.state.created_meeting = meeting["id"]
    return zoom_json(201, meeting)


@zoom_route
async def meetings_list(request: Request, sb: Sandbox, caller: Caller) -> Response:
    q = request.query_params
    return zoom_json(
        200,
        sb.list_meetings(
            caller,
            request.path_params["user_id"],
            q.get("type", "scheduled"),
            page_size(request),
            q.get("next_page_token"),
        ),
    )


@zoom_route
async def meeting_get(request: Request, sb: Sandbox, caller: Caller) -> Response:
    return zoom_json(200, sb.get_meeting(caller, request.path_params["meeting_id"]))


@zoom_route
async def meeting_update(request: Request, sb: Sandbox, caller: Caller) -> Response:
    sb.update_meeting(caller, request.path_params["meeting_id"], await json_body(request))
    return zoom_json(204, None)


@zoom_route
async def meeting_delete(request: Request, sb: Sandbox, caller: Caller) -> Response:
    sb.delete_meeting(caller, request.path_params["meeting_id"])
    return zoom_json(204, None)


@zoom_route
async def registrants_create(request: Request, sb: Sandbox, caller: Caller) -> Response:
    body = await json_body(request)
    return zoom_json(201, sb.add_registrant(caller, request.path_params["meeting_id"], body))


@zoom_route
async def registrants_list(request: Request, sb: Sandbox, caller: Caller) -> Response:
    q = request.query_params
    return zoom_json(
        200,
        sb.list_registrants(
            caller,
            request.path_params["meeting_id"],
            q.get("status", "approved"),
            page_size(request),
            q.get("next_page_token"),
        ),
    )


@zoom_route
async def recordings_get(request: Request, sb: Sandbox, caller: Caller) -> Response:
    return zoom_json(200, sb.get_recordings(caller, request.path_params["meeting_id"]))


# ---- OAuth ---------------------------------------------------------------------------------


def oauth_error(exc: OAuthError) -> Response:
    return JSONResponse({"reason": exc.reason, "error": exc.error}, status_code=exc.status)


async def oauth_params(request: Request) -> dict[str, str]:
    """Zoom takes the parameters in the query string or a form body."""
    params = dict(request.query_params)
    if request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        form = await request.form()
        params.update({k: v for k, v in form.items() if isinstance(v, str)})
    return params


def with_faults(fn: Handler) -> Handler:
    """Zoom's OAuth endpoints can fail too: 5xx, timeouts and latency from the fault rules."""

    async def handler(request: Request) -> Response:
        decision = request.app.state.faults.decide(request.method, request.url.path)
        if decision.latency_ms:
            await asyncio.sleep(decision.latency_ms / 1000)
        if decision.error_status:
            return JSONResponse(
                {"reason": "Service unavailable", "error": "server_error"},
                status_code=decision.error_status,
            )
        if decision.timeout:
            await asyncio.sleep(decision.hang_seconds)
            return JSONResponse(
                {"reason": "Gateway timeout", "error": "server_error"}, status_code=504
            )
        response = await fn(request)
        if decision.lost:
            await asyncio.sleep(decision.hang_seconds)
            return JSONResponse(
                {"reason": "Gateway timeout", "error": "server_error"}, status_code=504
            )
        return response

    return handler


@with_faults
async def oauth_token(request: Request) -> Response:
    sb: Sandbox = request.app.state.sandbox
    try:
        app = sb.app_by_basic(request.headers.get("authorization"))
        p = await oauth_params(request)
        grant = p.get("grant_type")
        if grant == "authorization_code":
            if app.kind != "user":
                raise OAuthError(400, "unsupported_grant_type", "Unsupported grant type")
            body = sb.exchange_code(
                app, p.get("code", ""), p.get("redirect_uri"), p.get("code_verifier")
            )
        elif grant == "refresh_token":
            body = sb.refresh(app, p.get("refresh_token", ""))
        elif grant == "account_credentials":
            body = sb.account_token(app, p.get("account_id"))
        else:
            raise OAuthError(400, "unsupported_grant_type", "Unsupported grant type")
    except OAuthError as exc:
        return oauth_error(exc)
    return JSONResponse(body)


@with_faults
async def oauth_revoke(request: Request) -> Response:
    sb: Sandbox = request.app.state.sandbox
    try:
        app = sb.app_by_basic(request.headers.get("authorization"))
        sb.revoke(app, (await oauth_params(request)).get("token", ""))
    except OAuthError as exc:
        return oauth_error(exc)
    return JSONResponse({"status": "success"})


# ---- control API ---------------------------------------------------------------------------


def control(fn: Callable[[Request, Sandbox], Awaitable[Any]]) -> Handler:
    async def handler(request: Request) -> Response:
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
    )
    sb.state.users[user.id] = user
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
    if b.get("kind") not in ("user", "s2s"):
        raise ValueError("kind must be user or s2s")
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
            sb.start_meeting(m)
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


def create_app(config: SandboxConfig) -> Starlette:
    sandbox = Sandbox(config, Persistence(config.state_file) if config.state_file else None)
    faults = Faults()
    routes = [
        Route("/v2/users", users_list, methods=["GET"]),
        Route("/v2/users", users_create, methods=["POST"]),
        Route("/v2/users/{user_id}", user_get, methods=["GET"]),
        Route("/v2/users/{user_id}/meetings", meetings_create, methods=["POST"]),
        Route("/v2/users/{user_id}/meetings", meetings_list, methods=["GET"]),
        Route("/v2/meetings/{meeting_id}", meeting_get, methods=["GET"]),
        Route("/v2/meetings/{meeting_id}", meeting_update, methods=["PATCH"]),
        Route("/v2/meetings/{meeting_id}", meeting_delete, methods=["DELETE"]),
        Route("/v2/meetings/{meeting_id}/registrants", registrants_create, methods=["POST"]),
        Route("/v2/meetings/{meeting_id}/registrants", registrants_list, methods=["GET"]),
        Route("/v2/meetings/{meeting_id}/recordings", recordings_get, methods=["GET"]),
        Route("/oauth/token", oauth_token, methods=["POST"]),
        Route("/oauth/revoke", oauth_revoke, methods=["POST"]),
        Route("/_sandbox", c_summary, methods=["GET"]),
        Route("/_sandbox/reset", c_reset, methods=["POST"]),
        Route("/_sandbox/accounts", c_account_create, methods=["POST"]),
        Route("/_sandbox/accounts/{account_id}", c_account_update, methods=["PATCH"]),
        Route("/_sandbox/accounts/{account_id}/users", c_user_create, methods=["POST"]),
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
        *pages.routes(),
    ]

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        task = asyncio.create_task(app.state.dispatcher.run())
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            await app.state.dispatcher.close()

    app = Starlette(routes=routes, lifespan=lifespan, middleware=[Middleware(_Arrival)])
    app.state.sandbox = sandbox
    app.state.faults = faults
    app.state.dispatcher = Dispatcher(sandbox)
    return app

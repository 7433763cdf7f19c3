"""The sandbox's HTTP plumbing: Zoom's replies and error mapping, the fault rules in front of
every Zoom endpoint, request bodies and query parameters as Zoom reads them."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from meetbridge_sandbox.core import Caller, OAuthError, Sandbox, ZoomError
from meetbridge_sandbox.faults import Faults
from meetbridge_sandbox.state import iso

Handler = Callable[[Request], Awaitable[Response]]


class Arrival:
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


# Zoom's request-tracking header, on every REST reply: Zoom's own SDK reads it from each
# response as the call's tracking id (zoom/rivet-javascript @7309ea34, meetings/meetings.cjs:
# `WebEndpoints.TRACKING_ID_HEADER = "x-zm-trackingid"`); values seen look like
# `v=2.0;clid=aw1;rid=WEB_<32 hex>`. Zoom support asks for it to trace a call.
TRACKING_HEADER = "x-zm-trackingid"


def tracking_id() -> str:
    return f"v=2.0;clid=sbx;rid=WEB_{secrets.token_hex(16)}"


def zoom_route(fn: Callable[[Request, Sandbox, Caller], Awaitable[Response]]) -> Handler:
    """Wraps a /v2 handler: faults first, then the bearer token, then Zoom's error mapping;
    every reply carries a tracking id."""
    inner = _zoom_route(fn)

    async def handler(request: Request) -> Response:
        response = await inner(request)
        response.headers[TRACKING_HEADER] = tracking_id()
        return response

    return handler


def _zoom_route(fn: Callable[[Request, Sandbox, Caller], Awaitable[Response]]) -> Handler:
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

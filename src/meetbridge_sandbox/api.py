"""Zoom's REST API under /v2 and its OAuth endpoints, as HTTP handlers over the core."""

from __future__ import annotations

from urllib.parse import unquote

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from meetbridge_sandbox.core import Caller, OAuthError, Sandbox, ZoomError
from meetbridge_sandbox.http import (
    json_body,
    oauth_error,
    oauth_params,
    page_size,
    with_faults,
    zoom_json,
    zoom_route,
)


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
async def registrants_status(request: Request, sb: Sandbox, caller: Caller) -> Response:
    body = await json_body(request)
    sb.registrant_status(caller, request.path_params["meeting_id"], body)
    return zoom_json(204, None)


def instance_ref(request: Request) -> str:
    """The meeting id or instance UUID in the path. The router has decoded the path once, so
    a double-encoded UUID (`%252F` for `/`) arrives as `%2F…`: decode it once more. A UUID is
    base64 (letters, digits, `+`, `/`, `=`), never a `%` of its own."""
    ref: str = request.path_params["meeting_id"]
    return unquote(ref) if "%" in ref else ref


@zoom_route
async def recordings_get(request: Request, sb: Sandbox, caller: Caller) -> Response:
    return zoom_json(200, sb.get_recordings(caller, instance_ref(request)))


@zoom_route
async def past_meeting_get(request: Request, sb: Sandbox, caller: Caller) -> Response:
    return zoom_json(200, sb.past_meeting(caller, instance_ref(request)))


async def recording_download(request: Request) -> Response:
    """A recording file: with recording.completed's `download_token` (or an access token
    that may read the recordings) as `?access_token=` or a Bearer header."""
    sb: Sandbox = request.app.state.sandbox
    auth = request.headers.get("authorization", "")
    token = request.query_params.get("access_token") or (
        auth[7:].strip() if auth.lower().startswith("bearer ") else ""
    )
    data = sb.recording_file(
        request.path_params["meeting_id"], request.path_params["file_type"].lower(), token
    )
    if data is None:
        return JSONResponse({"code": 124, "message": "Invalid access token."}, status_code=401)
    return Response(data, media_type="application/octet-stream")


@with_faults
async def oauth_token(request: Request) -> Response:
    sb: Sandbox = request.app.state.sandbox
    try:
        app = sb.app_by_basic(request.headers.get("authorization"))
        p = await oauth_params(request)
        grant = p.get("grant_type")
        if grant == "authorization_code":
            if app.kind not in ("user", "admin"):
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

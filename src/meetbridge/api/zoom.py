"""Zoom under /api/v1/zoom, and Zoom's webhook endpoints."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from meetbridge.api.deps import ERRORS, Actor, C, From
from meetbridge.api.schemas import Input
from meetbridge.core.errors import NotFound, ValidationFailed
from meetbridge.web.http import json_body

router = APIRouter(prefix="/api/v1/zoom", responses=ERRORS, tags=["zoom"])


class ZoomConnectionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    kind: str
    auth_method: Literal["user_oauth", "server_to_server", "admin_oauth"] = Field(
        description="How it reaches Zoom: a member's own OAuth; for the account, a "
        "Server-to-Server app, or admin OAuth (a Zoom owner or admin authorized meetbridge's "
        "admin app; `zoom_email` names them)"
    )
    user_id: str | None
    status: str
    end_reason: str | None
    zoom_email: str | None
    zoom_account_id: str | None
    client_id: str | None
    scopes: str
    last_error: str | None
    members_may_schedule: bool = False
    connected_at: dt.datetime
    updated_at: dt.datetime


class AccountCredentials(Input):
    account_id: str = Field(max_length=200)
    client_id: str = Field(max_length=200)
    client_secret: str = Field(max_length=200)


class TestOut(BaseModel):
    ok: bool
    message: str
    field: str | None
    zoom_users: int
    example_user: str | None
    scopes: list[str]


class AuthorizeOut(BaseModel):
    authorize_url: str


class CallIn(Input):
    via: Literal["me", "account"] = "me"
    method: Literal["GET", "POST", "PATCH", "PUT", "DELETE"] = "GET"
    path: str = Field(pattern=r"^/[A-Za-z0-9_./@%:-]*$", max_length=500)
    params: dict[str, str | int | bool] | None = None
    body: dict[str, Any] | None = None


@router.get("/connection", response_model=ZoomConnectionOut)
async def my_connection(c: C, actor: Actor) -> object:
    conn = c.connections.my_connection(actor)
    if conn is None:
        raise NotFound("Zoom has never been connected")
    return conn


@router.post("/connection/authorize", response_model=AuthorizeOut)
def authorize(c: C, actor: Actor) -> AuthorizeOut:
    """Where to send the person to connect their Zoom (open it in their browser)."""
    return AuthorizeOut(authorize_url=c.connections.start_connect(actor))


@router.delete("/connection", status_code=204)
def disconnect(c: C, actor: Actor, origin: From) -> Response:
    c.connections.disconnect(actor, origin)
    return Response(status_code=204)


@router.get("/connections", response_model=list[ZoomConnectionOut])
async def connections(c: C, actor: Actor) -> list[object]:
    if not actor.is_admin:
        return [x for x in c.connections.connections(actor) if x.user_id == actor.id]
    return list(c.connections.connections(actor))


@router.post("/connections/{connection_id}/release", status_code=204)
def release(connection_id: str, c: C, actor: Actor, origin: From) -> Response:
    c.connections.release(actor, connection_id, origin)
    return Response(status_code=204)


@router.post("/account/test", response_model=TestOut)
def test_account(body: AccountCredentials, c: C, actor: Actor) -> TestOut:
    r = c.connections.test_account(actor, body.account_id, body.client_id, body.client_secret)
    return TestOut(
        ok=r.ok,
        message=r.message,
        field=r.field_name,
        zoom_users=r.zoom_users,
        example_user=r.example_user,
        scopes=r.scopes,
    )


@router.put("/account", response_model=ZoomConnectionOut)
def save_account(body: AccountCredentials, c: C, actor: Actor, origin: From) -> object:
    return c.connections.save_account(
        actor, body.account_id, body.client_id, body.client_secret, origin
    )


@router.post("/account/authorize", response_model=AuthorizeOut)
def account_authorize(c: C, actor: Actor) -> AuthorizeOut:
    """Where to send an owner or admin of the Zoom account to connect it through admin OAuth
    (open it in the browser signed in to meetbridge: Zoom returns to its Integrations page)."""
    return AuthorizeOut(authorize_url=c.connections.start_admin_connect(actor))


@router.get("/account", response_model=ZoomConnectionOut)
async def account(c: C, actor: Actor) -> object:
    conn = c.connections.account_connection(actor)
    if conn is None:
        raise NotFound("the Zoom account is not connected")
    return conn


class AccountSettings(Input):
    members_may_schedule: bool = Field(
        description="Members (not only admins) may schedule with any licensed user as host"
    )


class HostOut(BaseModel):
    id: str
    email: str
    name: str


@router.patch("/account", response_model=ZoomConnectionOut)
def account_settings(body: AccountSettings, c: C, actor: Actor, origin: From) -> object:
    return c.connections.set_members_may_schedule(actor, body.members_may_schedule, origin)


@router.get("/hosts", response_model=list[HostOut])
def hosts(c: C, actor: Actor) -> list[HostOut]:
    """The licensed users of the organisation's Zoom account you may schedule for (through
    the account-level connection): admins, or members when an admin allows it."""
    return [HostOut(id=h.id, email=h.email, name=h.name) for h in c.meetings.hosts(actor)]


@router.delete("/account", status_code=204)
def disconnect_account(c: C, actor: Actor, origin: From) -> Response:
    c.connections.disconnect_account(actor, origin)
    return Response(status_code=204)


@router.post("/call")
def call(body: CallIn, c: C, actor: Actor) -> Any:
    """Any Zoom API endpoint (path under /v2), through your Zoom or, for admins, the account's."""
    if ".." in body.path:
        raise ValidationFailed("path", "must not contain '..'")
    return {
        "result": c.passthrough.call_api(
            actor,
            via=body.via,
            method=body.method,
            path=body.path,
            params=body.params,
            body=body.body,
        )
    }


hooks = APIRouter(include_in_schema=False)


async def raw_body(request: Request) -> bytes:
    """The body as sent: the signature is over these exact bytes. (Read on the event loop; the
    endpoint that verifies and records it is a plain `def`, run in the thread pool.)"""
    return await request.body()


@hooks.post("/webhooks/zoom")
@hooks.post("/webhooks/zoom/deauthorize")
def zoom_webhook(request: Request, raw: Annotated[bytes, Depends(raw_body)], c: C) -> Response:
    """Verify over the raw body, answer the URL check, record and enqueue, reply at once."""
    c.webhooks.verify(
        request.headers.get("x-zm-request-timestamp"), request.headers.get("x-zm-signature"), raw
    )
    body = json_body(raw)
    if not isinstance(body, dict):
        raise ValidationFailed("body", "must be a JSON object")
    if body.get("event") == "endpoint.url_validation":
        plain = str((body.get("payload") or {}).get("plainToken", ""))
        return JSONResponse(c.webhooks.url_validation(plain))
    return JSONResponse({"status": c.webhooks.record(body)})

"""The REST API under /api/v1. Thin: parse, authenticate, call a service, shape the reply."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response

from meetbridge.accounts.service import API_TOKEN_REFUSED, ApiCaller
from meetbridge.api.schemas import (
    AuditOut,
    ErrorOut,
    MemberCreate,
    MemberRestore,
    MemberUpdate,
    MeOut,
    OrgOut,
    PasswordChange,
    SubaccountCreate,
    TokenCreate,
    TokenCreated,
    TokenOut,
    UserOut,
)
from meetbridge.container import Container
from meetbridge.core.audit import Origin
from meetbridge.core.errors import NotAuthenticated
from meetbridge.core.models import User
from meetbridge.web.http import origin_of

_errors: dict[int | str, dict[str, object]] = {
    code: {"model": ErrorOut} for code in (400, 401, 403, 404, 409, 413, 422, 429)
}


async def container(request: Request) -> Container:
    c: Container = request.app.state.container
    return c


# Reads that take one short indexed query run on the event loop (`async def`): a thread-pool hop
# costs more than the query itself. Anything slow (argon2, Zoom calls) stays in plain `def`.
async def api_user(request: Request, c: Annotated[Container, Depends(container)]) -> User:
    user = c.accounts.api_token_user(_bearer(request))
    if user is None:
        raise NotAuthenticated(API_TOKEN_REFUSED)
    return user


async def api_caller(request: Request, c: Annotated[Container, Depends(container)]) -> ApiCaller:
    """For an endpoint whose write confirms the token itself (it passes `token_id` on): the
    caller may be as read up to a minute ago, which saves a read per request."""
    caller = c.accounts.api_caller_to_confirm(_bearer(request))
    if caller is None:
        raise NotAuthenticated(API_TOKEN_REFUSED)
    return caller


def _bearer(request: Request) -> str:
    scheme, _, secret = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        raise NotAuthenticated("send Authorization: Bearer <API token>")
    return secret.strip()


async def api_origin(request: Request) -> Origin:
    return origin_of(request, via="api")


C = Annotated[Container, Depends(container)]
Actor = Annotated[User, Depends(api_user)]
Caller = Annotated[ApiCaller, Depends(api_caller)]
From = Annotated[Origin, Depends(api_origin)]

router = APIRouter(prefix="/api/v1", responses=_errors)


@router.get("/me", response_model=MeOut, tags=["account"])
async def me(actor: Actor) -> User:
    return actor


@router.post("/me/password", status_code=204, tags=["account"])
def change_password(body: PasswordChange, c: C, actor: Actor, origin: From) -> Response:
    c.accounts.change_password(
        actor, current=body.current_password, new=body.new_password, origin=origin
    )
    return Response(status_code=204)


@router.get("/members", response_model=list[UserOut], tags=["members"])
async def list_members(c: C, actor: Actor, include_inactive: bool = False) -> list[User]:
    return list(c.accounts.list_members(actor, include_inactive=include_inactive))


@router.post("/members", response_model=UserOut, status_code=201, tags=["members"])
def create_member(body: MemberCreate, c: C, actor: Actor, origin: From) -> User:
    return c.accounts.create_member(
        actor,
        email=body.email,
        name=body.name,
        role=body.role,
        password=body.password,
        timezone=body.timezone,
        origin=origin,
    )


@router.get("/members/{user_id}", response_model=UserOut, tags=["members"])
async def get_member(user_id: str, c: C, actor: Actor) -> User:
    return c.accounts.get_member(actor, user_id)


@router.patch("/members/{user_id}", response_model=UserOut, tags=["members"])
def update_member(user_id: str, body: MemberUpdate, c: C, actor: Actor, origin: From) -> User:
    return c.accounts.update_member(
        actor,
        user_id,
        origin=origin,
        name=body.name,
        email=body.email,
        role=body.role,
        timezone=body.timezone,
    )


@router.post("/members/{user_id}/deactivate", response_model=UserOut, tags=["members"])
def deactivate_member(user_id: str, c: C, actor: Actor, origin: From) -> User:
    return c.accounts.deactivate_member(actor, user_id, origin=origin)


@router.post(
    "/members/{user_id}/restore", response_model=UserOut, status_code=201, tags=["members"]
)
def restore_member(user_id: str, body: MemberRestore, c: C, actor: Actor, origin: From) -> User:
    return c.accounts.restore_member(actor, user_id, password=body.password, origin=origin)


@router.get("/tokens", response_model=list[TokenOut], tags=["tokens"])
async def list_tokens(c: C, actor: Actor) -> list[object]:
    return list(c.accounts.list_api_tokens(actor))


@router.post("/tokens", response_model=TokenCreated, status_code=201, tags=["tokens"])
def create_token(body: TokenCreate, c: C, actor: Actor, origin: From) -> TokenCreated:
    created = c.accounts.create_api_token(actor, name=body.name, origin=origin)
    return TokenCreated(**TokenOut.model_validate(created.token).model_dump(), token=created.secret)


@router.delete("/tokens/{token_id}", response_model=TokenOut, tags=["tokens"])
def revoke_token(token_id: str, c: C, actor: Actor, origin: From) -> object:
    return c.accounts.revoke_api_token(actor, token_id, origin=origin)


@router.get("/audit", response_model=list[AuditOut], tags=["audit"])
async def list_audit(
    c: C,
    actor: Actor,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    before_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
) -> list[object]:
    return list(c.accounts.list_audit(actor, limit=limit, before_id=before_id))


@router.get("/subaccounts", response_model=list[OrgOut], tags=["organisations"])
async def list_subaccounts(c: C, actor: Actor) -> list[object]:
    return list(c.accounts.list_subaccounts(actor))


@router.post("/subaccounts", response_model=OrgOut, status_code=201, tags=["organisations"])
def create_subaccount(body: SubaccountCreate, c: C, actor: Actor, origin: From) -> object:
    org, _owner = c.accounts.create_subaccount(
        actor,
        name=body.name,
        owner_email=body.owner_email,
        owner_name=body.owner_name,
        owner_password=body.owner_password,
        origin=origin,
    )
    return org

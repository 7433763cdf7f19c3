"""The caller's personal API tokens under /api/v1/tokens."""

from __future__ import annotations

from fastapi import APIRouter

from meetbridge.api.deps import ERRORS, Actor, C, Caller, From
from meetbridge.api.schemas import TokenCreate, TokenCreated, TokenOut

router = APIRouter(prefix="/api/v1", responses=ERRORS, tags=["tokens"])


@router.get("/tokens", response_model=list[TokenOut])
async def list_tokens(c: C, actor: Actor) -> list[object]:
    return list(c.api_tokens.list_api_tokens(actor))


@router.post("/tokens", response_model=TokenCreated, status_code=201)
def create_token(body: TokenCreate, c: C, caller: Caller, origin: From) -> TokenCreated:
    """The new token is revoked with the token this request came with (and so on down)."""
    created = c.api_tokens.create_api_token(
        caller.user, name=body.name, origin=origin, parent_id=caller.token_id
    )
    # The secret is in this reply only; it is never stored or shown again.
    return TokenCreated(**TokenOut.model_validate(created.token).model_dump(), token=created.secret)


@router.delete("/tokens/{token_id}", response_model=TokenOut)
def revoke_token(token_id: str, c: C, actor: Actor, origin: From) -> object:
    return c.api_tokens.revoke_api_token(actor, token_id, origin=origin)

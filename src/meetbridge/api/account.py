"""The caller's own account under /api/v1/me."""

from __future__ import annotations

from fastapi import APIRouter, Response

from meetbridge.api.deps import ERRORS, Actor, C, From
from meetbridge.api.schemas import MeOut, PasswordChange
from meetbridge.core.models import User

router = APIRouter(prefix="/api/v1", responses=ERRORS, tags=["account"])


@router.get("/me", response_model=MeOut)
async def me(actor: Actor) -> User:
    return actor


@router.post("/me/password", status_code=204)
def change_password(body: PasswordChange, c: C, actor: Actor, origin: From) -> Response:
    c.accounts.change_password(
        actor, current=body.current_password, new=body.new_password, origin=origin
    )
    return Response(status_code=204)

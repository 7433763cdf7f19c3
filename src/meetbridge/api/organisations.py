"""Sub-accounts (organisations under the caller's) under /api/v1/subaccounts."""

from __future__ import annotations

from fastapi import APIRouter

from meetbridge.api.deps import ERRORS, Actor, C, From
from meetbridge.api.schemas import OrgOut, SubaccountCreate

router = APIRouter(prefix="/api/v1", responses=ERRORS, tags=["organisations"])


@router.get("/subaccounts", response_model=list[OrgOut])
async def list_subaccounts(c: C, actor: Actor) -> list[object]:
    return list(c.accounts.list_subaccounts(actor))


@router.post("/subaccounts", response_model=OrgOut, status_code=201)
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

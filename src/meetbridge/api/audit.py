"""The organisation's audit log under /api/v1/audit."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from meetbridge.api.deps import ERRORS, Actor, C
from meetbridge.api.schemas import AuditOut

router = APIRouter(prefix="/api/v1", responses=ERRORS, tags=["audit"])


@router.get("/audit", response_model=list[AuditOut])
async def list_audit(
    c: C,
    actor: Actor,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    before_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
) -> list[object]:
    return list(c.accounts.list_audit(actor, limit=limit, before_id=before_id))

"""The organisation's audit log under /api/v1/audit: newest first, filtered by who
(`actor_id`), what (`action`: one action, or a family such as `meeting`) and when (`since`,
`until`: UTC days, both included), paged by id: `before_id` for older entries, `after_id` for
newer. The `Link` header names the next (older) page when there may be one."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from meetbridge.accounts.audit_log import AuditQuery
from meetbridge.api.deps import ERRORS, Actor, C
from meetbridge.api.schemas import AuditOut

router = APIRouter(prefix="/api/v1", responses=ERRORS, tags=["audit"])
Id = Annotated[int | None, Query(ge=1, le=2**31 - 1)]


@router.get("/audit", response_model=list[AuditOut])
async def list_audit(
    request: Request,
    response: Response,
    c: C,
    actor: Actor,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    before_id: Id = None,
    after_id: Id = None,
    actor_id: Annotated[str | None, Query(max_length=36)] = None,
    action: Annotated[str | None, Query(max_length=64)] = None,
    since: dt.date | None = None,
    until: dt.date | None = None,
) -> list[object]:
    query = AuditQuery(actor_id, action, since, until, limit, before_id, after_id)
    rows = c.accounts.list_audit(actor, query)
    if len(rows) == limit:
        older = request.url.remove_query_params(["before_id", "after_id"])
        response.headers["link"] = (
            f'<{older.include_query_params(before_id=rows[-1].id)}>; rel="next"'
        )
    return list(rows)

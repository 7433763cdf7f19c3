"""The audit log, newest first, fifty at a time."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from meetbridge.web.kit import container, render, signed_in_user

router = APIRouter(include_in_schema=False)


@router.get("/audit")
async def audit_page(request: Request) -> Response:
    user = signed_in_user(request)
    before = request.query_params.get("before")
    before_id = int(before) if before and before.isdigit() and int(before) < 2**31 else None
    events = container(request).accounts.list_audit(user, limit=50, before_id=before_id)
    return render(request, "audit.html", user, events=events, nav="audit")

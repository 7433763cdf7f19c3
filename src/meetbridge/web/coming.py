"""The modules that arrive with later work, shown in the navigation and honestly marked."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from meetbridge.web.kit import COMING, render, signed_in_user

router = APIRouter(include_in_schema=False)
# Modules that were "coming" and are here now: an old link or bookmark finds them.
ARRIVED = {"workflows": "/workflows"}


@router.get("/m/{module}")
async def coming_page(request: Request, module: str) -> Response:
    user = signed_in_user(request)
    if module in ARRIVED:
        return RedirectResponse(ARRIVED[module], status_code=303)
    if module not in COMING:
        return render(request, "error.html", user, 404, message="There is no such page.")
    title, what = COMING[module]
    return render(request, "coming.html", user, title=title, what=what, nav=module)

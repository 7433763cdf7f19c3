"""The browser's own requests that are not pages: /favicon.ico (asked for by every browser
whatever the page links) goes to the SVG icon, instead of a 404 in every log."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import RedirectResponse

router = APIRouter(include_in_schema=False)


@router.get("/favicon.ico")
async def favicon() -> RedirectResponse:
    return RedirectResponse("/static/favicon.svg", status_code=301)

"""The API reference (/docs: Swagger UI, /redoc: ReDoc), served whole from this machine.

FastAPI's own pages load their scripts from a CDN and start them with an inline script: blank
without internet, and refused by our Content-Security-Policy (web/headers.py). Here the assets
come from the pinned `fastapi-offline` package (Swagger UI 5, ReDoc 2) and are started by
/static/api-reference.js."""

from __future__ import annotations

from pathlib import Path

import fastapi_offline
from fastapi import APIRouter
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS_PATH = "/static/reference"
ASSETS = StaticFiles(directory=Path(fastapi_offline.__file__).resolve().parent / "static")

router = APIRouter(include_in_schema=False)

_PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>meetbridge API reference{title}</title>
  <link rel="icon" href="{assets}/favicon.png">
  {css}
</head>
<body>
  <div id="{element}" data-openapi-url="/openapi.json"></div>
  <script src="{assets}/{script}"></script>
  <script src="/static/api-reference.js"></script>
</body>
</html>
"""


def _page(element: str, script: str, css: str = "", title: str = "") -> HTMLResponse:
    return HTMLResponse(
        _PAGE.format(assets=ASSETS_PATH, element=element, script=script, css=css, title=title)
    )


@router.get("/docs")
async def swagger_ui() -> HTMLResponse:
    css = f'<link rel="stylesheet" href="{ASSETS_PATH}/swagger-ui.css">'
    return _page("swagger-ui", "swagger-ui-bundle.js", css)


@router.get("/redoc")
async def redoc() -> HTMLResponse:
    return _page("redoc", "redoc.standalone.js", title=" (ReDoc)")

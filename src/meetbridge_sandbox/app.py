"""The sandbox's HTTP face: Zoom's OAuth endpoints and REST API under /v2 (api.py), the
Zoom-side pages (pages.py), and the control API under /_sandbox (control.py)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Route

from meetbridge_sandbox import api, control, pages
from meetbridge_sandbox.config import SandboxConfig
from meetbridge_sandbox.core import Sandbox
from meetbridge_sandbox.faults import Faults
from meetbridge_sandbox.http import Arrival
from meetbridge_sandbox.state import Persistence
from meetbridge_sandbox.webhooks import Dispatcher


def create_app(config: SandboxConfig) -> Starlette:
    sandbox = Sandbox(config, Persistence(config.state_file) if config.state_file else None)
    meeting = "/v2/meetings/{meeting_id}"
    # A meeting instance's UUID may hold `/`: Zoom wants it double-encoded where it names an
    # instance (the spec's recordings and past meeting parameters), so these take the rest
    # of the path and decode it once more (api.instance_ref).
    instance = "{meeting_id:path}"
    routes = [
        Route("/v2/users", api.users_list, methods=["GET"]),
        Route("/v2/users", api.users_create, methods=["POST"]),
        Route("/v2/users/{user_id}", api.user_get, methods=["GET"]),
        Route("/v2/users/{user_id}/meetings", api.meetings_create, methods=["POST"]),
        Route("/v2/users/{user_id}/meetings", api.meetings_list, methods=["GET"]),
        Route(meeting, api.meeting_get, methods=["GET"]),
        Route(meeting, api.meeting_update, methods=["PATCH"]),
        Route(meeting, api.meeting_delete, methods=["DELETE"]),
        Route(f"{meeting}/registrants", api.registrants_create, methods=["POST"]),
        Route(f"{meeting}/registrants", api.registrants_list, methods=["GET"]),
        Route(f"{meeting}/registrants/status", api.registrants_status, methods=["PUT"]),
        Route(f"/v2/meetings/{instance}/recordings", api.recordings_get, methods=["GET"]),
        Route(f"/v2/past_meetings/{instance}", api.past_meeting_get, methods=["GET"]),
        Route("/rec/download/{meeting_id}/{file_type}", api.recording_download, methods=["GET"]),
        Route("/oauth/token", api.oauth_token, methods=["POST"]),
        Route("/oauth/revoke", api.oauth_revoke, methods=["POST"]),
        *control.routes(),
        *pages.routes(),
    ]

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        task = asyncio.create_task(app.state.dispatcher.run())
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            await app.state.dispatcher.close()

    app = Starlette(routes=routes, lifespan=lifespan, middleware=[Middleware(Arrival)])
    app.state.sandbox = sandbox
    app.state.faults = Faults()
    app.state.dispatcher = Dispatcher(sandbox)
    return app

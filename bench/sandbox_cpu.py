"""The sandbox app's own CPU per `GET /v2/meetings/{id}`: the ASGI app called in-process (no
sockets, no HTTP parsing), so the figure holds on a loaded machine where wrk's do not.

`python bench/sandbox_cpu.py` (prefix `PYTHONPATH=<checkout>/src` to measure another version)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from meetbridge_sandbox.app import create_app
from meetbridge_sandbox.config import SandboxConfig


async def main() -> None:
    app = create_app(SandboxConfig())
    sb = app.state.sandbox
    sb.state.accounts["mbDemoAccount01"].rate_limit_multiplier = 0
    token = sb.account_token(sb.state.apps["mbDemoS2SApp"], "mbDemoAccount01")["access_token"]
    host = sb.state.user_by_email("dana@zoom-sandbox.test")
    meeting = sb.create_meeting(sb.authenticate(f"Bearer {token}"), host.id, {"topic": "bench"})
    path = f"/v2/meetings/{meeting['id']}"
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"127.0.0.1"), (b"authorization", f"Bearer {token}".encode())],
        "client": ("127.0.0.1", 1234),
        "server": ("127.0.0.1", 8100),
    }

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def one() -> None:
        sent: list[dict[str, Any]] = []

        async def send(msg: dict[str, Any]) -> None:
            sent.append(msg)

        await app(dict(scope), receive, send)
        assert sent[0]["status"] == 200, sent

    for _ in range(500):
        await one()
    runs = []
    for _ in range(5):
        start = time.process_time()
        for _ in range(4000):
            await one()
        runs.append((time.process_time() - start) / 4000 * 1e6)
    runs.sort()
    print(f"GET /v2/meetings/{{id}}: CPU µs per request, median {runs[2]:.1f}, min {runs[0]:.1f}")


if __name__ == "__main__":
    asyncio.run(main())

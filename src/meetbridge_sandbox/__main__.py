"""`python -m meetbridge_sandbox [--host H] [--port P] [--state-file F]`"""

from __future__ import annotations

import argparse
import os

import uvicorn

from meetbridge_sandbox.app import create_app
from meetbridge_sandbox.config import SandboxConfig


def main() -> None:
    parser = argparse.ArgumentParser(description="A Zoom-compatible sandbox server.")
    parser.add_argument("--host", default=os.environ.get("MEETBRIDGE_SANDBOX_HOST", "127.0.0.1"))
    parser.add_argument(
        "--port", type=int, default=int(os.environ.get("MEETBRIDGE_SANDBOX_PORT", "8100"))
    )
    parser.add_argument(
        "--state-file",
        default=os.environ.get("MEETBRIDGE_SANDBOX_STATE_FILE"),
        help="keep state in this SQLite file across restarts",
    )
    parser.add_argument(
        "--control-from-anywhere",
        action="store_true",
        help="let other machines use the control API (/_sandbox); it answers loopback only",
    )
    args = parser.parse_args()
    over: dict[str, object] = {"host": args.host, "port": args.port, "state_file": args.state_file}
    if args.control_from_anywhere:
        over["control_from_anywhere"] = True
    config = SandboxConfig.from_env(**over)
    print(f"Zoom sandbox on {config.base_url} (API {config.base_url}/v2)", flush=True)
    uvicorn.run(create_app(config), host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()

"""One process of the refresh race: N threads call Zoom at once through one connection whose
access token has expired. Prints a JSON list of outcomes. Run by test_refresh_race.py."""

from __future__ import annotations

import json
import sys
import threading

from meetbridge.container import build_container
from meetbridge.core.settings import Settings


def main() -> None:
    job = json.loads(sys.argv[1])
    settings = Settings(_env_file=None, **job["settings"])  # type: ignore[call-arg]
    c = build_container(settings)
    api = c.zoom.api(job["connection_id"])
    start = threading.Barrier(job["threads"])
    outcomes: list[str] = []
    lock = threading.Lock()

    def call() -> None:
        start.wait()
        try:
            outcome = api.get_user().email
        except Exception as exc:
            outcome = f"{type(exc).__name__}: {exc}"
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=call) for _ in range(job["threads"])]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    c.close()
    print(json.dumps(outcomes))


if __name__ == "__main__":
    main()

"""Helpers shared by the tests: a real SMTP server on loopback, and free ports."""

from __future__ import annotations

import email
import email.policy
import os
import random
import socket
import threading
import time
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller

_handed_out: set[int] = set()


def _ephemeral_range() -> range:
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            low, high = (int(x) for x in f.read().split())
    except OSError:
        low, high = 32768, 60999
    return range(low, high + 1)


def xdist_worker() -> tuple[int, int]:
    """This test process's number and how many run side by side (pytest-xdist); (0, 1) alone."""
    name = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    return int(name.removeprefix("gw")), int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))


def free_port() -> int:
    """A loopback port nobody listens on, outside the kernel's ephemeral range.

    Asking the kernel for port 0 hands out an *ephemeral* port: between our closing it and a
    server binding it, any outgoing connection (to PostgreSQL, SMTP, the sandbox…) may be given
    the same number, and the server fails with "address already in use" (it did, once in CI).
    Ports below the ephemeral range are never handed to outgoing connections, and each one is
    handed out once per test run. Parallel test workers draw from disjoint sets of ports.
    """
    ephemeral = _ephemeral_range()
    worker, workers = xdist_worker()
    candidates = [
        p
        for p in range(10000, 65535)
        if p % workers == worker and p not in ephemeral and p not in _handed_out
    ]
    for port in random.sample(candidates, 200):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        _handed_out.add(port)
        return port
    raise RuntimeError("no free loopback port")


class Inbox:
    """An aiosmtpd handler that keeps every message it receives, parsed."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.raw: list[tuple[list[str], bytes]] = []  # (envelope recipients, bytes) as received
        self.refuse: set[str] = set()  # addresses answered 550, as a server with no such box
        self._cond = threading.Condition()

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: Any
    ) -> str:
        if address in self.refuse:
            return "550 5.1.1 no such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self._cond:
            self.raw.append((list(envelope.rcpt_tos), bytes(envelope.original_content)))
            self.messages.append(msg)  # type: ignore[arg-type]
            self._cond.notify_all()
        return "250 Message accepted for delivery"

    def clear(self) -> None:
        with self._cond:
            self.messages.clear()
            self.raw.clear()
            self.refuse.clear()

    def to(self, address: str) -> list[EmailMessage]:
        with self._cond:
            return [m for m in self.messages if address in str(m["To"])]

    def wait_for(self, address: str, count: int = 1, timeout: float = 15) -> list[EmailMessage]:
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                found = [m for m in self.messages if address in str(m["To"])]
                if len(found) >= count:
                    return found
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"no e-mail to {address} within {timeout}s")
                self._cond.wait(left)


class SmtpServer:
    def __init__(self, smtputf8: bool = True) -> None:
        """`smtputf8`: whether the server takes non-ASCII addresses (RFC 6531); many don't."""
        self.inbox = Inbox()
        self.port = free_port()
        self.controller = Controller(
            self.inbox, hostname="127.0.0.1", port=self.port, enable_SMTPUTF8=smtputf8
        )

    def start(self) -> None:
        self.controller.start()

    def stop(self) -> None:
        self.controller.stop()


class LiveServer:
    """Runs an ASGI app with uvicorn in a thread on a free loopback port."""

    def __init__(self, app: Any, port: int | None = None) -> None:
        import uvicorn

        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
        )
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *_: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)

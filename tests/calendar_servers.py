"""Real calendar servers on loopback for the tests: Radicale (a CalDAV server, in a subprocess)
and an iCalendar feed server (stdlib http.server, in a thread).

Any test module can use them through the pytest fixtures `radicale` (one server per session)
and `feed_server` (one per test): import both names into that directory's conftest.py,

    from tests.calendar_servers import feed_server, radicale  # noqa: F401

and build the client with `CalendarClient(allow_private=True)`, since both listen on
127.0.0.1, which the client refuses by default."""

from __future__ import annotations

import datetime as dt
import hashlib
import http.server
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from caldav.davclient import DAVClient
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from meetbridge.core.calendars import CalDavAccount
from tests.support import free_port


class RadicaleServer:
    """`python -m radicale` on a free loopback port, with htpasswd (plain) authentication and
    its storage in a temporary folder."""

    def __init__(self, username: str = "member", password: str = "s3cret-Pass") -> None:
        self.username = username
        self.password = password
        # A second user, whose calendars the first may not use (Radicale's owner_only rights).
        self.users = {username: password, "someone-else": "0ther-Pass"}
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self._dir = tempfile.TemporaryDirectory(prefix="radicale-")
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        root = Path(self._dir.name)
        users = root / "users"
        users.write_text("".join(f"{name}:{pw}\n" for name, pw in self.users.items()))
        self._proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "radicale",
                "--config",  # no config files from /etc or $HOME: only these flags
                "",
                "--server-hosts",
                f"127.0.0.1:{self.port}",
                "--storage-filesystem-folder",
                str(root / "collections"),
                "--auth-type",
                "htpasswd",
                "--auth-htpasswd-filename",
                str(users),
                "--auth-htpasswd-encryption",
                "plain",
                "--auth-delay",
                "0",  # a wrong password is tested; Radicale would sleep a second on it
                "--rights-type",
                "owner_only",
                "--logging-level",
                "warning",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 20
        while True:
            if self._proc.poll() is not None:
                err = self._proc.stderr.read().decode() if self._proc.stderr else ""
                raise RuntimeError(f"Radicale exited at start: {err}")
            try:
                httpx.get(self.url, timeout=1)
                return
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError("Radicale did not answer within 20 s") from None
                time.sleep(0.05)

    def stop(self) -> None:
        if self._proc is not None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
            if self._proc.stderr:
                self._proc.stderr.close()
            self._proc = None
        self._dir.cleanup()

    def client(self, username: str | None = None) -> DAVClient:
        username = username or self.username
        return DAVClient(url=self.url, username=username, password=self.users[username])

    def new_calendar(self, name: str | None = None, username: str | None = None) -> CalDavAccount:
        """A fresh, empty calendar collection of the test user, or of `username` (one per
        test keeps tests apart while sharing the server), as the account a member would save."""
        username = username or self.username
        cal_id = name or f"cal-{uuid.uuid4().hex[:10]}"
        with self.client(username) as client:
            calendar = client.principal().make_calendar(name=cal_id, cal_id=cal_id)
            url = str(calendar.url)
        return CalDavAccount(url=url, username=username, password=self.users[username])


def make_tls_files(folder: Path, name: str = "localhost") -> tuple[Path, Path, Path]:
    """A throwaway CA and a server certificate it signed for `name`: (ca, cert, key) PEM files,
    so HTTPS is tested with the real certificate checks rather than with them off."""
    now = dt.datetime.now(dt.UTC)

    def build(
        subject: str,
        issuer: x509.Name | None,
        key: ec.EllipticCurvePrivateKey,
        signer: ec.EllipticCurvePrivateKey,
        ca: bool,
    ) -> x509.Certificate:
        subject_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject_name)
            .issuer_name(issuer or subject_name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        )
        if not ca:
            builder = builder.add_extension(
                x509.SubjectAlternativeName([x509.DNSName(subject)]), critical=False
            )
        return builder.sign(signer, hashes.SHA256())

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = build("test CA", None, ca_key, ca_key, ca=True)
    key = ec.generate_private_key(ec.SECP256R1())
    cert = build(name, ca_cert.subject, key, ca_key, ca=False)
    paths = folder / "ca.pem", folder / f"{name}.pem", folder / f"{name}.key"
    paths[0].write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return paths


class FeedServer:
    """Serves `ics` (bytes or str) at any path with a strong ETag; answers 304 to a matching
    If-None-Match, and `status` instead of 200 when set. `requests` counts every request,
    `last_headers` keeps the last one's headers. With `tls=(cert, key)` it speaks HTTPS; with
    `send_length = False` the body goes without a Content-Length (read until the close)."""

    def __init__(self, tls: tuple[Path, Path] | None = None) -> None:
        self.ics: bytes = b""
        self.status = 200
        self.content_type = "text/calendar; charset=utf-8"
        self.requests = 0
        self.last_headers: dict[str, str] = {}
        self.redirect_to: str | None = None  # answer 302 to this Location instead
        self.send_length = True
        feed = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                feed.requests += 1
                feed.last_headers = dict(self.headers.items())
                if feed.redirect_to is not None:
                    self.send_response(302)
                    self.send_header("Location", feed.redirect_to)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if feed.status != 200:
                    self.send_response(feed.status)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if self.headers.get("If-None-Match") == feed.etag:
                    self.send_response(304)
                    self.send_header("ETag", feed.etag)
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Type", feed.content_type)
                if feed.send_length:
                    self.send_header("Content-Length", str(len(feed.ics)))
                self.send_header("ETag", feed.etag)
                self.end_headers()
                self.wfile.write(feed.ics)

            def log_message(self, *_: object) -> None:  # keep the test output quiet
                pass

        self.port = free_port()
        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.scheme = "http"
        if tls is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*tls)
            self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
            self.scheme = "https"
        # A short poll: shutdown() waits for one, and every test stops its own server.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def etag(self) -> str:
        return '"' + hashlib.sha256(self.ics).hexdigest()[:16] + '"'

    def serve(self, ics: bytes | str) -> None:
        self.ics = ics.encode() if isinstance(ics, str) else ics

    def url(self, path: str = "/member.ics", host: str = "127.0.0.1") -> str:
        return f"{self.scheme}://{host}:{self.port}{path}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


@pytest.fixture(scope="session")
def radicale() -> Iterator[RadicaleServer]:
    server = RadicaleServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def feed_server() -> Iterator[FeedServer]:
    server = FeedServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()

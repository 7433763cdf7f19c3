"""Reading a member's iCalendar feed (https:// or webcal://) over HTTP.

The URL is typed in by a member and fetched by our server, so each hop is checked by
`addresses.resolve` and the connection goes to the address that was checked (the name is not
looked up a second time, so it cannot be re-pointed at a private host in between). Redirects
are followed here, at most `max_redirects`, each checked the same way. The body is capped,
counted after decompression, so a small gzip bomb is refused like a big file."""

from __future__ import annotations

import datetime as dt
import ssl
import time

import httpx

from meetbridge.core.calendars import BusyRead, CalendarError
from meetbridge.integrations.calendars.addresses import resolve
from meetbridge.integrations.calendars.busy import busy_between, parse_calendar

_REDIRECTS = {301, 302, 303, 307, 308}
_DEFAULT_PORTS = {"http": 80, "https": 443}


def feed_url(url: str) -> httpx.URL:
    """The URL to fetch: webcal:// is https://, only http and https otherwise."""
    text = url.strip()
    lowered = text.lower()
    for prefix in ("webcals://", "webcal://"):
        if lowered.startswith(prefix):
            text = "https://" + text[len(prefix) :]
            break
    try:
        parsed = httpx.URL(text)
    except httpx.InvalidURL as exc:
        raise CalendarError("the feed address is not a valid URL") from exc
    if parsed.scheme not in _DEFAULT_PORTS:
        raise CalendarError("the feed address must start with https://, http:// or webcal://")
    if not parsed.host:
        raise CalendarError("the feed address has no host name")
    return parsed


class FeedReader:
    def __init__(
        self,
        *,
        connect_timeout: float = 5.0,
        read_timeout: float = 10.0,
        total_timeout: float = 30.0,
        max_bytes: int = 5 * 1024 * 1024,
        max_redirects: int = 3,
        allow_private: bool = False,
        user_agent: str = "meetbridge-calendar/1",
        tls_verify: str | bool = True,
    ) -> None:
        # A CA bundle's path, or True for the system's CAs (httpx wants a context for a path).
        self.tls_verify: ssl.SSLContext | bool = (
            ssl.create_default_context(cafile=tls_verify)
            if isinstance(tls_verify, str)
            else tls_verify
        )
        self.timeout = httpx.Timeout(read_timeout, connect=connect_timeout)
        self.total_timeout = total_timeout
        self.max_bytes = max_bytes
        self.max_redirects = max_redirects
        self.allow_private = allow_private
        self.user_agent = user_agent

    def read(
        self, url: str, etag: str | None, start: dt.datetime, end: dt.datetime, timezone: str
    ) -> BusyRead:
        deadline = time.monotonic() + self.total_timeout
        current = feed_url(url)
        # trust_env=False: no proxy from the environment, whose connection we could not check.
        with httpx.Client(
            timeout=self.timeout, follow_redirects=False, trust_env=False, verify=self.tls_verify
        ) as client:
            for _hop in range(self.max_redirects + 1):
                status, headers, body = self._get(client, current, etag, deadline)
                if status in _REDIRECTS and "location" in headers:
                    try:
                        current = feed_url(str(current.join(headers["location"])))
                    except CalendarError as exc:
                        raise CalendarError(f"the feed redirects to a bad address: {exc}") from exc
                    continue
                if status == 304 and etag is not None:
                    return BusyRead((), headers.get("etag", etag), not_modified=True)
                if status != 200:
                    raise CalendarError(f"the feed answered {status}")
                cal = parse_calendar(body)
                busy = busy_between([cal], start, end, timezone)
                return BusyRead(busy, headers.get("etag"))
        raise CalendarError(f"the feed redirects more than {self.max_redirects} times")

    def _get(
        self, client: httpx.Client, url: httpx.URL, etag: str | None, deadline: float
    ) -> tuple[int, httpx.Headers, bytes]:
        port = url.port or _DEFAULT_PORTS[url.scheme]
        addresses = resolve(url.host, port, allow_private=self.allow_private)
        headers = {
            "User-Agent": self.user_agent,
            "Accept": "text/calendar, */*;q=0.5",
            # The connection goes to a checked IP; the server still sees its own name.
            "Host": url.netloc.decode("ascii").rsplit("@", 1)[-1],
        }
        if etag is not None:
            headers["If-None-Match"] = etag
        last: httpx.TransportError | None = None
        for ip in addresses:
            target = url.copy_with(host=str(ip))
            # TLS checks the certificate against the name, not the IP we connect to.
            extensions = {"sni_hostname": url.host} if url.scheme == "https" else {}
            try:
                with client.stream("GET", target, headers=headers, extensions=extensions) as r:
                    body = b""
                    if r.status_code == 200:
                        body = self._body(r, deadline)
                    return r.status_code, r.headers, body
            except httpx.ConnectError as exc:
                if "CERTIFICATE_VERIFY_FAILED" in str(exc):
                    raise CalendarError("the feed's certificate is not valid") from exc
                last = exc  # try the name's next address, as a browser would
            except httpx.TimeoutException as exc:
                raise CalendarError("the feed did not answer in time") from exc
            except httpx.HTTPError as exc:
                raise CalendarError("the feed could not be fetched") from exc
        raise CalendarError("the feed's server could not be reached") from last

    def _body(self, response: httpx.Response, deadline: float) -> bytes:
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            raise CalendarError(self._too_big())
        chunks: list[bytes] = []
        size = 0
        for chunk in response.iter_bytes():
            size += len(chunk)
            if size > self.max_bytes:
                raise CalendarError(self._too_big())
            if time.monotonic() > deadline:  # a server dripping bytes slower than read_timeout
                raise CalendarError("the feed did not answer in time")
            chunks.append(chunk)
        return b"".join(chunks)

    def _too_big(self) -> str:
        mb, kb = self.max_bytes / (1024 * 1024), self.max_bytes / 1024
        size = f"{mb:g} MB" if mb >= 1 else f"{kb:g} KB"
        return f"the feed is larger than {size}"

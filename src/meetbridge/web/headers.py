"""The security headers every response carries, and where a route may differ.

Every response gets a strict Content-Security-Policy (scripts, styles, fonts and requests from
this origin only; no inline script, no `eval`), `X-Content-Type-Options: nosniff`,
`Referrer-Policy: same-origin` and, when `MEETBRIDGE_BASE_URL` is https, HSTS.

Where a route differs, say it here, by path (the route's template, e.g. `/api/v1/tokens`):
- `FRAMING`: path prefix -> who may frame the page (CSP `frame-ancestors`); default 'none'. A
  public booking page that customers embed adds e.g. `"/book/": "*"`.
- `SECRET_ROUTES`: responses that show a secret (a new API token, a host link, a password
  link): `Cache-Control: no-store` and `Referrer-Policy: no-referrer`.
- `POLICIES`: a whole other CSP for a route (the API reference pages below).
A response that sets one of these headers itself keeps its own value: that is the override for
a route whose policy depends on the request (e.g. an organisation's own allowed embedders).
"""

from __future__ import annotations

import functools

SELF_ONLY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'"
)
# ReDoc (styled-components) writes its styles into <style> elements at run time and runs its
# search in a worker started from a blob: URL; its script still comes only from here.
REDOC = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self'; connect-src 'self'; worker-src 'self' blob:; "
    "object-src 'none'; base-uri 'self'"
)

# Booking pages go on customers' own sites (static/embed.js); the booker's manage page, under
# the same prefix, answers with its own frame-ancestors 'none' (web/booking_public.py).
FRAMING: dict[str, str] = {"/book/": "*"}
SECRET_ROUTES = frozenset(
    {
        "/api/v1/tokens",
        "/settings/tokens",
        "/api/v1/meetings/{meeting_id}/host-link",
        "/password/set",
        "/password/forgot",
        # A booking's secret manage link is in these paths.
        "/book/{org_slug}/{type_slug}/booked/{booking_id}/{token}",
        "/book/manage/{booking_id}/{token}",
    }
)
POLICIES: dict[str, str] = {"/redoc": REDOC}
HSTS = b"max-age=31536000"


def frame_ancestors(path: str) -> str:
    for prefix, value in FRAMING.items():
        if path.startswith(prefix):
            return value
    return "'none'"


@functools.lru_cache(maxsize=256)
def _policy(route: str, framing: str) -> bytes:
    return f"{POLICIES.get(route, SELF_ONLY)}; frame-ancestors {framing}".encode()


def security_headers(
    path: str, route: str | None, present: set[bytes], https: bool
) -> list[tuple[bytes, bytes]]:
    """The headers to add to a response for `path` (matched by `route`), leaving out those
    the response already has (`present`, lower-case names)."""
    secret = route in SECRET_ROUTES
    wanted: list[tuple[bytes, bytes]] = [
        (b"content-security-policy", _policy(route or "", frame_ancestors(path))),
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"no-referrer" if secret else b"same-origin"),
    ]
    if secret:
        wanted.append((b"cache-control", b"no-store"))
    if https:
        wanted.append((b"strict-transport-security", HSTS))
    return [(k, v) for k, v in wanted if k not in present]

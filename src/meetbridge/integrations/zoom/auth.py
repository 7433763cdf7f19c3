"""The bearer token as an `httpx.Auth` flow: every request carries the connection's access
token; a 401 (Zoom's code 124, "Invalid access token": expired, revoked, or superseded by a
newer token, which cannot be told apart) is answered by one refresh and one retry.

A 401 means Zoom refused the request before doing anything, so the retry is safe even for a
create. The refresh goes through the `TokenManager`, which makes it happen once across every
process however many calls see the 401 together."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import httpx

from meetbridge.integrations.zoom.tokens import Credentials, TokenManager

INVALID_TOKEN = 124


class ZoomBearer(httpx.Auth):
    requires_response_body = True  # the 401's body says which code

    def __init__(self, tokens: TokenManager, creds: Credentials) -> None:
        self.tokens = tokens
        self.creds = creds
        self.refreshed = False  # once per call: a second 401 is Zoom's answer

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = f"Bearer {self.creds.access_token}"
        response = yield request
        if self.refreshed or not _token_refused(response):
            return
        self.refreshed = True
        self.creds = self.tokens.refresh(self.creds.connection_id, self.creds.token_version)
        request.headers["Authorization"] = f"Bearer {self.creds.access_token}"
        yield request


def _token_refused(response: httpx.Response) -> bool:
    if response.status_code == 401:
        return True
    if response.status_code < 400 or response.status_code >= 500:
        return False
    try:
        body: Any = response.json()
    except ValueError:
        return False
    return isinstance(body, dict) and body.get("code") == INVALID_TOKEN

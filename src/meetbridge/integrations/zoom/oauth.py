"""The OAuth mechanics with Zoom: the authorize URL with state and PKCE (S256), the code
exchange, refresh, Server-to-Server account credentials, revocation. HTTP Basic client auth."""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx


@dataclass(frozen=True)
class TokenSet:
    access_token: str
    expires_in: int
    scope: str
    refresh_token: str | None = None


class OAuthFailed(Exception):
    """Zoom's token endpoint refused: `error` is Zoom's (invalid_grant, invalid_client, …);
    `status` 0 means Zoom could not be reached."""

    def __init__(self, error: str, reason: str, status: int) -> None:
        super().__init__(f"{error}: {reason}")
        self.error, self.reason, self.status = error, reason, status


def pkce_pair() -> tuple[str, str]:
    """(verifier, S256 challenge)"""
    verifier = secrets.token_urlsafe(64)[:96]
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    return verifier, challenge.decode().rstrip("=")


class ZoomOAuth:
    def __init__(self, oauth_base: str, http: httpx.Client) -> None:
        self.base = oauth_base.rstrip("/")
        self.http = http

    def authorize_url(
        self,
        client_id: str,
        redirect_uri: str,
        state: str,
        challenge: str,
        scope: str | None = None,
    ) -> str:
        """`scope`: space-separated, asked for explicitly; without it Zoom asks for the app's
        configured scopes."""
        params = {
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": redirect_uri,
            "state": state,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
        if scope:
            params["scope"] = " ".join(scope.split())
        return f"{self.base}/oauth/authorize?{urlencode(params)}"

    def exchange_code(
        self, client_id: str, secret: str, code: str, redirect_uri: str, verifier: str
    ) -> TokenSet:
        return self._token(
            client_id,
            secret,
            {
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": redirect_uri,
                "code_verifier": verifier,
            },
        )

    def refresh(self, client_id: str, secret: str, refresh_token: str) -> TokenSet:
        return self._token(
            client_id, secret, {"grant_type": "refresh_token", "refresh_token": refresh_token}
        )

    def account_token(self, client_id: str, secret: str, account_id: str) -> TokenSet:
        return self._token(
            client_id, secret, {"grant_type": "account_credentials", "account_id": account_id}
        )

    def revoke(self, client_id: str, secret: str, token: str) -> None:
        self._post("/oauth/revoke", client_id, secret, {"token": token})

    def _token(self, client_id: str, secret: str, form: dict[str, str]) -> TokenSet:
        body = self._post("/oauth/token", client_id, secret, form)
        try:
            return TokenSet(
                access_token=str(body["access_token"]),
                expires_in=int(body["expires_in"]),
                scope=str(body.get("scope", "")),
                refresh_token=body.get("refresh_token"),
            )
        except (KeyError, TypeError, ValueError):
            raise OAuthFailed("invalid_response", "Zoom's token reply was malformed", 200) from None

    def _post(self, path: str, client_id: str, secret: str, form: dict[str, str]) -> Any:
        try:
            r = self.http.post(f"{self.base}{path}", data=form, auth=(client_id, secret))
        except httpx.HTTPError as exc:
            raise OAuthFailed("unreachable", f"{type(exc).__name__}: {exc}", 0) from None
        try:
            body = r.json()
        except ValueError:
            body = {}
        if r.status_code >= 400 or not isinstance(body, dict):
            error = body.get("error", f"http_{r.status_code}") if isinstance(body, dict) else ""
            reason = body.get("reason", "") if isinstance(body, dict) else ""
            raise OAuthFailed(str(error), str(reason or r.reason_phrase), r.status_code)
        return body

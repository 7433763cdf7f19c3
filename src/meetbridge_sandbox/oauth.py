"""Zoom's OAuth server: client authentication, authorization codes (PKCE), token pairs with
refresh rotation, Server-to-Server tokens, revocation and the app_deauthorized it sends."""

from __future__ import annotations

import base64
import hashlib
import secrets
from typing import Any

from meetbridge_sandbox import events
from meetbridge_sandbox.base import SandboxBase
from meetbridge_sandbox.errors import OAuthError
from meetbridge_sandbox.state import App, AuthCode, Grant, Token, User

ACCESS_TTL = 3600
CODE_TTL = 300


class OAuth(SandboxBase):
    def app_by_basic(self, header: str | None) -> App:
        if not header or not header.lower().startswith("basic "):
            raise OAuthError(401, "invalid_client", "Invalid client_id or client_secret")
        try:
            raw = base64.b64decode(header[6:].strip()).decode()
        except ValueError:
            raise OAuthError(401, "invalid_client", "Invalid client_id or client_secret") from None
        client_id, _, secret = raw.partition(":")
        app = self.state.apps.get(client_id)
        if app is None or not secrets.compare_digest(app.client_secret, secret):
            raise OAuthError(401, "invalid_client", "Invalid client_id or client_secret")
        return app

    def issue_code(
        self,
        app: App,
        user: User,
        redirect_uri: str,
        scopes: list[str],
        challenge: str | None,
        method: str,
    ) -> str:
        code = secrets.token_urlsafe(24)
        self.state.codes[code] = AuthCode(
            code=code,
            client_id=app.client_id,
            user_id=user.id,
            redirect_uri=redirect_uri,
            scopes=scopes,
            challenge=challenge,
            method=method,
            expires_at=self.clock.time() + CODE_TTL,
        )
        key = f"{app.client_id}/{user.id}"
        self.state.grants[key] = Grant(app.client_id, user.id, scopes, self.clock.time())
        self.save()
        return code

    def exchange_code(
        self, app: App, code: str, redirect_uri: str | None, verifier: str | None
    ) -> dict[str, Any]:
        ac = self.state.codes.get(code)
        if ac is None or ac.client_id != app.client_id:
            raise OAuthError(400, "invalid_request", "Invalid authorization code " + code[:6])
        if ac.used:
            raise OAuthError(400, "invalid_request", "Invalid authorization code " + code[:6])
        if ac.expires_at < self.clock.time():
            raise OAuthError(400, "invalid_grant", "Authorization code has expired")
        if redirect_uri != ac.redirect_uri:
            raise OAuthError(400, "invalid_request", "Redirect URI mismatch.")
        if ac.challenge is not None:
            if not verifier:
                raise OAuthError(400, "invalid_request", "code_verifier is required")
            if ac.method == "S256":
                digest = hashlib.sha256(verifier.encode()).digest()
                computed = base64.urlsafe_b64encode(digest).decode().rstrip("=")
            else:
                computed = verifier
            if not secrets.compare_digest(computed, ac.challenge):
                raise OAuthError(400, "invalid_grant", "Invalid code_verifier")
        ac.used = True
        user = self.state.users[ac.user_id]
        return self._issue_pair(app, user, ac.scopes)

    def _issue_pair(self, app: App, user: User, scopes: list[str]) -> dict[str, Any]:
        now = self.clock.time()
        access = Token(
            self._token_value(),
            "access",
            app.client_id,
            user.account_id,
            user.id,
            scopes,
            now,
            now + ACCESS_TTL,
        )
        refresh = Token(
            self._token_value(),
            "refresh",
            app.client_id,
            user.account_id,
            user.id,
            scopes,
            now,
            None,
        )
        self.state.tokens[access.value] = access
        self.state.tokens[refresh.value] = refresh
        self.save()
        return {
            "access_token": access.value,
            "token_type": "bearer",
            "refresh_token": refresh.value,
            "expires_in": ACCESS_TTL,
            "scope": " ".join(scopes),
        }

    def refresh(self, app: App, value: str) -> dict[str, Any]:
        tok = self.state.tokens.get(value)
        if (
            tok is None
            or tok.kind != "refresh"
            or tok.client_id != app.client_id
            or tok.revoked
            or tok.superseded
        ):
            raise OAuthError(400, "invalid_grant", "Invalid Token!")
        if f"{app.client_id}/{tok.user_id}" not in self.state.grants:
            raise OAuthError(400, "invalid_grant", "Invalid Token!")
        tok.superseded = True  # rotation: the old refresh token stops working now
        return self._issue_pair(app, self.state.users[tok.user_id or ""], tok.scopes)

    def account_token(self, app: App, account_id: str | None) -> dict[str, Any]:
        if app.kind != "s2s":
            raise OAuthError(400, "unsupported_grant_type", "Unsupported grant type")
        if not account_id or account_id != app.account_id:
            raise OAuthError(400, "invalid_request", "Invalid account_id")
        now = self.clock.time()
        access = Token(
            self._token_value(),
            "access",
            app.client_id,
            account_id,
            None,
            list(app.scopes),
            now,
            now + ACCESS_TTL,
        )
        self.state.tokens[access.value] = access
        self.save()
        return {
            "access_token": access.value,
            "token_type": "bearer",
            "expires_in": ACCESS_TTL,
            "scope": " ".join(app.scopes),
            # Zoom's S2S token reply names the API host to call (Zoom's webhooks page,
            # "Request an access token": `"api_url": "https://api.zoom.us"`).
            "api_url": self.config.base_url,
        }

    def revoke(self, app: App, value: str) -> None:
        """Revokes the authorization behind a token (as Zoom does): every token of that user
        and app stops working, and the app is told with app_deauthorized."""
        tok = self.state.tokens.get(value)
        if tok is None or tok.client_id != app.client_id:
            raise OAuthError(400, "invalid_request", "Invalid Token!")
        if tok.user_id:
            self.deauthorize(app.client_id, tok.user_id, user_data_retention=False)
        else:
            tok.revoked = True
            self.save()

    def deauthorize(self, client_id: str, user_id: str, user_data_retention: bool) -> None:
        self.state.grants.pop(f"{client_id}/{user_id}", None)
        for t in self.state.tokens.values():
            if t.client_id == client_id and t.user_id == user_id:
                t.revoked = True
        app = self.state.apps.get(client_id)
        user = self.state.users.get(user_id)
        if app and app.deauth_url and user:
            payload = events.app_deauthorized(client_id, user, user_data_retention)
            self.queue_delivery(
                app, app.deauth_url, events.body("app_deauthorized", payload), "app_deauthorized"
            )
        self.save()

    def _token_value(self) -> str:
        # Zoom's access tokens are JWTs; clients must treat them as opaque, and so do we.
        return "sbx." + secrets.token_urlsafe(40)

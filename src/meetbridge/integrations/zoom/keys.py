"""Key rotation: every Zoom secret meetbridge stores, re-encrypted with the newest key."""

from __future__ import annotations

from sqlalchemy import select

from meetbridge.core.crypto import Crypto
from meetbridge.core.db import Database
from meetbridge.integrations.zoom.tables import OAuthState, ZoomConnection, ZoomRevocation


def rotate_keys(db: Database, crypto: Crypto) -> dict[str, int]:
    """Re-encrypts every stored Zoom secret with the newest key; returns counts per table."""
    counts = {"zoom_connections": 0, "oauth_states": 0, "zoom_revocations": 0}
    with db.write() as s:
        for conn in s.scalars(select(ZoomConnection)):
            for attr in ("access_token_enc", "refresh_token_enc", "client_secret_enc"):
                value = getattr(conn, attr)
                if value:
                    setattr(conn, attr, crypto.rotate(value))
                    counts["zoom_connections"] += 1
        for state in s.scalars(select(OAuthState)):
            state.verifier_enc = crypto.rotate(state.verifier_enc)
            counts["oauth_states"] += 1
        for rev in s.scalars(select(ZoomRevocation).where(ZoomRevocation.token_enc != "")):
            rev.token_enc = crypto.rotate(rev.token_enc)
            counts["zoom_revocations"] += 1
    return counts

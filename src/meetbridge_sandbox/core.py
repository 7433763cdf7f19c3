"""The sandbox's behaviour, apart from HTTP, in layers each built on the one before:
base (state, clock, events out) → oauth → access (tokens, scopes, limits; users) → meetings →
live (running meetings, recordings, registrants)."""

from __future__ import annotations

from meetbridge_sandbox.base import Caller
from meetbridge_sandbox.errors import OAuthError, ZoomError, invalid
from meetbridge_sandbox.live import Live


class Sandbox(Live):
    """One Zoom: its accounts, users, apps and meetings, and the events they raise."""


__all__ = ["Caller", "OAuthError", "Sandbox", "ZoomError", "invalid"]

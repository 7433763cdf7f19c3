"""The sandbox's settings. It reads the same variables the product uses to reach Zoom, so the
demo works with no setup: the user-level app's credentials and redirect URI, the admin-managed
OAuth app's, and the Server-to-Server app's account id and credentials, each with a documented
demo default."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

DEMO_CLIENT_ID = "mbDemoUserApp"
DEMO_CLIENT_SECRET = "mb-demo-user-app-secret-0123456789"  # noqa: S105
DEMO_REDIRECT_URI = "http://127.0.0.1:8000/integrations/zoom/callback"
DEMO_WEBHOOK_SECRET = "mb-demo-webhook-secret-token"  # noqa: S105
DEMO_S2S_ACCOUNT_ID = "mbDemoAccount01"
DEMO_S2S_CLIENT_ID = "mbDemoS2SApp"
DEMO_S2S_CLIENT_SECRET = "mb-demo-s2s-app-secret-0123456789"  # noqa: S105
DEMO_ADMIN_CLIENT_ID = "mbDemoAdminApp"
DEMO_ADMIN_CLIENT_SECRET = "mb-demo-admin-app-secret-0123456789"  # noqa: S105
DEMO_USER_PASSWORD = "sandbox-password"  # noqa: S105  (sign-in of the seeded Zoom users)
DEFAULT_USER_SCOPES = ("meeting:write", "meeting:read", "user:read")
DEFAULT_S2S_SCOPES = (
    "meeting:write:admin",
    "meeting:read:admin",
    "user:read:admin",
    "user:write:admin",
    "recording:read:admin",
)
# The admin-managed OAuth app's granular scopes: each acts on any user of the account
# (/work/shared/ZOOM_API_FACTS.md §3, "Granular").
DEFAULT_ADMIN_SCOPES = (
    "meeting:read:list_meetings:admin",
    "meeting:read:meeting:admin",
    "meeting:write:meeting:admin",
    "meeting:update:meeting:admin",
    "meeting:delete:meeting:admin",
    "meeting:read:list_registrants:admin",
    "meeting:write:registrant:admin",
    "user:read:list_users:admin",
    "user:read:user:admin",
    "user:write:user:admin",
    "cloud_recording:read:list_recording_files:admin",
    "cloud_recording:read:list_user_recordings:admin",
)
# meetbridge's callbacks: its own Zoom (user app) and the organisation's account (admin app).
USER_CALLBACK = "/integrations/zoom/callback"
ADMIN_CALLBACK = "/integrations/zoom/account/callback"


def _env(name: str, default: str) -> str:
    return os.environ.get(name) or default


@dataclass(frozen=True)
class SandboxConfig:
    host: str = "127.0.0.1"
    port: int = 8100
    public_url: str = ""
    state_file: str | None = None
    seed: bool = True
    # The control API (/_sandbox) answers loopback only unless this is set.
    control_from_anywhere: bool = False
    user_client_id: str = DEMO_CLIENT_ID
    user_client_secret: str = DEMO_CLIENT_SECRET
    redirect_uris: tuple[str, ...] = (DEMO_REDIRECT_URI,)
    user_scopes: tuple[str, ...] = DEFAULT_USER_SCOPES
    webhook_url: str | None = None
    deauth_url: str | None = None
    webhook_secret: str = DEMO_WEBHOOK_SECRET
    s2s_account_id: str = DEMO_S2S_ACCOUNT_ID
    s2s_client_id: str = DEMO_S2S_CLIENT_ID
    s2s_client_secret: str = DEMO_S2S_CLIENT_SECRET
    s2s_scopes: tuple[str, ...] = field(default=DEFAULT_S2S_SCOPES)
    admin_client_id: str = DEMO_ADMIN_CLIENT_ID
    admin_client_secret: str = DEMO_ADMIN_CLIENT_SECRET
    # Empty: the user app's redirect URIs with meetbridge's account callback in their place.
    admin_redirect_uris: tuple[str, ...] = ()
    admin_scopes: tuple[str, ...] = DEFAULT_ADMIN_SCOPES

    @property
    def base_url(self) -> str:
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    @property
    def effective_admin_redirect_uris(self) -> tuple[str, ...]:
        """The admin app's allow list: as set, or next to each of the user app's callbacks
        (the same meetbridge, its account callback), so one redirect setting serves both."""
        if self.admin_redirect_uris:
            return self.admin_redirect_uris
        return tuple(
            u.removesuffix(USER_CALLBACK) + ADMIN_CALLBACK
            for u in self.redirect_uris
            if u.endswith(USER_CALLBACK)
        )

    @classmethod
    def from_env(cls, **over: object) -> SandboxConfig:
        """MEETBRIDGE_ZOOM_CLIENT_ID / _CLIENT_SECRET / _REDIRECT_URI / _WEBHOOK_SECRET,
        MEETBRIDGE_ZOOM_ADMIN_CLIENT_ID / _ADMIN_CLIENT_SECRET / _ADMIN_REDIRECT_URI /
        _ADMIN_SCOPES and MEETBRIDGE_SANDBOX_S2S_ACCOUNT_ID / _CLIENT_ID / _CLIENT_SECRET, plus
        MEETBRIDGE_SANDBOX_WEBHOOK_URL and _DEAUTH_URL (where the sandbox sends events)."""
        redirect = _env("MEETBRIDGE_ZOOM_REDIRECT_URI", DEMO_REDIRECT_URI)
        scopes = os.environ.get("MEETBRIDGE_ZOOM_SCOPES")
        admin_redirect = os.environ.get("MEETBRIDGE_ZOOM_ADMIN_REDIRECT_URI", "")
        admin_scopes = os.environ.get("MEETBRIDGE_ZOOM_ADMIN_SCOPES")
        values: dict[str, object] = {
            "user_client_id": _env("MEETBRIDGE_ZOOM_CLIENT_ID", DEMO_CLIENT_ID),
            "user_client_secret": _env("MEETBRIDGE_ZOOM_CLIENT_SECRET", DEMO_CLIENT_SECRET),
            "redirect_uris": tuple(u.strip() for u in redirect.split(",") if u.strip()),
            "user_scopes": tuple(scopes.replace(",", " ").split())
            if scopes
            else DEFAULT_USER_SCOPES,
            "webhook_secret": _env("MEETBRIDGE_ZOOM_WEBHOOK_SECRET", DEMO_WEBHOOK_SECRET),
            "webhook_url": os.environ.get("MEETBRIDGE_SANDBOX_WEBHOOK_URL") or None,
            "deauth_url": os.environ.get("MEETBRIDGE_SANDBOX_DEAUTH_URL") or None,
            "control_from_anywhere": os.environ.get("MEETBRIDGE_SANDBOX_CONTROL_FROM_ANYWHERE")
            in ("1", "true", "yes"),
            "s2s_account_id": _env("MEETBRIDGE_SANDBOX_S2S_ACCOUNT_ID", DEMO_S2S_ACCOUNT_ID),
            "s2s_client_id": _env("MEETBRIDGE_SANDBOX_S2S_CLIENT_ID", DEMO_S2S_CLIENT_ID),
            "s2s_client_secret": _env(
                "MEETBRIDGE_SANDBOX_S2S_CLIENT_SECRET", DEMO_S2S_CLIENT_SECRET
            ),
            "admin_client_id": _env("MEETBRIDGE_ZOOM_ADMIN_CLIENT_ID", DEMO_ADMIN_CLIENT_ID),
            "admin_client_secret": _env(
                "MEETBRIDGE_ZOOM_ADMIN_CLIENT_SECRET", DEMO_ADMIN_CLIENT_SECRET
            ),
            "admin_redirect_uris": tuple(u.strip() for u in admin_redirect.split(",") if u.strip()),
            "admin_scopes": tuple(admin_scopes.replace(",", " ").split())
            if admin_scopes
            else DEFAULT_ADMIN_SCOPES,
        }
        values.update(over)
        return cls(**values)  # type: ignore[arg-type]

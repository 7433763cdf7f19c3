"""Settings, built once from MEETBRIDGE_* environment variables and `.env`, then passed in.

Nothing reads the environment after start-up: every component takes the `Settings` it is given,
so tests and several processes can each build their own.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Documented demo defaults. They make `make run` work with no setup, and are refused outside
# demo mode so that a production deployment can never run on a secret published in git.
DEMO_SECRET_KEY = "demo-secret-key-change-me-0123456789abcdef"  # noqa: S105
DEMO_ENCRYPTION_KEY = "ZGVtby1lbmNyeXB0aW9uLWtleS1jaGFuZ2UtbWUhIT0="
# The Zoom sandbox's demo app (docs/sandbox.md): the same values it starts with.
DEMO_ZOOM_CLIENT_ID = "mbDemoUserApp"
DEMO_ZOOM_CLIENT_SECRET = "mb-demo-user-app-secret-0123456789"  # noqa: S105
DEMO_ZOOM_WEBHOOK_SECRET = "mb-demo-webhook-secret-token"  # noqa: S105
# The sandbox's admin-managed OAuth app (the organisation's account through admin OAuth).
DEMO_ZOOM_ADMIN_CLIENT_ID = "mbDemoAdminApp"
DEMO_ZOOM_ADMIN_CLIENT_SECRET = "mb-demo-admin-app-secret-0123456789"  # noqa: S105
# What connecting the account through admin OAuth asks for: granular scopes, each on any user
# of the account (docs/zoom.md; /work/shared/ZOOM_API_FACTS.md §3).
ZOOM_ADMIN_SCOPES = (
    "meeting:read:list_meetings:admin meeting:read:meeting:admin meeting:write:meeting:admin "
    "meeting:update:meeting:admin meeting:delete:meeting:admin "
    "meeting:read:list_registrants:admin meeting:write:registrant:admin "
    "user:read:list_users:admin user:read:user:admin user:write:user:admin "
    "cloud_recording:read:list_recording_files:admin "
    "cloud_recording:read:list_user_recordings:admin"
)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="MEETBRIDGE_", env_file=".env", extra="ignore", frozen=True
    )

    mode: Literal["demo", "production"] = "demo"
    data_dir: Path = Path("var")
    database_url: str | None = None
    redis_url: str | None = None

    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    base_url: str | None = None
    web_workers: int = Field(1, ge=1, le=64)
    # Threads per worker process. A job spends most of its time waiting for Zoom (100-500 ms a
    # call), holding no database connection meanwhile: enough threads keep that many calls in
    # flight (64 threads at 300 ms a call: about 200 meetings a second per worker process).
    worker_threads: int = Field(64, ge=1, le=128)
    # Threads per web process for handlers that block (writes, password hashing): as many as
    # the process has database connections; more only contend for the GIL.
    web_threads: int = Field(15, ge=1, le=200)

    secret_key: SecretStr = SecretStr(DEMO_SECRET_KEY)
    # Comma-separated Fernet keys, newest first (MultiFernet): rotate by prepending a new key.
    encryption_keys: SecretStr = SecretStr(DEMO_ENCRYPTION_KEY)
    demo_password: SecretStr | None = None

    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = False
    smtp_timeout: float = 10.0
    mail_from: str = "meetbridge <no-reply@meetbridge.local>"
    outbox_dir: Path | None = None

    session_hours: int = Field(12, ge=1, le=24 * 30)
    login_max_failures: int = Field(5, ge=1)
    login_window_minutes: int = Field(15, ge=1)
    # Reverse proxies whose X-Forwarded-For / X-Forwarded-Proto are believed (comma-separated
    # addresses, or "*"). Unset, the client's address is the connection's: behind a proxy every
    # user would share the proxy's, and sign-in throttling would treat them as one.
    trusted_proxies: str = ""
    max_body_bytes: int = Field(1_048_576, ge=1024)
    log_level: str = "INFO"
    log_json: bool = True

    zoom_api_base: str = "https://api.zoom.us/v2"
    zoom_oauth_base: str = "https://zoom.us"
    zoom_client_id: str = DEMO_ZOOM_CLIENT_ID
    zoom_client_secret: SecretStr = SecretStr(DEMO_ZOOM_CLIENT_SECRET)
    zoom_redirect_uri: str | None = None
    # Space-separated. Granular equivalent: meeting:write:meeting meeting:update:meeting
    # meeting:delete:meeting meeting:read:meeting user:read:user (docs/zoom.md).
    zoom_scopes: str = "meeting:write meeting:read user:read"
    zoom_webhook_secret: SecretStr = SecretStr(DEMO_ZOOM_WEBHOOK_SECRET)
    # The admin-managed OAuth app an owner or admin connects the organisation's Zoom account
    # with (besides Server-to-Server), its redirect URI and the scopes it asks for.
    zoom_admin_client_id: str = DEMO_ZOOM_ADMIN_CLIENT_ID
    zoom_admin_client_secret: SecretStr = SecretStr(DEMO_ZOOM_ADMIN_CLIENT_SECRET)
    zoom_admin_redirect_uri: str | None = None
    zoom_admin_scopes: str = ZOOM_ADMIN_SCOPES
    zoom_plan: Literal["basic", "pro", "business"] = "pro"
    # Zoom raises the per-second limits of some accounts on request: scale ours to match.
    zoom_qps_multiplier: float = Field(1.0, gt=0)
    zoom_timeout: float = Field(10.0, gt=0)
    zoom_retries: int = Field(3, ge=0, le=10)
    zoom_max_wait: float = Field(30.0, ge=0)  # longest a call waits on a 429 before giving up
    # A worker owns a meeting it is sending to Zoom for this long; it must exceed the longest
    # call (timeout x (retries + 1) + waits on 429s), or another worker could repeat it.
    meetings_lease_seconds: float = Field(120.0, gt=0)  # raised to the longest call if shorter
    meetings_retry_base_seconds: float = Field(5.0, gt=0)  # back-off: base x 2^attempt
    meetings_retry_max_seconds: float = Field(900.0, gt=0)
    # How long after an unclear create the reconciler looks for a late copy at Zoom.
    meetings_sweep_after_seconds: float = Field(300.0, ge=0)
    # Finished rows (sent e-mails, handled webhook events and domain events, sign-in attempts)
    # are deleted after this many days.
    retention_days: int = Field(90, ge=1, le=3650)
    # Invitations: people per meeting (at most the 300 the API's schema allows), and people
    # one organisation may invite in 24 hours (meetings/caps.py).
    invitees_per_meeting: int = Field(300, ge=1, le=300)
    invitations_per_day: int = Field(1000, ge=1)
    # Booking: how long a booker waits for Zoom to make the meeting before being told that the
    # link follows; public booking attempts per address and per e-mail in an hour; the Jitsi
    # Meet server a fallback room is made on; whether calendar addresses on private networks
    # may be read (off: a member's feed URL must not reach the server's own network).
    booking_link_wait_seconds: float = Field(20.0, ge=0, le=3600)
    booking_attempts_per_address: int = Field(30, ge=1)
    booking_attempts_per_email: int = Field(10, ge=1)
    booking_jitsi_server: str = "https://meet.jit.si"
    calendar_allow_private: bool = False
    calendar_refresh_minutes: int = Field(15, ge=1, le=1440)
    # Where `meetbridge run` starts the Zoom sandbox (and points the two bases above at it).
    sandbox_port: int = Field(8100, ge=1, le=65535)

    @model_validator(mode="after")
    def _refuse_demo_secrets_in_production(self) -> Settings:
        if self.mode != "demo":
            if self.secret_key.get_secret_value() == DEMO_SECRET_KEY:
                raise ValueError("MEETBRIDGE_SECRET_KEY is the published demo key; set your own")
            if DEMO_ENCRYPTION_KEY in self.encryption_keys.get_secret_value():
                raise ValueError(
                    "MEETBRIDGE_ENCRYPTION_KEYS holds the published demo key; set your own"
                )
            if len(self.secret_key.get_secret_value()) < 32:
                raise ValueError("MEETBRIDGE_SECRET_KEY must be at least 32 characters")
            if self.zoom_webhook_secret.get_secret_value() == DEMO_ZOOM_WEBHOOK_SECRET:
                raise ValueError(
                    "MEETBRIDGE_ZOOM_WEBHOOK_SECRET is the published demo secret; set your app's"
                )
        return self

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'meetbridge.db'}"

    @property
    def effective_outbox_dir(self) -> Path:
        return self.outbox_dir or self.data_dir / "outbox"

    @property
    def effective_base_url(self) -> str:
        return (self.base_url or f"http://{self.host}:{self.port}").rstrip("/")

    @property
    def zoom_longest_call(self) -> float:
        """The longest one Zoom call can take: timeouts on every try, waits on 429s, back-off."""
        return self.zoom_timeout * (self.zoom_retries + 1) + self.zoom_max_wait + 10

    @property
    def effective_meetings_lease(self) -> float:
        """The lease, never shorter than the longest Zoom call, so no second worker takes over
        a call in flight."""
        return max(self.meetings_lease_seconds, self.zoom_longest_call)

    @property
    def effective_zoom_redirect_uri(self) -> str:
        return self.zoom_redirect_uri or f"{self.effective_base_url}/integrations/zoom/callback"

    @property
    def effective_zoom_admin_redirect_uri(self) -> str:
        return (
            self.zoom_admin_redirect_uri
            or f"{self.effective_base_url}/integrations/zoom/account/callback"
        )

    @property
    def huey_file(self) -> Path:
        return self.data_dir / "jobs.db"

    @property
    def secure_cookies(self) -> bool:
        return self.effective_base_url.startswith("https://")

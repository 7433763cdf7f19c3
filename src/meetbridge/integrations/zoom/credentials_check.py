"""What a person is told while connecting Zoom: the Server-to-Server check ("Test Zoom"), the
scopes Zoom granted, and the code exchange's failures, each with what to do next."""

from __future__ import annotations

from dataclasses import dataclass, field

from meetbridge.integrations.zoom.client import ZoomClient
from meetbridge.integrations.zoom.errors import ZoomError, ZoomScopeError, ZoomUnavailable
from meetbridge.integrations.zoom.oauth import OAuthFailed, ZoomOAuth

# Server-to-Server apps need these, each as a classic or a granular scope.
ACCOUNT_SCOPES = [
    ("meeting:write:admin", "meeting:write:meeting:admin"),
    ("meeting:read:admin", "meeting:read:meeting:admin"),
    ("user:read:admin", "user:read:user:admin"),
]


@dataclass
class TestResult:
    ok: bool
    message: str
    field_name: str | None = None
    zoom_users: int = 0
    example_user: str | None = None
    scopes: list[str] = field(default_factory=list)


def check_account(
    oauth: ZoomOAuth, client: ZoomClient, account_id: str, client_id: str, client_secret: str
) -> TestResult:
    """Fetches a token, checks the scopes and looks up a user, with a specific message for
    each way it can fail ("Test Zoom")."""
    for name, value in (
        ("account_id", account_id),
        ("client_id", client_id),
        ("client_secret", client_secret),
    ):
        if not value.strip():
            return TestResult(False, "Fill in all three fields.", name)
        if len(value) > 200:
            return TestResult(False, "This is longer than any Zoom credential.", name)
    try:
        tokens = oauth.account_token(client_id.strip(), client_secret.strip(), account_id.strip())
    except OAuthFailed as exc:
        if exc.status == 0 or exc.status >= 500:
            return TestResult(
                False,
                "Zoom could not be reached. Check this server's network "
                "and proxy settings, then test again.",
            )
        if exc.error == "unsupported_grant_type":
            # Zoom's answer to account_credentials asked of a user-level (or General) OAuth
            # app: only a Server-to-Server OAuth app may use that grant (Zoom's S2S docs).
            return TestResult(
                False,
                "These are not the credentials of a Server-to-Server OAuth app (they look "
                "like a user-level OAuth app's, which Zoom gives no account token to). In the "
                "Zoom App Marketplace choose Develop → Build App → Server-to-Server OAuth, "
                "activate it, and copy its Account ID, Client ID and Client Secret from its "
                "App Credentials page.",
                "client_id",
            )
        if exc.error == "invalid_client":
            return TestResult(
                False,
                "Zoom refused the Client ID or Client Secret. Copy them "
                "again from your Server-to-Server OAuth app's App "
                "Credentials.",
                "client_secret",
            )
        if "account" in exc.reason.lower():
            return TestResult(
                False,
                "Zoom does not know this Account ID for this app. Copy it "
                "from the app's App Credentials page.",
                "account_id",
            )
        return TestResult(False, f"Zoom refused the credentials ({exc.error}: {exc.reason}).")
    granted = tokens.scope.split()
    missing = [group[0] for group in ACCOUNT_SCOPES if not set(group) & set(granted)]
    if missing:
        return TestResult(
            False,
            "The app lacks scopes meetbridge needs: "
            f"{', '.join(missing)}. Add them in the app's Scopes page and "
            "activate it again.",
            "scopes",
            scopes=granted,
        )
    try:
        page = client.probe(tokens.access_token, "/users", {"page_size": 1})
    except ZoomScopeError as exc:
        return TestResult(
            False, f"The app cannot list users: {exc.message}", "scopes", scopes=granted
        )
    except ZoomUnavailable:
        return TestResult(
            False,
            "Zoom could not be reached. Check this server's network "
            "and proxy settings, then test again.",
        )
    except ZoomError as exc:
        return TestResult(False, f"Zoom refused to list users: {exc.message}")
    users = page.get("users", [])
    return TestResult(
        True,
        "Zoom works: the credentials, scopes and user lookup are fine.",
        zoom_users=int(page.get("total_records", len(users))),
        example_user=users[0].get("email") if users else None,
        scopes=granted,
    )


def missing_scopes(wanted_scopes: str, granted: str) -> str | None:
    """A warning when Zoom granted less than MEETBRIDGE_ZOOM_SCOPES asks for (each scope
    counts as granted when its classic name or a granular one of its family is there)."""
    have = set(granted.split())
    missing = []
    for wanted in wanted_scopes.split():
        product, _, action = wanted.partition(":")
        family = [
            g
            for g in have
            if g.startswith(f"{product}:")
            and (
                g == wanted
                or g.split(":")[1] == action
                or (action == "write" and g.split(":")[1] in ("write", "update", "delete"))
            )
        ]
        if not family:
            missing.append(wanted)
    if not missing:
        return None
    return (
        "Zoom granted fewer permissions than meetbridge needs: "
        f"{', '.join(missing)}. Ask your Zoom admin to add them to the app, then "
        "reconnect."
    )


def bound_elsewhere(email: str) -> str:
    return (
        f"The Zoom account {email} is already connected to another meetbridge login. A Zoom "
        "account can belong to one login only. Sign in to Zoom as a different user, or ask "
        "an admin to release it if that login was deactivated."
    )


def exchange_message(exc: OAuthFailed) -> str:
    if exc.status == 0:
        return "Zoom could not be reached to finish connecting. Try again in a minute."
    if exc.error == "invalid_client":
        return (
            "Zoom refused meetbridge's app credentials. An admin must check "
            "MEETBRIDGE_ZOOM_CLIENT_ID and MEETBRIDGE_ZOOM_CLIENT_SECRET."
        )
    reason = exc.reason.lower()
    if "redirect" in reason:
        return (
            "Zoom says the return address does not match the app's Redirect URL. An admin "
            "must make MEETBRIDGE_ZOOM_REDIRECT_URI and the app's allow list the same."
        )
    if "expired" in reason or "invalid authorization code" in reason:
        return (
            "The authorization from Zoom expired or was already used (it lasts 5 minutes). "
            "Click Connect Zoom to try again."
        )
    return f"Zoom refused to finish connecting ({exc.error}). Click Connect Zoom to try again."

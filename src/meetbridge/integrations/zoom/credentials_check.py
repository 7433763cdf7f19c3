"""What a person is told while connecting Zoom: the Server-to-Server check ("Test Zoom"), the
scopes Zoom granted, who authorized an admin OAuth connection, and the code exchange's
failures, each with what to do next."""

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


# What an account connection through admin OAuth needs, each as a granular scope or the classic
# one that covers it (classic meeting:write:admin also updates and deletes; granular write only
# creates: ZOOM_API_FACTS.md §3).
ADMIN_OAUTH_SCOPES = [
    ("user:read:list_users:admin", "user:read:admin"),
    ("meeting:write:meeting:admin", "meeting:write:admin"),
    ("meeting:update:meeting:admin", "meeting:write:admin"),
    ("meeting:delete:meeting:admin", "meeting:write:admin"),
    ("meeting:read:meeting:admin", "meeting:read:admin"),
]
# Zoom's built-in member role (the roles API's default roles: Owner "0", Admin "1", Member
# "2"). A custom role may or may not hold an admin's privileges; listing users proves it.
MEMBER_ROLE_ID, MEMBER_ROLE = "2", "Member"


@dataclass(frozen=True)
class AppNames:
    """How a person is told about one of meetbridge's OAuth apps."""

    credentials: str  # the settings that hold its client id and secret
    redirect: str  # the setting that holds its redirect URI
    button: str  # what starts connecting


USER_APP = AppNames(
    "MEETBRIDGE_ZOOM_CLIENT_ID and MEETBRIDGE_ZOOM_CLIENT_SECRET",
    "MEETBRIDGE_ZOOM_REDIRECT_URI",
    "Connect Zoom",
)
ADMIN_APP = AppNames(
    "MEETBRIDGE_ZOOM_ADMIN_CLIENT_ID and MEETBRIDGE_ZOOM_ADMIN_CLIENT_SECRET",
    "MEETBRIDGE_ZOOM_ADMIN_REDIRECT_URI",
    "Connect with Zoom (admin OAuth)",
)


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


def exchange_message(exc: OAuthFailed, app: AppNames = USER_APP) -> str:
    if exc.status == 0:
        return "Zoom could not be reached to finish connecting. Try again in a minute."
    if exc.error == "invalid_client":
        return f"Zoom refused meetbridge's app credentials. An admin must check {app.credentials}."
    reason = exc.reason.lower()
    if "redirect" in reason:
        return (
            "Zoom says the return address does not match the app's Redirect URL. An admin "
            f"must make {app.redirect} and the app's allow list the same."
        )
    if "expired" in reason or "invalid authorization code" in reason:
        return (
            "The authorization from Zoom expired or was already used (it lasts 5 minutes). "
            f"Click {app.button} to try again."
        )
    return f"Zoom refused to finish connecting ({exc.error}). Click {app.button} to try again."


def not_an_admin(me: dict[str, object]) -> str | None:
    """Why the Zoom user (Zoom's /users/me) cannot connect the whole account, if it is a
    member. Zoom itself refuses a member on its consent page; this holds when its role changed
    since, or a Zoom lets one through."""
    if str(me.get("role_id") or "") != MEMBER_ROLE_ID and me.get("role_name") != MEMBER_ROLE:
        return None
    email = me.get("email") or "this Zoom user"
    return (
        f"The Zoom user {email} is a member of its Zoom account, not an owner or admin, so it "
        "cannot connect the whole account. Sign in to Zoom as the account's owner or an admin "
        f"and click {ADMIN_APP.button} again, or connect with a Server-to-Server OAuth app."
    )


def missing_admin_scopes(granted: str) -> str | None:
    """Why the scopes Zoom granted cannot serve as the account connection, if they cannot."""
    have = set(granted.split())
    missing = [group[0] for group in ADMIN_OAUTH_SCOPES if not set(group) & have]
    if not missing:
        return None
    return (
        "Zoom granted fewer permissions than connecting the Zoom account needs: "
        f"{', '.join(missing)}. Add them to the admin app's scopes in the Zoom App "
        f"Marketplace, then click {ADMIN_APP.button} again."
    )


def not_granted(asked: str, granted: str) -> str | None:
    """A warning when Zoom granted fewer of the scopes asked for than all (the account
    connection still works; the calls that need the others fail with Zoom's 4711)."""
    missing = [s for s in asked.split() if s not in set(granted.split())]
    if not missing:
        return None
    return (
        f"Zoom did not grant {', '.join(missing)}: calls that need them will be refused. Add "
        f"them to the admin app's scopes, then click {ADMIN_APP.button} again."
    )

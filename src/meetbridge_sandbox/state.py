"""The sandbox's state: accounts, users, apps, grants, tokens, meetings, registrants,
recordings, webhook deliveries, rate-limit counters and a movable clock. In memory; optionally
saved as one JSON document in a SQLite file after every change."""

from __future__ import annotations

import base64
import datetime as dt
import json
import secrets
import sqlite3
import time
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from meetbridge_sandbox.config import DEMO_USER_PASSWORD, SandboxConfig

UTC = dt.UTC


class Clock:
    """Real time plus an offset that tests move forward (token expiry, start_url expiry,
    daily limits, webhook retries all read this clock)."""

    def __init__(self) -> None:
        self.offset = 0.0

    def time(self) -> float:
        return time.time() + self.offset

    def now(self) -> dt.datetime:
        return dt.datetime.fromtimestamp(self.time(), UTC)


def zoom_id(n: int = 16) -> str:
    """An id in Zoom's style: 22 characters of URL-safe base64."""
    return base64.urlsafe_b64encode(secrets.token_bytes(n)).decode().rstrip("=")


def iso(t: dt.datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Account:
    id: str
    name: str
    plan: str = "pro"
    rate_limit_multiplier: float = 1.0  # 0 turns the account's QPS limits off (benchmarks)


@dataclass
class User:
    id: str
    account_id: str
    email: str
    first_name: str
    last_name: str
    type: int = 2  # 1 Basic, 2 Licensed
    status: str = "active"
    timezone: str = "America/New_York"
    password: str = DEMO_USER_PASSWORD
    created_at: float = field(default_factory=time.time)
    pmi: int = 0
    role_name: str = "Member"


@dataclass
class App:
    client_id: str
    client_secret: str
    # "user" (user-managed OAuth, authorization code), "admin" (admin-managed OAuth: the code
    # flow, authorized by an owner or admin for the whole account) or "s2s" (account
    # credentials)
    kind: str
    account_id: str  # the account that owns the app
    name: str
    scopes: list[str]
    redirect_uris: list[str] = field(default_factory=list)
    webhook_url: str | None = None
    webhook_secret: str = ""
    events: list[str] = field(default_factory=list)
    deauth_url: str | None = None
    url_validated: bool = False


@dataclass
class Grant:
    """A Zoom user's authorization of an OAuth app, user- or admin-managed ("Added Apps")."""

    client_id: str
    user_id: str
    scopes: list[str]
    granted_at: float


@dataclass
class AuthCode:
    code: str
    client_id: str
    user_id: str
    redirect_uri: str
    scopes: list[str]
    challenge: str | None
    method: str
    expires_at: float
    used: bool = False


@dataclass
class Token:
    value: str
    kind: str  # access | refresh
    client_id: str
    account_id: str
    user_id: str | None  # None for Server-to-Server tokens
    scopes: list[str]
    issued_at: float
    expires_at: float | None
    revoked: bool = False
    superseded: bool = False  # a refresh token that was rotated away


@dataclass
class Registrant:
    id: str
    email: str
    first_name: str
    last_name: str
    status: str
    create_time: float
    join_url: str
    participant_pin_code: int


@dataclass
class Meeting:
    id: int
    uuid: str
    host_id: str
    account_id: str
    topic: str
    type: int
    start_time: float | None
    duration: int
    timezone: str
    agenda: str
    password: str
    settings: dict[str, Any]
    created_at: float
    recurrence: dict[str, Any] | None = None
    status: str = "waiting"
    started_at: float | None = None
    ended_at: float | None = None
    registrants: list[Registrant] = field(default_factory=list)
    recording_files: list[dict[str, Any]] = field(default_factory=list)
    recording_password: str = ""
    # Past instances (Zoom: "past meeting details"), newest last: uuid, start, end.
    instances: list[dict[str, Any]] = field(default_factory=list)
    deleted: bool = False
    # How long the sandbox took to answer the create, fault latency included ("Zoom's time"):
    # benchmarks subtract it to find the caller's own overhead. Control API only.
    create_ms: float | None = None


@dataclass
class Delivery:
    id: str
    client_id: str
    url: str
    event: str
    body: str
    created_at: float
    next_at: float | None
    state: str = "pending"  # pending | delivered | failed
    attempts: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class State:
    accounts: dict[str, Account] = field(default_factory=dict)
    users: dict[str, User] = field(default_factory=dict)
    apps: dict[str, App] = field(default_factory=dict)
    grants: dict[str, Grant] = field(default_factory=dict)  # key: client_id/user_id
    codes: dict[str, AuthCode] = field(default_factory=dict)
    tokens: dict[str, Token] = field(default_factory=dict)
    meetings: dict[int, Meeting] = field(default_factory=dict)
    deliveries: list[Delivery] = field(default_factory=list)
    # per host and UTC day: meeting creates + updates
    host_daily: dict[str, int] = field(default_factory=dict)
    clock_offset: float = 0.0

    def user_by_email(self, email: str) -> User | None:
        email = email.lower()
        return next((u for u in self.users.values() if u.email.lower() == email), None)


_TYPES: dict[str, Any] = {
    "accounts": Account,
    "users": User,
    "apps": App,
    "grants": Grant,
    "codes": AuthCode,
    "tokens": Token,
    "meetings": Meeting,
}


def dump(state: State) -> str:
    return json.dumps(asdict(state))


def load(text: str) -> State:
    raw = json.loads(text)
    state = State()
    for name, cls in _TYPES.items():
        items: dict[Any, Any] = {}
        for key, value in raw.get(name, {}).items():
            if cls is Meeting:
                value["registrants"] = [Registrant(**r) for r in value.get("registrants", [])]
                key = int(key)
            items[key] = cls(**{f.name: value[f.name] for f in fields(cls) if f.name in value})
        setattr(state, name, items)
    state.deliveries = [Delivery(**d) for d in raw.get("deliveries", [])]
    state.host_daily = raw.get("host_daily", {})
    state.clock_offset = raw.get("clock_offset", 0.0)
    return state


class Persistence:
    """Keeps the whole state as one JSON document in a SQLite file (for `meetbridge run`)."""

    def __init__(self, path: str) -> None:
        self.conn = sqlite3.connect(path, check_same_thread=False)
        self.conn.execute("CREATE TABLE IF NOT EXISTS state (id INTEGER PRIMARY KEY, doc TEXT)")

    def read(self) -> State | None:
        row = self.conn.execute("SELECT doc FROM state WHERE id = 1").fetchone()
        return load(row[0]) if row else None

    def write(self, state: State) -> None:
        with self.conn:
            self.conn.execute(
                "INSERT OR REPLACE INTO state (id, doc) VALUES (1, ?)", (dump(state),)
            )


def seed(state: State, config: SandboxConfig, clock: Clock) -> None:
    """The demo Zoom account (Pro) with five licensed users (Dana the owner, Priya an admin) and
    one Basic user, a user-managed OAuth app, an admin-managed OAuth app and a
    Server-to-Server app."""
    acct = Account(config.s2s_account_id, "Demo Zoom Account", "pro")
    state.accounts[acct.id] = acct
    people = [
        ("dana", "Dana", "Admin", 2, "Owner"),
        ("maria", "Maria", "Lopez", 2, "Member"),
        ("sam", "Sam", "Okafor", 2, "Member"),
        ("priya", "Priya", "Nair", 2, "Admin"),
        ("li", "Li", "Wei", 2, "Member"),
        ("basil", "Basil", "Basic", 1, "Member"),
    ]
    for handle, first, last, utype, role in people:
        user = User(
            id=zoom_id(),
            account_id=acct.id,
            email=f"{handle}@zoom-sandbox.test",
            first_name=first,
            last_name=last,
            type=utype,
            created_at=clock.time(),
            pmi=int("8" + str(secrets.randbelow(10**9)).zfill(9)),
            role_name=role,
        )
        state.users[user.id] = user
    state.apps[config.user_client_id] = App(
        client_id=config.user_client_id,
        client_secret=config.user_client_secret,
        kind="user",
        account_id=acct.id,
        name="meetbridge",
        scopes=list(config.user_scopes),
        redirect_uris=list(config.redirect_uris),
        webhook_url=config.webhook_url,
        webhook_secret=config.webhook_secret,
        deauth_url=config.deauth_url,
        events=[
            "meeting.created",
            "meeting.updated",
            "meeting.deleted",
            "meeting.started",
            "meeting.ended",
            "recording.completed",
            "meeting.registration_created",
            "meeting.registration_approved",
            "meeting.registration_denied",
            "meeting.registration_cancelled",
        ],
    )
    # Admin-managed: an owner or admin authorizes it for the account (pages.authorize). No
    # event subscriptions and no deauthorization URL: Zoom gives each app its own secret
    # token, and meetbridge verifies with the user app's; a removal shows at the next refresh.
    state.apps[config.admin_client_id] = App(
        client_id=config.admin_client_id,
        client_secret=config.admin_client_secret,
        kind="admin",
        account_id=acct.id,
        name="meetbridge (admin)",
        scopes=list(config.admin_scopes),
        redirect_uris=list(config.effective_admin_redirect_uris),
        webhook_secret=config.webhook_secret,
    )
    state.apps[config.s2s_client_id] = App(
        client_id=config.s2s_client_id,
        client_secret=config.s2s_client_secret,
        kind="s2s",
        account_id=acct.id,
        name="meetbridge (account)",
        scopes=list(config.s2s_scopes),
        webhook_secret=config.webhook_secret,
    )

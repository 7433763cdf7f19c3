"""The sandbox's behaviour, apart from HTTP: tokens, scope checks, rate limits, meetings,
registrants, users, recordings and the events they raise."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import re
import secrets
import time
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from meetbridge_sandbox.config import SandboxConfig
from meetbridge_sandbox.rules import (
    HOST_DAILY_CREATE_UPDATE,
    OPERATIONS,
    PLAN_CONCURRENT,
    PLAN_DAILY,
    PLAN_QPS,
    allowed_by,
    missing_scopes,
)
from meetbridge_sandbox.state import (
    UTC,
    App,
    AuthCode,
    Clock,
    Delivery,
    Grant,
    Meeting,
    Persistence,
    Registrant,
    State,
    Token,
    User,
    iso,
    seed,
    zoom_id,
)

ACCESS_TTL = 3600
CODE_TTL = 300
START_URL_TTL = 2 * 3600
PASSWORD_RE = re.compile(r"^[A-Za-z0-9@\-_*]{1,10}$")
DEFAULT_SETTINGS: dict[str, Any] = {
    "host_video": False,
    "participant_video": False,
    "join_before_host": False,
    "jbh_time": 0,
    "mute_upon_entry": False,
    "watermark": False,
    "use_pmi": False,
    "approval_type": 2,
    "audio": "voip",
    "auto_recording": "none",
    "waiting_room": False,
    "meeting_authentication": False,
    "alternative_hosts": "",
    "email_notification": True,
    "registrants_confirmation_email": True,
    "registrants_email_notification": True,
}


class ZoomError(Exception):
    """An error exactly as Zoom sends it: HTTP status, `{code, message[, errors]}`, headers."""

    def __init__(
        self,
        status: int,
        code: int,
        message: str,
        *,
        errors: list[dict[str, str]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.errors = errors
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        out: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.errors:
            out["errors"] = self.errors
        return out


class OAuthError(Exception):
    def __init__(self, status: int, error: str, reason: str) -> None:
        super().__init__(reason)
        self.status, self.error, self.reason = status, error, reason


def invalid(field: str, message: str) -> ZoomError:
    return ZoomError(400, 300, "Validation Failed.", errors=[{"field": field, "message": message}])


@dataclass
class Caller:
    token: Token
    account_id: str
    user: User | None  # the authorizing user (user-level apps); None for S2S


class Sandbox:
    def __init__(self, config: SandboxConfig, persistence: Persistence | None = None) -> None:
        self.config = config
        self.clock = Clock()
        self.persistence = persistence
        self.state = State()
        self.qps: dict[tuple[str, str, int], int] = {}  # (account, label, second) -> count
        self.daily: dict[tuple[str, str, str], int] = {}  # (account, label, day) -> count
        self.listeners: list[Callable[[], None]] = []
        loaded = persistence.read() if persistence else None
        if loaded is not None:
            self.state = loaded
            self.clock.offset = loaded.clock_offset
        elif config.seed:
            seed(self.state, config, self.clock)
            self.save()

    def reset(self) -> None:
        self.state = State()
        self.clock.offset = 0.0
        self.qps.clear()
        self.daily.clear()
        seed(self.state, self.config, self.clock)
        self.save()

    def save(self) -> None:
        if self.persistence:
            self.state.clock_offset = self.clock.offset
            self.persistence.write(self.state)

    # ---- OAuth -------------------------------------------------------------------------------

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
            "api_url": "",
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
            payload = {
                "account_id": user.account_id,
                "user_id": user.id,
                "signature": secrets.token_hex(32),
                "deauthorization_time": iso(self.clock.now()).replace("Z", ".000Z"),
                "client_id": client_id,
                "user_data_retention": str(user_data_retention).lower(),
            }
            self.queue_delivery(app, app.deauth_url, "app_deauthorized", payload)
        self.save()

    def _token_value(self) -> str:
        # Zoom's access tokens are JWTs; clients must treat them as opaque, and so do we.
        return "sbx." + secrets.token_urlsafe(40)

    # ---- calls to /v2 ------------------------------------------------------------------------

    def authenticate(self, authorization: str | None) -> Caller:
        if not authorization or not authorization.lower().startswith("bearer "):
            raise ZoomError(401, 124, "Invalid access token.")
        tok = self.state.tokens.get(authorization[7:].strip())
        if tok is None or tok.kind != "access" or tok.revoked:
            raise ZoomError(401, 124, "Invalid access token.")
        if tok.expires_at is not None and tok.expires_at <= self.clock.time():
            raise ZoomError(401, 124, "Access token is expired.")
        user = self.state.users.get(tok.user_id) if tok.user_id else None
        return Caller(tok, tok.account_id, user)

    def resolve_user(self, caller: Caller, user_ref: str) -> User:
        if user_ref == "me":
            if caller.user is None:
                raise ZoomError(400, 1001, "User does not exist: me.")
            return caller.user
        user = self.state.users.get(user_ref) or self.state.user_by_email(user_ref)
        if user is None or user.account_id != caller.account_id:
            raise ZoomError(404, 1001, f"User does not exist: {user_ref}.")
        return user

    def authorize(self, caller: Caller, op_id: str, subject: User | None) -> None:
        """Scope check (4711) and the account's per-label rate limit (429)."""
        op = OPERATIONS[op_id]
        on_self = subject is not None and caller.user is not None and subject.id == caller.user.id
        if not allowed_by(op, frozenset(caller.token.scopes), on_self):
            names = ", ".join(missing_scopes(op, on_self))
            raise ZoomError(400, 4711, f"Invalid access token, does not contain scopes:[{names}].")
        self._account_limit(caller.account_id, op.label)

    def _account_limit(self, account_id: str, label: str) -> None:
        acct = self.state.accounts[account_id]
        if acct.rate_limit_multiplier == 0:
            return
        limit = max(1, int(PLAN_QPS[acct.plan][label] * acct.rate_limit_multiplier))
        second = int(time.monotonic())
        key = (account_id, label, second)
        if len(self.qps) > 10_000:
            self.qps = {k: v for k, v in self.qps.items() if k[2] >= second - 1}
        used = self.qps.get(key, 0)
        if used >= limit:
            raise ZoomError(
                429,
                429,
                "You have reached the maximum per-second rate limit for this API. Try again later.",
                headers={
                    "X-RateLimit-Category": label,
                    "X-RateLimit-Type": "QPS",
                    "X-RateLimit-Limit": str(limit),
                    "X-RateLimit-Remaining": "0",
                    "Retry-After": "1",
                },
            )
        self.qps[key] = used + 1
        daily = PLAN_DAILY.get(acct.plan, {}).get(label)
        if daily is not None:
            now = self.clock.now()
            dkey = (account_id, label, now.date().isoformat())
            if self.daily.get(dkey, 0) >= daily:
                reset = dt.datetime.combine(
                    now.date() + dt.timedelta(days=1), dt.time(), tzinfo=UTC
                )
                raise ZoomError(
                    429,
                    429,
                    "You have reached the maximum daily rate limit for this API.",
                    headers={
                        "X-RateLimit-Category": label,
                        "X-RateLimit-Type": "Daily-limit",
                        "X-RateLimit-Limit": str(daily),
                        "X-RateLimit-Remaining": "0",
                        "Retry-After": iso(reset),
                    },
                )
            self.daily[dkey] = self.daily.get(dkey, 0) + 1

    def _host_daily(self, host: User) -> None:
        """100 meeting creates + updates per host per day, reset at 00:00 UTC. Zoom's reply
        carries no Retry-After and no X-RateLimit-Type (seen in the field)."""
        key = f"{host.id}/{self.clock.now().date().isoformat()}"
        used = self.state.host_daily.get(key, 0)
        if used >= HOST_DAILY_CREATE_UPDATE:
            raise ZoomError(
                429,
                429,
                f"You have exceeded the daily rate limit ({HOST_DAILY_CREATE_UPDATE}) of Meeting "
                "Create/Update API requests permitted for this particular user. You may resume "
                "these requests at GMT 00:00:00.",
                headers={
                    "X-RateLimit-Category": "Light",
                    "X-RateLimit-Limit": "6000",
                    "X-RateLimit-Remaining": "5893",
                },
            )
        self.state.host_daily[key] = used + 1

    # ---- users -------------------------------------------------------------------------------

    def get_user(self, caller: Caller, user_ref: str) -> dict[str, Any]:
        user = self.resolve_user(caller, user_ref)
        if (
            user_ref != "me"
            and caller.user is not None
            and user.id != caller.user.id
            and "user_info:read" in caller.token.scopes
            and not {"user:read", "user:read:admin"} & set(caller.token.scopes)
        ):
            raise ZoomError(
                400, 4711, "Invalid access token, does not contain scopes:[user:read:user:admin]."
            )
        self.authorize(caller, "user", user)
        return self.user_json(user)

    def user_json(self, u: User, brief: bool = False) -> dict[str, Any]:
        created = iso(dt.datetime.fromtimestamp(u.created_at, UTC))
        out: dict[str, Any] = {
            "id": u.id,
            "first_name": u.first_name,
            "last_name": u.last_name,
            "display_name": f"{u.first_name} {u.last_name}".strip(),
            "email": u.email,
            "type": u.type,
            "pmi": u.pmi,
            "timezone": u.timezone,
            "verified": 1,
            "created_at": created,
            "user_created_at": created,
            "status": u.status,
            "role_id": "0" if u.role_name == "Owner" else "2",
            "language": "en-US",
        }
        if not brief:
            out.update(
                role_name=u.role_name,
                account_id=u.account_id,
                use_pmi=False,
                personal_meeting_url=f"{self.config.base_url}/j/{u.pmi}",
                account_number=int(hashlib.sha256(u.account_id.encode()).hexdigest()[:8], 16),
                login_types=[100],
                cluster="sbx",
            )
        return out

    def list_users(
        self, caller: Caller, status: str, page_size: int, token: str | None
    ) -> dict[str, Any]:
        self.authorize(caller, "users", None)
        users = [
            u
            for u in self.state.users.values()
            if u.account_id == caller.account_id and u.status == status
        ]
        users.sort(key=lambda u: (u.created_at, u.id))
        page, next_token = self._page(
            [self.user_json(u, brief=True) for u in users], page_size, token
        )
        return {
            "page_count": -(-len(users) // page_size) if users else 0,
            "page_number": 1,
            "page_size": page_size,
            "total_records": len(users),
            "next_page_token": next_token,
            "users": page,
        }

    def create_user(self, caller: Caller, body: dict[str, Any]) -> dict[str, Any]:
        self.authorize(caller, "userCreate", None)
        acct = self.state.accounts[caller.account_id]
        action = body.get("action")
        info = body.get("user_info")
        if action not in ("create", "autoCreate", "custCreate", "ssoCreate"):
            raise invalid("action", "Invalid field.")
        if not isinstance(info, dict):
            raise invalid("user_info", "Invalid field.")
        email = info.get("email")
        if not isinstance(email, str) or not re.match(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", email):
            raise invalid("user_info.email", "Invalid field.")
        utype = info.get("type")
        if utype not in (1, 2, 99) or (utype == 99 and action != "ssoCreate"):
            raise invalid("user_info.type", "Invalid field.")
        if acct.plan == "basic":
            raise ZoomError(400, 200, "No privilege.")
        if self.state.user_by_email(email):
            raise ZoomError(409, 1005, f"User already in the account: {email}")
        user = User(
            id=zoom_id(),
            account_id=acct.id,
            email=email,
            first_name=str(info.get("first_name", ""))[:64],
            last_name=str(info.get("last_name", ""))[:64],
            type=int(utype),
            status="pending" if action == "create" else "active",
            created_at=self.clock.time(),
            pmi=int("8" + str(secrets.randbelow(10**9)).zfill(9)),
        )
        self.state.users[user.id] = user
        self.save()
        return {
            "id": user.id,
            "first_name": user.first_name,
            "last_name": user.last_name,
            "email": user.email,
            "type": user.type,
        }

    # ---- meetings ----------------------------------------------------------------------------

    def create_meeting(self, caller: Caller, user_ref: str, body: dict[str, Any]) -> dict[str, Any]:
        host = self.resolve_user(caller, user_ref)
        self.authorize(caller, "meetingCreate", host)
        fields = self._meeting_fields(body, host, creating=True)
        self._host_daily(host)
        now = self.clock.time()
        m = Meeting(
            id=self._meeting_id(),
            uuid=self._uuid(),
            host_id=host.id,
            account_id=host.account_id,
            created_at=now,
            **fields,
        )
        if m.type == 1:
            m.start_time = now
        self.state.meetings[m.id] = m
        self.emit("meeting.created", m)
        self.save()
        return self.meeting_json(m, created=True)

    def _meeting_fields(self, body: dict[str, Any], host: User, creating: bool) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if not isinstance(body, dict):
            raise ZoomError(400, 300, "Request Body should be a valid JSON object.")
        if "topic" in body or creating:
            topic = body.get("topic", "Zoom meeting" if creating else None)
            if not isinstance(topic, str) or len(topic) > 200:
                raise invalid("topic", "The topic must be a string of at most 200 characters.")
            out["topic"] = topic
        if "type" in body or creating:
            mtype = body.get("type", 2)
            if mtype not in (1, 2, 3, 8):
                raise invalid("type", "Invalid field.")
            out["type"] = mtype
        if "timezone" in body or creating:
            tz = body.get("timezone") or host.timezone
            try:
                zoneinfo.ZoneInfo(str(tz))
            except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                raise invalid("timezone", "Invalid field.") from None
            out["timezone"] = tz
        if "start_time" in body:
            out["start_time"] = self._start_time(
                body["start_time"], out.get("timezone") or body.get("timezone") or host.timezone
            )
        elif creating:
            out["start_time"] = self.clock.time()
        if "duration" in body or creating:
            duration = body.get("duration", 60)
            if not isinstance(duration, int) or isinstance(duration, bool) or duration < 0:
                raise invalid("duration", "Invalid field.")
            out["duration"] = duration
        if "agenda" in body or creating:
            agenda = body.get("agenda", "")
            if not isinstance(agenda, str) or len(agenda) > 2000:
                raise invalid("agenda", "The agenda must be at most 2000 characters.")
            out["agenda"] = agenda
        if "password" in body or creating:
            pwd = body.get("password")
            if pwd in (None, ""):
                pwd = secrets.token_hex(3) if creating else ""
            if not isinstance(pwd, str) or not PASSWORD_RE.match(pwd):
                raise ZoomError(
                    400,
                    300,
                    "Invalid password: use at most 10 characters: letters, numbers and @ - _ *.",
                )
            out["password"] = pwd
        if "settings" in body or creating:
            settings = body.get("settings") or {}
            if not isinstance(settings, dict):
                raise invalid("settings", "Invalid field.")
            merged = {**DEFAULT_SETTINGS, **settings} if creating else dict(settings)
            if merged.get("approval_type", 2) not in (0, 1, 2):
                raise invalid("settings.approval_type", "Invalid field.")
            if merged.get("auto_recording", "none") not in ("local", "cloud", "none"):
                raise invalid("settings.auto_recording", "Invalid field.")
            out["settings"] = merged
        if "recurrence" in body:
            out["recurrence"] = body["recurrence"] if isinstance(body["recurrence"], dict) else None
        return out

    def _start_time(self, raw: Any, tz: str) -> float:
        """Zoom's rule: `yyyy-MM-ddTHH:mm:ssZ` is UTC; without `Z` it is wall-clock time in
        `timezone` (or the host's time zone)."""
        if not isinstance(raw, str):
            raise invalid("start_time", "Invalid field.")
        text = raw.strip()
        try:
            if text.endswith("Z"):
                value = dt.datetime.strptime(text[:19], "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC)
            else:
                parsed = dt.datetime.fromisoformat(text)
                value = parsed if parsed.tzinfo else parsed.replace(tzinfo=zoneinfo.ZoneInfo(tz))
        except ValueError:
            raise invalid("start_time", "Invalid field.") from None
        if not 1970 <= value.astimezone(UTC).year < 2100:
            raise invalid("start_time", "Invalid field.")
        return value.timestamp()

    def get_meeting(self, caller: Caller, meeting_id: str) -> dict[str, Any]:
        m = self._meeting(caller, meeting_id, "meeting")
        return self.meeting_json(m)

    def update_meeting(self, caller: Caller, meeting_id: str, body: dict[str, Any]) -> None:
        m = self._meeting(caller, meeting_id, "meetingUpdate")
        host = self.state.users[m.host_id]
        fields = self._meeting_fields(body, host, creating=False)
        if "start_time" in fields and fields["start_time"] < self.clock.time():
            del fields["start_time"]  # Zoom ignores a start time in the past on update
        self._host_daily(host)
        settings = fields.pop("settings", None)
        for key, value in fields.items():
            setattr(m, key, value)
        if settings:
            m.settings.update(settings)
        self.emit(
            "meeting.updated",
            m,
            old={"id": m.id, **{k: v for k, v in body.items() if k != "settings"}},
        )
        self.save()

    def delete_meeting(self, caller: Caller, meeting_id: str) -> None:
        m = self._meeting(caller, meeting_id, "meetingDelete")
        if m.status == "started":
            raise ZoomError(
                400, 3002, "Sorry, you cannot delete this meeting since it is in progress."
            )
        self.remove_meeting(m)

    def remove_meeting(self, m: Meeting) -> None:
        m.deleted = True
        self.emit("meeting.deleted", m)
        self.save()

    def list_meetings(
        self, caller: Caller, user_ref: str, mtype: str, page_size: int, token: str | None
    ) -> dict[str, Any]:
        host = self.resolve_user(caller, user_ref)
        self.authorize(caller, "meetings", host)
        if mtype not in ("scheduled", "live", "upcoming", "upcoming_meetings", "previous_meetings"):
            raise invalid("type", "Invalid field.")
        now = self.clock.time()
        mine = [
            m
            for m in self.state.meetings.values()
            if m.host_id == host.id and not m.deleted and m.type != 1
        ]
        if mtype == "live":
            mine = [m for m in mine if m.status == "started"]
        elif mtype in ("upcoming", "upcoming_meetings"):
            mine = [m for m in mine if (m.start_time or 0) + m.duration * 60 >= now]
        elif mtype == "previous_meetings":
            mine = [m for m in mine if m.ended_at is not None]
        mine.sort(key=lambda m: (m.start_time or 0, m.id))
        rows = [
            {
                "uuid": m.uuid,
                "id": m.id,
                "host_id": m.host_id,
                "topic": m.topic,
                "type": m.type,
                "start_time": self._iso_ts(m.start_time),
                "duration": m.duration,
                "timezone": m.timezone,
                "agenda": m.agenda,
                "created_at": self._iso_ts(m.created_at),
                "join_url": self.join_url(m),
            }
            for m in mine
        ]
        page, next_token = self._page(rows, page_size, token)
        return {
            "page_size": page_size,
            "total_records": len(rows),
            "next_page_token": next_token,
            "meetings": page,
        }

    def _meeting(self, caller: Caller, meeting_id: str, op_id: str) -> Meeting:
        m = self.find_meeting(meeting_id)
        if m is None or m.account_id != caller.account_id:
            raise ZoomError(404, 3001, f"Meeting {meeting_id} is not found or has expired.")
        host = self.state.users[m.host_id]
        on_self = caller.user is not None and caller.user.id == host.id
        op = OPERATIONS[op_id]
        scopes = frozenset(caller.token.scopes)
        if not on_self and not allowed_by(op, scopes, False) and allowed_by(op, scopes, True):
            # A user-level token naming someone else's meeting.
            raise ZoomError(400, 3000, "Cannot access meeting info.")
        self.authorize(caller, op_id, host)
        return m

    def find_meeting(self, meeting_id: str) -> Meeting | None:
        try:
            m = self.state.meetings.get(int(meeting_id))
        except ValueError:
            m = next((x for x in self.state.meetings.values() if x.uuid == meeting_id), None)
        return None if m is None or m.deleted else m

    def meeting_json(self, m: Meeting, created: bool = False) -> dict[str, Any]:
        host = self.state.users[m.host_id]
        settings = dict(m.settings)
        if settings.get("waiting_room"):
            settings["join_before_host"] = False  # Zoom: off while the waiting room is on
        out: dict[str, Any] = {
            "id": m.id,
            "host_email": host.email,
            "assistant_id": "",
            "topic": m.topic,
            "type": m.type,
            "start_time": self._iso_ts(m.start_time),
            "duration": m.duration,
            "timezone": m.timezone,
            "agenda": m.agenda,
            "created_at": self._iso_ts(m.created_at),
            "start_url": self.start_url(m),
            "join_url": self.join_url(m),
            "password": m.password,
            "h323_password": "".join(
                c for c in hashlib.sha256(m.password.encode()).hexdigest() if c.isdigit()
            )[:6].ljust(6, "0"),
            "pre_schedule": False,
            "settings": settings,
        }
        if settings.get("approval_type") in (0, 1):
            out["registration_url"] = f"{self.config.base_url}/meeting/register/{m.uuid}"
        if m.recurrence:
            out["recurrence"] = m.recurrence
        if not created:
            out.update(
                uuid=m.uuid,
                host_id=m.host_id,
                status=m.status,
                encrypted_password=self._pwd_token(m),
            )
        return out

    def join_url(self, m: Meeting) -> str:
        return f"{self.config.base_url}/j/{m.id}?pwd={self._pwd_token(m)}"

    def start_url(self, m: Meeting) -> str:
        """A host credential valid for two hours (Zoom: regular users)."""
        expires = int(self.clock.time()) + START_URL_TTL
        sig = hashlib.sha256(f"{m.id}:{expires}:{self.config.user_client_secret}".encode())
        return f"{self.config.base_url}/s/{m.id}?zak={expires}.{sig.hexdigest()[:32]}"

    def start_url_valid(self, m: Meeting, zak: str) -> bool:
        expires_s, _, sig = zak.partition(".")
        if not expires_s.isdigit() or int(expires_s) < self.clock.time():
            return False
        good = hashlib.sha256(f"{m.id}:{expires_s}:{self.config.user_client_secret}".encode())
        return secrets.compare_digest(good.hexdigest()[:32], sig)

    def _pwd_token(self, m: Meeting) -> str:
        return base64.urlsafe_b64encode(
            hashlib.sha256(f"{m.uuid}:{m.password}".encode()).digest()[:24]
        ).decode()

    # ---- starting and ending (the sandbox's "Zoom client") ----------------------------------

    def start_meeting(self, m: Meeting) -> None:
        host = self.state.users[m.host_id]
        plan = self.state.accounts[host.account_id].plan
        live = [
            x
            for x in self.state.meetings.values()
            if x.host_id == host.id and x.status == "started" and not x.deleted
        ]
        if m.status == "started":
            return
        if len(live) >= PLAN_CONCURRENT[plan]:
            raise ZoomError(
                400,
                3000,
                f"{host.email} is already hosting a meeting; a host on "
                f"this plan can run {PLAN_CONCURRENT[plan]} at a time.",
            )
        m.status = "started"
        m.started_at = self.clock.time()
        m.uuid = self._uuid() if m.ended_at else m.uuid
        self.emit("meeting.started", m)
        self.save()

    def end_meeting(self, m: Meeting, record: bool = False) -> None:
        if m.status != "started":
            return
        m.status = "waiting"
        m.ended_at = self.clock.time()
        self.emit("meeting.ended", m)
        if record or m.settings.get("auto_recording") == "cloud":
            self._record(m)
            self.emit("recording.completed", m)
        self.save()

    def _record(self, m: Meeting) -> None:
        start = self._iso_ts(m.started_at)
        end = self._iso_ts(m.ended_at)
        base = f"{self.config.base_url}/rec"
        m.recording_files = [
            {
                "id": zoom_id(12),
                "meeting_id": m.uuid,
                "recording_start": start,
                "recording_end": end,
                "file_type": ftype,
                "file_extension": ext,
                "file_size": size,
                "play_url": f"{base}/play/{m.id}/{ftype.lower()}",
                "download_url": f"{base}/download/{m.id}/{ftype.lower()}",
                "status": "completed",
                "recording_type": rtype,
            }
            for ftype, ext, size, rtype in (
                ("MP4", "MP4", 7_340_032, "shared_screen_with_speaker_view"),
                ("M4A", "M4A", 1_048_576, "audio_only"),
            )
        ]

    def get_recordings(self, caller: Caller, meeting_id: str) -> dict[str, Any]:
        m = self._meeting(caller, meeting_id, "recordingGet")
        if not m.recording_files:
            raise ZoomError(404, 3301, "There is no recording for this meeting.")
        return {
            "uuid": m.uuid,
            "id": m.id,
            "account_id": m.account_id,
            "host_id": m.host_id,
            "topic": m.topic,
            "type": str(m.type),
            "start_time": self._iso_ts(m.started_at),
            "duration": max(1, int(((m.ended_at or 0) - (m.started_at or 0)) // 60)),
            "total_size": sum(f["file_size"] for f in m.recording_files),
            "recording_count": len(m.recording_files),
            "recording_files": m.recording_files,
        }

    # ---- registrants -------------------------------------------------------------------------

    def add_registrant(
        self, caller: Caller, meeting_id: str, body: dict[str, Any]
    ) -> dict[str, Any]:
        m = self._meeting(caller, meeting_id, "meetingRegistrantCreate")
        if self.state.users[m.host_id].type != 2:
            raise ZoomError(400, 3000, "Registration is only available for licensed hosts.")
        if m.settings.get("approval_type", 2) == 2:
            raise ZoomError(
                400, 3000, f"Registration has not been enabled for this meeting: {m.id}."
            )
        email = body.get("email") if isinstance(body, dict) else None
        first = body.get("first_name") if isinstance(body, dict) else None
        if not isinstance(email, str) or "@" not in email:
            raise invalid("email", "Invalid field.")
        if not isinstance(first, str) or not first.strip():
            raise invalid("first_name", "Invalid field.")
        existing = next((r for r in m.registrants if r.email.lower() == email.lower()), None)
        if existing is None:
            if len(m.registrants) >= 4999:
                raise ZoomError(400, 3043, "Meeting has reached maximum attendee capacity.")
            approved = m.settings.get("approval_type") == 0 or body.get("auto_approve") is True
            rid = zoom_id(12)
            existing = Registrant(
                id=rid,
                email=email,
                first_name=first,
                last_name=str(body.get("last_name", "")),
                create_time=self.clock.time(),
                status="approved" if approved else "pending",
                join_url=f"{self.config.base_url}/w/{m.id}?tk={secrets.token_urlsafe(16)}",
                participant_pin_code=secrets.randbelow(900_000) + 100_000,
            )
            m.registrants.append(existing)
            self.save()
        return {
            "id": m.id,
            "registrant_id": existing.id,
            "join_url": existing.join_url,
            "topic": m.topic,
            "start_time": self._iso_ts(m.start_time),
            "participant_pin_code": existing.participant_pin_code,
        }

    def list_registrants(
        self, caller: Caller, meeting_id: str, status: str, page_size: int, token: str | None
    ) -> dict[str, Any]:
        m = self._meeting(caller, meeting_id, "meetingRegistrants")
        if status not in ("pending", "approved", "denied"):
            raise invalid("status", "Invalid field.")
        rows = [
            {
                "id": r.id,
                "email": r.email,
                "first_name": r.first_name,
                "last_name": r.last_name,
                "status": r.status,
                "create_time": self._iso_ts(r.create_time),
                "join_url": r.join_url,
                "participant_pin_code": r.participant_pin_code,
            }
            for r in m.registrants
            if r.status == status
        ]
        page, next_token = self._page(rows, page_size, token)
        return {
            "page_size": page_size,
            "total_records": len(rows),
            "next_page_token": next_token,
            "registrants": page,
        }

    # ---- events ------------------------------------------------------------------------------

    def emit(self, event: str, m: Meeting, old: dict[str, Any] | None = None) -> None:
        """Queues `event` for every app subscribed to it that may see this host's meetings:
        user-level apps the host authorized, and account-level apps of the host's account."""
        host = self.state.users[m.host_id]
        obj: dict[str, Any] = {
            "uuid": m.uuid,
            "id": m.id,
            "host_id": m.host_id,
            "topic": m.topic,
            "type": m.type,
            "start_time": self._iso_ts(m.start_time),
            "duration": m.duration,
            "timezone": m.timezone,
        }
        if event == "recording.completed":
            obj.update(
                recording_files=m.recording_files,
                host_email=host.email,
                account_id=m.account_id,
                total_size=sum(f["file_size"] for f in m.recording_files),
            )
        payload: dict[str, Any] = {
            "account_id": m.account_id,
            "operator": host.email,
            "operator_id": host.id,
            "object": obj,
        }
        if event == "meeting.updated" and old is not None:
            payload["old_object"] = old
            payload["time_stamp"] = int(self.clock.time() * 1000)
        for app in self.state.apps.values():
            if not app.webhook_url or event not in app.events:
                continue
            if app.kind == "user" and f"{app.client_id}/{host.id}" not in self.state.grants:
                continue
            if app.kind == "s2s" and app.account_id != host.account_id:
                continue
            self.queue_delivery(app, app.webhook_url, event, payload)

    def queue_delivery(self, app: App, url: str, event: str, payload: dict[str, Any]) -> None:
        body = json.dumps(
            {"event": event, "payload": payload, "event_ts": int(self.clock.time() * 1000)}
        )
        self.state.deliveries.append(
            Delivery(
                id=zoom_id(12),
                client_id=app.client_id,
                url=url,
                event=event,
                body=body,
                created_at=self.clock.time(),
                next_at=self.clock.time(),
            )
        )
        for listener in self.listeners:
            listener()

    # ---- helpers -----------------------------------------------------------------------------

    def _page(
        self, rows: list[dict[str, Any]], page_size: int, token: str | None
    ) -> tuple[list[dict[str, Any]], str]:
        """Zoom's next_page_token pagination. Tokens are opaque and expire after 15 minutes."""
        start = 0
        if token:
            try:
                raw = base64.urlsafe_b64decode(token + "==").decode()
                offset_s, issued_s = raw.split(":")
                start, issued = int(offset_s), float(issued_s)
            except ValueError:
                raise ZoomError(400, 300, "Invalid next_page_token.") from None
            if self.clock.time() - issued > 15 * 60:
                raise ZoomError(400, 300, "The next page token is invalid or expired.")
        end = start + page_size
        next_token = ""
        if end < len(rows):
            raw = f"{end}:{self.clock.time()}"
            next_token = base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")
        return rows[start:end], next_token

    def _meeting_id(self) -> int:
        while True:
            candidate = secrets.randbelow(9 * 10**10) + 10**10  # 11 digits
            if candidate not in self.state.meetings:
                return candidate

    @staticmethod
    def _uuid() -> str:
        return base64.b64encode(secrets.token_bytes(16)).decode()

    @staticmethod
    def _iso_ts(ts: float | None) -> str:
        return iso(dt.datetime.fromtimestamp(ts or 0, UTC))

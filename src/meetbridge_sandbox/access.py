"""Who is calling and what they may do: bearer tokens, scope checks (4711), the account's
per-second and daily limits by label, the host's 100 creates + updates a day; and the users
API."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
import time
from typing import Any

from meetbridge_sandbox.base import Caller
from meetbridge_sandbox.errors import ZoomError, invalid
from meetbridge_sandbox.oauth import OAuth
from meetbridge_sandbox.rules import (
    HOST_DAILY_CREATE_UPDATE,
    OPERATIONS,
    PLAN_DAILY,
    PLAN_QPS,
    allowed_by,
    missing_scopes,
)
from meetbridge_sandbox.state import UTC, User, iso, zoom_id

# Zoom's built-in roles and their ids (the roles API's default roles: Owner 0, Admin 1,
# Member 2); the user object's role_id names one of them.
ROLE_IDS = {"Owner": "0", "Admin": "1", "Member": "2"}


class Access(OAuth):
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

    def _host_daily(self, host: User, label: str) -> None:
        """100 meeting creates + updates per host per day, reset at 00:00 UTC. Zoom's reply
        carries no Retry-After and no X-RateLimit-Type, but the account's daily quota of the
        call's label and what is left of it (seen in the field: DF-18928 in
        /work/shared/ZOOM_API_FACTS.md §6)."""
        key = f"{host.id}/{self.clock.now().date().isoformat()}"
        used = self.state.host_daily.get(key, 0)
        if used >= HOST_DAILY_CREATE_UPDATE:
            headers = {"X-RateLimit-Category": label}
            acct = self.state.accounts[host.account_id]
            daily = PLAN_DAILY.get(acct.plan, {}).get(label)
            if daily is not None:
                spent = self.daily.get((acct.id, label, self.clock.now().date().isoformat()), 0)
                headers["X-RateLimit-Limit"] = str(daily)
                headers["X-RateLimit-Remaining"] = str(max(0, daily - spent))
            raise ZoomError(
                429,
                429,
                f"You have exceeded the daily rate limit ({HOST_DAILY_CREATE_UPDATE}) of Meeting "
                "Create/Update API requests permitted for this particular user. You may resume "
                "these requests at GMT 00:00:00.",
                headers=headers,
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
            "role_id": ROLE_IDS.get(u.role_name, "2"),
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

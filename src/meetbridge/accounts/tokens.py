"""Personal API tokens: create, list, revoke, and the hot read that turns a bearer token into
its caller (every API request)."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple, cast

from sqlalchemy import Table, bindparam, select, update

from meetbridge.accounts.inputs import valid_name
from meetbridge.core import audit
from meetbridge.core.audit import Origin
from meetbridge.core.db import Database, utcnow
from meetbridge.core.errors import Conflict, NotAuthenticated, NotFound
from meetbridge.core.models import ApiToken, Organization, User
from meetbridge.core.security import digest, new_token

API_TOKEN_PREFIX = "mbp_"  # noqa: S105  (a prefix, not a secret)
TOKEN_TOUCH_INTERVAL = dt.timedelta(minutes=5)
API_TOKEN_REFUSED = "the API token is unknown, revoked or its user is deactivated"  # noqa: S105
CALLER_REMEMBERED = 60.0  # seconds; see `ApiTokens.api_caller_to_confirm`


class ApiCaller(NamedTuple):
    user: User
    token_id: str
    # The token's last-used stamp is older than TOKEN_TOUCH_INTERVAL: the caller writes it
    # (`touch_api_token`) from a thread, as the read runs on the event loop.
    touch_due: bool = False


# Built once: every API request runs it. Core, not the ORM: one row in, a User (with its
# organisation) built from it, at a third of the ORM's cost.
_USERS = cast(Table, User.__table__)
_ORGS = cast(Table, Organization.__table__)
_TOKENS = cast(Table, ApiToken.__table__)
# An API token that works: not revoked, and its user active. The one definition: the read
# below and the writes that confirm a remembered caller (`Meetings.schedule`) use it.
TOKEN_USABLE = _TOKENS.c.revoked_at.is_(None) & (_USERS.c.status == "active")
_TOKEN_USER = (
    select(
        *_USERS.c,
        *(c.label(f"org__{c.name}") for c in _ORGS.c),
        _TOKENS.c.id.label("token__id"),
        _TOKENS.c.last_used_at.label("token__last_used_at"),
    )
    .select_from(_USERS.join(_TOKENS, _TOKENS.c.user_id == _USERS.c.id).join(_ORGS))
    .where(_TOKENS.c.token_hash == bindparam("token_hash"), TOKEN_USABLE)
)


@dataclass(frozen=True)
class CreatedToken:
    token: ApiToken
    secret: str


class ApiTokens:
    def __init__(self, db: Database) -> None:
        self.db = db
        # API callers by token hash, with when they were read (`api_caller_to_confirm`).
        self._callers: dict[str, tuple[float, ApiCaller]] = {}

    def create_api_token(
        self, actor: User, *, name: str, origin: Origin, parent_id: str | None = None
    ) -> CreatedToken:
        """`parent_id`: the API token the request came with, if it came with one; the new
        token is revoked with it (`revoke_api_token`)."""
        name = valid_name(name, limit=100)
        secret = new_token(API_TOKEN_PREFIX)
        with self.db.write() as s:
            if parent_id is not None and not s.scalar(
                select(ApiToken.id)
                .where(
                    ApiToken.id == parent_id,
                    ApiToken.user_id == actor.id,
                    ApiToken.revoked_at.is_(None),
                )
                # Held until the new token is in: a revocation of the parent waits for it and
                # then takes it along (PostgreSQL; SQLite has one writer anyway).
                .with_for_update()
            ):
                raise NotAuthenticated(API_TOKEN_REFUSED)
            if s.scalar(
                select(ApiToken.id).where(
                    ApiToken.user_id == actor.id,
                    ApiToken.name == name,
                    ApiToken.revoked_at.is_(None),
                )
            ):
                raise Conflict("name", "you already have an active token with this name")
            token = ApiToken(
                user_id=actor.id,
                name=name,
                token_hash=digest(secret),
                prefix=secret[:8],
                parent_id=parent_id,
            )
            s.add(token)
            s.flush()
            audit.write(
                s,
                audit.by(actor, "api_token.created", origin, "api_token", token.id, {"name": name}),
            )
        return CreatedToken(token, secret)

    def list_api_tokens(self, actor: User) -> Sequence[ApiToken]:
        with self.db.read() as s:
            return s.scalars(
                select(ApiToken)
                .where(ApiToken.user_id == actor.id)
                .order_by(ApiToken.revoked_at.is_not(None), ApiToken.created_at.desc())
            ).all()

    def revoke_api_token(self, actor: User, token_id: str, *, origin: Origin) -> ApiToken:
        with self.db.write() as s:
            token = s.scalar(
                select(ApiToken).where(ApiToken.id == token_id, ApiToken.user_id == actor.id)
            )
            if token is None:
                raise NotFound("no such API token")
            # The token and every live token it made, and they made, and so on.
            now, live, revoked = utcnow(), [token], []
            while live:
                for t in live:
                    if t.revoked_at is None:
                        t.revoked_at = now
                        revoked.append(t)
                live = list(
                    s.scalars(
                        select(ApiToken).where(
                            ApiToken.parent_id.in_([t.id for t in live]),
                            ApiToken.revoked_at.is_(None),
                        )
                    )
                )
            for t in revoked:
                changes = {"name": t.name}
                if t is not token:
                    changes["with"] = token.name
                audit.write(
                    s, audit.by(actor, "api_token.revoked", origin, "api_token", t.id, changes)
                )
        return token

    def api_caller(self, secret: str) -> ApiCaller | None:
        """The active user behind an API token (hot path: one indexed read and no write, so it
        may run on the event loop; when `touch_due`, call `touch_api_token` from a thread)."""
        return self._api_caller(secret, digest(secret))

    def touch_api_token(self, token_id: str) -> None:
        """Stamps the token's last use (at most every TOKEN_TOUCH_INTERVAL, see `touch_due`)."""
        with self.db.single() as conn:
            conn.execute(
                update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=utcnow())
            )

    def api_caller_to_confirm(self, secret: str) -> ApiCaller | None:
        """As `api_caller`, but possibly as the token was up to `CALLER_REMEMBERED` ago:
        only for a request whose write confirms, in the same statement, that the token is
        still live and its user active (see `Meetings.schedule`). Saves the read."""
        token_hash = digest(secret)
        remembered = self._callers.get(token_hash)
        if remembered is not None and time.monotonic() - remembered[0] < CALLER_REMEMBERED:
            return remembered[1]
        return self._api_caller(secret, token_hash)

    def _api_caller(self, secret: str, token_hash: str) -> ApiCaller | None:
        if not secret.startswith(API_TOKEN_PREFIX):
            return None
        with self.db.connect() as conn:
            row = conn.execute(_TOKEN_USER, {"token_hash": token_hash}).first()
        if row is None:
            self._callers.pop(token_hash, None)
            return None
        values = row._asdict()
        token_id, last_used = values.pop("token__id"), values.pop("token__last_used_at")
        org = Organization(**{k[5:]: values.pop(k) for k in list(values) if k[:5] == "org__"})
        caller = ApiCaller(User(**values, org=org), token_id)
        if len(self._callers) >= 10_000:
            self._callers.clear()
        self._callers[token_hash] = (time.monotonic(), caller)
        if last_used is None or utcnow() - last_used > TOKEN_TOUCH_INTERVAL:
            return caller._replace(touch_due=True)
        return caller

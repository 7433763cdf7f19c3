"""Idempotent creates: a client that times out and sends the same create again (the same
`Idempotency-Key`, or a page's form sent twice) gets the first result, not a second thing.

The created thing's id is derived from (user, scope, key), so the create itself cannot happen
twice: a retry, or a twin racing the first request, finds the id taken and reads what is there.
Once a create succeeded, its key is kept with a digest of its request: the same key with
another request is refused (a client bug that would otherwise hide a lost create).

    made, replayed = c.idempotency.create(actor_id, "meetings", key, body, make, load)
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from meetbridge.core.db import Database, utcnow
from meetbridge.core.errors import Conflict, NotFound, ValidationFailed
from meetbridge.core.models import IdempotencyKey, new_id

T = TypeVar("T")

HEADER = "Idempotency-Key"
# Printable ASCII, as the IETF draft's examples and the common clients send (UUIDs, hashes).
_KEY = re.compile(r"[\x21-\x7e]{1,255}")
_NAMESPACE = uuid.UUID("6f1f7a52-3c1e-4c8e-9f6b-1d0b7a4e2c11")


def valid_key(key: str, field: str = HEADER) -> str:
    if not _KEY.fullmatch(key):
        raise ValidationFailed(field, "must be 1-255 printable ASCII characters without spaces")
    return key


def request_digest(request: Any) -> str:
    """A digest of the request as the server understood it (field order does not matter)."""
    body = json.dumps(request, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(body.encode()).hexdigest()


class Idempotency:
    def __init__(self, db: Database) -> None:
        self.db = db

    @staticmethod
    def resource_id(user_id: str, scope: str, key: str) -> str:
        return str(uuid.uuid5(_NAMESPACE, f"{user_id}\n{scope}\n{key}"))

    def create(
        self,
        user_id: str,
        scope: str,
        key: str | None,
        request: Any,
        make: Callable[[str | None], T],
        load: Callable[[str], T],
        field: str = HEADER,
    ) -> tuple[T, bool]:
        """`make(id)` creates the thing with that id (None without a key: any id); `load(id)`
        reads it (raising NotFound when it is not there). Returns the thing and whether it is
        the earlier request's (a replay). `field`: where the key came from, for errors."""
        if key is None:
            return make(None), False
        key = valid_key(key, field)
        rid = self.resource_id(user_id, scope, key)
        digest = request_digest(request)
        earlier = self._earlier(user_id, scope, key)
        if earlier is not None and earlier != digest:
            raise ValidationFailed(
                field, "was already used with a different request; use a new key for a new one"
            )
        found = _found(load, rid)
        if found is not None:
            # Made, but its key not yet kept (the process stopped in between): keep it now.
            if earlier is None:
                self._keep(user_id, scope, key, digest, rid)
            return found, True
        try:
            made = make(rid)
        except (IntegrityError, Conflict):
            # A twin request with the same key created it a moment ago (a service may say
            # so as a Conflict on the field its twin took first).
            found = _found(load, rid)
            if found is None:
                raise
            return found, True
        self._keep(user_id, scope, key, digest, rid)
        return made, False

    def _earlier(self, user_id: str, scope: str, key: str) -> str | None:
        with self.db.read() as s:
            return s.scalar(
                select(IdempotencyKey.request_hash).where(
                    IdempotencyKey.user_id == user_id,
                    IdempotencyKey.scope == scope,
                    IdempotencyKey.key == key,
                )
            )

    def _keep(self, user_id: str, scope: str, key: str, digest: str, rid: str) -> None:
        row = {
            "id": new_id(),
            "user_id": user_id,
            "scope": scope,
            "key": key,
            "request_hash": digest,
            "resource_id": rid,
            "created_at": utcnow(),
        }
        try:
            with self.db.single() as conn:
                conn.execute(insert(IdempotencyKey), row)
        except IntegrityError:
            pass  # a twin kept it first


def _found(load: Callable[[str], T], rid: str) -> T | None:
    try:
        return load(rid)
    except NotFound:
        return None

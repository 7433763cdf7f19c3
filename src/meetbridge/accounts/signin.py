"""Signing in and out: passwords checked with throttling that slows guessing without locking
anyone out, and browser sessions (only a digest of the cookie is stored)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, func, select, text, update
from sqlalchemy.orm import Session

from meetbridge.accounts.inputs import normalize_email
from meetbridge.core import audit
from meetbridge.core.audit import Origin
from meetbridge.core.clock import Clock
from meetbridge.core.db import Database
from meetbridge.core.errors import NotAuthenticated, Throttled, ValidationFailed
from meetbridge.core.models import LoginAttempt, User, WebSession
from meetbridge.core.security import digest, new_token, verify_password
from meetbridge.core.settings import Settings

# PostgreSQL: tries to sign in to one login take turns (a lock held to the transaction's end),
# so each one's count includes every try before it.
_SIGN_IN_TURN = text("SELECT pg_advisory_xact_lock(hashtext(:key))")


class SignIn:
    def __init__(self, db: Database, settings: Settings, clock: Clock) -> None:
        self.db = db
        self.settings = settings
        self.clock = clock

    def authenticate(self, email: str, password: str, origin: Origin) -> User:
        """Checks a password. A miss never says whether the e-mail exists.

        Guessing is slowed, nobody is locked out. Each try is recorded *before* the password is
        checked, and the counts include it, so tries sent at once cannot slip past a limit.
        - one address guessing one login: after `login_max_failures` misses in the window,
          each further try waits 30 s, doubling, at most 15 minutes (429 with Retry-After);
        - one login guessed from many addresses: after 4x that many misses, one check per
          2 seconds for that login — its owner still gets in, at once from an address it
          signed in from before, after a few seconds from a new one;
        - one address guessing many logins: after 20x misses, that address waits out the
          window (not an address the login signed in from before).
        The address is the client's as the trusted proxies report it (MEETBRIDGE_TRUSTED_PROXIES).
        """
        try:
            email = normalize_email(email)
        except ValidationFailed:
            email = email.strip().lower()[:254]
        ip = (origin.ip or "unknown")[:64]
        now = self.clock.now()
        window = dt.timedelta(minutes=self.settings.login_window_minutes)
        limit = self.settings.login_max_failures
        with self.db.write() as s:  # first the try itself, then the counts that include it
            if not self.db.is_sqlite:  # SQLite's writers take turns already (BEGIN IMMEDIATE)
                s.execute(_SIGN_IN_TURN, {"key": f"signin:{email}"})
            attempt = LoginAttempt(email=email, ip=ip, success=False, created_at=now)
            s.add(attempt)
            s.flush()
            wait = self._sign_in_wait(s, email, ip, now, window, limit)
            user = s.scalar(select(User).where(User.email == email, User.status == "active"))
            if wait > 0:
                s.delete(attempt)  # a refused try was never checked: it is not a miss
        if wait > 0:
            raise Throttled(
                "too many failed sign-ins; wait a little and try again",
                retry_after=int(wait) + 1,
            )
        ok = verify_password(user.password_hash if user else None, password)
        with self.db.write() as s:
            if ok and user:
                # A success clears this address's misses for the login (its owner, back).
                s.execute(
                    delete(LoginAttempt).where(
                        LoginAttempt.email == email,
                        LoginAttempt.ip == ip,
                        LoginAttempt.success.is_(False),
                        LoginAttempt.id != attempt.id,
                    )
                )
                s.execute(
                    update(LoginAttempt).where(LoginAttempt.id == attempt.id).values(success=True)
                )
                audit.write(s, audit.by(user, "auth.signed_in", origin, "user", user.id))
            else:
                audit.record(
                    s,
                    org_id=user.org_id if user else None,
                    actor_id=None,
                    actor_label=email,
                    action="auth.sign_in_failed",
                    origin=origin,
                )
        if not ok or user is None:
            raise NotAuthenticated("wrong e-mail or password")
        return user

    @staticmethod
    def _sign_in_wait(
        s: Session, email: str, ip: str, now: dt.datetime, window: dt.timedelta, limit: int
    ) -> float:
        """Seconds this try must wait (0: check it). Counts misses in the window, this try and
        any sent at the same moment included."""
        recent = (LoginAttempt.success.is_(False), LoginAttempt.created_at >= now - window)
        pair = s.execute(
            select(func.count(), func.max(LoginAttempt.created_at)).where(
                LoginAttempt.email == email, LoginAttempt.ip == ip, *recent
            )
        ).one()
        if pair[0] > limit:
            # The first tries of a burst are checked; every later one waits its turn.
            previous = s.scalar(
                select(LoginAttempt.created_at)
                .where(LoginAttempt.email == email, LoginAttempt.ip == ip, *recent)
                .order_by(LoginAttempt.created_at.desc())
                .offset(1)
                .limit(1)
            )
            pause = min(30.0 * 2 ** (pair[0] - limit - 1), 900.0)
            left = ((previous or now) + dt.timedelta(seconds=pause) - now).total_seconds()
            if left > 0:
                return left
        known = s.scalar(
            select(LoginAttempt.id)
            .where(
                LoginAttempt.email == email,
                LoginAttempt.ip == ip,
                LoginAttempt.success.is_(True),
                LoginAttempt.created_at >= now - dt.timedelta(days=30),
            )
            .limit(1)
        )
        if known is not None:
            return 0.0
        by_ip = s.scalar(select(func.count()).where(LoginAttempt.ip == ip, *recent)) or 0
        if by_ip > limit * 20:
            return window.total_seconds()
        by_email = s.scalar(select(func.count()).where(LoginAttempt.email == email, *recent)) or 0
        if by_email > limit * 4:
            spaced = s.scalar(
                select(func.count()).where(
                    LoginAttempt.email == email,
                    LoginAttempt.created_at >= now - dt.timedelta(seconds=2),
                )
            )
            if (spaced or 0) > 1:
                return 2.0
        return 0.0

    def start_session(self, user: User, origin: Origin) -> str:
        """Returns the cookie value. Only its digest is stored."""
        raw = new_token("mbs_")
        with self.db.write() as s:
            s.add(
                WebSession(
                    id=digest(raw),
                    user_id=user.id,
                    ip=origin.ip,
                    user_agent=(origin.user_agent or "")[:300] or None,
                    expires_at=self.clock.now() + dt.timedelta(hours=self.settings.session_hours),
                )
            )
        return raw

    def session_user(self, raw: str) -> User | None:
        with self.db.read() as s:
            row = s.execute(
                select(User, WebSession.expires_at)
                .join(WebSession, WebSession.user_id == User.id)
                .where(WebSession.id == digest(raw), User.status == "active")
            ).first()
        if row is None or row[1] <= self.clock.now():
            return None
        return row[0]

    def end_session(self, raw: str, origin: Origin) -> None:
        with self.db.write() as s:
            ws = s.get(WebSession, digest(raw))
            if ws is None:
                return
            user = s.get(User, ws.user_id)
            s.delete(ws)
            if user:
                audit.write(s, audit.by(user, "auth.signed_out", origin, "user", user.id))

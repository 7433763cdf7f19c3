"""Passwords (argon2), random tokens and their digests, and CSRF tokens."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from zxcvbn import zxcvbn

_hasher = PasswordHasher()
# Verified against when the e-mail is unknown, so a miss costs as long as a wrong password.
_DUMMY_HASH = _hasher.hash("not-a-real-password-" + secrets.token_hex(8))

MIN_PASSWORD_LENGTH = 10
# zxcvbn's score (0-4) a password must reach: 3 is "safely unguessable: moderate protection from
# offline slow-hash scenario" (~10^8 guesses). Its lists, shipped in the package, hold the
# passwords most common in published breaches, English words, names and keyboard patterns.
MIN_PASSWORD_SCORE = 3
# zxcvbn's time grows fast with length; a passphrase's first 100 characters tell its strength.
_ESTIMATE_CHARS = 100


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def password_problem(password: str, email: str = "", name: str = "") -> str | None:
    """Why a password is too weak, or None when it is acceptable: too short or long, built on
    the user's own e-mail name, or easy to guess for a strength estimator that knows breached
    passwords, words, names, dates, keyboard walks and l33t substitutions."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"must be at least {MIN_PASSWORD_LENGTH} characters"
    if len(password) > 256:
        return "must be at most 256 characters"
    local = email.split("@")[0].lower()
    if local and len(local) >= 4 and local in password.lower():
        return "must not contain your e-mail name"
    inputs = [w for w in (email, local, *email.split("@")[1:], *name.split()) if w]
    result = zxcvbn(password[:_ESTIMATE_CHARS], user_inputs=inputs)
    if result["score"] >= MIN_PASSWORD_SCORE:
        return None
    feedback = result["feedback"]
    why = feedback["warning"] or "It follows a pattern that is quick to guess."
    advice = " ".join(feedback["suggestions"][:1]) or "Use a few uncommon words together."
    return f"is too easy to guess. {why.rstrip('.')}. {advice}"


def new_token(prefix: str = "", nbytes: int = 32) -> str:
    return prefix + secrets.token_urlsafe(nbytes)


def digest(token: str) -> str:
    """SHA-256 of a high-entropy token: what we store instead of the token itself."""
    return hashlib.sha256(token.encode()).hexdigest()


def csrf_token(secret_key: str, binding: str) -> str:
    """A CSRF token bound to a session (or to an anonymous nonce cookie before sign-in)."""
    return hmac.new(secret_key.encode(), b"csrf:" + binding.encode(), hashlib.sha256).hexdigest()


def same(expected: str, presented: str) -> bool:
    """Constant-time equality of two strings of any characters. (`hmac.compare_digest` on
    `str` raises TypeError for non-ASCII input: a hostile header or form field was a 500.)"""
    return hmac.compare_digest(
        expected.encode("utf-8", "surrogatepass"), presented.encode("utf-8", "surrogatepass")
    )


def b64url(data: bytes) -> str:
    """URL-safe base64 without padding: how a one-time link's parts travel."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    """The inverse of `b64url`; ValueError for anything that is not its output."""
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class LinkSigner:
    """Signs a one-time link's contents: HMAC-SHA256 with a key of its own per `purpose`,
    derived from the server's secret key (a link of one kind never passes for another)."""

    def __init__(self, secret_key: str, purpose: str) -> None:
        self._key = hashlib.sha256(f"{purpose}:{secret_key}".encode()).digest()

    def sign(self, message: str) -> str:
        return b64url(hmac.new(self._key, message.encode(), hashlib.sha256).digest())

    def valid(self, message: str, signature: str) -> bool:
        return same(self.sign(message), signature)


def csrf_valid(secret_key: str, binding: str, presented: str | None) -> bool:
    if not presented or not binding:
        return False
    return same(csrf_token(secret_key, binding), presented)


def spreadsheet_cell(value: object) -> str:
    """A CSV cell a spreadsheet would run as a formula (=, +, -, @, tab, CR first) is written
    as text: an exported value a person typed never becomes a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text

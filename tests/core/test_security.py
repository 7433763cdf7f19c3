"""Passwords are argon2-hashed; sessions and API tokens are stored only as digests."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from meetbridge.container import Container
from meetbridge.core.models import User
from meetbridge.core.security import hash_password, password_problem, verify_password
from tests.conftest import PASSWORD, Org


def test_passwords_are_argon2_and_verify() -> None:
    h = hash_password(PASSWORD)
    assert h.startswith("$argon2id$")
    assert verify_password(h, PASSWORD)
    assert not verify_password(h, PASSWORD + "x")
    assert not verify_password(None, PASSWORD)
    assert not verify_password("garbage", PASSWORD)


def test_weak_passwords_have_a_reason() -> None:
    assert password_problem("short") == "must be at least 10 characters"
    assert password_problem("password123") == (
        "is too easy to guess. This is a very common password. "
        "Add another word or two. Uncommon words are better."
    )
    assert (password_problem("aaaaaaaaaaaa") or "").startswith("is too easy to guess. Repeats")
    # What a breached-password list and a strength estimator refuse, a length rule lets by.
    for weak in ("Password12", "qwerty1234", "Summer2026!", "acme.test-2026"):
        assert (password_problem(weak, "owner@acme.test", "Acme Owner") or "").startswith(
            "is too easy to guess"
        ), weak
    assert (
        password_problem("jane.doe-2024!", "jane.doe@x.test") == "must not contain your e-mail name"
    )
    assert password_problem(PASSWORD) is None


def test_no_secret_in_clear_in_the_database_file(container: Container, acme: Org) -> None:
    with container.db.read() as s:
        stored = s.scalar(select(User.password_hash).where(User.id == acme.owner.id))
    assert stored and stored.startswith("$argon2id$")
    url = container.settings.effective_database_url
    if url.startswith("sqlite:///"):
        container.db.dispose()  # flush the WAL into the file
        raw = b"".join(p.read_bytes() for p in Path(url[10:]).parent.glob("meetbridge.db*"))
        assert PASSWORD.encode() not in raw
        assert acme.token.encode() not in raw
        assert acme.token[4:].encode() not in raw

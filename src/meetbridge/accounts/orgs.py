"""Organisations and sub-accounts (an agency and its clients), each with its first owner."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from meetbridge.accounts.inputs import (
    SLUG,
    email_free,
    normalize_email,
    require_admin,
    slugify,
    valid_name,
    valid_password,
    valid_timezone,
)
from meetbridge.core import audit
from meetbridge.core.audit import Origin
from meetbridge.core.db import Database
from meetbridge.core.errors import Conflict, PermissionDenied, ValidationFailed
from meetbridge.core.models import Organization, User
from meetbridge.core.security import hash_password


class Organisations:
    def __init__(self, db: Database) -> None:
        self.db = db

    def create_organization(
        self,
        *,
        name: str,
        owner_email: str,
        owner_name: str,
        owner_password: str,
        origin: Origin,
        slug: str | None = None,
        parent_id: str | None = None,
        timezone: str = "UTC",
    ) -> tuple[Organization, User]:
        """A new organisation (or sub-account, with `parent_id`) and its first owner."""
        name = valid_name(name)
        email = normalize_email(owner_email, "owner_email")
        owner_name = valid_name(owner_name, "owner_name")
        valid_password(owner_password, email, "owner_password")
        timezone = valid_timezone(timezone)
        with self.db.write() as s:
            slug = self._free_slug(s, slug, name)
            email_free(s, email, "owner_email")
            org = Organization(name=name, slug=slug, parent_id=parent_id, timezone=timezone)
            s.add(org)
            s.flush()
            owner = User(
                org_id=org.id,
                email=email,
                name=owner_name,
                role="owner",
                password_hash=hash_password(owner_password),
                timezone=timezone,
                org=org,
            )
            s.add(owner)
            s.flush()
            audit.record(
                s,
                org_id=org.id,
                actor_id=None,
                actor_label="system",
                action="org.created",
                origin=origin,
                target_type="organization",
                target_id=org.id,
                details={"name": name, "parent_id": parent_id, "owner": email},
            )
        return org, owner

    def _free_slug(self, s: Session, wanted: str | None, name: str) -> str:
        if wanted is not None:
            if not SLUG.match(wanted):
                raise ValidationFailed("slug", "use 1-63 lowercase letters, digits and hyphens")
            if s.scalar(select(Organization.id).where(Organization.slug == wanted)):
                raise Conflict("slug", "is already taken")
            return wanted
        base = slugify(name)
        taken = set(
            s.scalars(select(Organization.slug).where(Organization.slug.like(f"{base}%"))).all()
        )
        if base not in taken:
            return base
        n = 2
        while f"{base}-{n}" in taken:
            n += 1
        return f"{base}-{n}"

    def create_subaccount(
        self,
        actor: User,
        *,
        name: str,
        owner_email: str,
        owner_name: str,
        owner_password: str,
        origin: Origin,
    ) -> tuple[Organization, User]:
        """An agency's sub-account: only an owner of a top-level organisation."""
        if actor.role != "owner":
            raise PermissionDenied("only an owner can create sub-accounts")
        if actor.org.parent_id is not None:
            raise PermissionDenied("a sub-account cannot have sub-accounts")
        org, owner = self.create_organization(
            name=name,
            owner_email=owner_email,
            owner_name=owner_name,
            owner_password=owner_password,
            origin=origin,
            parent_id=actor.org_id,
            timezone=actor.org.timezone,
        )
        with self.db.write() as s:
            audit.write(
                s,
                audit.by(
                    actor,
                    "org.subaccount_created",
                    origin,
                    "organization",
                    org.id,
                    {"name": org.name},
                ),
            )
        return org, owner

    def list_subaccounts(self, actor: User) -> Sequence[Organization]:
        require_admin(actor)
        with self.db.read() as s:
            return s.scalars(
                select(Organization)
                .where(Organization.parent_id == actor.org_id)
                .order_by(Organization.name)
            ).all()

    def first_owner(self, slug: str) -> User | None:
        """The longest-standing active owner of an organisation (the CLI acts as them)."""
        with self.db.read() as s:
            return s.scalar(
                select(User)
                .join(Organization, Organization.id == User.org_id)
                .where(Organization.slug == slug, User.role == "owner", User.status == "active")
                .order_by(User.created_at)
                .limit(1)
            )

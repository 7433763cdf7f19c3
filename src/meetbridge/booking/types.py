"""Meeting types: what can be booked, by whom, and under which rules. Admins write them; a type
is bookable on its public page once published, and publishing is refused while nobody
assigned can host on Zoom and no fallback is set."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from meetbridge.booking.availability import can_host, default_availability
from meetbridge.booking.inputs import MeetingTypeInput, TypeMember, checked_type
from meetbridge.booking.tables import (
    Availability,
    Booking,
    Fallback,
    MeetingType,
    MeetingTypeMember,
)
from meetbridge.core import audit
from meetbridge.core.audit import Origin
from meetbridge.core.db import Database, utcnow
from meetbridge.core.errors import (
    Conflict,
    FieldError,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from meetbridge.core.models import User

# Whether each user can host a Zoom meeting now (the meetings service's `zoom_of_hosts`).
ZoomOf = Callable[[Sequence[str]], dict[str, Any]]


@dataclass(frozen=True)
class TypeView:
    type: MeetingType
    members: list[MeetingTypeMember]


def require_admin(actor: User) -> None:
    if not actor.is_admin:
        raise PermissionDenied("only admins manage meeting types")


class MeetingTypes:
    def __init__(self, db: Database, zoom_of: ZoomOf) -> None:
        self.db = db
        self.zoom_of = zoom_of

    def all(self, actor: User) -> list[TypeView]:
        with self.db.read() as s:
            types = s.scalars(
                select(MeetingType)
                .where(MeetingType.org_id == actor.org_id)
                .order_by(MeetingType.name)
            ).all()
            members = s.scalars(
                select(MeetingTypeMember)
                .where(MeetingTypeMember.type_id.in_([t.id for t in types]))
                .order_by(MeetingTypeMember.position)
            ).all()
        by_type: dict[str, list[MeetingTypeMember]] = {}
        for m in members:
            by_type.setdefault(m.type_id, []).append(m)
        return [TypeView(t, by_type.get(t.id, [])) for t in types]

    def get(self, actor: User, type_id: str) -> TypeView:
        with self.db.read() as s:
            t = s.get(MeetingType, type_id)
            if t is None or t.org_id != actor.org_id:
                raise NotFound("no such meeting type")
            return TypeView(t, _members_of(s, t.id))

    def _checked(self, actor: User, data: MeetingTypeInput) -> MeetingTypeInput:
        """Every rule, the members' existence included, reported at once."""
        errors: list[FieldError] = []
        ok = None
        try:
            ok = checked_type(data)
        except ValidationFailed as exc:
            errors += exc.errors
        try:
            with self.db.read() as s:
                _check_members(s, actor.org_id, data.members)
        except ValidationFailed as exc:
            errors += [e for e in exc.errors if e.field not in {x.field for x in errors}]
        if errors or ok is None:
            raise ValidationFailed.many(errors)
        return ok

    def create(self, actor: User, data: MeetingTypeInput, origin: Origin) -> TypeView:
        require_admin(actor)
        ok = self._checked(actor, data)
        now = utcnow()
        try:
            with self.db.write() as s:
                _check_members(s, actor.org_id, ok.members)
                t = MeetingType(org_id=actor.org_id, created_at=now, updated_at=now)
                _apply(t, ok)
                s.add(t)
                s.flush()
                _set_members(s, t.id, ok.members)
                audit.write(
                    s,
                    audit.by(
                        actor,
                        "meeting_type.created",
                        origin,
                        "meeting_type",
                        t.id,
                        {"name": t.name, "slug": t.slug},
                    ),
                )
        except IntegrityError:
            raise Conflict("slug", f"another meeting type already uses {ok.slug!r}") from None
        return self.get(actor, t.id)

    def update(self, actor: User, type_id: str, data: MeetingTypeInput, origin: Origin) -> TypeView:
        require_admin(actor)
        ok = self._checked(actor, data)
        try:
            with self.db.write() as s:
                t = s.get(MeetingType, type_id, with_for_update=True)
                if t is None or t.org_id != actor.org_id:
                    raise NotFound("no such meeting type")
                _check_members(s, actor.org_id, ok.members)
                before = {"name": t.name, "slug": t.slug, "duration": t.duration_min}
                _apply(t, ok)
                t.updated_at = utcnow()
                _set_members(s, t.id, ok.members)
                if t.published:
                    self._publishable(t, ok.members)
                after = {"name": t.name, "slug": t.slug, "duration": t.duration_min}
                audit.write(
                    s,
                    audit.by(
                        actor,
                        "meeting_type.updated",
                        origin,
                        "meeting_type",
                        t.id,
                        {"from": before, "to": after},
                    ),
                )
        except IntegrityError:
            raise Conflict("slug", f"another meeting type already uses {ok.slug!r}") from None
        return self.get(actor, type_id)

    def publish(self, actor: User, type_id: str, published: bool, origin: Origin) -> TypeView:
        require_admin(actor)
        with self.db.write() as s:
            t = s.get(MeetingType, type_id, with_for_update=True)
            if t is None or t.org_id != actor.org_id:
                raise NotFound("no such meeting type")
            members = _members_of(s, t.id)
            if published:
                self._publishable(t, [TypeMember(m.user_id) for m in members])
            t.published = published
            t.updated_at = utcnow()
            action = "meeting_type.published" if published else "meeting_type.unpublished"
            audit.write(s, audit.by(actor, action, origin, "meeting_type", t.id))
        return self.get(actor, type_id)

    def delete(self, actor: User, type_id: str, origin: Origin) -> None:
        """Only a type nobody has booked goes; one with bookings is unpublished instead, so
        its bookings keep their record."""
        require_admin(actor)
        with self.db.write() as s:
            t = s.get(MeetingType, type_id, with_for_update=True)
            if t is None or t.org_id != actor.org_id:
                raise NotFound("no such meeting type")
            booked = s.scalar(select(func.count()).where(Booking.type_id == t.id)) or 0
            if booked:
                raise Conflict(
                    "meeting_type",
                    f"{booked} booking(s) use this type; unpublish it instead (they keep it)",
                )
            s.delete(t)
            audit.write(
                s,
                audit.by(
                    actor, "meeting_type.deleted", origin, "meeting_type", t.id, {"name": t.name}
                ),
            )

    def hosts_on_zoom(self, user_ids: Sequence[str]) -> list[str]:
        """The members among `user_ids` who can host a booking on Zoom now (the booking
        page's own rule): active, their Zoom working, their meeting location Zoom."""
        states = self.zoom_of(list(user_ids))
        with self.db.read() as s:
            active = set(
                s.scalars(
                    select(User.id).where(User.id.in_(list(user_ids)), User.status == "active")
                ).all()
            )
            locations = dict(
                s.execute(
                    select(Availability.user_id, Availability.location).where(
                        Availability.user_id.in_(list(user_ids))
                    )
                ).all()
            )
        return [
            u for u in user_ids if u in active and can_host(states.get(u), locations.get(u, "zoom"))
        ]

    def _publishable(self, t: MeetingType, members: Sequence[TypeMember]) -> None:
        if not members:
            raise ValidationFailed("members", "assign at least one member before publishing")
        if t.fallback == Fallback.NONE and not self.hosts_on_zoom([m.user_id for m in members]):
            raise Conflict(
                "fallback",
                "no assigned member has a working Zoom and no fallback location is set: "
                "connect Zoom for a member, or choose a fallback, then publish",
            )


def _apply(t: MeetingType, ok: MeetingTypeInput) -> None:
    t.name, t.slug, t.description = ok.name, ok.slug, ok.description
    t.duration_min, t.assignment = ok.duration, ok.assignment
    t.buffer_before_min, t.buffer_after_min = ok.buffer_before, ok.buffer_after
    t.min_notice_min, t.horizon_days = ok.min_notice, ok.horizon_days
    t.interval_min = ok.interval or ok.duration
    t.daily_cap, t.reminders_min, t.cutoff_min = ok.daily_cap, list(ok.reminders), ok.cutoff
    t.fallback, t.fallback_value = ok.fallback, ok.fallback_value
    t.show_members = ok.show_members


def _members_of(s: Session, type_id: str) -> list[MeetingTypeMember]:
    return list(
        s.scalars(
            select(MeetingTypeMember)
            .where(MeetingTypeMember.type_id == type_id)
            .order_by(MeetingTypeMember.position)
        ).all()
    )


def _check_members(s: Session, org_id: str, members: Sequence[TypeMember]) -> None:
    ids = [m.user_id for m in members]
    if not ids:
        return
    found = set(
        s.scalars(
            select(User.id).where(User.id.in_(ids), User.org_id == org_id, User.status == "active")
        ).all()
    )
    missing = [i for i in ids if i not in found]
    if missing:
        raise ValidationFailed("members", f"not an active member here: {', '.join(missing)}")


def _set_members(s: Session, type_id: str, members: Sequence[TypeMember]) -> None:
    """The type's members, each with an availability row (the row a booking locks: made
    here, not by two first bookings racing to make it)."""
    ids = [m.user_id for m in members]
    have = set(s.scalars(select(Availability.user_id).where(Availability.user_id.in_(ids))))
    for user in s.scalars(select(User).where(User.id.in_([i for i in ids if i not in have]))):
        s.add(default_availability(user))
    s.execute(delete(MeetingTypeMember).where(MeetingTypeMember.type_id == type_id))
    for i, m in enumerate(members):
        s.add(
            MeetingTypeMember(
                type_id=type_id,
                user_id=m.user_id,
                position=i,
                weight=m.weight,
                priority=m.priority,
            )
        )

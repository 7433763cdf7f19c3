"""Projects: an organisation's named groups of meetings (a meeting may name one). A project
is renamed, archived (hidden from the lists and the project picker, still readable, and can
come back) or deleted. Deleting is for a project with nothing live in it: while it holds a
meeting that is not cancelled it is refused (archive it instead, or move or cancel those
meetings), and its cancelled meetings stay, without a project. Changes are made by an owner or
admin or the project's creator, and audited."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from meetbridge.core import audit
from meetbridge.core.audit import Origin
from meetbridge.core.db import Database, utcnow
from meetbridge.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from meetbridge.core.models import Meeting, Project, User, new_id

GONE = ("cancelling", "cancelled", "deleted_in_zoom")  # a meeting's statuses once cancelled


def _name(name: str) -> str:
    name = " ".join(name.split())
    if not name or len(name) > 200:
        raise ValidationFailed("name", "must be 1 to 200 characters")
    return name


def _description(description: str) -> str:
    if len(description) > 5000:
        raise ValidationFailed("description", "must be at most 5000 characters")
    return description


class Projects:
    def __init__(self, db: Database) -> None:
        self.db = db

    def create(
        self,
        actor: User,
        *,
        name: str,
        description: str,
        origin: Origin,
        project_id: str | None = None,
    ) -> Project:
        """`project_id`: the new project's id, when the caller chose it (core/idempotency.py)."""
        name, description = _name(name), _description(description)
        with self.db.write() as s:
            self._unique(s, actor, name)
            project = Project(
                id=project_id or new_id(),
                org_id=actor.org_id,
                name=name,
                description=description,
                created_by=actor.id,
            )
            s.add(project)
            s.flush()
            audit.write(
                s,
                audit.by(actor, "project.created", origin, "project", project.id, {"name": name}),
            )
        return project

    def list(self, actor: User, *, archived: bool = False) -> Sequence[Project]:
        """The organisation's projects by name: the active ones, or (`archived`) the archived."""
        with self.db.read() as s:
            q = select(Project).where(Project.org_id == actor.org_id)
            q = q.where(
                Project.archived_at.is_not(None) if archived else Project.archived_at.is_(None)
            )
            return s.scalars(q.order_by(Project.name)).all()

    def get(self, actor: User, project_id: str) -> Project:
        """One project, archived or not."""
        with self.db.read() as s:
            project = s.scalar(
                select(Project).where(Project.id == project_id, Project.org_id == actor.org_id)
            )
        if project is None:
            raise NotFound("no such project")
        return project

    def update(
        self,
        actor: User,
        project_id: str,
        *,
        origin: Origin,
        name: str | None = None,
        description: str | None = None,
        archived: bool | None = None,
    ) -> Project:
        """Renames, re-describes, archives or brings back a project (audited, as from → to)."""
        with self.db.write() as s:
            p = self._changeable(s, actor, project_id)
            before = {"name": p.name, "description": p.description, "archived": bool(p.archived_at)}
            if name is not None and _name(name) != p.name:
                self._unique(s, actor, _name(name))
                p.name = _name(name)
            if description is not None:
                p.description = _description(description)
            if archived is not None and archived != bool(p.archived_at):
                p.archived_at = utcnow() if archived else None
            after = {"name": p.name, "description": p.description, "archived": bool(p.archived_at)}
            changed = [k for k in before if before[k] != after[k]]
            if changed:
                action = "project.updated"
                if changed == ["archived"]:
                    action = "project.archived" if archived else "project.unarchived"
                details = {k: {"from": before[k], "to": after[k]} for k in changed}
                audit.write(s, audit.by(actor, action, origin, "project", p.id, details))
            s.flush()
        return p

    def meeting_counts(self, actor: User, project_id: str) -> tuple[int, int]:
        """(live, cancelled) meetings of the project, whoever hosts them."""
        with self.db.read() as s:
            rows = s.execute(
                select(Meeting.status, func.count())
                .where(Meeting.org_id == actor.org_id, Meeting.project_id == project_id)
                .group_by(Meeting.status)
            ).all()
        gone = sum(n for status, n in rows if status in GONE)
        return sum(n for _status, n in rows) - gone, gone

    def delete(self, actor: User, project_id: str, *, origin: Origin) -> None:
        """Deletes a project with no live meeting (its cancelled ones stay, projectless)."""
        with self.db.write() as s:
            p = self._changeable(s, actor, project_id)
            live = s.scalar(
                select(func.count()).where(Meeting.project_id == p.id, Meeting.status.not_in(GONE))
            )
            if live:
                raise Conflict(
                    "project",
                    f"it still has {live} meeting{'s' if live != 1 else ''} that "
                    f"{'are' if live != 1 else 'is'} not cancelled: archive the project "
                    "instead, or cancel those meetings first",
                )
            kept = s.scalar(select(func.count()).where(Meeting.project_id == p.id)) or 0
            s.execute(update(Meeting).where(Meeting.project_id == p.id).values(project_id=None))
            audit.write(
                s,
                audit.by(
                    actor,
                    "project.deleted",
                    origin,
                    "project",
                    p.id,
                    {"name": p.name, "cancelled_meetings_kept": kept},
                ),
            )
            s.delete(p)

    @staticmethod
    def _changeable(s: Session, actor: User, project_id: str) -> Project:
        p = s.scalar(
            select(Project).where(Project.id == project_id, Project.org_id == actor.org_id)
        )
        if p is None:
            raise NotFound("no such project")
        if not actor.is_admin and p.created_by != actor.id:
            raise PermissionDenied(
                "only an owner or admin, or the project's creator, can change it"
            )
        return p

    @staticmethod
    def _unique(s: Session, actor: User, name: str) -> None:
        if s.scalar(select(Project.id).where(Project.org_id == actor.org_id, Project.name == name)):
            raise Conflict("name", "a project with this name exists")

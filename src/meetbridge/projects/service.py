"""Projects: an organisation's named groups of meetings (a meeting may name one)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select

from meetbridge.core import audit
from meetbridge.core.audit import Origin
from meetbridge.core.db import Database
from meetbridge.core.errors import Conflict, NotFound, ValidationFailed
from meetbridge.core.models import Project, User, new_id


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
        name = " ".join(name.split())
        if not name or len(name) > 200:
            raise ValidationFailed("name", "must be 1 to 200 characters")
        if len(description) > 5000:
            raise ValidationFailed("description", "must be at most 5000 characters")
        with self.db.write() as s:
            if s.scalar(
                select(Project.id).where(Project.org_id == actor.org_id, Project.name == name)
            ):
                raise Conflict("name", "a project with this name exists")
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

    def list(self, actor: User) -> Sequence[Project]:
        with self.db.read() as s:
            return s.scalars(
                select(Project).where(Project.org_id == actor.org_id).order_by(Project.name)
            ).all()

    def get(self, actor: User, project_id: str) -> Project:
        with self.db.read() as s:
            project = s.scalar(
                select(Project).where(Project.id == project_id, Project.org_id == actor.org_id)
            )
        if project is None:
            raise NotFound("no such project")
        return project

"""Projects (groups of meetings) under /api/v1/projects: list (`archived=true` for the
archived ones), create, read, change (name, description, `archived`), delete (refused with
409 while a meeting in it is not cancelled)."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict, Field

from meetbridge.api.deps import ERRORS, Actor, C, From, Idempotent
from meetbridge.api.schemas import Input

router = APIRouter(prefix="/api/v1", responses=ERRORS, tags=["projects"])


class ProjectIn(Input):
    name: str = Field(max_length=200)
    description: str = Field("", max_length=5000)


class ProjectPatch(Input):
    name: str | None = Field(None, max_length=200)
    description: str | None = Field(None, max_length=5000)
    archived: bool | None = None


class ProjectOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    name: str
    description: str
    created_at: dt.datetime
    archived_at: dt.datetime | None


@router.get("/projects", response_model=list[ProjectOut])
async def list_projects(c: C, actor: Actor, archived: bool = False) -> list[object]:
    return list(c.projects.list(actor, archived=archived))


@router.post("/projects", response_model=ProjectOut, status_code=201)
def create_project(body: ProjectIn, c: C, actor: Actor, origin: From, once: Idempotent) -> object:
    return once(
        actor,
        "projects",
        body.model_dump(mode="json"),
        lambda pid: c.projects.create(
            actor, name=body.name, description=body.description, origin=origin, project_id=pid
        ),
        lambda pid: c.projects.get(actor, pid),
    )


@router.get("/projects/{project_id}", response_model=ProjectOut)
async def get_project(project_id: str, c: C, actor: Actor) -> object:
    return c.projects.get(actor, project_id)


@router.patch("/projects/{project_id}", response_model=ProjectOut)
def update_project(project_id: str, body: ProjectPatch, c: C, actor: Actor, origin: From) -> object:
    return c.projects.update(
        actor,
        project_id,
        origin=origin,
        name=body.name,
        description=body.description,
        archived=body.archived,
    )


@router.delete("/projects/{project_id}", status_code=204)
def delete_project(project_id: str, c: C, actor: Actor, origin: From) -> Response:
    c.projects.delete(actor, project_id, origin=origin)
    return Response(status_code=204)

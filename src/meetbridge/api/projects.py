"""Projects (groups of meetings) under /api/v1/projects."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from meetbridge.api.deps import ERRORS, Actor, C, From, Idempotent
from meetbridge.api.schemas import Input

router = APIRouter(prefix="/api/v1", responses=ERRORS, tags=["projects"])


class ProjectIn(Input):
    name: str = Field(max_length=200)
    description: str = Field("", max_length=5000)


class ProjectOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    name: str
    description: str
    created_at: dt.datetime


@router.get("/projects", response_model=list[ProjectOut])
async def list_projects(c: C, actor: Actor) -> list[object]:
    return list(c.projects.list(actor))


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

"""Projects: list, create, and one project with its upcoming and past meetings."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from meetbridge.core.errors import DomainError
from meetbridge.web.http import origin_of
from meetbridge.web.kit import (
    container,
    field_errors,
    in_thread,
    posted_form,
    redirect,
    render,
    signed_in_user,
)
from meetbridge.web.meetings import local

router = APIRouter(include_in_schema=False)


@router.get("/projects")
async def projects(request: Request) -> Response:
    user = signed_in_user(request)
    return render(
        request,
        "projects.html",
        user,
        projects=container(request).projects.list(user),
        errors={},
        nav="projects",
    )


@router.post("/projects")
async def project_create(request: Request) -> Response:
    user = signed_in_user(request)
    form = await posted_form(request)
    c = container(request)
    try:
        p = await in_thread(
            c.projects.create,
            user,
            name=form.get("name", ""),
            description=form.get("description", ""),
            origin=origin_of(request),
        )
    except DomainError as exc:
        return render(
            request,
            "projects.html",
            user,
            exc.status,
            projects=c.projects.list(user),
            errors=field_errors(exc),
            nav="projects",
        )
    return redirect(request, f"/projects/{p.id}", f"Project {p.name} created.")


@router.get("/projects/{project_id}")
async def project_detail(request: Request, project_id: str) -> Response:
    user = signed_in_user(request)
    c = container(request)
    project = c.projects.get(user, project_id)
    upcoming = c.meetings.list_meetings(user, project_id=project_id)
    past = c.meetings.list_meetings(user, when="past", project_id=project_id)
    cancelled = c.meetings.list_meetings(user, when="cancelled", project_id=project_id)
    return render(
        request,
        "project_detail.html",
        user,
        project=project,
        upcoming=upcoming,
        past=past,
        cancelled=cancelled,
        local=local,
        nav="projects",
    )

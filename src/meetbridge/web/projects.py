"""Projects: list (active, and the archived apart), create, and one project with its
meetings, where it is renamed, archived or brought back, or deleted (a confirm box; refused
while it holds a meeting that is not cancelled)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from meetbridge.core.errors import DomainError
from meetbridge.core.models import User
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
        archived=container(request).projects.list(user, archived=True),
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
            archived=c.projects.list(user, archived=True),
            errors=field_errors(exc),
            nav="projects",
        )
    return redirect(request, f"/projects/{p.id}", f"Project {p.name} created.")


def _detail(
    request: Request, user: User, project_id: str, status: int = 200, **ctx: Any
) -> Response:
    c = container(request)
    project = c.projects.get(user, project_id)
    ctx.setdefault("errors", {})
    return render(
        request,
        "project_detail.html",
        user,
        status,
        project=project,
        upcoming=c.meetings.list_meetings(user, project_id=project_id),
        past=c.meetings.list_meetings(user, when="past", project_id=project_id),
        cancelled=c.meetings.list_meetings(user, when="cancelled", project_id=project_id),
        counts=c.projects.meeting_counts(user, project_id),
        local=local,
        nav="projects",
        **ctx,
    )


@router.get("/projects/{project_id}")
async def project_detail(request: Request, project_id: str) -> Response:
    return _detail(request, signed_in_user(request), project_id)


@router.post("/projects/{project_id}")
async def project_update(request: Request, project_id: str) -> Response:
    """Rename / re-describe (`action=save`), archive or bring back (`action=archive|restore`)."""
    user = signed_in_user(request)
    form = await posted_form(request)
    action = form.get("action", "save")
    c = container(request)
    try:
        if action in ("archive", "restore"):
            p = await in_thread(
                c.projects.update,
                user,
                project_id,
                origin=origin_of(request),
                archived=action == "archive",
            )
            done = (
                f"Project {p.name} archived: it is hidden from the lists, and still here."
                if action == "archive"
                else f"Project {p.name} is back."
            )
        else:
            p = await in_thread(
                c.projects.update,
                user,
                project_id,
                origin=origin_of(request),
                name=form.get("name", ""),
                description=form.get("description", ""),
            )
            done = f"Project {p.name} saved."
    except DomainError as exc:
        return _detail(request, user, project_id, exc.status, errors=field_errors(exc))
    return redirect(request, f"/projects/{project_id}", done)


@router.post("/projects/{project_id}/delete")
async def project_delete(request: Request, project_id: str) -> Response:
    user = signed_in_user(request)
    form = await posted_form(request)
    c = container(request)
    if form.get("confirm") != "on":
        return _detail(
            request, user, project_id, 422, errors={"confirm": "tick the box to confirm"}
        )
    name = c.projects.get(user, project_id).name
    try:
        await in_thread(c.projects.delete, user, project_id, origin=origin_of(request))
    except DomainError as exc:
        return _detail(request, user, project_id, exc.status, errors=field_errors(exc))
    return redirect(request, "/projects", f"Project {name} deleted.")

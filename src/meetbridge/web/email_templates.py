"""Settings → E-mail templates: the organisation's wording of the e-mails meetbridge sends."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from meetbridge.core.errors import DomainError
from meetbridge.web.http import origin_of
from meetbridge.web.kit import (
    container,
    in_thread,
    posted_form,
    redirect,
    render,
    signed_in_user,
)

router = APIRouter(include_in_schema=False)


@router.get("/settings/templates")
async def templates_page(request: Request) -> Response:
    user = signed_in_user(request)
    return render(
        request,
        "templates.html",
        user,
        templates=container(request).templates.list(user.org_id),
        errors={},
        nav="settings",
    )


@router.post("/settings/templates/{name}")
async def template_save(request: Request, name: str) -> Response:
    user = signed_in_user(request)
    form = await posted_form(request)
    c = container(request)
    try:
        if form.get("action") == "reset":
            await in_thread(c.templates.reset, user, name, origin_of(request))
            done = f"The {name} e-mail is back to meetbridge's own wording."
        else:
            await in_thread(
                c.templates.save,
                user,
                name,
                form.get("subject", ""),
                form.get("body_text", ""),
                origin_of(request),
            )
            done = f"The {name} e-mail is saved."
    except DomainError as exc:
        return render(
            request,
            "templates.html",
            user,
            exc.status,
            templates=c.templates.list(user.org_id),
            errors={name: exc.message},
            nav="settings",
        )
    return redirect(request, "/settings/templates", done)

"""Settings → E-mail templates: the organisation's wording of the e-mails meetbridge sends, each
with a live preview (rendered here, by the same bounded renderer as the e-mails, with sample
data; htmx asks again as the admin types) and a reset to meetbridge's wording."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from meetbridge.core.errors import DomainError, NotFound, PermissionDenied
from meetbridge.notify import samples
from meetbridge.notify.render import EDITABLE
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


def _previews(templates: list[dict[str, object]]) -> dict[str, dict[str, str]]:
    return {str(t["name"]): _preview(str(t["name"]), t) for t in templates}


def _preview(name: str, form: dict[str, object]) -> dict[str, str]:
    try:
        subject, text = samples.preview(
            name, str(form.get("subject", "")), str(form.get("body_text", ""))
        )
    except ValueError as exc:
        return {"error": str(exc)}
    return {"subject": subject, "text": text}


@router.get("/settings/templates")
async def templates_page(request: Request) -> Response:
    user = signed_in_user(request)
    templates = container(request).templates.list(user.org_id)
    return render(
        request,
        "templates.html",
        user,
        templates=templates,
        # Each render is bounded (half a second): off the event loop, as every render is.
        previews=await in_thread(_previews, templates),
        errors={},
        nav="settings",
    )


@router.post("/settings/templates/{name}/preview")
async def template_preview(request: Request, name: str) -> Response:
    """The preview fragment for the wording as typed (nothing is saved). Bounded like an
    e-mail's render (half a second at most), so it runs off the event loop."""
    user = signed_in_user(request)
    form = await posted_form(request)
    if not user.is_admin:  # a render costs CPU: only those who may change the wording
        raise PermissionDenied("only an owner or admin can do this")
    if name not in EDITABLE:
        raise NotFound("no such template")
    preview = await in_thread(_preview, name, dict(form))
    return render(request, "template_preview.html", user, tname=name, p=preview)


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
                form.get("include_join_link") == "on",
            )
            done = f"The {name} e-mail is saved."
    except DomainError as exc:
        templates = c.templates.list(user.org_id)
        for t in templates:  # the page keeps what the admin typed, to fix it
            if t["name"] == name:
                t.update(subject=form.get("subject", ""), body_text=form.get("body_text", ""))
        return render(
            request,
            "templates.html",
            user,
            exc.status,
            templates=templates,
            previews=await in_thread(_previews, templates),
            errors={name: exc.message},
            nav="settings",
        )
    return redirect(request, "/settings/templates", done)

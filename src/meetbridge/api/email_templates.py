"""The organisation's e-mail wording under /api/v1/email-templates."""

from __future__ import annotations

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field

from meetbridge.api.deps import ERRORS, Actor, C, From
from meetbridge.api.schemas import Input

router = APIRouter(prefix="/api/v1", responses=ERRORS, tags=["settings"])


class TemplateOut(BaseModel):
    name: str
    customised: bool
    subject: str
    body_text: str
    variables: list[str]
    include_join_link: bool | None = Field(
        description="Whether its e-mails carry the Zoom invite link (None: it has no link)"
    )


class TemplateIn(Input):
    subject: str = Field(max_length=1000)
    body_text: str = Field(max_length=50_000)
    include_join_link: bool = Field(True, description="Carry the Zoom invite link")


@router.get("/email-templates", response_model=list[TemplateOut])
async def list_templates(c: C, actor: Actor) -> list[dict[str, object]]:
    """The e-mails meetbridge sends, in your organisation's wording (Jinja2, the listed
    variables)."""
    return c.templates.list(actor.org_id)


@router.put("/email-templates/{name}", status_code=204)
def save_template(name: str, body: TemplateIn, c: C, actor: Actor, origin: From) -> Response:
    c.templates.save(actor, name, body.subject, body.body_text, origin, body.include_join_link)
    return Response(status_code=204)


@router.delete("/email-templates/{name}", status_code=204)
def reset_template(name: str, c: C, actor: Actor, origin: From) -> Response:
    c.templates.reset(actor, name, origin)
    return Response(status_code=204)

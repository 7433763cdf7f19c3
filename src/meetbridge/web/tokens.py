"""Settings → API tokens: create (the secret shown once), list, revoke."""

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

router = APIRouter(include_in_schema=False)


@router.get("/settings/tokens")
async def tokens_page(request: Request) -> Response:
    user = signed_in_user(request)
    tokens = container(request).accounts.list_api_tokens(user)
    return render(
        request, "tokens.html", user, tokens=tokens, created=None, errors={}, nav="settings"
    )


@router.post("/settings/tokens")
async def token_create(request: Request) -> Response:
    user = signed_in_user(request)
    form = await posted_form(request)
    c = container(request)
    created, errors, status = None, {}, 201
    try:
        created = await in_thread(
            c.accounts.create_api_token, user, name=form.get("name", ""), origin=origin_of(request)
        )
    except DomainError as exc:
        errors, status = field_errors(exc), exc.status
    tokens = c.accounts.list_api_tokens(user)
    # The secret is shown on this response only; it is never stored or shown again.
    return render(
        request,
        "tokens.html",
        user,
        status,
        tokens=tokens,
        created=created,
        errors=errors,
        nav="settings",
    )


@router.post("/settings/tokens/{token_id}/revoke")
async def token_revoke(request: Request, token_id: str) -> Response:
    user = signed_in_user(request)
    await posted_form(request)
    token = await in_thread(
        container(request).accounts.revoke_api_token, user, token_id, origin=origin_of(request)
    )
    return redirect(request, "/settings/tokens", f"Token “{token.name}” is revoked.")

"""The organisation's members under /api/v1/members."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from meetbridge.api.deps import ERRORS, Actor, C, From, Idempotent
from meetbridge.api.schemas import (
    EmailChangeIn,
    MemberCreate,
    MemberRestore,
    MemberUpdate,
    MessageOut,
    UserOut,
)
from meetbridge.core.models import User

router = APIRouter(prefix="/api/v1", responses=ERRORS, tags=["members"])


@router.get("/members", response_model=list[UserOut])
async def list_members(c: C, actor: Actor, include_inactive: bool = False) -> list[User]:
    return list(c.accounts.list_members(actor, include_inactive=include_inactive))


@router.post("/members", response_model=UserOut, status_code=201)
def create_member(body: MemberCreate, c: C, actor: Actor, origin: From, once: Idempotent) -> User:
    return once(
        actor,
        "members",
        # The password stays out of the kept digest: a digest of it could be guessed at.
        body.model_dump(mode="json", exclude={"password"}),
        lambda uid: c.accounts.create_member(
            actor,
            email=body.email,
            name=body.name,
            role=body.role,
            password=body.password,
            timezone=body.timezone,
            start_date=body.start_date,
            origin=origin,
            user_id=uid,
        ),
        lambda uid: c.accounts.get_member(actor, uid),
    )


@router.post("/members/{user_id}/email", response_model=MessageOut, status_code=202)
def change_email(user_id: str, body: EmailChangeIn, c: C, actor: Actor, origin: From) -> MessageOut:
    """Asks for a new address: a link goes to it, and the address changes when the link is
    opened; the old address is told. Your own address needs `current_password`."""
    said = c.email_changes.request(
        actor, user_id, body.email, origin, current_password=body.current_password
    )
    return MessageOut(message=said)


@router.get("/members/{user_id}", response_model=UserOut)
async def get_member(user_id: str, c: C, actor: Actor) -> User:
    return c.accounts.get_member(actor, user_id)


@router.patch("/members/{user_id}", response_model=UserOut)
def update_member(user_id: str, body: MemberUpdate, c: C, actor: Actor, origin: From) -> User:
    return c.accounts.update_member(
        actor,
        user_id,
        origin=origin,
        name=body.name,
        email=body.email,
        role=body.role,
        timezone=body.timezone,
        # Sent as null (or ""): cleared; not sent: left as it is.
        start_date=(body.start_date or "") if "start_date" in body.model_fields_set else None,
    )


@router.post("/members/{user_id}/deactivate", response_model=UserOut)
def deactivate_member(user_id: str, c: C, actor: Actor, origin: From) -> User:
    return c.accounts.deactivate_member(actor, user_id, origin=origin)


@router.post("/members/{user_id}/restore", response_model=UserOut, status_code=201)
def restore_member(user_id: str, body: MemberRestore, c: C, actor: Actor, origin: From) -> User:
    return c.accounts.restore_member(actor, user_id, password=body.password, origin=origin)


@router.post("/members/{user_id}/password-reset", status_code=202)
def send_password_reset(user_id: str, c: C, actor: Actor, origin: From) -> Response:
    """Admins: e-mail the member a one-time link (1 hour) to choose a new password."""
    c.passwords.send_reset(actor, user_id, origin)
    return Response(status_code=202)

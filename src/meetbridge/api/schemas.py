"""Request and response bodies of the REST API."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

Role = Literal["owner", "admin", "member"]


class Input(BaseModel):
    """Every request body: unknown fields are an error, and no text may hold NUL."""

    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        # PostgreSQL cannot store text with NUL; refuse it here, with the field's name.
        if any(
            "\x00" in v
            for v in (value if isinstance(value, list) else [value])
            if isinstance(v, str)
        ):
            raise ValueError("must not contain NUL characters")
        return value


class FieldReason(BaseModel):
    field: str
    reason: str


class ErrorBody(BaseModel):
    code: str
    message: str
    fields: list[FieldReason] = []


class ErrorOut(BaseModel):
    error: ErrorBody


class OrgOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    name: str
    slug: str
    parent_id: str | None
    timezone: str
    created_at: dt.datetime


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    org_id: str
    email: str
    name: str
    role: str
    status: str
    timezone: str
    restored_from_id: str | None
    created_at: dt.datetime
    deactivated_at: dt.datetime | None


class MeOut(UserOut):
    org: OrgOut


class MemberCreate(Input):
    email: str = Field(max_length=254)
    name: str = Field(max_length=200)
    role: Role = "member"
    password: str = Field(max_length=256)
    timezone: str | None = Field(None, max_length=64)


class MemberUpdate(Input):
    email: str | None = Field(None, max_length=254)
    name: str | None = Field(None, max_length=200)
    role: Role | None = None
    timezone: str | None = Field(None, max_length=64)


class EmailChangeIn(Input):
    email: str = Field(max_length=254)
    current_password: str | None = Field(
        None, max_length=256, description="Needed to change your own address"
    )


class MessageOut(BaseModel):
    message: str


class MemberRestore(Input):
    password: str = Field(max_length=256)


class PasswordChange(Input):
    current_password: str = Field(max_length=256)
    new_password: str = Field(max_length=256)


class TokenCreate(Input):
    name: str = Field(max_length=100)


class TokenOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    name: str
    prefix: str
    created_at: dt.datetime
    last_used_at: dt.datetime | None
    revoked_at: dt.datetime | None
    parent_id: str | None = Field(description="The token that created this one, if any")


class TokenCreated(TokenOut):
    token: str = Field(description="The secret. Shown once; store it now.")


class SubaccountCreate(Input):
    name: str = Field(max_length=200)
    owner_email: str = Field(max_length=254)
    owner_name: str = Field(max_length=200)
    owner_password: str = Field(max_length=256)


class AuditOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    actor_id: str | None
    actor_label: str
    action: str
    target_type: str | None
    target_id: str | None
    details: dict[str, Any]
    ip: str | None
    user_agent: str | None
    request_id: str | None
    created_at: dt.datetime

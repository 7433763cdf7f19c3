"""Request and response bodies of the REST API."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from meetbridge.core.security import MIN_PASSWORD_LENGTH
from meetbridge.meetings import inputs as meeting

Role = Literal["owner", "admin", "member"]

# A meeting's fields, with the server's own limits (meetings/inputs.py): a client generated from
# the schema refuses what the server would refuse.
Title = Annotated[
    str, Field(min_length=1, max_length=meeting.TITLE_MAX, pattern=meeting.TITLE_PATTERN)
]
Duration = Annotated[
    int,
    Field(
        strict=True,  # `true` and "30" are not a number of minutes
        ge=meeting.MIN_DURATION,
        le=meeting.MAX_DURATION,
        description="Minutes",
    ),
]
Agenda = Annotated[str, Field(max_length=meeting.AGENDA_MAX)]
Passcode = Annotated[
    str,
    Field(
        max_length=meeting.PASSCODE_MAX,
        pattern=meeting.PASSCODE_PATTERN,
        description="Letters, digits and @ - _ *; empty or absent: none",
    ),
]
ZoneName = Annotated[str, Field(max_length=meeting.TIMEZONE_MAX, description="IANA time zone")]
Email = Annotated[str, Field(min_length=1, max_length=meeting.EMAIL_MAX)]
# A person's, an organisation's or a token's name: something besides spaces (accounts/inputs.py).
Name = Annotated[str, Field(min_length=1, max_length=200, pattern=meeting.TITLE_PATTERN)]
TokenName = Annotated[str, Field(min_length=1, max_length=100, pattern=meeting.TITLE_PATTERN)]
Password = Annotated[str, Field(min_length=MIN_PASSWORD_LENGTH, max_length=256)]
Emails = Annotated[list[Email], Field(max_length=meeting.MAX_INVITEES)]
# Text, not a date type, and no length limit here: the service reads it (accounts/inputs.py,
# any length), so a malformed date is reported together with the service's other findings (an
# unknown time zone), not alone.
StartDate = Annotated[
    str,
    Field(
        json_schema_extra={"format": "date"},
        description="The member's first day, YYYY-MM-DD: at most 2 years ago, 5 years ahead",
        examples=["2027-01-04"],
    ),
]


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
    start_date: dt.date | None
    restored_from_id: str | None
    created_at: dt.datetime
    deactivated_at: dt.datetime | None


class MeOut(UserOut):
    org: OrgOut


class MemberCreate(Input):
    email: Email
    name: Name
    role: Role = "member"
    password: Password
    timezone: ZoneName | None = None
    start_date: StartDate | None = Field(
        None, description="With one, the member is onboarded (the member.onboarded event)"
    )


class MemberUpdate(Input):
    email: Email | None = None
    name: Name | None = None
    role: Role | None = None
    timezone: ZoneName | None = None
    start_date: StartDate | None = Field(
        None,
        description="Setting or moving it onboards the member (member.onboarded); null clears "
        "it; absent leaves it. Admins only",
    )


class EmailChangeIn(Input):
    email: str = Field(max_length=254)
    current_password: str | None = Field(
        None, max_length=256, description="Needed to change your own address"
    )


class MessageOut(BaseModel):
    message: str


class MemberRestore(Input):
    password: Password


class PasswordChange(Input):
    current_password: str = Field(max_length=256)
    new_password: Password


class TokenCreate(Input):
    name: TokenName


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
    name: Name
    owner_email: Email
    owner_name: Name
    owner_password: Password


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

"""Typed views of Zoom's replies. Lenient: Zoom adds fields over time, so unknown ones are
kept, and only what the product relies on is required."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict


class _Zoom(BaseModel):
    model_config = ConfigDict(extra="allow")


class ZoomUser(_Zoom):
    id: str
    email: str
    first_name: str = ""
    last_name: str = ""
    type: int = 1
    status: str | None = None
    timezone: str | None = None
    account_id: str | None = None


class ZoomMeeting(_Zoom):
    id: int
    topic: str = ""
    type: int = 2
    start_time: str | None = None
    duration: int | None = None
    timezone: str | None = None
    agenda: str | None = None
    join_url: str = ""
    password: str | None = None
    host_id: str | None = None
    host_email: str | None = None
    uuid: str | None = None
    status: str | None = None
    settings: dict[str, Any] = {}


class ZoomRegistrant(_Zoom):
    id: str | None = None
    registrant_id: str | None = None
    email: str | None = None
    join_url: str | None = None


class ZoomRecording(_Zoom):
    id: int | None = None
    uuid: str | None = None
    topic: str | None = None
    recording_files: list[dict[str, Any]] = []

"""The pages: one router per area, included into the app in this order."""

from __future__ import annotations

from fastapi import APIRouter

from meetbridge.web import (
    account,
    assets,
    audit,
    booking_admin,
    booking_public,
    coming,
    email_templates,
    feed,
    meetings,
    passwords,
    projects,
    reports,
    request_series,
    requests,
    signin,
    team,
    tokens,
    workflows,
    zoom,
)

ROUTERS: tuple[APIRouter, ...] = (
    assets.router,
    signin.router,
    passwords.router,
    team.router,
    tokens.router,
    feed.router,
    account.router,
    audit.router,
    coming.router,
    zoom.router,
    meetings.router,
    projects.router,
    email_templates.router,
    booking_admin.router,
    booking_public.router,
    reports.router,
    request_series.router,
    requests.router,
    workflows.router,
)

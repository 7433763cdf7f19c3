"""The REST API under /api/v1: one router per resource, assembled here in the order of the
OpenAPI document. Thin: parse, authenticate (`deps`), call a service, shape the reply."""

from __future__ import annotations

from fastapi import APIRouter

from meetbridge.api import (
    account,
    audit,
    booking,
    email_templates,
    feeds,
    meetings,
    members,
    organisations,
    projects,
    reports,
    requests,
    tokens,
    workflows,
    zoom,
)

# Included one by one into the app (not nested under one more router: a level of nesting is
# one more route table walked on every request).
ROUTERS: tuple[APIRouter, ...] = (
    account.router,
    members.router,
    tokens.router,
    audit.router,
    organisations.router,
    zoom.router,
    projects.router,
    meetings.router,
    email_templates.router,
    booking.router,
    booking.public,
    requests.router,
    reports.router,
    workflows.router,
    workflows.hooks,
    zoom.hooks,
    feeds.router,
    feeds.ics,
)

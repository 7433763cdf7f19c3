"""A request's people hear of it by e-mail (the "request" template), a Zoom request's e-mail
carries its join link once the meeting exists, and the organisation's per-template switch
"include the Zoom invite link" takes it out."""

from __future__ import annotations

import html
import re
from email.message import EmailMessage

from tests.booking.conftest import mail_about
from tests.requests.conftest import api, request_body, save_pool, tomorrow
from tests.requests.test_requests import _new, _scheduled
from tests.support import SmtpServer
from tests.zoom_env import ZoomEnv, csrf


def _text(m: EmailMessage) -> str:
    part = m.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())


def test_the_people_get_the_join_link_unless_the_template_says_no(
    env: ZoomEnv, smtp: SmtpServer
) -> None:
    assert save_pool(env).status_code == 200
    s = api(env, "sched@acme.test")
    a = _new(s, tomorrow(10), tomorrow(11), client="Linked Clinic")
    [first] = mail_about(smtp, "ann@acme.test", "Linked Clinic")
    assert "Join Zoom meeting" not in _text(first)  # a regular request: no link yet

    s.post(f"/requests/{a['id']}/convert-to-zoom")
    join_url = _scheduled(s, a["id"])["join_url"]
    mails = mail_about(smtp, "ann@acme.test", "Changed: Spanish interpreting", count=1)
    assert join_url in _text(mails[-1])

    # The admin switches the link off for request e-mails, on the templates page.
    admin = env.signed_in("owner@acme.test")
    page = admin.get("/settings/templates").text
    section = page[page.index('id="tpl-request"') :]
    assert "Include the Zoom invite link" in section
    subject = re.search(r'name="subject" value="([^"]*)"', section)
    body = re.search(r'name="body_text" rows="10"[^>]*>([^<]*)</textarea>', section)
    assert subject and body
    r = admin.post(
        "/settings/templates/request",
        data={
            "csrf_token": csrf(page),
            "subject": html.unescape(subject.group(1)),
            "body_text": html.unescape(body.group(1)),
            "action": "save",
        },
    )
    assert r.status_code in (200, 303), r.text
    listed = {t["name"]: t for t in api(env, "owner@acme.test").get("/email-templates").json()}
    assert listed["request"]["include_join_link"] is False
    assert listed["welcome"]["include_join_link"] is None  # no link to switch

    moved = request_body(tomorrow(12), tomorrow(13), client="Linked Clinic")
    assert s.put(f"/requests/{a['id']}", json=moved).status_code == 200
    _scheduled(s, a["id"])
    mails = mail_about(smtp, "ann@acme.test", "Changed: Spanish interpreting", count=2)
    latest = _text(mails[-1])
    assert join_url not in latest and "12:00" in latest
    assert "the link is in the request's details" in latest
    # The shipped wording is kept with its HTML part (only the switch is the organisation's).
    assert mails[-1].get_body(preferencelist=("html",)) is not None

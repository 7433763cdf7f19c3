"""The workflow pages over HTTP (signed in, with CSRF), posting the editor's form as a browser
would (every control of the page, the button pressed as `do`): only owners and admins get in,
another organisation's workflow or run is a 404, a form without its token is refused, a bad
definition shows each problem at its field and writes nothing, steps are added, moved and
removed without saving, a test with sample data shows its steps inline, Run now opens the
run, a failed run says what to do, a run at work refreshes itself, the runs list filters and
pages, the inbound webhook's secret is shown (not cached) and rotated and signs a delivery as
the page says, and Zoom → Directory says when the account is not connected."""

from __future__ import annotations

import hashlib
import hmac
import html
import json
import re
import time
from html.parser import HTMLParser
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from meetbridge.container import Container
from meetbridge.workflows.tables import RunStatus, Workflow, WorkflowRun, WorkflowVersion
from tests.conftest import ORIGIN, PASSWORD, Org
from tests.support import SmtpServer
from tests.web.test_pages import csrf, sign_in


class _Form(HTMLParser):
    """The controls of one form, as a browser would post them (no submit buttons)."""

    def __init__(self, form_id: str) -> None:
        super().__init__(convert_charrefs=True)
        self.form_id = form_id
        self.inside = False
        self.values: list[tuple[str, str]] = []
        self._select: str | None = None
        self._options: list[tuple[str, bool]] = []
        self._textarea: str | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form" and a.get("id") == self.form_id:
            self.inside = True
        if not self.inside:
            return
        if tag == "input" and a.get("name") and a.get("type") not in ("submit", "checkbox"):
            self.values.append((a["name"], a.get("value", "")))
        elif tag == "select":
            self._select, self._options = a.get("name"), []
        elif tag == "option" and self._select is not None:
            self._options.append((a.get("value", ""), "selected" in a))
        elif tag == "textarea":
            self._textarea, self._text = a.get("name"), []

    def handle_endtag(self, tag: str) -> None:
        if not self.inside:
            return
        if tag == "form":
            self.inside = False
        elif tag == "select" and self._select is not None:
            chosen = [v for v, on in self._options if on] or [v for v, _ in self._options[:1]]
            self.values.append((self._select, chosen[0] if chosen else ""))
            self._select = None
        elif tag == "textarea" and self._textarea is not None:
            self.values.append((self._textarea, "".join(self._text).removeprefix("\n")))
            self._textarea = None

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self._text.append(data)


def form_of(page: str, form_id: str = "editor") -> dict[str, str]:
    parser = _Form(form_id)
    parser.feed(page)
    assert parser.values, f"no form #{form_id}"
    return dict(parser.values)


def error_at(page: str, element_id: str) -> str:
    """The error shown with the control `element_id` (in its label), '' if none."""
    match = re.search(
        rf'id="{re.escape(element_id)}"(?:(?!</label>).)*?<span class="field-error" '
        r'role="alert"[^>]*>([^<]*)',
        page,
        re.S,
    )
    return html.unescape(match.group(1)) if match else ""


def member(c: Container, org: Org, email: str = "ann@acme.test") -> None:
    c.accounts.create_member(
        org.owner, email=email, name="Ann", role="member", password=PASSWORD, origin=ORIGIN
    )


def mail_workflow(c: Container, org: Org, **over: Any) -> Workflow:
    """A workflow that needs no Zoom: run now, it e-mails."""
    definition = {
        "trigger": {"kind": over.pop("kind", "manual")},
        "steps": [
            {
                "key": "tell",
                "action": "email.send",
                "inputs": {
                    "to": "{{ owner.email }}",
                    "subject": "Hello from a workflow",
                    "text": over.pop("text", "Data: {{ data.word | default('none') }}"),
                },
            }
        ],
    }
    return c.workflows.create(org.owner, over.pop("name", "Tell me"), definition, ORIGIN, **over)


def from_template(client: TestClient, key: str = "onboarding") -> str:
    token = csrf(client.get("/workflows").text)
    r = client.post(
        "/workflows/from-template",
        data={"csrf_token": token, "template": key},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    return str(r.headers["location"].rsplit("/", 1)[1])


def press(client: TestClient, path: str, form: dict[str, str], do: str, **over: str) -> Any:
    return client.post(path, data={**form, **over, "do": do}, follow_redirects=False)


def versions(c: Container, workflow_id: str) -> int:
    with c.db.read() as s:
        return int(
            s.scalar(
                select(func.count())
                .select_from(WorkflowVersion)
                .where(WorkflowVersion.workflow_id == workflow_id)
            )
            or 0
        )


def keys_on(page: str) -> list[str]:
    return re.findall(r'name="s\d+\.key" id="s\d+-key" value="([^"]*)"', page)


# ---- who gets in -------------------------------------------------------------------------------


def test_the_pages_need_sign_in_and_an_admin(
    client: TestClient, container: Container, acme: Org
) -> None:
    wf = mail_workflow(container, acme)
    run = container.workflows.run_now(acme.owner, wf.id, None, ORIGIN, dry_run=True)
    pages = (
        "/workflows",
        "/workflows/new",
        f"/workflows/{wf.id}",
        f"/workflows/{wf.id}/runs",
        f"/workflows/{wf.id}/runs/{run.id}",
        f"/workflows/{wf.id}/delete",
        "/zoom/directory",
    )
    for path in pages:
        r = client.get(path, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/signin", path

    member(container, acme)
    sign_in(client, "ann@acme.test")
    team = client.get("/team").text
    assert 'href="/workflows"' not in team  # the navigation shows Workflows to admins only
    for path in pages:
        r = client.get(path)
        assert r.status_code == 403, path
        assert "Only owners and admins build and run workflows." in r.text, path
    token = csrf(team)
    for path in (
        f"/workflows/{wf.id}",
        f"/workflows/{wf.id}/delete",
        "/workflows/new",
        f"/workflows/{wf.id}/runs/{run.id}/retry",
        "/zoom/directory",
    ):
        r = client.post(path, data={"csrf_token": token, "do": "save", "name": "Mine now"})
        assert r.status_code == 403, path
    assert container.workflows.get(acme.owner, wf.id)[0].name == "Tell me"

    client.cookies.clear()
    sign_in(client, "owner@acme.test")
    assert 'href="/workflows"' in client.get("/team").text
    # The old "coming" page's address leads to the workflows now.
    r = client.get("/m/workflows", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/workflows"


def test_another_organisations_workflow_and_runs_are_not_found(
    client: TestClient, container: Container, acme: Org, globex: Org
) -> None:
    theirs = mail_workflow(container, globex, name="Globex secret plan")
    their_run = container.workflows.run_now(globex.owner, theirs.id, None, ORIGIN, dry_run=True)
    mine = mail_workflow(container, acme)
    sign_in(client, "owner@acme.test")
    assert "Globex secret plan" not in client.get("/workflows").text
    for path in (
        f"/workflows/{theirs.id}",
        f"/workflows/{theirs.id}/runs",
        f"/workflows/{theirs.id}/runs/{their_run.id}",
        f"/workflows/{mine.id}/runs/{their_run.id}",  # their run under my workflow
        f"/workflows/{theirs.id}/delete",
        f"/workflows/{mine.id}?test={their_run.id}",
    ):
        r = client.get(path)
        if path.startswith(f"/workflows/{mine.id}?"):
            assert r.status_code == 200 and their_run.id not in r.text
        else:
            assert r.status_code == 404, path
            assert "Globex secret plan" not in r.text
    token = csrf(client.get("/workflows").text)
    form = form_of(client.get(f"/workflows/{mine.id}").text)
    for path, data in (
        (f"/workflows/{theirs.id}", {**form, "do": "save", "name": "Taken over"}),
        (f"/workflows/{theirs.id}", {**form, "do": "run"}),
        (f"/workflows/{theirs.id}", {**form, "do": "secret"}),
        (f"/workflows/{theirs.id}/delete", {"csrf_token": token}),
        (f"/workflows/{theirs.id}/runs/{their_run.id}/retry", {"csrf_token": token}),
        (f"/workflows/{mine.id}/runs/{their_run.id}/cancel", {"csrf_token": token}),
    ):
        assert client.post(path, data=data).status_code == 404, path
    wf, _ = container.workflows.get(globex.owner, theirs.id)
    assert (wf.name, wf.version) == ("Globex secret plan", 1)
    assert len(container.workflows.runs(globex.owner, theirs.id)) == 1


def test_a_form_without_its_csrf_token_is_refused(
    client: TestClient, container: Container, acme: Org
) -> None:
    wf = mail_workflow(container, acme)
    sign_in(client, "owner@acme.test")
    form = form_of(client.get(f"/workflows/{wf.id}").text)
    del form["csrf_token"]
    for do in ("save", "run", "dry_run", "enable", "rotate"):
        r = press(client, f"/workflows/{wf.id}", {**form, "name": "Changed"}, do)
        assert r.status_code == 403 and "This form has expired" in r.text, do
    r = press(client, f"/workflows/{wf.id}", form, "save", csrf_token="0" * 64)
    assert r.status_code == 403
    assert (
        client.post("/workflows/from-template", data={"template": "onboarding"}).status_code == 403
    )
    assert client.post(f"/workflows/{wf.id}/delete").status_code == 403
    assert client.post("/zoom/directory", data={"email": "x@example.com"}).status_code == 403
    assert versions(container, wf.id) == 1
    assert container.workflows.runs(acme.owner, wf.id) == []
    assert [s.workflow.name for s in container.workflows.all(acme.owner)] == ["Tell me"]


# ---- the editor --------------------------------------------------------------------------------


def test_a_bad_definition_shows_each_problem_at_its_field_and_writes_nothing(
    client: TestClient, container: Container, acme: Org
) -> None:
    sign_in(client, "owner@acme.test")
    wf_id = from_template(client)
    page = client.get(f"/workflows/{wf_id}")
    assert page.status_code == 200 and "made from the template" in page.text
    form = form_of(page.text)
    assert keys_on(page.text) == ["zoom_user", "orientation", "register", "tell"]
    bad = {
        **form,
        "name": "  ",
        "s0.key": "Zoom User",  # not a key
        "s1.in.start": "{{ member.birthday }} 09:00",  # no such field of the trigger's
        "s1.in.duration": "an hour",
        "s2.in.meeting_id": "{{ steps.tell.zoom_id }}",  # a later step: a cycle
        "s3.in.to": "someone@",
    }
    r = press(client, f"/workflows/{wf_id}", bad, "save")
    assert r.status_code == 422
    assert "nothing was saved" in r.text
    assert error_at(r.text, "wf-name") == "give the workflow a name"
    assert "lower-case letters" in error_at(r.text, "s0-key")
    assert "unknown field member.birthday" in error_at(r.text, "s1-in-start")
    assert "must be a whole number" in error_at(r.text, "s1-in-duration")
    assert "does not come before this one" in error_at(r.text, "s2-in-meeting_id")
    assert "not e-mail addresses: someone@" in error_at(r.text, "s3-in-to")
    # What was typed is still there, and the summary links to each field.
    assert 'value="Zoom User"' in r.text and 'href="#s1-in-start">Step 2 · Start</a>' in r.text
    # A schedule that fires too often, at its field too.
    r = press(
        client,
        f"/workflows/{wf_id}",
        {**form, "trigger_kind": "schedule", "trigger_cron": "* * * * *"},
        "save",
    )
    assert r.status_code == 422 and "5 minutes" in error_at(r.text, "trigger-cron")
    assert versions(container, wf_id) == 1
    wf, definition = container.workflows.get(acme.owner, wf_id)
    assert wf.name == "Onboarding → Day-1 orientation" and wf.trigger == "member.onboarded"
    assert definition["steps"][0]["key"] == "zoom_user"


def test_steps_are_added_moved_and_removed_without_saving_then_saved(
    client: TestClient, container: Container, acme: Org
) -> None:
    sign_in(client, "owner@acme.test")
    wf_id = from_template(client)
    path = f"/workflows/{wf_id}"
    form = form_of(client.get(path).text)
    r = press(client, path, form, "add", add_action="wait.until")
    assert r.status_code == 200 and "not saved yet" in r.text
    assert keys_on(r.text) == ["zoom_user", "orientation", "register", "tell", "until"]
    form = form_of(r.text)
    form["s4.in.minutes"] = "10"
    r = press(client, path, form, "up:4")
    assert keys_on(r.text) == ["zoom_user", "orientation", "register", "until", "tell"]
    r = press(client, path, form_of(r.text), "up:3")
    assert keys_on(r.text) == ["zoom_user", "orientation", "until", "register", "tell"]
    r = press(client, path, form_of(r.text), "down:0")
    assert keys_on(r.text) == ["orientation", "zoom_user", "until", "register", "tell"]
    r = press(client, path, form_of(r.text), "remove:1")
    assert keys_on(r.text) == ["orientation", "until", "register", "tell"]
    assert 'name="s1.in.minutes" id="s1-in-minutes" value="10"' in r.text  # moved with its step
    # A step's action changed: its fields are the new action's.
    form = form_of(r.text)
    r = press(client, path, {**form, "s1.action": "email.send"}, "refresh")
    assert 'id="s1-in-subject"' in r.text and 'id="s1-in-minutes"' not in r.text
    assert versions(container, wf_id) == 1  # nothing saved so far
    r = press(client, path, form, "save")
    assert r.status_code == 303, r.text
    assert versions(container, wf_id) == 2
    _, definition = container.workflows.get(acme.owner, wf_id)
    assert [s["key"] for s in definition["steps"]] == ["orientation", "until", "register", "tell"]
    assert definition["steps"][1]["inputs"]["minutes"] == 10
    page = client.get(path).text
    assert "Saved as version 2." in page and "Version 2" in page


def test_a_new_workflow_starts_blank(client: TestClient, container: Container, acme: Org) -> None:
    sign_in(client, "owner@acme.test")
    page = client.get("/workflows/new").text
    assert "No steps yet" in page
    form = form_of(page)
    r = press(
        client,
        "/workflows/new",
        {**form, "name": "Weekly digest", "trigger_kind": "schedule"},
        "refresh",
    )
    assert 'id="trigger-cron"' in r.text
    form = form_of(r.text)
    r = press(client, "/workflows/new", form, "add", add_action="email.send")
    form = {
        **form_of(r.text),
        "trigger_cron": "0 9 * * 1",
        "s0.in.to": "{{ owner.email }}",
        "s0.in.subject": "Monday",
        "s0.in.text": "It is {{ schedule.local_date }}.",
    }
    r = press(client, "/workflows/new", form, "save")
    assert r.status_code == 303
    wf_id = r.headers["location"].rsplit("/", 1)[1]
    page = client.get(f"/workflows/{wf_id}").text
    assert "every Monday at 09:00." in page  # the cron in words
    wf, definition = container.workflows.get(acme.owner, wf_id)
    assert wf.trigger == "schedule" and definition["trigger"]["cron"] == "0 9 * * 1"
    r = press(client, f"/workflows/{wf_id}", form_of(page), "enable")
    assert r.status_code == 303
    wf, _ = container.workflows.get(acme.owner, wf_id)
    assert wf.enabled and wf.next_fire_at is not None
    assert "next run" in client.get(f"/workflows/{wf_id}").text


def test_switching_on_needs_the_scopes_the_steps_need(
    client: TestClient, container: Container, acme: Org
) -> None:
    sign_in(client, "owner@acme.test")
    wf_id = from_template(client)
    page = client.get(f"/workflows/{wf_id}").text
    # Before anything is saved or run: the Zoom account is not connected, and what lacks.
    assert "The organisation's Zoom account is not connected" in page
    assert "step 1 (Create user): user:write:user:admin" in page
    r = press(client, f"/workflows/{wf_id}", form_of(page), "enable")
    assert r.status_code == 422
    assert "the Zoom connection lacks scopes these steps need" in r.text.split('id="wf-status"')[1]
    wf, _ = container.workflows.get(acme.owner, wf_id)
    assert not wf.enabled and wf.version == 1
    listing = client.get("/workflows").text
    assert "The organisation's Zoom account is not connected" in listing
    assert 'href="/integrations/zoom#account-zoom"' in listing


def test_a_test_with_sample_data_shows_its_steps_and_run_now_opens_the_run(
    client: TestClient, container: Container, acme: Org, smtp: SmtpServer
) -> None:
    sign_in(client, "owner@acme.test")
    wf_id = from_template(client)
    path = f"/workflows/{wf_id}"
    form = form_of(client.get(path).text)
    sample = json.loads(form["sample"])
    assert sample["member"]["name"] == "Alex New"  # the trigger's sample, editable
    sample["member"]["name"] = "Pat Example"
    r = press(client, path, {**form, "sample": json.dumps(sample)}, "dry_run")
    assert r.status_code == 303 and "?test=" in r.headers["location"]
    page = client.get(r.headers["location"]).text
    assert "Tested with the sample data." in page
    result = page.split('id="test-result"', 1)[1]
    assert result.count("succeeded") >= 5  # the run and its four steps
    assert "Day 1 orientation for Pat Example" in result
    assert "Sample result" in result
    assert json.loads(form_of(page)["sample"])["member"]["name"] == "Pat Example"
    assert smtp.inbox.messages == []  # a test sends nothing
    # Bad JSON: said at the data's field, nothing run.
    r = press(client, path, {**form, "sample": "{not json"}, "dry_run")
    assert r.status_code == 422 and "is not JSON" in error_at(r.text, "sample")
    assert len(container.workflows.runs(acme.owner, wf_id)) == 1

    # Run now, for real: the Zoom account is not connected, so step 1 fails and says why.
    r = press(client, path, form, "run")
    assert r.status_code == 303 and "/runs/" in r.headers["location"]
    run_page = client.get(r.headers["location"]).text
    assert "Authentication failure: the organisation&#39;s Zoom account is not connected." in (
        run_page
    )
    assert 'href="/integrations/zoom#account-zoom"' in run_page
    assert "Retry from step 1" in run_page
    assert 'hx-trigger="every 2s"' not in run_page  # it has finished: nothing to follow
    run_id = r.headers["location"].rsplit("/", 1)[1]
    token = csrf(run_page)
    r = client.post(f"{path}/runs/{run_id}/retry", data={"csrf_token": token})
    assert r.status_code == 200  # retried at once (the jobs run in this process): failed again
    assert "Retried from step 1: the run is failed." in r.text

    # A workflow that needs no Zoom runs to the end.
    mail = mail_workflow(container, acme)
    form = form_of(client.get(f"/workflows/{mail.id}").text)
    r = press(
        client, f"/workflows/{mail.id}", {**form, "sample": '{"data": {"word": "hi"}}'}, "run"
    )
    run_page = client.get(r.headers["location"]).text
    assert "succeeded" in run_page and "Data: hi" in run_page
    smtp.inbox.wait_for("owner@acme.test", count=2)  # the failed run's notice, then this
    [sent] = [
        m for m in smtp.inbox.to("owner@acme.test") if m["Subject"] == "Hello from a workflow"
    ]
    assert "Data: hi" in sent.get_body(("plain",)).get_content()  # type: ignore[union-attr]


def test_an_enabled_workflow_is_not_tested_with_unsaved_changes(
    client: TestClient, container: Container, acme: Org
) -> None:
    wf = mail_workflow(container, acme, enabled=True)
    sign_in(client, "owner@acme.test")
    form = form_of(client.get(f"/workflows/{wf.id}").text)
    r = press(client, f"/workflows/{wf.id}", {**form, "s0.in.subject": "Changed"}, "dry_run")
    assert r.status_code == 409 and "saving would make the changes live" in error_at(
        r.text, "sample"
    )
    assert versions(container, wf.id) == 1
    r = press(client, f"/workflows/{wf.id}", form, "dry_run")  # unchanged: tested as saved
    assert r.status_code == 303 and versions(container, wf.id) == 1


def test_a_run_at_work_refreshes_itself_and_can_be_cancelled(
    client: TestClient, container: Container, acme: Org
) -> None:
    definition = {
        "trigger": {"kind": "manual"},
        "steps": [
            {"key": "later", "action": "wait.until", "inputs": {"minutes": 30}},
            {
                "key": "tell",
                "action": "email.send",
                "inputs": {"to": "{{ owner.email }}", "subject": "Later", "text": "x"},
            },
        ],
    }
    wf = container.workflows.create(acme.owner, "Wait", definition, ORIGIN)
    sign_in(client, "owner@acme.test")
    form = form_of(client.get(f"/workflows/{wf.id}").text)
    r = press(client, f"/workflows/{wf.id}", form, "run")
    where = r.headers["location"]
    page = client.get(where).text
    # It follows the run: htmx fetches this page again every 2 s and swaps in its run view.
    assert f'hx-get="{where}" hx-select="#run-view" hx-trigger="every 2s"' in page
    assert 'http-equiv="refresh"' not in page  # a timed reload of the page: WCAG 2.2.1
    assert "waiting" in page and "to come" in page  # step 2 has not started
    r = client.post(f"{where}/cancel", data={"csrf_token": csrf(page)}, follow_redirects=True)
    assert "Cancelled" in r.text and 'hx-trigger="every 2s"' not in r.text
    assert "cancelled" in r.text
    r = client.post(f"{where}/cancel", data={"csrf_token": csrf(page)})
    assert r.status_code == 409 and "this run has finished" in r.text


def test_the_runs_list_filters_by_status_and_pages(
    client: TestClient, container: Container, acme: Org
) -> None:
    wf = mail_workflow(container, acme)
    for _ in range(26):
        container.workflows.run_now(acme.owner, wf.id, None, ORIGIN, dry_run=True)
    bad = container.workflows.run_now(
        acme.owner, wf.id, {"data": {"word": "{{"}}, ORIGIN, dry_run=True
    )
    with container.db.write() as s:  # one that failed, as a refused step leaves it
        row = s.get(WorkflowRun, bad.id)
        assert row is not None
        row.status, row.last_error = RunStatus.FAILED, "step 1 (Send an e-mail): refused"
    sign_in(client, "owner@acme.test")
    page = client.get(f"/workflows/{wf.id}/runs").text
    assert page.count("data-run-id=") == 25
    older = re.search(r'href="(/workflows/[^"]+/runs\?[^"]*before=[^"]+)" rel="next"', page)
    assert older
    rest = client.get(html.unescape(older.group(1))).text
    assert rest.count("data-run-id=") == 2 and 'rel="next"' not in rest
    failed = client.get(f"/workflows/{wf.id}/runs?status=failed").text
    assert failed.count("data-run-id=") == 1 and "refused" in failed
    r = client.get(f"/workflows/{wf.id}/runs?status=broken")
    assert r.status_code == 422 and "one of pending, succeeded, failed, cancelled" in r.text
    listing = client.get("/workflows").text
    assert ">27</a>" in listing and 'runs?status=failed">1</a>' in listing


def test_the_webhook_secret_is_shown_uncached_rotated_and_signs_a_delivery(
    client: TestClient, container: Container, acme: Org, smtp: SmtpServer
) -> None:
    wf = mail_workflow(
        container, acme, kind="webhook", enabled=True, text="Word: {{ body.data.word }}"
    )
    sign_in(client, "owner@acme.test")
    page = client.get(f"/workflows/{wf.id}").text
    hook = f"http://testserver/webhooks/workflows/{wf.id}"
    assert f'value="{hook}"' in page and "X-Meetbridge-Signature: v1=" in page
    form = form_of(page)
    r = press(client, f"/workflows/{wf.id}", form, "secret")
    assert r.status_code == 200
    assert r.headers["cache-control"] == "no-store"
    assert r.headers["referrer-policy"] == "no-referrer"
    secret = re.search(r'id="hook-secret">.*?<code>([^<]+)</code>', r.text, re.S)
    assert secret and secret.group(1).startswith("whsec_")
    r = press(client, f"/workflows/{wf.id}", form, "rotate")
    rotated = re.search(r'id="hook-secret">.*?<code>([^<]+)</code>', r.text, re.S)
    assert rotated and rotated.group(1) != secret.group(1)
    assert "the old one no longer works" in r.text
    # Signed as the page says: the timestamp, a dot, the body.
    body = b'{"data": {"word": "hooked"}}'
    ts = str(int(time.time()))
    for key, status in ((secret.group(1), 401), (rotated.group(1), 202)):
        sig = hmac.new(key.encode(), f"{ts}.".encode() + body, hashlib.sha256).hexdigest()
        r = client.post(
            f"/webhooks/workflows/{wf.id}",
            content=body,
            headers={
                "X-Meetbridge-Timestamp": ts,
                "X-Meetbridge-Signature": f"v1={sig}",
                "Content-Type": "application/json",
            },
        )
        assert r.status_code == status, r.text
    [run] = container.workflows.runs(acme.owner, wf.id)
    assert run.data["body"] == {"data": {"word": "hooked"}}
    assert (
        "Word: hooked"
        in smtp.inbox.wait_for("owner@acme.test")[0].get_body(("plain",)).get_content()
    )  # type: ignore[union-attr]


def test_delete_asks_first(client: TestClient, container: Container, acme: Org) -> None:
    wf = mail_workflow(container, acme)
    sign_in(client, "owner@acme.test")
    page = client.get(f"/workflows/{wf.id}").text
    assert f'href="/workflows/{wf.id}/delete"' in page
    confirm = client.get(f"/workflows/{wf.id}/delete").text
    assert "Delete “Tell me”?" in confirm
    r = client.post(f"/workflows/{wf.id}/delete", data={"csrf_token": csrf(confirm)})
    assert r.status_code == 200 and "is deleted" in r.text
    assert container.workflows.all(acme.owner) == []
    assert client.get(f"/workflows/{wf.id}").status_code == 404


# ---- Zoom → Directory --------------------------------------------------------------------------


def test_the_directory_says_when_the_account_is_not_connected(
    client: TestClient, container: Container, acme: Org
) -> None:
    sign_in(client, "owner@acme.test")
    assert 'href="/zoom/directory"' in client.get("/workflows").text
    r = client.get("/zoom/directory")
    assert r.status_code == 409
    assert "not connected" in r.text and 'href="/integrations/zoom#account-zoom"' in r.text
    token = csrf(r.text)
    r = client.post(
        "/zoom/directory",
        data={"csrf_token": token, "email": "nope", "user_type": "basic", "how": "create"},
    )
    assert r.status_code == 409 and "not connected" in r.text

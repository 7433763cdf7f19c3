"""The audit log, in the page and the API: readable before → after changes, filters (who,
what, when) and keyset paging both ways."""

from __future__ import annotations

import datetime as dt
import re

from fastapi.testclient import TestClient

from meetbridge.container import Container
from tests.conftest import ORIGIN, Org
from tests.web.test_pages import add_member, sign_in


def _ann(container: Container, acme: Org) -> str:
    ann = add_member(container, acme)
    container.accounts.update_member(
        acme.owner, ann.id, origin=ORIGIN, name="Ann Lee", role="admin"
    )
    return ann.id


def test_changes_read_as_before_and_after_per_field(
    client: TestClient, container: Container, acme: Org
) -> None:
    _ann(container, acme)
    sign_in(client, "owner@acme.test")
    page = client.get("/audit").text
    row = next(r for r in page.split("<tr>") if "<code>member.updated</code>" in r)
    text = re.sub(r"<[^>]+>", "", row)
    assert "role: member → admin" in text and "name: Ann → Ann Lee" in text
    assert "{'" not in page and "'from'" not in page  # no raw Python dicts
    assert 'class="when"' in page  # the date column does not wrap (style: nowrap)


def test_the_page_filters_by_who_what_and_when(
    client: TestClient, container: Container, acme: Org
) -> None:
    ann_id = _ann(container, acme)
    ann = container.accounts.get_member(acme.owner, ann_id)
    container.accounts.record(ann, "settings.something", ORIGIN, what="x")
    sign_in(client, "owner@acme.test")

    def actions(query: str) -> list[str]:
        return re.findall(r"<code>([a-z_.]+)</code>", client.get(f"/audit?{query}").text)

    assert actions(f"who={ann_id}") == ["settings.something"]
    assert set(actions("what=member")) == {"member.created", "member.updated"}
    assert actions("what=member.updated") == ["member.updated"]
    today = dt.datetime.now(dt.UTC).date()
    assert "member.updated" in actions(f"from={today}&to={today}")
    assert actions(f"from={today + dt.timedelta(days=1)}") == []
    assert "Nothing matches these filters." in client.get("/audit?from=2999-01-01").text
    assert client.get("/audit?from=not-a-date&who=nobody").status_code == 200


def test_paging_goes_older_and_back_newer(
    client: TestClient, container: Container, acme: Org
) -> None:
    for i in range(120):
        container.accounts.record(acme.owner, "settings.step", ORIGIN, n=i)
    sign_in(client, "owner@acme.test")
    first = client.get("/audit?what=settings.step").text
    assert first.count("<code>settings.step</code>") == 50 and "n: 119" in first
    assert "Newer" not in first
    older = re.search(r'href="(/audit\?[^"]*before=\d+)">Older', first)
    assert older
    second = client.get(older.group(1).replace("&amp;", "&")).text
    assert "n: 69" in second and "n: 20" in second and "n: 70" not in second
    newer = re.search(r'href="(/audit\?[^"]*after=\d+)">← Newer', second)
    assert newer
    back = client.get(newer.group(1).replace("&amp;", "&")).text
    assert "n: 119" in back and "n: 70" in back and "n: 69" not in back
    last = client.get(
        re.search(r'href="(/audit\?[^"]*before=\d+)">Older', second).group(1).replace("&amp;", "&")  # type: ignore[union-attr]
    ).text
    assert last.count("<code>settings.step</code>") == 20 and "Older" not in last


def test_the_api_filters_and_pages_the_same_way(
    client: TestClient, container: Container, acme: Org
) -> None:
    ann_id = _ann(container, acme)
    for i in range(5):
        container.accounts.record(acme.owner, "settings.step", ORIGIN, n=i)
    api = "/api/v1/audit"
    r = client.get(f"{api}?action=settings&limit=2", headers=acme.headers)
    assert [e["details"]["n"] for e in r.json()] == [4, 3]
    assert 'rel="next"' in r.headers["link"]
    nxt = r.headers["link"].split(">")[0].lstrip("<")
    assert [e["details"]["n"] for e in client.get(nxt, headers=acme.headers).json()] == [2, 1]
    newest = client.get(
        f"{api}?action=settings.step&after_id={r.json()[1]['id']}", headers=acme.headers
    )
    assert [e["details"]["n"] for e in newest.json()] == [4]
    mine = client.get(f"{api}?actor_id={acme.owner.id}&action=member", headers=acme.headers)
    assert {e["action"] for e in mine.json()} == {"member.created", "member.updated"}
    assert all(e["target_id"] == ann_id for e in mine.json())
    assert client.get(f"{api}?since=2999-01-01", headers=acme.headers).json() == []
    assert client.get(f"{api}?since=nope", headers=acme.headers).status_code == 422

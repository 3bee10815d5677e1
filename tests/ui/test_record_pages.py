"""The records table's keyset pages: every record once, in the chosen order, whatever sort."""

from __future__ import annotations

import re
import uuid

import httpx
import pytest

from tests.support import ui_seeding as seeding
from tests.support.http import ServerThread
from tests.support.memories import client_memory, put_records

RECORDS = 120


@pytest.fixture(scope="module")
def many_records(server: ServerThread) -> str:
    with httpx.Client(base_url=server.url, timeout=60) as api:
        return seed_many(api)


def seed_many(api: httpx.Client) -> str:
    name = f"ui-pages-{uuid.uuid4().hex[:6]}"
    observations = [f"room {n}" for n in range(RECORDS)]
    client_memory(api, name, {t: seeding.vector_of(t) for t in ["walk", *observations]})
    items = [
        {
            "task": "walk",
            "observation": observation,
            "visits": n % 7,
            "actions": [{"action": "go", "q": (n * 37 % 11) / 10}] if n % 5 else [],
        }
        for n, observation in enumerate(observations)
    ]
    put_records(api, name, items)
    return name


def all_pages(api: httpx.Client, name: str, sort: str, search: str = "") -> list[list[str]]:
    rows, after = [], None
    for _ in range(10):
        params = {"sort": sort, "search": search, **({"after": after} if after else {})}
        page = api.get(f"/ui/memories/{name}/records", params=params)
        assert page.status_code == 200, page.text
        body = page.text.split("<tbody>")[1].split("</tbody>")[0] if "<tbody>" in page.text else ""
        for row in body.split("<tr>")[1:]:
            rows.append(re.findall(r"<td[^>]*>(.*?)</td>", row, re.S))
        found = re.search(r'id="next-page" href="[^"]*after=([^"&]+)"', page.text)
        if not found:
            return rows
        after = httpx.URL("/?after=" + found.group(1)).params["after"]
    raise AssertionError("the pages never ended")


@pytest.mark.parametrize("sort", ["newest", "oldest", "visits", "best_q"])
def test_every_record_once_in_order(api: httpx.Client, many_records: str, sort: str) -> None:
    rows = all_pages(api, many_records, sort)
    ids = [int(re.sub(r"<[^>]+>", "", row[0])) for row in rows]
    assert len(ids) == RECORDS == len(set(ids))
    if sort in ("newest", "oldest"):
        assert ids == sorted(ids, reverse=sort == "newest")
        return
    column = 3 if sort == "visits" else 5
    values = [float(row[column].replace("—", "-inf").replace(",", "")) for row in rows]
    keys = list(zip(values, ids, strict=True))
    assert keys == sorted(keys, reverse=True)


def test_search_is_literal_and_bounded(api: httpx.Client, many_records: str) -> None:
    assert len(all_pages(api, many_records, "visits", "room 1")) == 1 + 10 + 20  # 1, 1x, 10x-11x
    assert all_pages(api, many_records, "newest", "room_1") == []
    assert (
        api.get(f"/ui/memories/{many_records}/records", params={"after": "junk"}).status_code == 400
    )
    assert api.get(f"/ui/memories/{many_records}/records", params={"sort": "x"}).status_code == 422

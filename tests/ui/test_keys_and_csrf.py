"""Keys and destructive actions: the login, a scoped key's view, CSRF on deletes, headers."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import httpx
import pytest
from rememberer.ui.security import cookie_value
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from tests.support import ui_seeding as seeding
from tests.support.browser import body_text, follow, open_page
from tests.support.http import ServerThread
from tests.support.ui_seeding import ADMIN_KEY

TEMPLATES = Path(__file__).resolve().parents[2] / "service" / "rememberer" / "ui" / "templates"


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([0-9a-f]+)"', html)
    assert found, "the page has no CSRF token"
    return found.group(1)


def scoped_key(admin_api: httpx.Client, memories: list[str]) -> str:
    body = {"name": f"ui-{uuid.uuid4().hex[:6]}", "memories": memories}
    minted = admin_api.post("/v1/keys", json=body)
    assert minted.status_code == 201, minted.text
    return str(minted.json()["key"])


def two_memories(admin_api: httpx.Client) -> tuple[str, str]:
    mine, other = f"ui-mine-{uuid.uuid4().hex[:6]}", f"ui-other-{uuid.uuid4().hex[:6]}"
    seeding.seed_ranking(admin_api, mine)
    seeding.seed_ranking(admin_api, other)
    return mine, other


def log_in(browser: WebDriver, url: str, key: str) -> None:
    browser.delete_all_cookies()
    open_page(browser, url + "/ui")
    assert browser.current_url == url + "/ui/login"
    browser.find_element(By.ID, "key").send_keys(key)
    follow(browser, browser.find_element(By.CSS_SELECTOR, "#login-form button"))


def test_login_shows_without_a_key_and_a_scoped_key_sees_its_memories_only(
    browser: WebDriver, keyed_server: ServerThread, admin_api: httpx.Client
) -> None:
    mine, other = two_memories(admin_api)
    browser.delete_all_cookies()
    open_page(browser, f"{keyed_server.url}/ui/memories/{mine}")
    assert browser.current_url == f"{keyed_server.url}/ui/login"
    assert browser.find_elements(By.ID, "login-form")
    log_in(browser, keyed_server.url, "not-a-key")
    assert "unknown or revoked key" in body_text(browser)
    log_in(browser, keyed_server.url, scoped_key(admin_api, [mine]))
    open_page(browser, f"{keyed_server.url}/ui")
    text = body_text(browser)
    assert mine in text and other not in text
    cookie = browser.get_cookie("rememberer_ui")
    assert cookie is not None and cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    assert browser.execute_script("return document.cookie") == ""
    open_page(browser, f"{keyed_server.url}/ui/memories/{mine}/records")
    assert "find the red key" in body_text(browser)
    for path in ["", "/records", "/records/1", "/retrieve", "/episodes", "/reflections", "/delete"]:
        open_page(browser, f"{keyed_server.url}/ui/memories/{other}{path}")
        assert browser.find_element(By.ID, "error-message").text == "no such memory", path
    browser.delete_all_cookies()


def test_scoped_key_gets_404_from_other_memories_pages(
    keyed_server: ServerThread, admin_api: httpx.Client
) -> None:
    mine, other = two_memories(admin_api)
    key = seeding_cookie(scoped_key(admin_api, [mine]))
    with httpx.Client(base_url=keyed_server.url, cookies={"rememberer_ui": key}) as ui:
        assert ui.get(f"/ui/memories/{mine}").status_code == 200
        assert ui.get(f"/ui/memories/{other}").status_code == 404
        assert (
            ui.get(
                f"/ui/memories/{other}/retrieve", params={"task": "a", "observation": "b"}
            ).status_code
            == 404
        )
        assert ui.get("/ui/memories/no-such-memory").status_code == 404
    with httpx.Client(base_url=keyed_server.url) as anonymous:
        assert anonymous.get("/ui").headers["location"] == "/ui/login"
        assert anonymous.get(f"/ui/memories/{mine}").status_code == 303


def seeding_cookie(key: str) -> str:
    return cookie_value(key)


def test_delete_needs_the_csrf_token(keyed_server: ServerThread, admin_api: httpx.Client) -> None:
    mine, _ = two_memories(admin_api)
    record_id = admin_api.get(f"/v1/memories/{mine}/records").json()["items"][0]["record_id"]
    cookies = {"rememberer_ui": seeding_cookie(ADMIN_KEY)}
    path = f"/ui/memories/{mine}/records/{record_id}/delete"
    with httpx.Client(base_url=keyed_server.url, cookies=cookies) as ui:
        confirm = ui.get(path)
        assert confirm.status_code == 200 and 'id="confirm-delete"' in confirm.text
        token = csrf_of(confirm.text)
        assert ui.post(path, data={}).status_code == 403
        assert ui.post(path, data={"csrf": "0" * 64}).status_code == 403
        assert (
            ui.post(
                path, data={"csrf": token}, headers={"Sec-Fetch-Site": "cross-site"}
            ).status_code
            == 403
        )
        assert admin_api.get(f"/v1/memories/{mine}/records/{record_id}").status_code == 200
        other_session = seeding_cookie(scoped_key(admin_api, [mine]))
        with httpx.Client(
            base_url=keyed_server.url, cookies={"rememberer_ui": other_session}
        ) as someone:
            assert someone.post(path, data={"csrf": token}).status_code == 403
        done = ui.post(path, data={"csrf": token})
        assert done.status_code == 303
        assert admin_api.get(f"/v1/memories/{mine}/records/{record_id}").status_code == 404
        memory_path = f"/ui/memories/{mine}/delete"
        assert ui.post(memory_path, data={}).status_code == 403
        assert admin_api.get(f"/v1/memories/{mine}").status_code == 200
        assert (
            ui.post(memory_path, data={"csrf": csrf_of(ui.get(memory_path).text)}).status_code
            == 303
        )
        assert admin_api.get(f"/v1/memories/{mine}").status_code == 404


def test_delete_a_record_through_its_confirmation_page(
    browser: WebDriver, server: ServerThread, api: httpx.Client
) -> None:
    name = f"ui-delete-{uuid.uuid4().hex[:6]}"
    seeding.seed_ranking(api, name)
    record_id = api.get(f"/v1/memories/{name}/records").json()["items"][0]["record_id"]
    open_page(browser, f"{server.url}/ui/memories/{name}/records/{record_id}")
    follow(browser, browser.find_element(By.LINK_TEXT, "Delete this record…"))
    follow(browser, browser.find_element(By.ID, "confirm-delete"))
    assert browser.current_url.endswith(f"/ui/memories/{name}/records")
    assert api.get(f"/v1/memories/{name}/records/{record_id}").status_code == 404


def test_security_headers(api: httpx.Client, seeded: object) -> None:
    answer = api.get("/ui")
    policy = answer.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    assert answer.headers["x-frame-options"] == "DENY"
    cookie = answer.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    assert api.get("/ui/static/ui.js").status_code == 200


@pytest.mark.parametrize("template", sorted(p.name for p in TEMPLATES.glob("*.html")))
def test_templates_never_mark_text_safe(template: str) -> None:
    source = (TEMPLATES / template).read_text()
    assert "|safe" not in source.replace(" ", "") and "autoescape false" not in source
    assert "<script>" not in source and " on" + "click=" not in source

"""The inspector in a real headless Chromium against a running service with seeded memories."""

from __future__ import annotations

from urllib.parse import quote

from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

from tests.support import ui_seeding as seeding
from tests.support.browser import assert_nothing_ran, body_text, follow, open_page
from tests.support.http import ServerThread
from tests.support.ui_seeding import Seeded

WAIT = 15


def hrefs(browser: WebDriver, selector: str) -> list[str]:
    return [str(a.get_attribute("href")) for a in browser.find_elements(By.CSS_SELECTOR, selector)]


def test_every_page_opens(browser: WebDriver, server: ServerThread, seeded: Seeded) -> None:
    base = f"{server.url}/ui/memories/{seeded.learning}"
    open_page(browser, server.url + "/")
    assert browser.current_url == f"{server.url}/ui"
    assert seeded.learning in body_text(browser)
    for path, expected in [
        ("", "Learning curve"),
        ("/records", "Records"),
        ("/retrieve", "Retrieve playground"),
        ("/episodes", "Episodes"),
        ("/reflections", "Place the big block first."),
    ]:
        open_page(browser, base + path)
        assert expected in body_text(browser), path
    open_page(browser, f"{server.url}/ui/memories/{seeded.empty}")
    assert "No finished episode" in body_text(browser)


def test_learning_curve_drawn_for_rising_returns(
    browser: WebDriver, server: ServerThread, seeded: Seeded
) -> None:
    open_page(browser, f"{server.url}/ui/memories/{seeded.learning}")
    curve = browser.find_element(By.ID, "learning-curve")
    assert len(curve.find_elements(By.CSS_SELECTOR, "circle")) >= 30
    path = curve.find_element(By.CSS_SELECTOR, "path.rolling-mean").get_attribute("d") or ""
    ys = [float(point.split(",")[1]) for point in path[1:].replace("L", " ").split()]
    assert ys[-1] < ys[5], "the rolling mean of rising returns goes up (smaller SVG y)"
    labels = [t.text for t in curve.find_elements(By.TAG_NAME, "text")]
    assert "return" in labels and any("finished episode" in label for label in labels)
    assert curve.size["height"] > 100


def test_search_records(browser: WebDriver, server: ServerThread, seeded: Seeded) -> None:
    open_page(browser, f"{server.url}/ui/memories/{seeded.ranking}/records")
    assert len(browser.find_elements(By.CSS_SELECTOR, "#records tbody tr")) == 2
    box = browser.find_element(By.ID, "search")
    box.send_keys("KITCHEN", Keys.ENTER)
    WebDriverWait(browser, WAIT).until(lambda b: "search=KITCHEN" in b.current_url)
    rows = browser.find_elements(By.CSS_SELECTOR, "#records tbody tr")
    assert len(rows) == 1 and "a kitchen" in rows[0].text
    open_page(browser, f"{server.url}/ui/memories/{seeded.ranking}/records?search=%25")
    assert browser.find_elements(By.ID, "no-records"), "a % is searched literally"


def first_exemplar(browser: WebDriver) -> str:
    items = browser.find_elements(By.CSS_SELECTOR, "#results li.exemplar")
    return str(items[0].text) if items else ""


def test_lambda_slider_changes_the_ranking(
    browser: WebDriver, server: ServerThread, seeded: Seeded
) -> None:
    query = f"task={quote(seeding.QUERY_TASK)}&observation={quote(seeding.QUERY_OBSERVATION)}"
    open_page(browser, f"{server.url}/ui/memories/{seeded.ranking}/retrieve?{query}&k=2&lambda=1")
    assert "find the red key" in first_exemplar(browser)
    slider = browser.find_element(By.ID, "lambda")
    slider.send_keys(Keys.HOME)  # λ = 0: the observation decides
    WebDriverWait(browser, WAIT).until(lambda b: "open the blue door" in first_exemplar(b))
    assert browser.find_element(By.ID, "lambda-value").text == "0.00"
    slider = browser.find_element(By.ID, "lambda")
    slider.send_keys(Keys.END)
    WebDriverWait(browser, WAIT).until(lambda b: "find the red key" in first_exemplar(b))
    assert "score 1.0000" in first_exemplar(browser)


def test_open_an_episode(browser: WebDriver, server: ServerThread, seeded: Seeded) -> None:
    open_page(browser, f"{server.url}/ui/memories/{seeded.learning}/episodes")
    rows = browser.find_elements(By.CSS_SELECTOR, "#episodes tbody tr")
    assert any("open" in row.text for row in rows)
    follow(browser, browser.find_element(By.LINK_TEXT, "episode-029"))
    WebDriverWait(browser, WAIT).until(lambda b: b.find_elements(By.ID, "steps"))
    steps = browser.find_elements(By.CSS_SELECTOR, "#steps li.step")
    assert len(steps) == 2
    assert "place" in steps[1].text and "record" in steps[1].text


def test_hostile_text_shows_literally_and_never_runs(
    browser: WebDriver, server: ServerThread, seeded: Seeded
) -> None:
    base = f"{server.url}/ui/memories/{seeded.hostile}"
    pages = ["", "/records", "/episodes", "/reflections"]
    for path in pages:
        open_page(browser, base + path)
        assert_nothing_ran(browser)
        text = body_text(browser)
        assert "<script>" in text and "onerror=" in text, path
        # Template syntax shows literally: evaluated, it would print "templated" (page numbers,
        # ids and times can hold any digits, so an arithmetic probe could match by chance).
        assert '{{ "tem" ~ "plated" }}' in text and "templated" not in text, path
    open_page(browser, base + "/records")
    links = hrefs(browser, "#records a")
    assert links and all(link.startswith(server.url + "/ui/") for link in links)
    for link in links:
        open_page(browser, link)
        assert_nothing_ran(browser)
        assert any(text in body_text(browser) for text in seeding.HOSTILE)
    open_page(browser, base + "/episodes")
    episode_links = hrefs(browser, "#episodes a")
    assert len(episode_links) == len(seeding.HOSTILE)
    for link in episode_links:
        open_page(browser, link)
        assert_nothing_ran(browser)
        assert "Trajectory" in body_text(browser)
    query = f"task={quote(seeding.HOSTILE[0])}&observation={quote(seeding.HOSTILE[1])}"
    open_page(browser, f"{base}/retrieve?{query}")
    assert_nothing_ran(browser)
    assert len(browser.find_elements(By.CSS_SELECTOR, "li.exemplar")) >= 2

"""Debian's headless Chromium (through its chromedriver; nothing is downloaded) and small
Selenium helpers, for the inspector's browser tests and `make screenshots`."""

from __future__ import annotations

import os

import pytest
from selenium import webdriver
from selenium.common.exceptions import NoAlertPresentException, WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

WAIT = 15
REQUIRE_BROWSER = "REMEMBERER_REQUIRE_BROWSER"
CHROMIUM = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")
CHROMEDRIVER = "/usr/bin/chromedriver"


def chromium_path() -> str | None:
    """The installed Chromium with its chromedriver, or None."""
    if not os.path.exists(CHROMEDRIVER):
        return None
    return next((path for path in CHROMIUM if os.path.exists(path)), None)


def start_chromium(binary: str, profile: str, height: int = 1000) -> webdriver.Chrome:
    """A headless Chromium 1280 pixels wide with its own profile folder."""
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for argument in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
        f"--window-size=1280,{height}",
        f"--user-data-dir={profile}",
    ):
        options.add_argument(argument)
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    driver.implicitly_wait(0)
    return driver


def open_page(browser: WebDriver, url: str) -> None:
    browser.get(url)
    WebDriverWait(browser, WAIT).until(
        lambda b: b.execute_script("return document.readyState") == "complete"
    )


def follow(browser: WebDriver, element: WebElement) -> None:
    """Click a link or a submit button and wait for the next page: until the current page
    is gone, reading the body could find the old one, or an element going stale."""
    page = browser.find_element(By.TAG_NAME, "html")
    element.click()
    # Asked about the old page while it is being replaced, chromedriver sometimes answers
    # "unhandled inspector error" instead of "stale element": asked again, it is stale.
    wait = WebDriverWait(browser, WAIT, ignored_exceptions=(WebDriverException,))
    wait.until(expected_conditions.staleness_of(page))
    WebDriverWait(browser, WAIT).until(
        lambda b: b.execute_script("return document.readyState") == "complete"
    )


def body_text(browser: WebDriver) -> str:
    return str(browser.find_element(By.TAG_NAME, "body").text)


def assert_nothing_ran(browser: WebDriver) -> None:
    assert browser.execute_script("return window.__xss === undefined"), "hostile text ran"
    with pytest.raises(NoAlertPresentException):
        browser.switch_to.alert.text  # noqa: B018 (raises without an alert)

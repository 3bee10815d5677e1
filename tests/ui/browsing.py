"""Small Selenium helpers of the inspector's browser tests."""

from __future__ import annotations

import pytest
from selenium.common.exceptions import NoAlertPresentException
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

WAIT = 15


def open_page(browser: WebDriver, url: str) -> None:
    browser.get(url)
    WebDriverWait(browser, WAIT).until(
        lambda b: b.execute_script("return document.readyState") == "complete"
    )


def body_text(browser: WebDriver) -> str:
    return str(browser.find_element(By.TAG_NAME, "body").text)


def assert_nothing_ran(browser: WebDriver) -> None:
    assert browser.execute_script("return window.__xss === undefined"), "hostile text ran"
    with pytest.raises(NoAlertPresentException):
        browser.switch_to.alert.text  # noqa: B018 (raises without an alert)

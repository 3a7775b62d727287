"""The dashboard in a real browser: Debian's headless Chromium, driven by Selenium through
Debian's chromedriver given by path (Selenium Manager never runs, nothing is downloaded). It
loads the page, sees the equity chart, positions and decisions, types the token, clicks kill
and sees HALTED. ``DASHBOARD_SCREENSHOT=1`` also refreshes ``docs/img/dashboard.png``.

Skips, saying why, when chromium, chromedriver or selenium is missing (``make test`` installs
the first two with apt-get when it runs as root and apt-get is there)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from bot.journal.store import Journal
from risk.killswitch import KillSwitch

from dashkit import REFUSED_REASON, REPO, start_dashboard, stop_dashboard

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1280,1900",
)
SCREENSHOT = REPO / "docs" / "img" / "dashboard.png"


def _missing() -> str | None:
    for path, package in ((CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")):
        if not Path(path).exists():
            return f"{path} is missing: apt-get install {package} (make test does when root)"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "the selenium package is missing: pip install -e '.[test]'"
    return None


@pytest.fixture
def browser(tmp_path):
    reason = _missing()
    if reason:
        pytest.skip(reason)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (*FLAGS, f"--user-data-dir={tmp_path / 'chromium-profile'}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))
    try:
        yield driver
    finally:
        driver.quit()


def test_the_page_in_chromium_shows_the_bot_and_its_kill_button_halts_it(browser, site, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as seen
    from selenium.webdriver.support.ui import WebDriverWait

    proc, url, _ = start_dashboard(site)
    try:
        token = (site.parent / "journal.sqlite.dashboard-token").read_text().strip()
        browser.get(url)
        wait = WebDriverWait(browser, 30)
        wait.until(seen.text_to_be_present_in_element((By.ID, "positions"), "AAPL"))
        wait.until(seen.presence_of_element_located((By.CSS_SELECTOR, "#chart-today svg path.equity-line")))
        wait.until(seen.presence_of_element_located((By.CSS_SELECTOR, "#chart-all svg path.equity-line")))
        assert "95" in browser.find_element(By.ID, "positions").text  # the protective stop
        assert REFUSED_REASON in browser.find_element(By.ID, "decisions").text
        assert "trading allowed" in browser.find_element(By.ID, "halt").text

        browser.find_element(By.ID, "token").send_keys(token)
        browser.find_element(By.ID, "reason").send_keys("checked from the browser")
        browser.find_element(By.ID, "kill").click()
        wait.until(seen.alert_is_present()).accept()
        wait.until(seen.text_to_be_present_in_element((By.ID, "halt"), "HALTED"))
        assert "checked from the browser" in browser.find_element(By.ID, "halt").text
        assert "HALTED" in browser.find_element(By.ID, "action-output").text
        shot = tmp_path / "dashboard.png"
        browser.save_screenshot(str(shot))
        assert shot.read_bytes().startswith(b"\x89PNG")
        if os.environ.get("DASHBOARD_SCREENSHOT") == "1":
            SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(shot, SCREENSHOT)
    finally:
        stop_dashboard(proc)
    with Journal(site.parent / "journal.sqlite", readonly=True) as journal:
        state = KillSwitch(journal).state()
    assert state.halted and state.reason == "checked from the browser"

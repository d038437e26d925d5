"""The desk console in headless Chromium: sign-in end to end, a role refused, the analytics page.

Screenshots go to the test's temporary folder; with HUDOOR_SCREENSHOT_DIR=docs/screenshots
they are written there instead (how the committed ones are made: docs/screenshots/README.md).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from tests.gateway.test_desk_analytics import seed_schools
from tests.gateway.test_dev_phone import browser_page, live_url  # noqa: F401  (fixtures)
from tests.support.desk import make_champion, make_staff, read_code


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    target = Path(os.environ.get("HUDOOR_SCREENSHOT_DIR") or tmp_path)
    target.mkdir(parents=True, exist_ok=True)
    return target


def _sign_in(page: Any, base: str, runtime, number: str, msisdn: str,  # type: ignore[no-untyped-def]
             shots: Path | None = None) -> None:
    page.goto(f"{base}/desk/")
    page.wait_for_selector("#number")  # signed out: sent to the sign-in page
    assert page.eval_on_selector("html", "el => el.dir") == "rtl"
    if shots:
        page.screenshot(path=str(shots / "desk_sign_in.png"), full_page=True)
    page.fill("#number", number)
    page.click("#send-code")
    page.wait_for_selector("#code")
    page.fill("#code", read_code(runtime, msisdn))  # the SMS the development provider got
    if shots:
        page.screenshot(path=str(shots / "desk_code.png"), full_page=True)
    page.click("#sign-in")
    page.wait_for_selector("#who")


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # the HTTP tests cover PostgreSQL
def test_sign_in_and_the_analytics_page_in_the_browser(browser_page, runtime, live_url,  # noqa: F811
                                                       shots) -> None:  # type: ignore[no-untyped-def]
    seed_schools(runtime, marked={"SCH-A"}, teachers={"SCH-A": 2, "SCH-B": 6, "SCH-C": 1})
    msisdn = make_staff(runtime, "DESK-0101", "desk")
    page = browser_page
    page.set_viewport_size({"width": 1280, "height": 800})  # a cheap laptop's screen
    _sign_in(page, live_url, runtime, "DESK-0101", msisdn, shots)
    assert "DESK-0101" in page.inner_text("#who")
    assert "DESK-0101" in page.inner_text("#watermark")
    page.screenshot(path=str(shots / "desk_home.png"), full_page=True)
    page.click("a[href='/desk/analytics']")
    page.wait_for_selector("#categories")
    ids = page.eval_on_selector_all("#no-marks tr td:first-child", "els => els.map(e => e.innerText)")
    assert ids == ["SCH-B", "SCH-C", "SCH-D"]
    page.screenshot(path=str(shots / "desk_analytics.png"), full_page=True)
    page.click("a[hreflang='en']")
    page.wait_for_selector("html[lang='en']")
    assert page.eval_on_selector("html", "el => el.dir") == "ltr"
    assert "Support analytics" in page.inner_text("h1")
    page.screenshot(path=str(shots / "desk_analytics_en.png"), full_page=True)
    page.click("header button")  # sign out
    page.wait_for_selector("#number")
    page.goto(f"{live_url}/desk/analytics")
    page.wait_for_selector("#number")  # signed out for good


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_champion_is_refused_the_analytics_page(browser_page, runtime, live_url,  # noqa: F811
                                                  shots) -> None:  # type: ignore[no-untyped-def]
    msisdn = make_champion(runtime, "STF-0003-0001", "SCH-0003")
    page = browser_page
    _sign_in(page, live_url, runtime, "STF-0003-0001", msisdn)
    assert "SCH-0003" in page.inner_text("#who")
    assert page.locator("a[href='/desk/analytics']").count() == 0  # not in the menu
    answer = page.goto(f"{live_url}/desk/analytics")
    assert answer is not None and answer.status == 403
    assert page.inner_text("#refused") == "غير مسموح"
    page.screenshot(path=str(shots / "desk_refused.png"), full_page=True)

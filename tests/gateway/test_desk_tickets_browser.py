"""Tickets in headless Chromium: a ticket's life (open → escalate → close) and the breach drill."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from core.rbac import Role
from tests.conftest import SCHOOL_MORNING
from tests.gateway.test_breach_drill import Clock
from tests.gateway.test_desk_browser import _sign_in
from tests.gateway.test_dev_phone import browser_page, live_url  # noqa: F401  (fixtures)
from tests.support.desk import make_champion, make_staff


def _act(page: Any, action: str, reason: str, owner: str | None = None) -> None:
    if owner is not None:
        page.fill("#assign-to", owner)
    page.fill(f"#{action}-reason", reason)
    page.click(f"#{action}")
    page.wait_for_selector("#history")


def _sign_out(page: Any) -> None:
    page.click("header button")
    page.wait_for_selector("#number")


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # the HTTP tests cover PostgreSQL
def test_a_tickets_life_in_the_browser(browser_page, runtime, live_url) -> None:  # noqa: F811  # type: ignore[no-untyped-def]
    champion_sim = make_champion(runtime, "STF-0001-0001", "SCH-0001")
    desk_sim = make_staff(runtime, "DESK-1", Role.DESK)
    page = browser_page
    _sign_in(page, live_url, runtime, "STF-0001-0001", champion_sim)
    page.click("a[href='/desk/tickets']")
    page.wait_for_selector("#open-ticket")
    page.select_option("#category", "ussd")
    page.fill("#title", "No classes on menu 1")
    page.fill("#description", "teachers of 2/A see an empty class list")
    page.click("#open")
    page.wait_for_selector("#history")
    assert page.inner_text("#queue") == "المستوى 0: منسق المدرسة"
    _act(page, "escalate", "the class list comes from upstream")
    assert page.inner_text("#queue") == "المستوى 1: مكتب الدعم"
    assert page.locator("#history td.action").all_inner_texts() == ["فُتحت", "صُعّدت"]
    _sign_out(page)

    _sign_in(page, live_url, runtime, "DESK-1", desk_sim)
    page.click("a[href='/desk/tickets']")
    page.wait_for_selector("#worklist")
    page.click("#worklist tr[data-id] a")
    page.wait_for_selector("#history")
    _act(page, "assign", "on it", owner="DESK-1")
    assert page.inner_text("#owner") == "DESK-1"
    _act(page, "close", "upstream re-sent the class")
    assert page.inner_text("#status") == "مغلقة"
    assert page.locator("#escalate").count() == 0
    assert len(page.locator("#history td.action").all_inner_texts()) == 4
    page.click("a[href='/desk/tickets']")
    page.wait_for_selector("#no-tickets")


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_the_breach_drill_in_the_browser(browser_page, runtime, live_url) -> None:  # noqa: F811  # type: ignore[no-untyped-def]
    clock = Clock(SCHOOL_MORNING)
    runtime.clock = clock
    desk_sim = make_staff(runtime, "DESK-1", Role.DESK)
    security_sim = make_staff(runtime, "SEC-1", Role.SECURITY)
    make_champion(runtime, "STF-0001-0001", "SCH-0001")
    page = browser_page
    _sign_in(page, live_url, runtime, "DESK-1", desk_sim)
    page.click("a[href='/desk/tickets']")
    page.wait_for_selector("#open-ticket")
    page.select_option("#category", "access")
    page.fill("#title", "تليفون مسروق")
    page.fill("#description", "المنسق بيقول إن الموبايل اتسرق والجلسة مفتوحة")
    page.fill("#school", "SCH-0001")
    page.fill("#people", "STF-0001-0001")
    page.click("#open")
    page.wait_for_selector("#sent")  # past every tier, out of the desk's sight
    _sign_out(page)

    _sign_in(page, live_url, runtime, "SEC-1", security_sim)
    page.click("a[href='/desk/breaches']")
    page.wait_for_selector("#clocks-list")
    assert page.locator("#clocks-list tr").count() == 3  # header, the Centre, the persons
    page.click("#clocks-list a")
    page.wait_for_selector("#evidence")
    assert "سليمة" in page.inner_text("#evidence")
    page.select_option("#decision-choice", "not-a-breach")
    page.fill("#decision-reason", "looks like a lost phone, not stolen")
    page.click("#decide")
    page.wait_for_selector("#problem")  # not in the first hour
    assert "أول ساعة" in page.inner_text("#problem")  # the domain refusal, in the page's Arabic
    clock.now = SCHOOL_MORNING + timedelta(minutes=20)
    page.select_option("#decision-choice", "breach")
    page.fill("#decision-reason", "the session showed a class roster")
    page.click("#decide")
    page.wait_for_selector("#decisions")
    for to in ("centre", "persons"):
        page.select_option("#notice-to", to)
        page.fill("#notice-reason", f"notice to the {to} sent")
        page.click("#notify")
        page.wait_for_selector("#decisions")
    assert page.locator("#clocks td", has_text="تم الإبلاغ").count() == 2
    _act(page, "close", "notified; the SIM was revoked")
    assert page.inner_text("#status") == "مغلقة"
    page.click("a[href='/desk/breaches']")
    page.wait_for_selector("#no-clocks")

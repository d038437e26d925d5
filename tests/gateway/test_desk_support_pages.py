"""Desk pages for support views and bulk operations: through the test client on both databases,
and in headless Chromium (request → grant over USSD → view → expiry; a merge and its reversal)."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from core.models import AuditEntry, Person
from gateway.cli import cli
from tests.conftest import SCHOOL_MORNING
from tests.gateway.test_dev_phone import browser_page, live_url  # noqa: F401  (fixtures)
from tests.gateway.test_support_access import _activate, _roster
from tests.support.desk import csrf, make_staff, read_code, sign_in


def _grant_over_ussd(runner, client, sandbox, msisdn: str) -> None:  # type: ignore[no-untyped-def]
    champion = _activate(runner, client, _roster(sandbox, "champion"), msisdn)
    champion.dial()
    assert "Mona Adel: the school" in champion.send("7")
    champion.send("1")
    assert champion.send("1").startswith("END Granted until")


def test_a_desk_agent_asks_and_reads_a_watermarked_school_view(synced, sandbox, client, runner) -> None:  # type: ignore[no-untyped-def]
    school = sandbox.district.schools()[0]["id"]
    make_staff(synced, "D-1", "desk", name="Mona Adel")
    sign_in(client, synced, "D-1")
    page = client.get("/desk/support?lang=en")
    assert page.status_code == 200 and 'id="ask"' in page.get_data(as_text=True)
    form = {"scope": "school", "target": school, "minutes": "60", "reason": "ticket 9",
            "csrf_token": csrf(page.get_data(as_text=True))}
    assert client.post("/desk/support", data={**form, "csrf_token": "forged"}).status_code == 400
    bad = client.post("/desk/support", data={**form, "target": "SCH-nowhere"})
    assert bad.status_code == 422 and "no such school" in bad.get_data(as_text=True)
    assert client.post("/desk/support", data=form).status_code == 303
    listed = client.get("/desk/support").get_data(as_text=True)
    assert "waiting for an answer" in listed and "Open the view" not in listed
    grant = int(re.search(r'data-id="(\d+)"', listed).group(1))  # type: ignore[union-attr]
    assert client.get(f"/desk/support/{grant}").status_code == 409  # not granted yet

    _grant_over_ussd(runner, client, sandbox, "+201001110011")
    listed = client.get("/desk/support").get_data(as_text=True)
    assert "Open the view" in listed
    view = client.get(f"/desk/support/{grant}")
    html = view.get_data(as_text=True)
    assert view.status_code == 200
    watermark = re.search(r'id="watermark">([^<]*)<', html).group(1)  # type: ignore[union-attr]
    assert "Mona Adel" in watermark and f"grant {grant}" in watermark and "2026-11-29 10:30" in watermark
    assert 'id="classes"' in html and "<form" not in html.split("<main>")[1]  # read-only: no forms
    assert client.post(f"/desk/support/{grant}", data={"csrf_token": csrf(listed)}).status_code == 405
    with synced.sessions() as s:
        views = [e for e in s.scalars(select(AuditEntry).where(AuditEntry.action == "support.view"))]
    assert len(views) == 1 and views[0].actor == "desk:D-1"
    for minutes in (25, 50, 60):  # each visit keeps the console session (30 min idle) alive
        synced.clock = lambda m=minutes: SCHOOL_MORNING + timedelta(minutes=m)
        late = client.get(f"/desk/support/{grant}")
    assert late.status_code == 409 and "expired at 2026-11-29 10:30" in late.get_data(as_text=True)


def test_the_bulk_page_reverts_for_ops_only_and_names_what_changed(synced, sandbox, client, runner, app) -> None:  # type: ignore[no-untyped-def]
    school = sandbox.district.schools()[0]["id"]
    students = [p["id"] for p in sandbox.district.roster(school) if p["role"] == "student"][:2]
    make_staff(synced, "O-1", "ops")
    make_staff(synced, "D-2", "desk")
    sign_in(client, synced, "O-1")
    page = client.get("/desk/bulk?lang=en").get_data(as_text=True)
    done = client.post("/desk/merges", data={"keep": students[0], "merge": students[1],
                                             "reason": "same child", "csrf_token": csrf(page)})
    assert done.status_code == 303
    page = client.get("/desk/bulk").get_data(as_text=True)
    assert "revertible" in page and 'class="revert"' in page
    op_id = int(re.search(r'data-id="(\d+)"', page).group(1))  # type: ignore[union-attr]
    desk = app.test_client()
    desk.environ_base["REMOTE_ADDR"] = "10.9.9.2"
    sign_in(desk, synced, "D-2")
    seen = desk.get("/desk/bulk?lang=en").get_data(as_text=True)
    assert "revertible" in seen and 'class="revert"' not in seen and 'id="merge"' not in seen
    assert desk.post(f"/desk/bulk/{op_id}/revert", data={"reason": "x", "csrf_token": csrf(seen)}
                     ).status_code == 403
    assert client.post(f"/desk/bulk/{op_id}/revert", data={"reason": "no", "csrf_token": "x"}
                       ).status_code == 400  # CSRF
    # A later change to a merged row: the revert refuses and names it.
    with synced.sessions() as s, s.begin():
        kept = s.scalars(select(Person).where(Person.upstream_id == students[1])).one()
        kept.canonical_id = None
    refused = client.post(f"/desk/bulk/{op_id}/revert", data={"reason": "oops", "csrf_token": csrf(page)})
    assert refused.status_code == 409 and "canonical_id changed since" in refused.get_data(as_text=True)


def _sign_in_page(page: Any, runtime, base: str, staff_ref: str, msisdn: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{base}/desk/sign-in?lang=en")
    page.fill("#number", staff_ref)
    page.click("#send-code")
    page.wait_for_selector("#code")
    page.fill("#code", read_code(runtime, msisdn))
    page.click("#sign-in")
    page.wait_for_selector("#pages")


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # the client tests cover PostgreSQL
def test_in_the_browser_a_view_is_granted_over_ussd_and_a_merge_reverted(  # type: ignore[no-untyped-def]
        browser_page, synced, sandbox, client, runner, live_url, tmp_path) -> None:  # noqa: F811
    page, school = browser_page, sandbox.district.schools()[0]["id"]
    agent_sim = make_staff(synced, "D-7", "desk", name="Mona Adel")
    _sign_in_page(page, synced, live_url, "D-7", agent_sim)
    page.click("text=Support views")
    page.fill("#target", school)
    page.select_option("#minutes", "60")
    page.fill("#reason", "ticket 12: class lists")
    page.click("#ask-button")
    page.wait_for_selector("#requests tr[data-id]")
    assert "waiting for an answer" in page.inner_text("#requests")
    _grant_over_ussd(runner, client, sandbox, "+201001110021")  # the champion's USSD hops
    page.reload()
    page.click("#requests a.open")
    page.wait_for_selector("#classes")
    watermark = page.inner_text("#watermark")
    assert "Mona Adel" in watermark and "grant 1" in watermark and "10:30" in watermark
    assert page.is_visible("#watermark")
    page.screenshot(path=str(tmp_path / "support_view.png"), full_page=True)
    for minutes in (25, 50, 75):  # each visit keeps the console session (30 min idle) alive
        synced.clock = lambda m=minutes: SCHOOL_MORNING + timedelta(minutes=m)
        page.reload()
    assert "expired at" in page.inner_text("main")
    synced.clock = lambda: SCHOOL_MORNING

    ops_sim = make_staff(synced, "O-7", "ops", name="Omar Ops")
    page.context.clear_cookies()
    _sign_in_page(page, synced, live_url, "O-7", ops_sim)
    students = [p["id"] for p in sandbox.district.roster(school) if p["role"] == "student"][:2]
    page.click("text=Bulk operations")
    page.fill("#keep", students[0])
    page.fill("#merge-id", students[1])
    page.fill("#merge-reason", "same child twice")
    page.click("#merge-button")
    page.wait_for_selector("#operations tr[data-id] form.revert")
    assert "revertible" in page.inner_text("#operations")
    page.fill("#operations form.revert input[name=reason]", "two children after all")
    page.click("#operations form.revert button")
    page.wait_for_function("document.querySelector('#operations tr[data-id] .state').innerText.includes('reverted')")
    with synced.sessions() as s:
        merged = s.scalars(select(Person).where(Person.upstream_id == students[1])).one()
    assert merged.canonical_id is None
    assert runner.invoke(cli, ["audit", "verify"]).exit_code == 0

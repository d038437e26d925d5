"""G5 support analytics: worklists by school id (never ranked), people counts under five suppressed."""

from __future__ import annotations

import re
from datetime import timedelta

from core.models import (
    AttendanceRecord,
    Contact,
    DuplicateFlag,
    Person,
    School,
    SchoolClass,
    SyncRun,
)
from tests.conftest import SCHOOL_MORNING
from tests.support.desk import make_staff, sign_in

TODAY = SCHOOL_MORNING.date()  # 09:30 in Cairo: the same date


def seed_schools(runtime, marked: set[str], teachers: dict[str, int]) -> None:  # type: ignore[no-untyped-def]
    """Schools SCH-B, SCH-A, SCH-D, SCH-C (created out of order) with two classes each."""
    with runtime.sessions() as s, s.begin():
        for up in ("SCH-B", "SCH-A", "SCH-D", "SCH-C"):
            school = School(upstream_id=up, name=f"Madrasa {up[-1]}", governorate="Giza")
            s.add(school)
            s.flush()
            classes = [SchoolClass(upstream_id=f"{up}-C{i}", school_id=school.id, name=f"{i}/1",
                                   grade=i) for i in (1, 2)]
            s.add_all(classes)
            staff = [Person(upstream_id=f"{up}-T{i}", school_id=school.id, role="teacher",
                            display_name=f"T{i}", name_key=f"t{i}") for i in range(teachers.get(up, 0))]
            s.add_all(staff)
            s.flush()
            s.add_all(Contact(person_id=p.id, msisdn=f"+2010{school.id:03d}{i:05d}", kind="staff")
                      for i, p in enumerate(staff))
            if up in marked:
                s.add(AttendanceRecord(class_id=classes[0].id, day=TODAY, taken_by=staff[0].id,
                                       class_size=30, session_id="s", msisdn="ref"))
        s.add(SyncRun(kind="full", scope="SCH-D", status="failed", started_at=SCHOOL_MORNING))
        s.add(SyncRun(kind="full", scope="SCH-C", status="running",
                      started_at=SCHOOL_MORNING - timedelta(hours=2)))
        s.add(SyncRun(kind="full", scope="SCH-B", status="running",
                      started_at=SCHOOL_MORNING - timedelta(minutes=10)))  # still fine


def _rows(html: str, table: str) -> list[str]:
    block = html.split(f'id="{table}"', 1)[1].split("</table>", 1)[0]
    return re.findall(r'<tr><td dir="ltr">([^<]+)</td>', block)


def test_worklists_are_alphabetical_and_small_counts_suppressed(runtime, client) -> None:  # type: ignore[no-untyped-def]
    seed_schools(runtime, marked={"SCH-A"}, teachers={"SCH-A": 2, "SCH-B": 6, "SCH-C": 1})
    with runtime.sessions() as s, s.begin():
        people = s.query(Person.id).limit(2).all()
        s.add(DuplicateFlag(person_id=people[0][0], other_person_id=people[1][0], reason="same name"))
    make_staff(runtime, "DESK-1", "desk")
    sign_in(client, runtime, "DESK-1")
    page = client.get("/desk/analytics?lang=en")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert _rows(html, "no-marks") == ["SCH-B", "SCH-C", "SCH-D"]  # by id, whatever the order of creation
    assert _rows(html, "stuck-sync") == ["SCH-C", "SCH-D"]  # B's run is only ten minutes old
    no_marks = html.split('id="no-marks"', 1)[1].split("</table>", 1)[0]
    assert '<td dir="ltr">6</td>' in no_marks  # six teachers with a SIM at SCH-B: shown
    assert no_marks.count("&lt;5") == 2  # one at SCH-C, none at SCH-D: suppressed, zero too
    assert "0 / 2" in no_marks
    categories = html.split('id="categories"', 1)[1].split("</table>", 1)[0]
    assert re.search(r'data-key="duplicates_open"><td>[^<]+</td><td dir="ltr">&lt;5<', categories)
    assert re.search(r'data-key="no_marks"><td>[^<]+</td><td dir="ltr">3<', categories)
    assert 'id="delta-problem"' in html  # no delta sync has run: every school is affected


def test_the_page_is_arabic_first(runtime, client) -> None:  # type: ignore[no-untyped-def]
    make_staff(runtime, "OPS-1", "ops")
    sign_in(client, runtime, "OPS-1")
    html = client.get("/desk/analytics").get_data(as_text=True)
    assert '<html lang="ar" dir="rtl">' in html and "تحليلات الدعم" in html


def test_roles_without_the_permission_are_refused(runtime, app) -> None:  # type: ignore[no-untyped-def]
    for role in ("security", "auditor"):
        client = app.test_client()
        make_staff(runtime, f"R-{role}", role)
        sign_in(client, runtime, f"R-{role}")
        assert client.get("/desk/analytics").status_code == 403
        assert "console.analytics" not in client.get("/desk/").get_data(as_text=True)
        assert "/desk/analytics" not in client.get("/desk/").get_data(as_text=True)  # not in the menu


def test_another_module_adds_a_category_with_its_own_suppression(runtime, client, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from core.disclosure import cell
    from core.support_analytics import Category
    from gateway.console import analytics

    monkeypatch.setattr(analytics, "_SOURCES", [])
    monkeypatch.setattr(analytics, "CATEGORY_LABELS", dict(analytics.CATEGORY_LABELS))
    analytics.add_categories(lambda _s, _now: [Category("tickets_open", cell(3))],
                             {"tickets_open": "Open tickets"})
    make_staff(runtime, "DESK-1", "desk")
    sign_in(client, runtime, "DESK-1")
    html = client.get("/desk/analytics?lang=en").get_data(as_text=True)
    assert re.search(r'data-key="tickets_open"><td>Open tickets</td><td dir="ltr">&lt;5<', html)


def test_open_tickets_by_category_and_tier_without_security_ones(runtime, client, runner) -> None:  # type: ignore[no-untyped-def]
    """G5: the desk sees how many tickets wait where, as counts; a breach case is not counted."""
    from gateway.cli import cli

    def open_ticket(category: str, *extra: str) -> None:
        out = runner.invoke(cli, ["tickets", "open", "--category", category, "--title", "t",
                                  "--description", "the screen is empty", "--by", "desk:test",
                                  *extra])
        assert out.exit_code == 0, out.output

    for _ in range(5):
        open_ticket("sms")
    open_ticket("ussd")
    for _ in range(5):
        open_ticket("access", "--security")  # with security, off the ladder: not counted
    make_staff(runtime, "DESK-1", "desk")
    sign_in(client, runtime, "DESK-1")
    html = client.get("/desk/analytics?lang=en").get_data(as_text=True)
    categories = html.split('id="categories"', 1)[1].split("</table>", 1)[0]

    def shown(key: str) -> str:
        found = re.search(rf'data-key="{key}"><td>[^<]+</td><td dir="ltr">([^<]+)<', categories)
        assert found, key
        return found.group(1)

    assert shown("tickets_sms") == "5" and shown("tickets_ussd") == "&lt;5"
    assert shown("tickets_tier_1") == "6"  # opened without a school: the desk's tier
    assert shown("tickets_access") == "&lt;5" and shown("tickets_tier_0") == "&lt;5"  # not 5
    assert "Open tickets: SMS" in categories

"""The one calendar (G2): seeded feasts, Ramadan hours, central exceptions, `calendar show`."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone

from sqlalchemy import select

from core import calendar, calendar_store
from core.models import (
    AttendanceMark,
    AttendanceRecord,
    AuditEntry,
    CalendarHoliday,
    Contact,
    Enrolment,
    Person,
    RamadanRuleRow,
    School,
    SchoolClass,
)
from digests.daily import enqueue_daily
from gateway.cli import cli
from digests.models import OutboxMessage
from tests.support.consent import consent_all

CAIRO_GOV, ASWAN_GOV = "Cairo", "Aswan"


def cairo(day: date, hh: int, mm: int = 0) -> datetime:
    return calendar.at_cairo(day, time(hh, mm)).astimezone(timezone.utc)


def two_schools(runtime, *days: date) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """One child absent on each of `days` in each of two schools (two governorates)."""
    ids: dict[str, int] = {}
    with runtime.sessions() as s, s.begin():
        for n, gov in enumerate((CAIRO_GOV, ASWAN_GOV)):
            school = School(upstream_id=f"SCH-{gov}", name=gov, governorate=gov)
            s.add(school)
            s.flush()
            cls = SchoolClass(upstream_id=f"C-{gov}", school_id=school.id, name="1", grade=1)
            kid = Person(upstream_id=f"S-{gov}", school_id=school.id, role="student",
                         display_name="Omar Hassan", name_key="omar")
            teacher = Person(upstream_id=f"T-{gov}", school_id=school.id, role="teacher",
                             display_name="T", name_key="t")
            s.add_all([cls, kid, teacher])
            s.flush()
            s.add(Enrolment(person_id=kid.id, class_id=cls.id))
            s.add(Contact(person_id=kid.id, msisdn=f"+20100123456{n}", kind="guardian",
                          language="en"))
            consent_all(s)
            for day in days:
                rec = AttendanceRecord(class_id=cls.id, day=day, taken_by=teacher.id,
                                       class_size=1, session_id="x", msisdn="+201000000000")
                s.add(rec)
                s.flush()
                s.add(AttendanceMark(record_id=rec.id, person_id=kid.id, status="absent",
                                     session_id="x", marked_by=teacher.id))
            ids[gov] = school.id
    return ids


def test_seed_holds_the_freeze_dates_and_estimated_feasts(runtime) -> None:  # type: ignore[no-untyped-def]
    with runtime.sessions() as s:
        cal = calendar_store.load(s, runtime.config)
        eid = s.scalars(select(CalendarHoliday).where(CalendarHoliday.day == date(2027, 3, 9))).all()
    for freeze in (date(2026, 10, 6), date(2027, 1, 7), date(2027, 1, 25)):
        assert not cal.is_school_day(freeze)
    assert not cal.is_school_day(date(2027, 3, 9))  # Eid al-Fitr (estimated)
    assert eid and all(h.estimated for h in eid)
    assert cal.is_school_day(date(2026, 11, 29))
    assert not cal.is_school_day(date(2027, 1, 28))  # between the terms
    ramadan = cal.times(date(2027, 2, 14))
    assert ramadan.ramadan and ramadan.cutoff < runtime.config.digest_cutoff_time


def test_a_ramadan_school_week_and_eid(runtime) -> None:  # type: ignore[no-untyped-def]
    """Sun 7 – Thu 11 Mar 2027: two Ramadan days, Eid al-Fitr, then an ordinary Thursday."""
    week = [date(2027, 3, 7) + timedelta(days=i) for i in range(5)]
    schools = two_schools(runtime, *week)
    with runtime.sessions() as s, s.begin():  # Aswan's governor sets later hours in Ramadan
        s.execute(RamadanRuleRow.__table__.insert().values(
            governorate=ASWAN_GOV, starts_on=date(2027, 2, 8), ends_on=date(2027, 3, 8),
            school_start="09:30", cutoff="13:00", digest_at="13:30"))
    calendar_store.forget()
    with runtime.sessions() as s:
        cal = calendar_store.current(s, runtime.config)
    cai, asw = schools[CAIRO_GOV], schools[ASWAN_GOV]
    expected = {  # day: (Cairo digest, Aswan digest) or None for no digest at all
        week[0]: (time(13, 0), time(13, 30)), week[1]: (time(13, 0), time(13, 30)),
        week[2]: None, week[3]: None,  # Eid al-Fitr
        week[4]: (time(15, 30), time(15, 30)),  # after Ramadan: ordinary hours
    }
    for day, digest in expected.items():
        with runtime.sessions() as s, s.begin():
            run = enqueue_daily(s, day, runtime.config, actor="test", now=cairo(day, 10, 0))
            rows = {m.msisdn: m for m in s.scalars(select(OutboxMessage)
                                                  .where(OutboxMessage.day == day))}
        if digest is None:
            assert run.skipped_reason == "not a school day" and not rows
            assert not cal.late_allowed(cairo(day, 9), cai)  # no marking, no absence
            continue
        assert run.drafts == 2
        assert calendar.to_cairo(rows["+201001234560"].next_attempt_at).time() == digest[0]
        assert calendar.to_cairo(rows["+201001234561"].next_attempt_at).time() == digest[1]
        # Cut-offs shifted per governorate: a late arrival after it is an adjustment instead.
        minute = timedelta(minutes=1)
        assert cal.late_allowed(cal.cutoff_at(day, cai) - minute, cai)
        assert not cal.late_allowed(cal.cutoff_at(day, cai), cai)
        assert cal.late_allowed(cal.cutoff_at(day, asw) - minute, asw)
    assert (cal.times(week[0], cai).cutoff, cal.times(week[0], asw).cutoff) == (time(12, 30),
                                                                                time(13, 0))


def test_composed_in_quiet_hours_waits_for_the_morning(runtime) -> None:  # type: ignore[no-untyped-def]
    day = date(2027, 3, 7)
    two_schools(runtime, day)
    with runtime.sessions() as s, s.begin():
        enqueue_daily(s, day, runtime.config, actor="test", now=cairo(day, 22, 30))
        moments = {calendar.to_cairo(m.next_attempt_at) for m in s.scalars(select(OutboxMessage))}
    assert moments == {calendar.at_cairo(date(2027, 3, 8), time(7, 0))}


def test_a_governorate_exception_closes_its_schools_only(runtime, runner) -> None:  # type: ignore[no-untyped-def]
    day = date(2027, 3, 7)
    schools = two_schools(runtime, day)
    result = runner.invoke(cli, ["calendar", "exception", "add", "--scope", "governorate",
                                 "--governorate", ASWAN_GOV, "--day", day.isoformat(),
                                 "--reference", "MOE-2027-114", "--by", "ops:amal",
                                 "--reason", "sandstorm"])
    assert result.exit_code == 0, result.output
    with runtime.sessions() as s, s.begin():
        cal = calendar_store.current(s, runtime.config)
        assert cal.is_school_day(day, schools[CAIRO_GOV])
        assert not cal.is_school_day(day, schools[ASWAN_GOV])
        enqueue_daily(s, day, runtime.config, actor="test", now=cairo(day, 14))
        # The Aswan child's absence is not reported: its school was closed (no false absence).
        assert [m.msisdn for m in s.scalars(select(OutboxMessage))] == ["+201001234560"]
        entry = s.scalars(select(AuditEntry).where(
            AuditEntry.action == "calendar.exception.add")).one()
        assert "MOE-2027-114" in entry.data and entry.actor == "ops:amal"
    result = runner.invoke(cli, ["calendar", "exception", "reverse", "1", "--by", "ops:amal",
                                 "--reason", "entered for the wrong day"])
    assert result.exit_code == 0, result.output
    with runtime.sessions() as s:
        assert calendar_store.current(s, runtime.config).is_school_day(day, schools[ASWAN_GOV])


def test_there_is_no_per_school_exception(runtime, runner) -> None:  # type: ignore[no-untyped-def]
    two_schools(runtime, date(2027, 3, 7))
    base = ["calendar", "exception", "add", "--day", "2027-03-07", "--by", "x", "--reason", "y"]
    refused = runner.invoke(cli, base + ["--scope", "school", "--reference", "R"])
    assert refused.exit_code != 0 and "national" in refused.output
    no_ref = runner.invoke(cli, base + ["--scope", "national"])
    assert no_ref.exit_code != 0 and "--reference" in no_ref.output
    unknown = runner.invoke(cli, base + ["--scope", "governorate", "--governorate", "Atlantis",
                                         "--reference", "R"])
    assert unknown.exit_code != 0 and "Atlantis" in unknown.output


def test_calendar_show_prints_a_sat_thu_school_in_ramadan(runtime, runner) -> None:  # type: ignore[no-untyped-def]
    two_schools(runtime, date(2027, 3, 7))
    set_week = runner.invoke(cli, ["calendar", "school", f"SCH-{CAIRO_GOV}", "--week", "sat-thu",
                                   "--by", "ops:amal", "--reason", "ministry decree 12/2026"])
    assert set_week.exit_code == 0, set_week.output
    shown = runner.invoke(cli, ["calendar", "show", "--school", f"SCH-{CAIRO_GOV}",
                                "--from", "2027-03-05", "--to", "2027-03-10"])
    assert shown.exit_code == 0, shown.output
    lines = dict(line.split(" ", 1) for line in shown.output.strip().splitlines())
    assert "closed weekend" in lines["2027-03-05"]  # Friday
    assert "school ramadan hours" in lines["2027-03-06"] and "cut-off 12:30" in lines["2027-03-06"]
    assert "closed Eid al-Fitr" in lines["2027-03-09"]
    national = runner.invoke(cli, ["calendar", "show", "--from", "2027-03-06", "--to", "2027-03-06"])
    assert "weekend" in national.output


def test_working_days_skip_weekends_and_feasts(runtime) -> None:  # type: ignore[no-untyped-def]
    with runtime.sessions() as s:
        cal = calendar_store.current(s, runtime.config)
    # Thu 8 Oct 2026 + 3 working days: Sun 11, Mon 12, Tue 13 (6 Oct was the freeze holiday).
    assert cal.working_days_after(date(2026, 10, 8), 3) == date(2026, 10, 13)
    assert calendar.working_days_after(date(2026, 10, 5), 1) == date(2026, 10, 7)

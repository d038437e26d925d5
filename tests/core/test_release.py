"""core.release as pure functions: properties of the windows, and the rules read as data."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core import calendar, release
from core.release import ReleaseKind
from core.school_calendar import DayTimes, SchoolCalendar, SchoolPlace

CAL = SchoolCalendar(DayTimes(time(7, 30), time(15, 30), time(15, 30)),
                     schools={1: SchoolPlace("Cairo"), 2: SchoolPlace("Giza", "sat-thu")})
SUN_THU_ONLY = SchoolCalendar(CAL.normal, schools={1: SchoolPlace("Cairo")})
RULES = release.load_rules()
moments = st.datetimes(min_value=datetime(2026, 9, 1), max_value=datetime(2030, 8, 31),
                       timezones=st.just(timezone.utc))
kinds = st.sampled_from(list(ReleaseKind))


@settings(max_examples=300, deadline=None)
@given(moment=moments, kind=kinds, cal=st.sampled_from([CAL, SUN_THU_ONLY]))
def test_an_allowed_moment_sits_in_a_window_of_open_weekend_days(moment, kind, cal) -> None:  # type: ignore[no-untyped-def]
    verdict = release.check(cal, moment, kind, RULES)
    local = calendar.to_cairo(moment)
    if local.weekday() not in (4, 5) or calendar.is_freeze_date(local.date()):
        assert not verdict.allowed
    if kind is ReleaseKind.FEATURE and local.month == 12:
        assert not verdict.allowed
    if verdict.allowed:
        assert verdict.window is not None and verdict.window.end > moment
        assert not cal.open_schools(local.date()) and not cal.is_school_day(local.date())
        day = local.date()
        while day < verdict.window.end.date():
            assert release.day_reasons(cal, day, kind, RULES, every=True) == []
            day += timedelta(days=1)
        assert release.day_reasons(cal, verdict.window.end.date(), kind, RULES) != []
    else:
        assert verdict.reasons and verdict.window is None


@settings(max_examples=100, deadline=None)
@given(moment=moments, kind=kinds)
def test_the_next_window_starts_no_earlier_and_is_allowed(moment, kind) -> None:  # type: ignore[no-untyped-def]
    window = release.next_window(SUN_THU_ONLY, moment, kind, RULES)
    assert window is not None
    assert window.start >= moment and window.end > window.start
    assert release.check(SUN_THU_ONLY, window.start, kind, RULES).allowed


def test_the_stages_and_holds_come_from_the_rules_file(tmp_path: Path) -> None:
    text = release.RULES_FILE.read_text(encoding="utf-8").replace(
        "hold_school_days = 3", "hold_school_days = 0")
    (tmp_path / "rules.toml").write_text(text, encoding="utf-8")
    quick = release.load_rules(tmp_path / "rules.toml")
    start = datetime(2026, 11, 30, 9, 0, tzinfo=calendar.CAIRO)
    shipped = [p.window.start.date() for p in release.plan(SUN_THU_ONLY, start, ReleaseKind.FIX, RULES)
               if p.window]
    changed = [p.window.start.date() for p in release.plan(SUN_THU_ONLY, start, ReleaseKind.FIX, quick)
               if p.window]
    assert [s.percent for s in RULES.stages] == [5, 25, 100]
    assert shipped[:2] == [date(2026, 12, 4), date(2026, 12, 11)]
    assert changed[:2] == [date(2026, 12, 4), date(2026, 12, 4)]  # no hold: 25% the same weekend
    assert RULES.phase2_starts == date(2027, 1, 10)


@pytest.mark.parametrize("change, message", [
    (("percent = 100", "percent = 90"), "end at 100%"),
    (('op = "<="', 'op = "=="'), "ops are >= or <="),
    (("phase2_starts = 2027-01-10", 'phase2_starts = "soon"'), "phase2_starts"),
    (("[[stage]]", "[[stage]"), "rules.toml"),
])
def test_a_malformed_rules_file_is_a_clear_error(tmp_path: Path, change, message) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "rules.toml"
    path.write_text(release.RULES_FILE.read_text(encoding="utf-8").replace(*change), encoding="utf-8")
    with pytest.raises(release.RulesError, match=message):
        release.load_rules(path)


def test_a_threshold_holds_by_its_operator() -> None:
    delivered = next(t for t in RULES.stages[0].thresholds if t.metric == "sms_delivery_ratio")
    assert delivered.holds(0.98) and delivered.holds(0.95) and not delivered.holds(0.9)
    assert str(delivered) == "sms_delivery_ratio >= 0.95"  # the wall's amber (one place)
    lag = next(t for t in RULES.stages[1].thresholds if t.metric == "writeback_lag_seconds")
    assert lag.holds(899) and not lag.holds(900)  # the wall turns amber at 900 s

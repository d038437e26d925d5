"""`hudoor release check|plan`: deploy windows from the one calendar, through the CLI runner."""

from __future__ import annotations

import pytest

from core.models import School
from gateway.cli import cli

@pytest.fixture
def schools(runtime, runner):  # type: ignore[no-untyped-def]
    """A Sun–Thu school in Cairo and a Sat–Thu school in Giza (the ministry's decision)."""
    with runtime.sessions() as session, session.begin():
        session.add_all([School(upstream_id="SCH-C1", name="Cairo One", governorate="Cairo"),
                         School(upstream_id="SCH-G1", name="Giza One", governorate="Giza")])
    result = runner.invoke(cli, ["calendar", "school", "SCH-G1", "--week", "sat-thu",
                                 "--by", "ops", "--reason", "ministry decree 12"])
    assert result.exit_code == 0, result.output
    return runtime


def check(runner, at: str, kind: str = "feature"):  # type: ignore[no-untyped-def]
    return runner.invoke(cli, ["release", "check", "--at", at, "--kind", kind])


def test_a_friday_in_november_is_a_window_until_sunday(runner) -> None:  # type: ignore[no-untyped-def]
    result = check(runner, "2026-11-27T10:00")
    assert result.exit_code == 0, result.output
    assert "may start: a feature at Fri 27 Nov 2026 10:00 (Cairo)" in result.output
    assert "the window ends Sun 29 Nov 2026 00:00 (Cairo)" in result.output


def test_thursday_morning_is_refused_for_school_hours(runner) -> None:  # type: ignore[no-untyped-def]
    result = check(runner, "2026-11-26T10:00", "fix")
    assert result.exit_code == 1
    assert "refused: Thursday is not a release day (weekend only: Fri, Sat)" in result.output
    assert "refused: school hours: 10:00 is inside 07:30–15:30" in result.output
    assert "may start" not in result.output


def test_the_seventh_of_january_is_refused_as_a_freeze_even_on_a_friday(runner) -> None:  # type: ignore[no-untyped-def]
    result = check(runner, "2028-01-07T22:00", "fix")  # a Friday, outside any term
    assert result.exit_code == 1
    assert result.output.splitlines()[0] == "refused: freeze: 7 Jan is a release-freeze date"
    assert sum(line.startswith("refused:") for line in result.output.splitlines()) == 1
    assert check(runner, "2027-01-07T22:00", "fix").exit_code == 1  # the programme's own 7 Jan


def test_a_december_feature_is_refused_and_a_december_fix_may_go(runner) -> None:  # type: ignore[no-untyped-def]
    feature = check(runner, "2026-12-05T11:00", "feature")
    assert feature.exit_code == 1
    assert "refused: December: stability only, no feature launches" in feature.output
    fix = check(runner, "2026-12-05T11:00", "fix")
    assert fix.exit_code == 0, fix.output
    assert "the window ends Sun 6 Dec 2026 00:00 (Cairo)" in fix.output


def test_a_saturday_that_sat_thu_schools_work_is_not_a_window(schools, runner) -> None:  # type: ignore[no-untyped-def]
    saturday = check(runner, "2026-11-28T20:00", "fix")  # after hours, still their school day
    assert saturday.exit_code == 1
    assert ("refused: school day: Sat 28 Nov is a school day for 1 school(s) in Giza "
            "(sat-thu week)") in saturday.output
    friday = check(runner, "2026-11-27T10:00", "fix")  # the window stops at Saturday's midnight
    assert friday.exit_code == 0, friday.output
    assert "the window ends Sat 28 Nov 2026 00:00 (Cairo)" in friday.output
    during = check(runner, "2026-11-28T09:00", "fix")
    assert "refused: school hours: 09:00 is inside 07:30–15:30 for 1 school(s) in Giza" in during.output


def test_a_central_make_up_day_on_a_friday_closes_the_window(schools, runner) -> None:  # type: ignore[no-untyped-def]
    result = runner.invoke(cli, ["calendar", "exception", "add", "--scope", "national",
                                 "--day", "2026-11-27", "--open", "--reference", "MOE-7",
                                 "--by", "ops", "--reason", "make-up day"])
    assert result.exit_code == 0, result.output
    refused = check(runner, "2026-11-27T18:00", "fix")
    assert refused.exit_code == 1
    assert "school day: Fri 27 Nov is a school day for 1 school(s) in Cairo" in refused.output


def test_a_bad_moment_is_a_clear_error(runner) -> None:  # type: ignore[no-untyped-def]
    result = check(runner, "next friday")
    assert result.exit_code == 2
    assert "is not an ISO date-time" in result.output


def test_the_plan_places_each_stage_after_the_previous_hold(runner) -> None:  # type: ignore[no-untyped-def]
    result = runner.invoke(cli, ["release", "plan", "--from", "2026-11-30T09:00", "--kind", "fix"])
    assert result.exit_code == 0, result.output
    stages = [line for line in result.output.splitlines() if line.startswith("stage ")]
    assert stages == [
        "stage 5%: Fri 4 Dec 2026 00:00 (Cairo) – Sun 6 Dec 2026 00:00 (Cairo)",
        "stage 25%: Fri 11 Dec 2026 00:00 (Cairo) – Sun 13 Dec 2026 00:00 (Cairo)",
        "stage 100%: Fri 18 Dec 2026 00:00 (Cairo) – Sun 20 Dec 2026 00:00 (Cairo)",
    ]
    assert "    sms_delivery_ratio >= 0.95" in result.output
    assert "  hold 3 school day(s), until Wed 9 Dec 2026 00:00 (Cairo)" in result.output
    assert "rollback-plan" in result.output
    assert "100% is in before Phase 2 starts (10 Jan 2027)" in result.output


def test_a_feature_planned_now_waits_for_january_and_misses_phase_two(runner) -> None:  # type: ignore[no-untyped-def]
    result = runner.invoke(cli, ["release", "plan", "--from", "2026-11-30T09:00"])
    assert result.exit_code == 0, result.output
    stages = [line.split(" – ")[0] for line in result.output.splitlines() if line.startswith("stage ")]
    assert stages == ["stage 5%: Fri 1 Jan 2027 00:00 (Cairo)",
                      "stage 25%: Fri 8 Jan 2027 00:00 (Cairo)",
                      "stage 100%: Fri 15 Jan 2027 00:00 (Cairo)"]
    assert "warning: the 100% stage is not in before Phase 2 starts (10 Jan 2027)" in result.output

"""Anomaly rules against generated honest and copied capture patterns (Hypothesis).

Each rule must flag every copied pattern it is meant for, and flag honest patterns rarely;
the observed false-positive rate on honest patterns is measured and bounded here.
"""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from core import calendar
from core.gate import anomaly
from core.gate.anomaly import Capture
from core.gate.rules import DEFAULTS

WEEK = [date(2026, 11, 29) + timedelta(days=i) for i in range(5)]  # Sun–Thu
CUTOFF = time(15, 30)


def at(day: date, seconds: int) -> datetime:
    return calendar.at_cairo(day, time(0)) + timedelta(seconds=seconds)


@st.composite
def honest_week(draw: st.DrawFn) -> list[Capture]:
    """Teachers on their own phones, each class marked in the morning, taking real time."""
    teachers = draw(st.integers(1, 8))
    out = []
    for t in range(teachers):
        classes = draw(st.integers(1, 4))
        for day in WEEK:
            moment = draw(st.integers(7 * 3600, 10 * 3600))  # somewhere in the first periods
            for c in range(classes):
                moment += draw(st.integers(45, 900))  # a USSD roster takes at least ~45 s
                when = at(day, moment)
                out.append(Capture(t * 10 + c, day, f"phone-{t}", when, when,
                                   calendar.at_cairo(day, CUTOFF), at(day, 16 * 3600 + 3600 * 24 * 3)))
    return out


@st.composite
def copied_day(draw: st.DrawFn) -> list[Capture]:
    """One phone entering many classes seconds apart (identical or near-identical stamps)."""
    day = draw(st.sampled_from(WEEK))
    n = draw(st.integers(DEFAULTS.burst_min_classes, 30))
    start = draw(st.integers(7 * 3600, 23 * 3600))
    gaps = draw(st.lists(st.integers(0, int(DEFAULTS.burst_seconds)), min_size=n, max_size=n))
    out, moment = [], start
    for c, gap in enumerate(gaps):
        moment += gap
        when = at(day, moment)
        out.append(Capture(c, day, "phone-x", when, when, calendar.at_cairo(day, CUTOFF)))
    return out


@settings(max_examples=100, deadline=None)
@given(honest_week())
def test_honest_patterns_never_trip_burst_late_or_after_paper(captures: list[Capture]) -> None:
    flags = anomaly.flag(captures, DEFAULTS)
    assert not flags["burst"] and not flags["late_capture"] and not flags["after_paper"]


def sampled_honest_week(rng: random.Random) -> list[Capture]:
    """A realistic honest week: the same generator's shape, drawn at random (not at edges)."""
    out = []
    for t in range(rng.randint(1, 8)):
        classes = rng.randint(1, 4)
        for day in WEEK:
            moment = rng.randint(7 * 3600, 10 * 3600)
            for c in range(classes):
                moment += rng.randint(45, 900)
                when = at(day, moment)
                out.append(Capture(t * 10 + c, day, f"phone-{t}", when, when,
                                   calendar.at_cairo(day, CUTOFF)))
    return out


def test_honest_false_positive_rate_is_reported_and_small() -> None:
    rng = random.Random(20261130)
    flagged = total = 0
    for _ in range(2000):
        captures = sampled_honest_week(rng)
        flagged += len(set().union(*anomaly.flag(captures, DEFAULTS).values()))
        total += len(captures)
    rate = flagged / total
    print(f"\nfalse positives on honest class-days: {rate:.4%} of {total} over 2000 weeks")
    assert rate < 0.005


@settings(max_examples=100, deadline=None)
@given(copied_day())
def test_a_burst_from_one_phone_is_always_flagged(captures: list[Capture]) -> None:
    assert anomaly.burst(captures, DEFAULTS) == {c.key for c in captures}


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 23 * 3600), st.sampled_from(WEEK))
def test_late_capture_flags_exactly_past_the_slack(seconds: int, day: date) -> None:
    when = at(day, seconds)
    cutoff = calendar.at_cairo(day, CUTOFF)
    cap = Capture(1, day, "p", when, when, cutoff)
    late = when > cutoff + timedelta(hours=DEFAULTS.late_capture_hours)
    assert anomaly.late_capture([cap], DEFAULTS) == ({cap.key} if late else set())


@settings(max_examples=100, deadline=None)
@given(st.integers(7 * 3600, 20 * 3600), st.lists(st.integers(0, 59), min_size=5, max_size=5))
def test_a_class_stamped_at_the_same_minute_all_week_is_flagged(base: int, jitter: list[int]) -> None:
    caps = [Capture(3, d, "p", at(d, base + j), at(d, base + j), calendar.at_cairo(d, CUTOFF))
            for d, j in zip(WEEK, jitter)]
    flagged = anomaly.flat_week(caps, DEFAULTS)
    assert flagged == ({c.key for c in caps} if max(jitter) - min(jitter) < DEFAULTS.flat_week_seconds
                       else set())


@settings(max_examples=100, deadline=None)
@given(st.integers(-7200, 7200))
def test_digital_captured_after_the_paper_upload_is_flagged(offset: int) -> None:
    day = WEEK[0]
    paper_at = at(day, 16 * 3600)
    when = paper_at + timedelta(seconds=offset)
    cap = Capture(1, day, "p", when, when, calendar.at_cairo(day, CUTOFF), paper_at)
    assert anomaly.after_paper([cap], DEFAULTS) == ({cap.key} if offset > 0 else set())

"""Cohort buckets are stable and nested; a stage's health clock counts only recorded, continuous health."""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from core import cohorts
from core.models import HealthSample

T0 = datetime(2027, 1, 10, tzinfo=timezone.utc)
GAP = timedelta(minutes=90)


def test_bucket_is_the_sha256_rule_and_the_same_in_another_process() -> None:
    # Pinned values: a change of the rule would move schools between stages.
    assert cohorts.bucket("assessments", "SCH-0001") == int(
        __import__("hashlib").sha256(b"assessments:SCH-0001").hexdigest(), 16) % 10_000
    other = subprocess.run([sys.executable, "-c", "from core.cohorts import bucket;"
                            "print(bucket('assessments', 'SCH-0001'), bucket('quiz', 'X'))"],
                           capture_output=True, text=True, check=True, env={"PYTHONHASHSEED": "123"})
    assert other.stdout.split() == [str(cohorts.bucket("assessments", "SCH-0001")),
                                    str(cohorts.bucket("quiz", "X"))]


@given(st.text(min_size=1, max_size=20), st.text(min_size=1, max_size=64))
def test_a_school_in_a_stage_stays_in_every_later_stage(feature: str, school: str) -> None:
    stages = cohorts.rules().stages
    inside = [cohorts.in_stage(feature, school, p) for p in stages]
    assert inside == sorted(inside)  # False…False True…True: never out again once in
    assert inside[-1] and not inside[0]


def test_roughly_the_right_share_of_schools_per_stage() -> None:
    schools = [f"SCH-{i:05d}" for i in range(4000)]
    for percent, lo, hi in ((5, 140, 260), (25, 880, 1120)):
        n = sum(cohorts.in_stage("assessments", s, percent) for s in schools)
        assert lo <= n <= hi, (percent, n)


def _s(hours: float, within: bool = True) -> HealthSample:
    return HealthSample(feature="f", percent=5, at=T0 + timedelta(hours=hours), within=within, figures="{}")


def test_health_counts_continuous_samples_only() -> None:
    hourly = [_s(h) for h in range(0, 49)]
    assert cohorts.healthy_for(hourly, T0, T0 + timedelta(hours=48, minutes=10), GAP) == timedelta(hours=48)
    # The job stopped for a while: the clock starts again after the hole.
    holed = [s for s in hourly if not 10 < (s.at - T0).total_seconds() / 3600 < 13]
    assert cohorts.healthy_for(holed, T0, T0 + timedelta(hours=48), GAP) == timedelta(hours=35)
    # No sample lately: nothing is known to be healthy now.
    assert cohorts.healthy_for(hourly, T0, T0 + timedelta(hours=51), GAP) == timedelta(0)
    # A breach restarts the clock at the breach.
    bad = hourly[:20] + [_s(20, within=False)] + hourly[21:]
    assert cohorts.healthy_for(bad, T0, T0 + timedelta(hours=48), GAP) == timedelta(hours=28)
    assert cohorts.healthy_for([], T0, T0 + timedelta(minutes=30), GAP) == timedelta(0)


def test_a_figure_above_its_threshold_is_a_breach_and_no_data_is_not() -> None:
    r = cohorts.rules()
    assert cohorts.breaches({"ussd_error_rate": None, "sms_dlq": 0}, r) == {}
    bad = cohorts.breaches({"writeback_lag_seconds": r.thresholds["writeback_lag_seconds"] + 1}, r)
    assert list(bad) == ["writeback_lag_seconds"]


def test_a_feature_before_its_date_is_neither_sampled_nor_held(runtime) -> None:  # type: ignore[no-untyped-def]
    from datetime import timedelta as td

    from core.models import FeatureStage

    opens = cohorts.rules().start_of("assessments")
    assert opens is not None
    with runtime.sessions() as s, s.begin():
        cohorts.advance(s, "assessments", by="ops:a", reason="ahead of Phase 2", now=opens - td(days=30))
        bad = {"writeback_dlq": 10_000}
        assert cohorts.record_samples(s, bad, opens - td(days=1)) == []
        assert not s.get(FeatureStage, "assessments").held
        assert [x.within for x in cohorts.record_samples(s, bad, opens)] == [False]
        assert s.get(FeatureStage, "assessments").held

"""One place for health thresholds: the wall's file. Cohort health and release stages refer to
its levels, so changing a number there moves the wall, the cohort rule and the release plan."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from core import cohorts, release, wall
from core.models import FeatureStage
from gateway import health
from gateway.cli import cli

ROOT = Path(__file__).resolve().parents[2]


def _changed(tmp_path: Path, **figures: dict[str, float]) -> Path:
    rules = json.loads((ROOT / "core" / "wall_thresholds.json").read_text())
    for key, levels in figures.items():
        rules[key] = {**rules[key], **levels}
    path = tmp_path / "thresholds.json"
    path.write_text(json.dumps(rules))
    return path


def test_the_shipped_cohort_and_release_limits_are_the_walls_numbers() -> None:
    levels = wall.thresholds()
    r = cohorts.rules()
    assert r.thresholds["ussd_hop_p99_ms"] == levels["ussd_p99_ms"]["red"]
    assert r.thresholds["ussd_error_rate"] == levels["ussd_error_rate"]["red"]
    assert r.thresholds["writeback_lag_seconds"] == levels["writeback_lag_seconds"]["red"]
    delivered = next(t for t in release.load_rules().stages[0].thresholds
                     if t.metric == "sms_delivery_ratio")
    assert (delivered.op, delivered.value) == (">=", levels["sms_delivery_ratio"]["amber"])


def test_one_changed_number_moves_the_wall_the_cohort_rule_and_the_release_plan(  # type: ignore[no-untyped-def]
        runtime, client, runner, tmp_path) -> None:
    # Any dead letter at all, even none, is now red: on the wall and for a cohort mid-rollout.
    path = _changed(tmp_path, sms_dlq={"amber": 0, "red": 0},
                    sms_delivery_ratio={"amber": 0.99, "red": 0.9})
    opens = cohorts.rules().start_of("assessments")
    assert opens is not None
    with runtime.sessions() as s, s.begin():
        cohorts.advance(s, "assessments", by="ops:a", reason="pilot", now=opens - timedelta(days=1))
    runtime.clock = lambda: opens + timedelta(hours=1)
    before = health.sample(runtime)  # the shipped file: 0 dead letters is healthy
    assert before == [{"feature": "assessments", "percent": 5, "within": True}]

    runtime.config = runtime.config.with_overrides(wall_thresholds_file=str(path))
    tiles = {t["key"]: t for t in client.get("/status.json").get_json()["wall"]}
    assert tiles["sms_dlq"]["value"] == 0 and tiles["sms_dlq"]["grade"] == "red"
    runtime.clock = lambda: opens + timedelta(hours=2)
    after = health.sample(runtime)
    assert after == [{"feature": "assessments", "percent": 5, "within": False}]
    with runtime.sessions() as s:
        row = s.get(FeatureStage, "assessments")
        assert row is not None and row.held
    plan = runner.invoke(cli, ["release", "plan", "--kind", "fix", "--from", "2026-11-30T09:00"])
    assert plan.exit_code == 0, plan.output
    assert "sms_delivery_ratio >= 0.99" in plan.output

"""The wall on /status: graded figures (thresholds as data), USSD hop p99 and errors, the banner."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from sqlalchemy import select

from core import wall
from core.models import AuditEntry
from core.runtime import Runtime
from gateway.app import create_app
from gateway.cli import cli
from tests.gateway.test_dev_phone import browser_page, live_url  # noqa: F401 -- fixtures
from tests.ussd.phone import Phone

ROOT = Path(__file__).resolve().parents[2]


def test_grades_follow_the_thresholds_file_in_both_directions(tmp_path) -> None:  # type: ignore[no-untyped-def]
    rules = wall.thresholds()
    assert [wall.grade(rules, "ussd_p99_ms", v) for v in (None, 99, 100, 299, 300)] == \
        ["green", "green", "amber", "amber", "red"]
    assert [wall.grade(rules, "sms_delivery_ratio", v) for v in (0.99, 0.95, 0.94, 0.90)] == \
        ["green", "green", "amber", "red"]
    # A queue without its own rule takes its family's; "urgent" has a stricter one.
    assert wall.grade(rules, "queue_oldest_seconds:digests", 10) == "green"
    assert wall.grade(rules, "queue_oldest_seconds:urgent", 10) == "amber"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"ussd_p99_ms": {"amber": 300, "red": 100}}))
    with pytest.raises(wall.ThresholdsInvalid, match="red past amber"):
        wall.thresholds(str(bad))


def test_ussd_hops_and_failures_reach_the_wall(runtime, client, config) -> None:  # type: ignore[no-untyped-def]
    phone = Phone(client)
    for _ in range(3):
        phone.dial()
        phone.send("0")
    # The same service with its database gone: every hop says "busy, nothing saved".
    broken = Runtime(config.with_overrides(database_url=f"sqlite:///{config.var_dir}/no/such/dir.db"),
                     clock=runtime.clock)
    broken_phone = Phone(create_app({"TESTING": True, "HUDOOR_RUNTIME": broken}).test_client(),
                         msisdn="+201201230000")  # not cached: the hop needs the database
    assert broken_phone.dial().startswith("END ")
    data = client.get("/status.json").get_json()
    assert data["ussd"]["hops"] == 7 and data["ussd"]["errors"] == 1
    assert data["ussd"]["p99_ms"] is not None
    tiles = {t["key"]: t for t in data["wall"]}
    assert tiles["ussd_error_rate"]["value"] == pytest.approx(1 / 7, abs=1e-3)
    assert tiles["ussd_error_rate"]["grade"] == "red" and data["overall"] == "red"
    assert list(tiles)[0].startswith("queue_oldest_seconds:")  # consumer lag leads the wall
    metrics = client.get("/metrics").get_data(as_text=True)
    assert "hudoor_ussd_hops_5m 7" in metrics
    assert 'hudoor_wall_grade{tile="ussd_error_rate"} 2' in metrics


def test_a_thresholds_file_of_ops_own_changes_the_grades(runtime, client, tmp_path) -> None:  # type: ignore[no-untyped-def]
    rules = json.loads((ROOT / "core" / "wall_thresholds.json").read_text())
    rules["sms_dlq"] = {**rules["sms_dlq"], "amber": 0, "red": 0}  # any dead letter, even none
    path = tmp_path / "wall.json"
    path.write_text(json.dumps(rules))
    runtime.config = runtime.config.with_overrides(wall_thresholds_file=str(path))
    tiles = {t["key"]: t for t in client.get("/status.json").get_json()["wall"]}
    assert tiles["sms_dlq"]["value"] == 0 and tiles["sms_dlq"]["grade"] == "red"


def test_the_banner_is_set_replaced_and_cleared_audited(runtime, client, runner) -> None:  # type: ignore[no-untyped-def]
    assert client.get("/status.json").get_json()["banner"] is None
    missing = runner.invoke(cli, ["banner", "set", "--ar", "x", "--by", "ops", "--reason", "r"])
    assert missing.exit_code == 2 and "--en" in missing.output
    long = runner.invoke(cli, ["banner", "set", "--ar", "ا" * 400, "--en", "x", "--by", "ops",
                               "--reason", "r"])
    assert long.exit_code == 2 and "under 280 characters" in long.output
    assert runner.invoke(cli, ["banner", "clear", "--by", "ops", "--reason", "r"]).exit_code == 2
    first = runner.invoke(cli, ["banner", "set", "--severity", "outage",
                                "--ar", "الرسائل متأخرة اليوم. الحضور محفوظ.",
                                "--en", "SMS are late today. Attendance is saved.",
                                "--by", "ops:amal", "--reason", "operator outage"])
    assert first.exit_code == 0, first.output
    page = client.get("/status").get_data(as_text=True)
    assert "الرسائل متأخرة اليوم" in page and "SMS are late today" in page
    assert 'class="banner outage"' in page
    second = runner.invoke(cli, ["banner", "set", "--ar", "عاد كل شيء", "--en", "Back to normal",
                                 "--severity", "info", "--by", "ops:amal", "--reason", "recovered"])
    assert second.exit_code == 0
    assert client.get("/status.json").get_json()["banner"]["en"] == "Back to normal"
    assert "hudoor_incident_banner 1" in client.get("/metrics").get_data(as_text=True)
    cleared = runner.invoke(cli, ["banner", "clear", "--by", "ops:amal", "--reason", "all clear"])
    assert cleared.exit_code == 0 and client.get("/status.json").get_json()["banner"] is None
    with runtime.sessions() as s:
        actions = s.scalars(select(AuditEntry.action).where(AuditEntry.entity == "incident_banner")
                            .order_by(AuditEntry.seq)).all()
    assert actions == ["banner.set", "banner.set", "banner.clear"]


@pytest.mark.parametrize(("ar", "en", "kind"), [
    ("اتصلوا على 01012345678", "Call the help line", "phone number"),
    ("الرسائل متأخرة", "Call +20 10 1234 5678 for help", "phone number"),
    ("الرسائل متأخرة", "Student 29801011234567 is affected", "national id"),
    ("الرسائل متأخرة", "Use code 483920 to sign in", "code or password"),
    ("كلمة السر: Hudoor2026", "SMS are late", "code or password"),
])
def test_a_banner_with_a_number_or_secret_is_refused_and_nothing_stored(  # type: ignore[no-untyped-def]
        runtime, client, runner, ar, en, kind) -> None:
    """The banner is public: it is screened by the ticket-text rules (core/ticket_text.py)."""
    result = runner.invoke(cli, ["banner", "set", "--ar", ar, "--en", en, "--by", "ops:amal",
                                 "--reason", "outage"])
    assert result.exit_code == 2, result.output
    assert kind in result.output and "public" in result.output and "nothing was changed" in result.output
    assert client.get("/status.json").get_json()["banner"] is None
    with runtime.sessions() as s:
        assert s.scalars(select(AuditEntry).where(AuditEntry.entity == "incident_banner")).all() == []
    # Dates and times are no phone numbers: a plain banner with them still goes up.
    ok = runner.invoke(cli, ["banner", "set", "--ar", "متأخرة حتى 09:30", "--en",
                             "Late until 2026-11-30 09:30", "--by", "ops:amal", "--reason", "outage"])
    assert ok.exit_code == 0, ok.output


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # the HTTP tests cover PostgreSQL
def test_the_wall_in_a_browser(browser_page, runtime, client, runner, live_url, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The page as ops see it; HUDOOR_SCREENSHOTS=1 refreshes docs/screenshots/status.png."""
    phone = Phone(client)
    for _ in range(4):
        phone.dial()
    assert runner.invoke(cli, ["banner", "set", "--severity", "degraded",
                               "--ar", "الرسائل النصية متأخرة. تسجيل الحضور يعمل.",
                               "--en", "Text messages are delayed. Taking attendance works.",
                               "--by", "ops:amal", "--reason", "drill"]).exit_code == 0
    page = browser_page
    page.goto(f"{live_url}/status")
    assert page.is_visible("#banner")
    assert page.eval_on_selector("#banner p[lang=ar]", "el => el.matches(':dir(rtl)')")
    rows = page.locator("#wall tr.grade")
    assert rows.count() >= 12
    first = page.inner_text("#wall tr.grade >> nth=0")
    assert first.startswith("queue urgent")  # consumer lag first
    colour = page.eval_on_selector("#wall tr.grade.green td:last-child",
                                   "el => getComputedStyle(el).backgroundColor")
    assert colour == "rgb(227, 244, 227)"
    shots = ROOT / "docs" / "screenshots" if os.environ.get("HUDOOR_SCREENSHOTS") else tmp_path
    page.screenshot(path=str(shots / "status.png"), full_page=True)

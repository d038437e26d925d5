"""Seeing what you caused: the simulator's SMS inbox on /dev/sms, and the runtime clock in sending."""

from __future__ import annotations

import json
from datetime import date, datetime

from core import calendar
from core.runtime import Runtime
from digests import outbox
from digests.outbox import Draft
from digests.services import build_sender
from gateway.app import create_app
from gateway.cli import cli

ARABIC = "حضور: أحمد غائب اليوم الأحد 29/11. للاستفسار راجعوا المدرسة."
LONG_LATIN = "Hudoor: " + "Omar was absent today. " * 8


def _send_all(runtime) -> None:  # type: ignore[no-untyped-def]
    sender = build_sender(runtime, threads=2)
    try:
        sender.run(until_idle=True, stop_after=30)
    finally:
        sender.close()


def test_dev_sms_shows_what_reached_the_operator(runtime, simulator, client) -> None:  # type: ignore[no-untyped-def]
    sim = simulator()
    day = date(2026, 11, 29)
    with runtime.sessions() as s, s.begin():
        outbox.enqueue(s, [Draft("daily_digest", day, "+201001234567", "ar", ARABIC),
                           Draft("daily_digest", day, "+201201234567", "en", LONG_LATIN)])
    _send_all(runtime)
    assert sim.wait_for_dlrs(10)

    page = client.get("/dev/sms?to=%2B201001234567")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert ARABIC in html and "UCS-2" in html and ">Success<" in html
    assert LONG_LATIN.strip() not in html  # only the chosen number
    everyone = client.get("/dev/sms").get_data(as_text=True)
    assert "GSM-7" in everyone and "<td>2</td>" in everyone  # 190 characters: two segments
    none = client.get("/dev/sms?to=%2B201509999999").get_data(as_text=True)
    assert "No SMS has reached the operators for +201509999999 yet." in none


def test_dev_sms_says_where_sms_went_without_a_simulator(client) -> None:  # type: ignore[no-untyped-def]
    html = client.get("/dev/sms").get_data(as_text=True)
    assert "console provider" in html and "make run" in html


def test_dev_sms_reports_a_simulator_that_does_not_answer(runtime, client) -> None:  # type: ignore[no-untyped-def]
    runtime.config = runtime.config.with_overrides(sms_provider="africastalking",
                                                   at_base_url="http://127.0.0.1:9")
    html = client.get("/dev/sms").get_data(as_text=True)
    assert "did not answer" in html


def test_dev_sms_not_found_in_production(runtime, client) -> None:  # type: ignore[no-untyped-def]
    runtime.config = runtime.config.with_overrides(env="production")
    assert client.get("/dev/sms").status_code == 404


def test_fake_now_reaches_digests_daily_and_the_sender(runtime, simulator) -> None:  # type: ignore[no-untyped-def]
    """HUDOOR_FAKE_NOW on a Sunday after the cut-off: the day's digest is due and leaves now."""
    sim = simulator()
    faked = Runtime(runtime.config.with_overrides(fake_now="2031-03-02T15:45:00"))
    cli_runner = create_app({"TESTING": True, "HUDOOR_RUNTIME": faked}).test_cli_runner()
    daily = cli_runner.invoke(cli, ["digests", "daily"])
    assert daily.exit_code == 0, daily.output
    assert json.loads(daily.output)["day"] == "2031-03-02"  # the faked day, not the machine's
    cutoff = datetime(2031, 3, 2, 15, 30, tzinfo=calendar.CAIRO)
    with faked.sessions() as s, s.begin():
        outbox.enqueue(s, [Draft("daily_digest", date(2031, 3, 2), "+201001234567", "ar", ARABIC,
                                 not_before=cutoff)], faked.clock())
    sent = cli_runner.invoke(cli, ["digests", "send", "--until-idle", "--seconds", "30"])
    assert sent.exit_code == 0, sent.output
    assert json.loads(sent.output)["accepted"] == 1
    assert sim.network.inbox.entries("+201001234567")[0]["text"] == ARABIC
    faked.close()

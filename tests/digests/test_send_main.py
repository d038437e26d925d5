"""The sender's own entry point: what it loads, and that `hudoor digests send` is it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from digests import outbox
from tests.digests.test_digests_crash import HUDOOR, sender_env

HEAVY = ("flask", "werkzeug", "click", "gateway", "core.models", "ussd", "rq", "requests",
         "africastalking", "aiohttp",
         # A fifth of a start-up between them, and a sender parses no number and, on
         # SQLite, speaks no PostgreSQL (issue 16).
         "phonenumbers", "sqlalchemy.dialects.postgresql")


def test_the_sender_loads_no_app_and_no_other_floors_tables() -> None:
    probe = ("import sys; from digests import send_main; "
             "from digests.providers import at_async; "
             f"print([m for m in {HEAVY!r} if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=True, cwd=Path(__file__).resolve().parents[2])
    assert out.stdout.strip() == "[]"


def test_hudoor_digests_send_runs_the_event_loop_sender(runtime, simulator) -> None:  # type: ignore[no-untyped-def]
    sim = simulator()
    with runtime.sessions() as s, s.begin():
        outbox.enqueue(s, [outbox.Draft("daily_digest", runtime.today(), f"+2010{i:08d}", "ar",
                                        f"حضور {i}") for i in range(40)])
    out = subprocess.run([HUDOOR, "digests", "send", "--until-idle", "--seconds", "120"],
                         env=sender_env(runtime), capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    stats = json.loads(out.stdout.strip().splitlines()[-1])
    assert stats["accepted"] == 40 and "plan" in stats["sql_cpu"]  # SQL ran on its thread
    assert sim.network.stats()["accepted"] == 40


def test_a_caller_with_its_own_event_loop_can_still_send(runtime) -> None:  # type: ignore[no-untyped-def]
    # A browser driver or an async job runner already runs a loop in this thread; the
    # sender's loop must run beside it rather than refuse (asyncio.run cannot nest).
    import asyncio

    from digests.providers.console import ConsoleProvider
    from digests.services import build_sender

    runtime.config = runtime.config.with_overrides(quiet_start_hour=0, quiet_end_hour=0)
    with runtime.sessions() as s, s.begin():
        outbox.enqueue(s, [outbox.Draft("daily_digest", runtime.today(), f"+2010{i:08d}", "ar",
                                        f"حضور {i}") for i in range(5)], runtime.clock())
    provider = ConsoleProvider()
    sender = build_sender(runtime, provider, threads=2)

    async def inside_a_running_loop() -> None:
        sender.run(until_idle=True, stop_after=60)

    try:
        asyncio.run(inside_a_running_loop())
    finally:
        sender.close()
    assert sorted(m.msisdn for m in provider.sent) == [f"+2010{i:08d}" for i in range(5)]

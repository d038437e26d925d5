"""kill -9 of sending processes mid-run, then recovery: every row final, nothing sent twice."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sms_support import FINAL, drafts, states, wait_final

from core.models import utcnow
from digests import outbox
from digests.outbox import RetryPolicy
from simulator.network import Faults

HUDOOR = str(Path(sys.executable).parent / "hudoor")
FAULTS = Faults(absent=0.05, buffered=0.1, duplicate_dlr=0.3, late_sent=0.3,
                dlr_delay=(0.05, 0.5))


def sender_env(runtime) -> dict[str, str]:  # type: ignore[no-untyped-def]
    cfg = runtime.config
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUDOOR_")}
    env.update(HUDOOR_DATABASE_URL=cfg.database_url, HUDOOR_REDIS_URL=cfg.redis_url,
               HUDOOR_VAR_DIR=str(cfg.var_dir), HUDOOR_SMS_PROVIDER="africastalking",
               HUDOOR_AT_BASE_URL=cfg.at_base_url, HUDOOR_OPERATOR_CAPS=cfg.operator_caps,
               HUDOOR_QUIET_START_HOUR="0", HUDOOR_QUIET_END_HOUR="0",
               HUDOOR_SMS_RETRY_BASE_SECONDS="1", HUDOOR_SMS_URGENT_SHARE="0",
               HUDOOR_SMS_UNKNOWN_GRACE_SECONDS="600",
               HUDOOR_SHAPER_GUARD_MS=str(cfg.shaper_guard_ms))
    return env


@pytest.mark.slow
@pytest.mark.timeout(1800)  # polls for its end state; a busy single core is slow
def test_kill_9_senders_then_recover(runtime, simulator) -> None:  # type: ignore[no-untyped-def]
    sim = simulator(caps="vodafone=300,orange=300,etisalat=300,we=300", faults=FAULTS, seed=9)
    total = 3000
    with runtime.sessions() as s, s.begin():
        outbox.enqueue(s, drafts(total))
    env = sender_env(runtime)
    rng = random.Random(11)
    for _ in range(4):
        # Two senders at once, as on two machines; both killed without warning, mid-send:
        # once messages flow (a slow machine takes longer to start them), at a random moment.
        received = sim.network.stats()["received"]
        procs = [subprocess.Popen([HUDOOR, "digests", "send", "--seconds", "600"], env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                 for _ in range(2)]
        started = time.monotonic()
        while (sim.network.stats()["received"] == received and time.monotonic() - started < 120
               and set(states(runtime)) - FINAL - {"submitted", "sent"}):  # anything to send
            time.sleep(0.05)
        time.sleep(rng.uniform(0.0, 1.5))
        for proc in procs:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
    # Recovery: fresh senders finish the queue (retries included); in-doubt rows wait
    # for their DLRs. Poll for that end state with a deadline, not a count of runs: a
    # slow machine spends more of each run starting up and gives more moments back.
    started = time.monotonic()
    while time.monotonic() - started < 600:
        proc = subprocess.run([HUDOOR, "digests", "send", "--seconds", "4"], env=env,
                              capture_output=True, timeout=300)
        assert proc.returncode == 0, proc.stderr.decode()[-2000:]
        assert sim.wait_for_dlrs(300)  # a faster sender leaves a longer DLR backlog
        if set(states(runtime)) <= FINAL | {"submitted"}:
            break
    with runtime.sessions() as s, s.begin():
        in_doubt = outbox.recover_in_doubt(s, utcnow() + timedelta(hours=1), timedelta(minutes=1),
                                           RetryPolicy(quiet_start_hour=0, quiet_end_hour=0))
    counts = wait_final(runtime, 60)
    stats = sim.network.stats()
    if not set(counts) <= FINAL:
        from sqlalchemy import func, select

        from digests.models import DeliveryReport
        with runtime.sessions() as s:
            print(dict(s.execute(select(DeliveryReport.applied, func.count())
                                 .group_by(DeliveryReport.applied)).all()))
        print(stats)
    assert set(counts) <= FINAL, counts
    assert sum(counts.values()) == total
    assert stats["duplicates"] == 0, stats
    # Whatever was handed over got delivered or failed; in-doubt rows that never
    # reached the simulator are the only dead letters besides its failures.
    assert counts["delivered"] >= stats["accepted"] - stats["duplicates"] - total * 0.1
    print(f"\nkill -9 run: {counts}, in doubt dead-lettered: {in_doubt}, simulator: "
          f"received {stats['received']} accepted {stats['accepted']} "
          f"throttled {stats['throttled']} duplicates {stats['duplicates']}")

"""Chaos: every write fault on, write-back workers SIGKILLed at random points; then reconcile.

After reconciliation every school-day agrees, nothing is duplicated upstream and nothing
is lost. Kill points are chosen by progress (rows settled), not by time, so the test
asserts the same invariants on a fast or a busy machine.
"""

from __future__ import annotations

import os
import random
import signal
import multiprocessing
import time
from collections import Counter
from datetime import date, timedelta

from sqlalchemy import func, select

from core.models import WritebackItem
from core.reconcile import reconcile_day
from sandbox.write_faults import WriteFaults
from core.writeback import service
from tests.writeback.support import confirm_days, local_school_days

DAYS = [d for d in (date(2026, 11, 1) + timedelta(days=i) for i in range(20))
        if d.weekday() in (6, 0, 1, 2, 3)][:10]
ALL_FAULTS = WriteFaults(error_rate=0.15, timeout_rate=0.04, timeout_ms=800, slow_rate=0.1,
                         slow_ms=20, drop_rate=0.1, duplicate_rate=0.15, reorder_rate=0.1,
                         corrupt_rate=0.1, seed=9)


def _settled(rt) -> int:  # type: ignore[no-untyped-def]
    with rt.sessions() as s:
        return int(s.scalar(select(func.count()).select_from(WritebackItem)
                            .where(WritebackItem.state != "pending")) or 0)


def _drain_in_child(config) -> None:  # type: ignore[no-untyped-def]
    """A write-back worker process: its own runtime and connections, draining until idle."""
    from core.runtime import Runtime

    rt = Runtime(config)
    try:
        service.drain(rt, until_idle=True)
    finally:
        os._exit(0)


def _worker(rt):  # type: ignore[no-untyped-def]
    """Start a worker process (forked: no interpreter start-up on a busy machine)."""
    config = rt.config.with_overrides(writeback_timeout=0.3, writeback_batch=4,
                                      writeback_max_attempts=4, writeback_window_days=3650)
    proc = multiprocessing.get_context("fork").Process(target=_drain_in_child, args=(config,))
    proc.start()
    return proc


def test_chaos_converges_after_reconciliation(wb, sandbox) -> None:  # type: ignore[no-untyped-def]
    rnd = random.Random(2026)
    confirm_days(wb, DAYS, seed=3, late_share=0.5)
    sandbox.write_faults.set(ALL_FAULTS)
    kills = 0
    for _ in range(5):
        before = _settled(wb)
        target = before + rnd.randint(0, 6)  # 0: killed before it settles anything
        proc = _worker(wb)
        while proc.is_alive() and _settled(wb) < target:
            time.sleep(0.01)
        if proc.is_alive():
            os.kill(proc.pid, signal.SIGKILL)
            kills += 1
        proc.join(timeout=30)
    assert kills >= 1
    # The last worker lives: whatever is left is sent (or dead-lettered).
    wb.config = wb.config.with_overrides(writeback_timeout=0.3, writeback_window_days=3650,
                                         reconcile_rounds=12)
    service.drain(wb, until_idle=True)
    client = wb.attendance_client()
    outcomes: Counter[str] = Counter()
    for day in DAYS:
        for r in reconcile_day(wb.sessions, client, day, actor="chaos", rounds=12, clock=wb.clock):
            outcomes[r.outcome] += 1
    client.close()
    assert outcomes["differing"] == 0, outcomes
    assert sum(outcomes.values()) == 2 * len(DAYS)
    assert outcomes["repaired"] > 0  # the faults did bite
    for day in DAYS:
        for school, held in local_school_days(wb, day).items():
            upstream = sandbox.attendance.read(school, day.isoformat())
            students = Counter(s for cd in upstream for s, _ in cd.marks)
            assert not [s for s, n in students.items() if n > 1]  # 0 duplicated upstream
            assert sorted(upstream, key=lambda c: c.class_id) == \
                sorted(held, key=lambda c: c.class_id)  # 0 lost, 0 stale
    counts = sandbox.attendance.counts
    assert counts.dropped and counts.corrupted and counts.parked and counts.duplicate

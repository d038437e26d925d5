"""RQ jobs of the write-back: thin wrappers on the `writeback` queue, which is shed first."""

from __future__ import annotations

from typing import Any

from core import capture_load
from core.runtime import worker_runtime
from core.writeback import service


def send_due() -> dict[str, Any]:
    """Send one batch of due write-backs, unless capture work is waiting (then skip, saying so)."""
    rt = worker_runtime()
    waiting = service.urgent_waiting(rt)
    if waiting:
        return {"skipped": f"shed: {waiting} urgent job(s) waiting"}
    pressure = capture_load.Signal(rt.redis).reason()
    if pressure:
        return {"skipped": f"shed: capture under pressure ({pressure})"}
    return service.drain(rt)


def reconcile_nightly() -> dict[str, Any]:
    """Reconcile last school day's school-days, and any day changed in the last 24 h."""
    rt = worker_runtime()
    out: dict[str, Any] = {}
    for day in service.nightly_days(rt):
        reports = service.reconcile(rt, day, actor="scheduler")
        out[day.isoformat()] = {o: sum(1 for r in reports if r["outcome"] == o)
                                for o in ("agreed", "repaired", "differing")}
    return out


def expire_adjustments() -> int:
    """Expire adjustment requests nobody decided within the window (audited, nightly)."""
    from core import adjustments

    rt = worker_runtime()
    with rt.sessions() as session, session.begin():
        return adjustments.expire_overdue(session, rt.config, rt.clock())

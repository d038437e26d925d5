"""Core RQ jobs (sync, USSD warm-up): thin wrappers that build the worker's runtime and call the domain code."""

from __future__ import annotations

from typing import Any

from core.runtime import worker_runtime
from core.sync.delta import run_delta
from core.sync.full import run_full


def sync_delta() -> dict[str, Any]:
    """Apply upstream's change feed (scheduled every HUDOOR_SYNC_INTERVAL_SECONDS)."""
    rt = worker_runtime()
    return run_delta(rt.sessions, rt.upstream(), actor="scheduler").as_dict()


def sync_full(school: str | None = None) -> dict[str, Any]:
    """Run a full roster sync of every school, or one."""
    rt = worker_runtime()
    return run_full(rt.sessions, rt.upstream(), school=school, actor="worker").as_dict()


def anchor_audit() -> str | None:
    """Append the audit chain's head to the anchor file (scheduled); raises if the chain broke."""
    from core import audit_anchor

    rt = worker_runtime()
    with rt.sessions() as session:
        made = audit_anchor.anchor_now(session, rt.config.audit_anchor_path, rt.clock())
    return made.line() if made else None


def warm_ussd() -> int:
    """Warm the USSD hop caches before the first bell (scheduled on school mornings)."""
    from ussd.warmup import warm_now

    return warm_now(worker_runtime())


def gate_evaluate() -> dict[str, str]:
    """Evaluate every school's parity gate on its completed weeks (scheduled daily)."""
    from sqlalchemy import select

    from core import calendar_store
    from core.gate import service
    from core.models import School

    rt = worker_runtime()
    with rt.sessions() as session, session.begin():
        cal = calendar_store.current(session, rt.config)
        return {code: service.evaluate(session, sid, cal, rt.clock(), actor="scheduler").state.value
                for sid, code in session.execute(select(School.id, School.upstream_id)
                                                 .where(School.active)).all()}


def probe_operators() -> list[str]:
    """Probe every operator's USSD session and SMS round trip (scheduled, U5)."""
    from gateway.probes import run

    return [line.text() for line in run(worker_runtime())]


def cohort_health() -> list[dict[str, Any]]:
    """Record a health sample for every feature mid-rollout; hold those out of bounds (scheduled)."""
    from gateway.health import sample

    return sample(worker_runtime())


def sla_overdue() -> list[int]:
    """Record an audited escalation for each ticket newly past its SLA (scheduled; core.ticket_sla)."""
    from core import ticket_sla

    rt = worker_runtime()
    with rt.sessions() as session, session.begin():
        return ticket_sla.escalate_overdue(session, rt.clock())


def retention_purge() -> dict[str, int]:
    """Apply the retention schedule (scheduled nightly; core.retention)."""
    from core import retention

    rt = worker_runtime()
    with rt.sessions() as session, session.begin():
        return {o.rule: o.rows for o in retention.run(session, rt.clock(),
                                                        secret=rt.config.secret_key)}

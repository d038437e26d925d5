"""Synthetic probes of each operator's zero-rated flows: results, streaks and alerts (U5).

A probe is one USSD session or one SMS round trip, per operator, on a schedule. Results
are rows (never only Redis). A failure right after a failure of the same operator and
kind raises the alert: the wall turns red and /metrics says `hudoor_probe_alert 1`; one
failure alone is amber (a blip, or a real start — the next probe tells).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.models import ProbeResult

KINDS = ("ussd", "sms")


@dataclass(frozen=True)
class Latest:
    operator: str
    kind: str
    ok: bool | None
    latency_ms: int | None
    detail: str
    at: datetime
    failures_in_a_row: int
    alert: bool

    def as_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "latency_ms": self.latency_ms, "detail": self.detail,
                "at": self.at.isoformat(), "failures_in_a_row": self.failures_in_a_row,
                "alert": self.alert}


def start(session: Session, operator: str, kind: str, now: datetime, ref: int | None = None) -> ProbeResult:
    """Record a probe that has started and waits for its outcome (an SMS round trip)."""
    row = ProbeResult(operator=operator, kind=kind, started_at=now, ref=ref, detail="waiting",
                      alert=False)
    session.add(row)
    session.flush()
    return row


def finish(session: Session, row: ProbeResult, *, ok: bool, latency_ms: int | None, detail: str,
           now: datetime) -> ProbeResult:
    """Record a probe's outcome; a second failure in a row raises the alert."""
    row.ok, row.latency_ms, row.detail, row.finished_at = ok, latency_ms, detail[:200], now
    if not ok:
        before = _finished(session, row.operator, row.kind, before_id=row.id, limit=1)
        row.alert = bool(before) and before[0].ok is False
    session.flush()
    return row


def record(session: Session, operator: str, kind: str, *, ok: bool, latency_ms: int | None,
           detail: str, now: datetime) -> ProbeResult:
    """Record a probe that finished at once (a USSD session)."""
    return finish(session, start(session, operator, kind, now), ok=ok, latency_ms=latency_ms,
                  detail=detail, now=now)


def waiting(session: Session, kind: str) -> list[ProbeResult]:
    """Probes still waiting for their outcome, oldest first."""
    return list(session.scalars(select(ProbeResult).where(ProbeResult.kind == kind,
                                                          ProbeResult.ok.is_(None))
                                .order_by(ProbeResult.id)))


def _finished(session: Session, operator: str, kind: str, *, before_id: int | None = None,
              limit: int = 50) -> list[ProbeResult]:
    q = select(ProbeResult).where(ProbeResult.operator == operator, ProbeResult.kind == kind,
                                  ProbeResult.ok.is_not(None))
    if before_id is not None:
        q = q.where(ProbeResult.id < before_id)
    return list(session.scalars(q.order_by(ProbeResult.id.desc()).limit(limit)))


def latest(session: Session, operators: list[str]) -> dict[str, dict[str, Latest]]:
    """Each operator's newest finished probe of each kind, with its failure streak."""
    out: dict[str, dict[str, Latest]] = {}
    for operator in operators:
        for kind in KINDS:
            rows = _finished(session, operator, kind, limit=20)
            if not rows:
                continue
            streak = 0
            for r in rows:
                if r.ok:
                    break
                streak += 1
            top = rows[0]
            out.setdefault(operator, {})[kind] = Latest(
                operator, kind, top.ok, top.latency_ms, top.detail, top.finished_at or top.started_at,
                streak, streak >= 2)
    return out

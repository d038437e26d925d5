"""The SMS section of /status: outbox by state, DLQ, per-operator rate vs cap, delivery ratio."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from redis.exceptions import RedisError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from digests.models import OutboxMessage, OutboxState
from shaping.bucket import RateShaper
from shaping.policy import OperatorCaps

RATE_WINDOW = timedelta(seconds=60)  # the send rate shown is the mean over the last minute
RATIO_WINDOW = timedelta(hours=24)
WAITING = (OutboxState.QUEUED.value, OutboxState.FAILED.value)  # not yet handed over


def _age(now: datetime, then: datetime | None) -> float | None:
    return round((now - then).total_seconds(), 1) if then else None


def _operators(session: Session, shaper: RateShaper, caps: OperatorCaps,
               now: datetime) -> dict[str, Any]:
    sent = dict(session.execute(
        select(OutboxMessage.operator, func.count())
        .where(OutboxMessage.submitted_at >= now - RATE_WINDOW)
        .group_by(OutboxMessage.operator)).all())
    out: dict[str, Any] = {}
    for operator, cap in caps.caps:
        try:
            allowed = shaper.effective_rate(operator)
            throttle = "backed off" if allowed < cap else "at cap"
        except RedisError:
            allowed, throttle = None, "unknown (Redis unreachable)"
        out[operator.value] = {
            "cap_per_second": cap,
            "sent_per_second": round(sent.get(operator.value, 0) / RATE_WINDOW.total_seconds(), 2),
            "allowed_per_second": round(allowed, 1) if allowed is not None else None,
            "throttle": throttle}
    return out


def sms_status(session: Session, shaper: RateShaper, caps: OperatorCaps,
               now: datetime) -> dict[str, Any]:
    """Return what /status shows about SMS, as plain data."""
    by_state = {state.value: 0 for state in OutboxState}
    by_state.update(session.execute(select(OutboxMessage.state, func.count())
                                    .group_by(OutboxMessage.state)).all())
    oldest_created, next_due = session.execute(
        select(func.min(OutboxMessage.created_at), func.min(OutboxMessage.next_attempt_at))
        .where(OutboxMessage.state.in_(WAITING))).one()
    finished = dict(session.execute(
        select(OutboxMessage.state, func.count())
        .where(OutboxMessage.finished_at >= now - RATIO_WINDOW,
               OutboxMessage.state.in_((OutboxState.DELIVERED.value,
                                        OutboxState.DEAD_LETTERED.value)))
        .group_by(OutboxMessage.state)).all())
    done = sum(finished.values())
    delivered = finished.get(OutboxState.DELIVERED.value, 0)
    return {
        "outbox": by_state,
        "dlq": by_state[OutboxState.DEAD_LETTERED.value],
        "oldest_waiting_age_seconds": _age(now, oldest_created),
        # When nothing waiting is due yet (the cut-off, quiet hours, a retry): when it will be.
        "next_due_at": next_due.isoformat() if next_due and next_due > now else None,
        "delivery_ratio_24h": round(delivered / done, 3) if done else None,
        "finished_24h": done,
        "operators": _operators(session, shaper, caps, now),
        "provider": provider_health(session, now),
    }


PROVIDER_WINDOW = timedelta(minutes=10)


def provider_health(session: Session, now: datetime) -> dict[str, Any]:
    """Say plainly whether the SMS provider takes messages: the last ten minutes' answers."""
    since = now - PROVIDER_WINDOW
    failed = session.scalar(select(func.count()).select_from(OutboxMessage).where(
        OutboxMessage.updated_at >= since, OutboxMessage.failure_reason.is_not(None),
        OutboxMessage.state.in_((OutboxState.FAILED.value, OutboxState.DEAD_LETTERED.value)))) or 0
    accepted = session.scalar(select(func.count()).select_from(OutboxMessage).where(
        OutboxMessage.submitted_at >= since,
        OutboxMessage.state.in_((OutboxState.SENT.value, OutboxState.DELIVERED.value)))) or 0
    reason = session.scalar(select(OutboxMessage.failure_reason).where(
        OutboxMessage.updated_at >= since, OutboxMessage.failure_reason.is_not(None))
        .order_by(OutboxMessage.updated_at.desc()).limit(1))
    answered = failed + accepted
    state = "ok" if not failed else "down" if not accepted else "degraded"
    words = {"ok": "the provider takes messages",
             "degraded": f"{failed} of {answered} sends failed in 10 min; failed ones retry",
             "down": f"every send failed in 10 min ({reason}); messages wait in the outbox and retry"}
    return {"state": state, "failed_10min": failed, "accepted_10min": accepted,
            "failure_share": round(failed / answered, 3) if answered else None,
            "last_failure": reason, "says": words[state]}


"""Helpers for SMS pipeline tests: drafts over every operator, waiting for final states."""

from __future__ import annotations

import time
from datetime import date

from sqlalchemy import func, select

from core.runtime import Runtime
from digests.models import OutboxMessage
from digests.outbox import Draft

DAY = date(2026, 11, 29)
PREFIXES = ("10", "11", "12", "15")  # vodafone, etisalat, orange, we
FINAL = {"delivered", "dead_lettered"}


def drafts(n: int, day: date = DAY) -> list[Draft]:
    """Return n digests spread over the four operators, one per MSISDN."""
    return [Draft("daily_digest", day, f"+20{PREFIXES[i % 4]}{i:08d}", "ar", f"حضور {i}")
            for i in range(n)]


def states(runtime: Runtime) -> dict[str, int]:
    with runtime.sessions() as s:
        return dict(s.execute(select(OutboxMessage.state, func.count())  # type: ignore[arg-type]
                              .group_by(OutboxMessage.state)).all())


def wait_final(runtime: Runtime, timeout: float) -> dict[str, int]:
    """Wait until every outbox row is delivered or dead-lettered; return the state counts."""
    deadline = time.monotonic() + timeout
    while True:
        counts = states(runtime)
        if set(counts) <= FINAL or time.monotonic() > deadline:
            return counts
        time.sleep(0.2)

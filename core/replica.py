"""Route bulk reads to a streaming read replica while it keeps up; fall back to the primary.

Writes, and reads that decide writes (a sync diffing what it wrote a page ago), always use
the primary. Bulk reads (status pages, the admin API, report-day composition) ask for a
reader: the replica when it is reachable, replaying, and no further behind than
HUDOOR_REPLICA_MAX_LAG_SECONDS — else the primary, with the reason kept for /status.
A reader that must see everything committed so far asks `fresh=True`: the replica only if
it has replayed up to the primary's current WAL position (read-your-writes by LSN).

Lag is measured, not guessed: the primary's `pg_current_wal_insert_lsn()` (every commit
so far, even one an asynchronous commit has not flushed yet) against the replica's
`pg_last_wal_replay_lsn()`. Equal positions mean no lag however old the last transaction;
otherwise the lag in time is how long ago the replica replayed its last transaction.
The check is cached for a second per process, so a page of reads costs one probe.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker


@dataclass(frozen=True)
class ReplicaState:
    configured: bool
    serving: bool  # bulk reads go to the replica now
    reason: str
    lag_bytes: int | None = None
    lag_seconds: float | None = None

    def as_json(self) -> dict[str, object]:
        return {"configured": self.configured, "serving_reads": self.serving, "reason": self.reason,
                "lag_bytes": self.lag_bytes,
                "lag_seconds": None if self.lag_seconds is None else round(self.lag_seconds, 3)}


def lsn(value: str) -> int:
    """Return a PostgreSQL LSN ('16/B374D848') as a byte position."""
    high, low = value.split("/")
    return (int(high, 16) << 32) + int(low, 16)


class ReplicaRouter:
    """Pick the sessions a read uses: the replica while it keeps up, else the primary."""

    def __init__(self, primary: sessionmaker[Session], primary_engine: Engine,
                 replica: sessionmaker[Session] | None, replica_engine: Engine | None, *,
                 max_lag_seconds: float, recheck_seconds: float = 1.0,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self._primary, self._primary_engine = primary, primary_engine
        self._replica, self._replica_engine = replica, replica_engine
        self._max_lag = max_lag_seconds
        self._recheck = recheck_seconds
        self._monotonic = monotonic
        self._cached: tuple[float, ReplicaState] | None = None

    def reader(self, *, fresh: bool = False) -> sessionmaker[Session]:
        """Return the sessions a bulk read should use (`fresh`: nothing committed may be missing)."""
        if self._replica is None:
            return self._primary
        state = self.measure() if fresh else self.state()
        if not state.serving or (fresh and state.lag_bytes != 0):
            return self._primary
        return self._replica

    def state(self) -> ReplicaState:
        """Return the replica's state, measured at most once per `recheck_seconds`."""
        now = self._monotonic()
        if self._cached is None or now - self._cached[0] >= self._recheck:
            self._cached = (now, self.measure())
        return self._cached[1]

    def measure(self) -> ReplicaState:
        """Probe the primary and the replica now."""
        if self._replica_engine is None:
            return ReplicaState(False, False, "no replica configured (HUDOOR_REPLICA_URL)")
        try:
            with self._primary_engine.connect() as conn:
                primary_at = lsn(conn.execute(text("SELECT pg_current_wal_insert_lsn()::text")).scalar_one())
        except SQLAlchemyError as exc:
            return ReplicaState(True, False, f"primary unreachable: {type(exc).__name__}")
        try:
            with self._replica_engine.connect() as conn:
                row = conn.execute(text(
                    "SELECT pg_is_in_recovery(), pg_last_wal_replay_lsn()::text, "
                    "EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp())")).one()
        except SQLAlchemyError as exc:
            return ReplicaState(True, False, f"replica unreachable: {type(exc).__name__}")
        in_recovery, replayed, since_last = row
        if not in_recovery or replayed is None:
            return ReplicaState(True, False, "not a replaying standby (promoted?): reads stay on the primary")
        behind = max(0, primary_at - lsn(replayed))
        seconds = 0.0 if behind == 0 else float(since_last or 0.0)
        if behind and seconds > self._max_lag:
            return ReplicaState(True, False, f"lagging {seconds:.1f} s (> {self._max_lag:g} s): "
                                "reads on the primary", behind, seconds)
        return ReplicaState(True, True, "serving reads", behind, seconds)

    def close(self) -> None:
        """Release the replica's connections."""
        if self._replica_engine is not None:
            self._replica_engine.dispose()

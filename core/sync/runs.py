"""Start, resume, checkpoint and finish sync runs; the cursor commits with each page."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Callable

from sqlalchemy import select, text
from sqlalchemy.orm import Session, sessionmaker

from core.models import SyncRun, utcnow
from core.sync.counts import Counts
from core.upstream.adapter import DropCounter

Progress = Callable[[str], None]

# Transaction-scoped locks are not enough for a run that spans many transactions:
# a session-level advisory lock on PostgreSQL keeps two syncs of one kind apart.
_PG_SYNC_LOCK = {"full": 72_017_101, "delta": 72_017_102}


class SyncBusy(RuntimeError):
    """Another sync of the same kind holds the lock."""


@dataclass
class SyncReport:
    """The outcome of one run, as the CLI and /status show it."""

    run_id: int
    kind: str
    scope: str
    status: str
    counts: Counts
    dropped_fields: dict[str, int]
    resumed: bool = False
    seconds: float = 0.0

    def summary(self) -> str:
        """Return a one-line human summary."""
        c = self.counts
        head = "nothing changed" if c.changes == 0 else f"{c.changes} changes"
        return (f"{self.kind} sync run {self.run_id} ({self.scope}) {self.status}: {head}; "
                f"seen {c.seen}, added {c.added}, changed {c.changed}, moved {c.moved}, "
                f"deactivated {c.deactivated}, reactivated {c.reactivated}, revoked {c.revoked}, "
                f"quarantined {c.quarantined}, duplicates flagged {c.duplicates_flagged}, "
                f"dropped fields {c.dropped_fields}"
                + (" (resumed after interruption)" if self.resumed else "")
                + f" in {self.seconds:.1f}s")

    def as_dict(self) -> dict[str, Any]:
        return {"run_id": self.run_id, "kind": self.kind, "scope": self.scope,
                "status": self.status, "counts": json.loads(self.counts.to_json()),
                "dropped_fields": self.dropped_fields, "resumed": self.resumed,
                "seconds": round(self.seconds, 3)}


class RunLock:
    """Hold the PostgreSQL advisory lock for a kind of sync (no-op on SQLite)."""

    def __init__(self, factory: sessionmaker[Session], kind: str) -> None:
        self.factory, self.kind = factory, kind
        self.session: Session | None = None

    def __enter__(self) -> "RunLock":
        session = self.factory()
        if session.get_bind().dialect.name == "postgresql":
            got = session.execute(text("SELECT pg_try_advisory_lock(:k)"),
                                  {"k": _PG_SYNC_LOCK[self.kind]}).scalar_one()
            session.commit()
            if not got:
                session.close()
                raise SyncBusy(f"another {self.kind} sync is running")
        self.session = session
        return self

    def __exit__(self, *exc: object) -> None:
        assert self.session is not None
        if self.session.get_bind().dialect.name == "postgresql":
            self.session.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _PG_SYNC_LOCK[self.kind]})
            self.session.commit()
        self.session.close()


def open_run(session: Session, kind: str, scope: str) -> tuple[SyncRun, bool]:
    """Resume the interrupted run of this kind and scope, or start a new one."""
    run = session.scalars(select(SyncRun).where(SyncRun.kind == kind, SyncRun.scope == scope,
                                                SyncRun.status == "running")
                          .order_by(SyncRun.id.desc()).limit(1)).first()
    if run is not None:
        return run, True
    run = SyncRun(kind=kind, scope=scope, status="running", cursor="{}", counts="{}",
                  dropped_fields="{}")
    session.add(run)
    session.flush()
    return run, False


def checkpoint(run: SyncRun, cursor: dict[str, Any], page: Counts, dropped: DropCounter) -> None:
    """Fold a page's counts into the run row and move its cursor (same transaction as the page)."""
    run.cursor = json.dumps(cursor)
    run.counts = Counts.from_json(run.counts).add(page).to_json()
    total = json.loads(run.dropped_fields or "{}")
    for name, n in dropped.items():
        total[name] = total.get(name, 0) + n
    run.dropped_fields = json.dumps(total, sort_keys=True)
    dropped.clear()


def finish(run: SyncRun, status: str, error: str | None = None) -> None:
    """Close the run with a final status."""
    run.status, run.finished_at, run.error = status, utcnow(), error


def report(run: SyncRun, resumed: bool, seconds: float) -> SyncReport:
    """Build the report of a run from its row."""
    return SyncReport(run.id, run.kind, run.scope, run.status, Counts.from_json(run.counts),
                      json.loads(run.dropped_fields or "{}"), resumed, seconds)

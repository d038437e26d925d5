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
from core.upstream.client import UpstreamError
from core.upstream.versions import SchemaVersionRefused

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
    """Resume the interrupted run of this kind and scope, or start a new one.

    A run killed mid-way is still `running` and is resumed page-exact. A run that
    `failed` stays failed (its error is the record); a full sync after it starts a new
    run at the beginning of the school it failed in, since that school's earlier pages
    were marked seen by the failed run, not by the new one.
    """
    latest = session.scalars(select(SyncRun).where(SyncRun.kind == kind, SyncRun.scope == scope)
                             .order_by(SyncRun.id.desc()).limit(1)).first()
    if latest is not None and latest.status == "running":
        return latest, True
    cursor: dict[str, Any] = {}
    if kind == "full" and latest is not None and latest.status == "failed":
        cursor = {"school_index": int(json.loads(latest.cursor or "{}").get("school_index", 0)),
                  "page_token": None}
    run = SyncRun(kind=kind, scope=scope, status="running", cursor=json.dumps(cursor),
                  counts="{}", dropped_fields="{}")
    session.add(run)
    session.flush()
    return run, bool(cursor.get("school_index"))


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


def describe(exc: BaseException) -> str:
    """Say what stopped a run: our own errors in full, others by class only (they may hold data)."""
    if isinstance(exc, (UpstreamError, SchemaVersionRefused, SyncBusy)):
        return f"{type(exc).__name__}: {exc}"[:500]
    return f"{type(exc).__name__} (details in the process log)"


def fail(session: Session, run_id: int, exc: BaseException) -> None:
    """Close a run that stopped on `exc` as failed, in a transaction of its own."""
    session.rollback()
    with session.begin():
        run = session.get(SyncRun, run_id, populate_existing=True)
        if run is not None and run.status == "running":
            finish(run, "failed", describe(exc))


def report(run: SyncRun, resumed: bool, seconds: float) -> SyncReport:
    """Build the report of a run from its row."""
    return SyncReport(run.id, run.kind, run.scope, run.status, Counts.from_json(run.counts),
                      json.loads(run.dropped_fields or "{}"), resumed, seconds)

"""Delta sync: apply upstream's change feed after our cursor, one page per transaction."""

from __future__ import annotations

import time
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from core import audit
from core.access import deactivate, revoke_access
from core.models import IdentityStatus, Person, SyncCursor, utcnow
from core.sync import runs
from core.sync.catalog import Catalog, upsert_classes, upsert_schools
from core.sync.counts import Counts
from core.sync.writer import REVOKING, RunContext, apply_people, quarantine
from core.upstream.adapter import DropCounter, Rejected
from core.upstream.client import UpstreamClient

CURSOR = "delta"


def _when(raw: Any) -> datetime | None:
    if not isinstance(raw, str):
        return None
    try:
        value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def read_cursor(session: Session) -> str:
    """Return the committed delta cursor ("0" before the first delta sync)."""
    row = session.get(SyncCursor, CURSOR)
    return row.value if row else "0"


def _store_cursor(session: Session, value: str) -> None:
    row = session.get(SyncCursor, CURSOR)
    if row is None:
        session.add(SyncCursor(name=CURSOR, value=value, updated_at=utcnow()))
    else:
        row.value, row.updated_at = value, utcnow()


def run_delta(factory: sessionmaker[Session], client: UpstreamClient, *, actor: str = "sync",
              max_pages: int | None = None, progress: runs.Progress | None = None) -> runs.SyncReport:
    """Apply every change after the stored cursor; safe to kill and rerun at any point."""
    started = time.monotonic()
    say = progress or (lambda _msg: None)
    with runs.RunLock(factory, "delta"), factory() as session:
        with session.begin():
            for stale in session.scalars(select(runs.SyncRun).where(
                    runs.SyncRun.kind == "delta", runs.SyncRun.status == "running")):
                runs.finish(stale, "interrupted")  # its pages committed; the cursor says where
            run, _ = runs.open_run(session, "delta", "all")
            cursor = read_cursor(session)
            ctx = RunContext(run.id, f"{actor}:run-{run.id}", Catalog.load(session), DropCounter(),
                             mark_seen=False, observed_at=utcnow())
        pages = 0
        while max_pages is None or pages < max_pages:
            page = client.changes(cursor)
            if not page.changes:
                break
            _refresh_catalog(session, client, ctx, page.changes)
            with session.begin():
                ctx.dropped.clear()
                counts = _apply_changes(session, ctx, page.changes)
                _store_cursor(session, page.next_cursor)
                runs.checkpoint(run, {"cursor": page.next_cursor}, counts, ctx.dropped)
            pages += 1
            say(f"page {pages}: {len(page.changes)} changes, cursor {page.next_cursor}")
            if page.next_cursor == cursor:
                break
            cursor = page.next_cursor
        with session.begin():
            runs.finish(run, "done")
        return runs.report(run, False, time.monotonic() - started)


def _refresh_catalog(session: Session, client: UpstreamClient, ctx: RunContext,
                     changes: list[Any]) -> None:
    """Fetch schools and classes a page mentions that Hudoor has not seen yet."""
    unknown_schools, stale_schools = False, set()
    for ch in changes:
        if not (isinstance(ch, dict) and ch.get("type") == "upsert"):
            continue
        school, person = ch.get("school_id"), ch.get("person")
        if not isinstance(school, str):
            continue
        if school not in ctx.catalog.schools:
            unknown_schools = True
            stale_schools.add(school)
        class_ids = person.get("class_ids") if isinstance(person, dict) else None
        if isinstance(class_ids, list) and any(
                isinstance(c, str) and c not in ctx.catalog.classes for c in class_ids):
            stale_schools.add(school)
    if not stale_schools:
        return
    with session.begin():
        if unknown_schools:
            upsert_schools(session, client.schools(), ctx.catalog, ctx.actor)
        for school in sorted(stale_schools):
            if school in ctx.catalog.schools:
                upsert_classes(session, ctx.catalog.schools[school], client.classes(school),
                               ctx.catalog, ctx.actor)


def _apply_changes(session: Session, ctx: RunContext, changes: list[Any]) -> Counts:
    """Apply changes in feed order, batching runs of consecutive upserts."""
    counts, batch = Counts(), []
    for ch in changes:
        kind = ch.get("type") if isinstance(ch, dict) else None
        if kind == "upsert" and isinstance(ch.get("school_id"), str):
            batch.append((ch.get("person"), ch["school_id"]))
            continue
        if batch:
            counts.add(apply_people(session, batch, ctx, reason="upstream delta feed"))
            batch = []
        counts.add(_apply_one(session, ctx, ch, kind))
    if batch:
        counts.add(apply_people(session, batch, ctx, reason="upstream delta feed"))
    return counts


def _apply_one(session: Session, ctx: RunContext, ch: Any, kind: Any) -> Counts:
    counts = Counts(seen=1)
    pid = ch.get("person_id") if isinstance(ch, dict) else None
    changed_at = _when(ch.get("changed_at")) if isinstance(ch, dict) else None
    person = (session.scalars(select(Person).where(Person.upstream_id == pid)).first()
              if isinstance(pid, str) else None)
    problem = None
    if kind not in ("leave", "status"):
        problem = f"unknown change type {str(kind)[:20]!r} or malformed upsert"
    elif changed_at is None:
        problem = "changed_at missing or malformed"
    elif person is None:
        problem = f"person {str(pid)[:64]} unknown to Hudoor"
    elif kind == "status" and ch.get("status") not in {s.value for s in IdentityStatus}:
        problem = "status unknown"
    if problem is not None:
        quarantine(session, ctx, None, [Rejected(pid if isinstance(pid, str) else None, problem,
                                                 {"type": str(kind)[:20]})])
        counts.quarantined = 1
        return counts
    assert person is not None and changed_at is not None
    if kind == "leave":
        counts.deactivated = deactivate(session, [person.id], changed_at, actor=ctx.actor,
                                        reason="upstream says the person left")
        return counts
    status = ch["status"]
    if person.status == status:
        counts.unchanged = 1
        return counts
    old, person.status, person.updated_at = person.status, status, utcnow()
    counts.status_changed = 1
    audit.record(session, actor=ctx.actor, action="person.status", entity="person",
                 entity_id=person.id, reason="upstream identity status change",
                 data={"from": old, "to": status, "changed_at": changed_at.isoformat()})
    if status in REVOKING and old not in REVOKING:
        revoke_access(session, person.id, status, changed_at, actor=ctx.actor,
                      reason=f"upstream identity status {status}")
        counts.revoked = 1
    return counts

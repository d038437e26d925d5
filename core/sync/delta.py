"""Delta sync: apply upstream's change feed after our cursor, one page per transaction."""

from __future__ import annotations

import time
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from core import audit
from core.access import deactivate, revoke_many
from core.models import IdentityStatus, Person, SyncCursor, utcnow
from core.sync import runs
from core.sync.catalog import Catalog, upsert_classes, upsert_schools
from core.sync.counts import Counts
from core.sync.writer import REVOKING, RunContext, apply_people, quarantine
from core.upstream.adapter import DropCounter, Rejected, is_id, shape
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
        try:
            _follow(session, client, run, ctx, cursor, max_pages, say)
        except Exception as exc:  # recorded on the run, then re-raised: never swallowed
            runs.fail(session, run.id, exc)
            raise
        return runs.report(run, False, time.monotonic() - started)


def _follow(session: Session, client: UpstreamClient, run: runs.SyncRun, ctx: RunContext,
            cursor: str, max_pages: int | None, say: runs.Progress) -> None:
    """Apply the feed page by page from `cursor`; each page commits with the cursor after it."""
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


def _subject(ch: Any) -> str | None:
    """Return the upstream person id a change is about (None when malformed)."""
    if not isinstance(ch, dict):
        return None
    if ch.get("type") == "upsert":
        person = ch.get("person")
        pid = person.get("id") if isinstance(person, dict) else None
    else:
        pid = ch.get("person_id")
    return pid if isinstance(pid, str) else None


def _apply_changes(session: Session, ctx: RunContext, changes: list[Any]) -> Counts:
    """Apply a page of changes in feed order, in as few batches as order allows.

    Changes about different people commute, so a batch grows until a person comes
    up a second time; then it is applied and a new batch starts.
    """
    counts, batch, people = Counts(), [], set()
    for ch in changes:
        subject = _subject(ch)
        if subject is not None and subject in people:
            counts.add(_apply_batch(session, ctx, batch))
            batch, people = [], set()
        batch.append(ch)
        if subject is not None:
            people.add(subject)
    if batch:
        counts.add(_apply_batch(session, ctx, batch))
    return counts


def _apply_batch(session: Session, ctx: RunContext, batch: list[Any]) -> Counts:
    """Apply changes about distinct people: upserts in bulk, then leavers, then statuses."""
    counts = Counts()
    upserts = [(ch.get("person"), ch["school_id"]) for ch in batch if isinstance(ch, dict)
               and ch.get("type") == "upsert" and isinstance(ch.get("school_id"), str)]
    if upserts:
        counts.add(apply_people(session, upserts, ctx, reason="upstream delta feed"))
    others = [ch for ch in batch if not (isinstance(ch, dict) and ch.get("type") == "upsert"
                                         and isinstance(ch.get("school_id"), str))]
    if not others:
        return counts
    ids = [_subject(ch) for ch in others]
    known = {up: p for up, p in ((p.upstream_id, p) for p in session.scalars(
        select(Person).where(Person.upstream_id.in_([i for i in ids if is_id(i)]))))}
    leavers: dict[int, datetime] = {}
    revoke: dict[int, tuple[str, datetime]] = {}
    statuses: list[dict[str, Any]] = []
    rejects: list[Rejected] = []
    for ch, pid in zip(others, ids):
        counts.seen += 1
        kind = ch.get("type") if isinstance(ch, dict) else None
        changed_at = _when(ch.get("changed_at")) if isinstance(ch, dict) else None
        person = known.get(pid) if is_id(pid) else None  # a malformed id is never looked up
        problem = _problem(ch, kind, changed_at, person, pid)
        if problem is not None:
            rejects.append(_rejected_change(ch, pid, problem))
            continue
        assert person is not None and changed_at is not None
        if kind == "leave":
            leavers[person.id] = changed_at
        elif person.status == ch["status"]:
            counts.unchanged += 1
        else:
            statuses.append({"person_id": person.id, "from": person.status, "to": ch["status"],
                             "changed_at": changed_at.isoformat()})
            person.status, person.updated_at = ch["status"], utcnow()
            if ch["status"] in REVOKING and statuses[-1]["from"] not in REVOKING:
                revoke[person.id] = (ch["status"], changed_at)
    quarantine(session, ctx, None, rejects)
    counts.quarantined += len(rejects)
    if leavers:
        gone, revoked = deactivate(session, list(leavers), leavers, actor=ctx.actor,
                                   reason="upstream says the person left")
        counts.deactivated += gone
        counts.revoked += revoked
    if statuses:
        session.flush()
        counts.status_changed += len(statuses)
        audit.record(session, actor=ctx.actor, action="person.status", entity="people",
                     entity_id="batch", reason="upstream identity status change",
                     data={"changes": statuses})
    counts.revoked += revoke_many(session, revoke, actor=ctx.actor,
                                  reason="upstream identity status suspended/terminated")
    return counts


_KINDS = ("upsert", "leave", "status")
_CHANGE_KEYS = frozenset({"seq", "type", "person_id", "person", "school_id", "changed_at", "status"})
_STATUSES = frozenset(s.value for s in IdentityStatus)


def _rejected_change(ch: Any, pid: str | None, problem: str) -> Rejected:
    """Quarantine a change by its field names and shapes; only known kinds and ids by value."""
    fields = ch if isinstance(ch, dict) else {}
    record: dict[str, Any] = {k: shape(v) for k, v in sorted(fields.items()) if k in _CHANGE_KEYS}
    for key, allowed in (("type", _KINDS), ("status", _STATUSES)):
        value = fields.get(key)
        if isinstance(value, str) and value in allowed:
            record[key] = value
    upstream_id = pid if is_id(pid) else None
    return Rejected(upstream_id, problem, record)


def _problem(ch: Any, kind: Any, changed_at: datetime | None, person: Person | None,
             pid: str | None) -> str | None:
    if not isinstance(kind, str) or kind not in ("leave", "status"):
        return "unknown change type or malformed upsert"
    if changed_at is None:
        return "changed_at missing or malformed"
    if person is None:
        return "person unknown to Hudoor"
    status = ch.get("status")
    if kind == "status" and (not isinstance(status, str) or status not in _STATUSES):
        return "status unknown"  # an object or list is not hashable: test the type first
    return None

"""Full roster sync: every school, page by page, resumable after a crash at any point."""

from __future__ import annotations

import json
import time

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from core.access import deactivate
from core.db import refresh_planner_statistics
from core.models import Person, SyncRun, utcnow
from core.sync import runs
from core.sync.catalog import Catalog, upsert_classes, upsert_schools
from core.sync.prefetch import Item, roster_pages
from core.sync.counts import Counts
from core.sync.writer import RunContext, apply_people
from core.upstream.adapter import DropCounter, is_id
from core.upstream.client import UpstreamClient


def _school_ids(raw: list[object]) -> list[str]:
    return [s["id"] for s in raw if isinstance(s, dict) and is_id(s.get("id"))]


def run_full(factory: sessionmaker[Session], client: UpstreamClient, *, school: str | None = None,
             actor: str = "sync", progress: runs.Progress | None = None) -> runs.SyncReport:
    """Sync every school (or one) from upstream; resume the interrupted run if there is one."""
    started = time.monotonic()
    say = progress or (lambda _msg: None)
    scope = school or "all"
    with runs.RunLock(factory, "full"), factory() as session:
        with session.begin():
            run, resumed = runs.open_run(session, "full", scope)
        try:
            _sync(session, run, client, school, actor, say)
        except Exception as exc:  # recorded on the run, then re-raised: never swallowed
            runs.fail(session, run.id, exc)
            raise
        return runs.report(run, resumed, time.monotonic() - started)


def _sync(session: Session, run: SyncRun, client: UpstreamClient, school: str | None,
          actor: str, say: runs.Progress) -> None:
    """Read the schools, then every roster page from the run's cursor on, one transaction each."""
    cursor = json.loads(run.cursor or "{}")
    ctx = RunContext(run.id, f"{actor}:run-{run.id}", Catalog(), DropCounter(),
                     mark_seen=True, observed_at=run.started_at)
    raw_schools = client.schools()
    with session.begin():
        ctx.catalog = Catalog.load(session)
        counts, bad = upsert_schools(session, raw_schools, ctx.catalog, ctx.actor)
        counts.quarantined += bad
        runs.checkpoint(run, cursor, counts, ctx.dropped)
    order = _school_ids(raw_schools)
    if school is not None:
        if school not in order:
            raise KeyError(f"upstream has no school {school}")
        order = [school]
    start_at = int(cursor.get("school_index", 0))
    page_no = 0
    for item in roster_pages(client, order, start_at, cursor.get("page_token")):
        page_no = 1 if item.classes is not None else page_no + 1
        _apply_page(session, run, ctx, item, page_no)
        if item.page.next_page_token is None:
            say(f"[{item.index + 1}/{len(order)}] {item.school}: "
                f"{Counts.from_json(run.counts).seen} people seen so far")
    with session.begin():
        runs.finish(run, "done")
    with session.begin():
        refresh_planner_statistics(session, ROSTER_TABLES)


# What a full sync fills: sampled again at its end, so the next hops are planned for them.
ROSTER_TABLES = ("schools", "classes", "people", "enrolments")


def _apply_page(session: Session, run: SyncRun, ctx: RunContext, item: Item, page_no: int) -> None:
    """Apply one roster page (and the school's classes before its first page) in one transaction."""
    school_pk = ctx.catalog.schools[item.school]
    with session.begin():
        ctx.dropped.clear()
        counts = Counts()
        if item.classes is not None:
            counts, bad = upsert_classes(session, school_pk, item.classes, ctx.catalog, ctx.actor)
            counts.quarantined += bad
        counts.add(apply_people(session, ((p, item.school) for p in item.page.people), ctx,
                                reason=f"upstream full sync of {item.school}, page {page_no}"))
        cursor: dict[str, object] = {"school_index": item.index, "page_token": item.page.next_page_token}
        if item.page.next_page_token is None:
            gone, revoked = _deactivate_leavers(session, ctx, school_pk, item.school)
            counts.deactivated += gone
            counts.revoked += revoked
            cursor = {"school_index": item.index + 1, "page_token": None}
        runs.checkpoint(run, cursor, counts, ctx.dropped)


def _deactivate_leavers(session: Session, ctx: RunContext, school_pk: int,
                        school: str) -> tuple[int, int]:
    """Deactivate the school's people this run did not see: upstream no longer lists them."""
    gone = session.scalars(select(Person.id).where(
        Person.school_id == school_pk, Person.active.is_(True),
        (Person.last_seen_run != ctx.run_id) | Person.last_seen_run.is_(None))).all()
    return deactivate(session, list(gone), utcnow(), actor=ctx.actor,
                      reason=f"no longer on {school}'s upstream roster")

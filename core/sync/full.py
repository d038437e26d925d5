"""Full roster sync: every school, page by page, resumable after a crash at any point."""

from __future__ import annotations

import json
import time

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from core.access import deactivate
from core.models import Person, utcnow
from core.sync import runs
from core.sync.catalog import Catalog, upsert_classes, upsert_schools
from core.sync.counts import Counts
from core.sync.writer import RunContext, apply_people
from core.upstream.adapter import DropCounter
from core.upstream.client import UpstreamClient


def _school_ids(raw: list[object]) -> list[str]:
    return [s["id"] for s in raw if isinstance(s, dict) and isinstance(s.get("id"), str)]


def run_full(factory: sessionmaker[Session], client: UpstreamClient, *, school: str | None = None,
             actor: str = "sync", progress: runs.Progress | None = None) -> runs.SyncReport:
    """Sync every school (or one) from upstream; resume the interrupted run if there is one."""
    started = time.monotonic()
    say = progress or (lambda _msg: None)
    scope = school or "all"
    with runs.RunLock(factory, "full"), factory() as session:
        with session.begin():
            run, resumed = runs.open_run(session, "full", scope)
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
        for index in range(start_at, len(order)):
            token = cursor.get("page_token") if index == start_at else None
            _sync_school(session, client, run, ctx, order, index, token)
            say(f"[{index + 1}/{len(order)}] {order[index]} "
                f"{Counts.from_json(run.counts).seen} people seen so far")
        with session.begin():
            runs.finish(run, "done")
        return runs.report(run, resumed, time.monotonic() - started)


def _sync_school(session: Session, client: UpstreamClient, run: object, ctx: RunContext,
                 order: list[str], index: int, token: str | None) -> None:
    school = order[index]
    school_pk = ctx.catalog.schools[school]
    if token is None:
        raw_classes = client.classes(school)
        with session.begin():
            counts, bad = upsert_classes(session, school_pk, raw_classes, ctx.catalog, ctx.actor)
            counts.quarantined += bad
            runs.checkpoint(run, {"school_index": index, "page_token": None,  # type: ignore[arg-type]
                                  "pages_done": 0}, counts, ctx.dropped)
    page_no = 0
    while True:
        page = client.roster_page(school, token)
        page_no += 1
        with session.begin():
            ctx.dropped.clear()
            counts = apply_people(session, ((p, school) for p in page.people), ctx,
                                  reason=f"upstream full sync of {school}, page {page_no}")
            cursor = {"school_index": index, "page_token": page.next_page_token}
            if page.next_page_token is None:
                counts.deactivated += _deactivate_leavers(session, ctx, school_pk, school)
                cursor = {"school_index": index + 1, "page_token": None}
            runs.checkpoint(run, cursor, counts, ctx.dropped)  # type: ignore[arg-type]
        if page.next_page_token is None:
            return
        token = page.next_page_token


def _deactivate_leavers(session: Session, ctx: RunContext, school_pk: int, school: str) -> int:
    """Deactivate the school's people this run did not see: upstream no longer lists them."""
    gone = session.scalars(select(Person.id).where(
        Person.school_id == school_pk, Person.active.is_(True),
        (Person.last_seen_run != ctx.run_id) | Person.last_seen_run.is_(None))).all()
    return deactivate(session, list(gone), utcnow(), actor=ctx.actor,
                      reason=f"no longer on {school}'s upstream roster")

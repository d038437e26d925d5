"""Report day (S2): every guardian's term summary as one batch, split into chunks for workers."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from core import audit, consent
from core.config import Config
from core.models import AttendanceMark, AttendanceRecord, Contact, ContactKind, Person, utcnow
from digests import outbox
from digests.models import MessageKind, ReportBatch, ReportChunk
from digests.outbox import Draft, RetryPolicy
from digests.templates import given_name, render_term


@dataclass(frozen=True)
class Progress:
    batch_id: int
    term: str
    chunks_done: int
    chunks_total: int
    guardians: int
    drafts: int


def _links(session: Session, first: str | None = None, last: str | None = None):  # type: ignore[no-untyped-def]
    q = select(Contact.msisdn, Contact.language, Contact.person_id).where(
        Contact.kind == ContactKind.GUARDIAN.value, Contact.opted_out_at.is_(None),
        Contact.revoked_at.is_(None), consent.live())
    if first is not None:
        q = q.where(Contact.msisdn >= first, Contact.msisdn <= last)
    return session.execute(q.order_by(Contact.msisdn, Contact.id)).all()


def plan(session: Session, start: date, end: date, chunk_size: int, *, actor: str) -> ReportBatch:
    """Create a batch whose chunks cover every guardian MSISDN once (ranges never split a SIM)."""
    msisdns = list(dict.fromkeys(m for m, _, _ in _links(session)))
    batch = ReportBatch(term_start=start, term_end=end, guardians=len(msisdns), created_by=actor,
                        total_chunks=(len(msisdns) + chunk_size - 1) // chunk_size)
    session.add(batch)
    session.flush()
    session.add_all(ReportChunk(batch_id=batch.id, first_msisdn=msisdns[i],
                                last_msisdn=msisdns[min(i + chunk_size, len(msisdns)) - 1])
                    for i in range(0, len(msisdns), chunk_size))
    audit.record(session, actor=actor, action="report_day.plan", entity="report_batch",
                 entity_id=batch.id, reason="report-day term summaries",
                 data={"term": [start.isoformat(), end.isoformat()], "guardians": len(msisdns),
                       "chunks": batch.total_chunks})
    return batch


def _term_counts(session: Session, start: date, end: date, people: set[int]) -> dict[int, tuple[int, int]]:
    counts: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for pid, status, n in session.execute(
            select(AttendanceMark.person_id, AttendanceMark.status, func.count())
            .join(AttendanceRecord, AttendanceRecord.id == AttendanceMark.record_id)
            .where(AttendanceRecord.day >= start, AttendanceRecord.day <= end,
                   AttendanceMark.person_id.in_(people))
            .group_by(AttendanceMark.person_id, AttendanceMark.status)):
        counts[pid][0 if status == "absent" else 1] += n
    return {pid: (c[0], c[1]) for pid, c in counts.items()}


def run_chunk(session: Session, chunk_id: int, config: Config, now: datetime | None = None,
              reads: Session | None = None) -> int:
    """Compose and enqueue one chunk's term summaries; a repeat enqueues nothing new.

    The term's bulk reads (contacts, names, a term of marks) go to `reads` when given: a
    replica that has replayed everything committed (an opt-out a second ago included).
    """
    now = now or utcnow()
    reads = reads or session
    chunk = session.get(ReportChunk, chunk_id)
    if chunk is None or chunk.done_at is not None:
        return 0
    batch = session.get(ReportBatch, chunk.batch_id)
    assert batch is not None
    links = _links(reads, chunk.first_msisdn, chunk.last_msisdn)
    names = dict(reads.execute(select(Person.id, Person.display_name).where(
        Person.id.in_({pid for _, _, pid in links}), Person.active)).all())
    counts = _term_counts(reads, batch.term_start, batch.term_end, set(names))
    by_msisdn: dict[str, tuple[str, list[int]]] = {}
    for msisdn, lang, pid in links:
        if pid in names:
            by_msisdn.setdefault(msisdn, (lang, []))[1].append(pid)
    not_before = RetryPolicy.from_config(config).not_quiet(now)
    drafts = [Draft(MessageKind.REPORT_DAY.value, batch.term_end, msisdn, lang,
                    render_term(lang, batch.term_start, batch.term_end,
                                [(given_name(names[p]), *counts.get(p, (0, 0))) for p in pids]),
                    not_before=not_before)
              for msisdn, (lang, pids) in by_msisdn.items()]
    outbox.enqueue(session, drafts, now)
    session.execute(update(ReportChunk).where(ReportChunk.id == chunk_id)
                    .values(done_at=now, drafts=len(drafts)))
    return len(drafts)


def progress(session: Session) -> Progress | None:
    """Return the latest batch's progress, for /status."""
    batch = session.scalars(select(ReportBatch).order_by(ReportBatch.id.desc()).limit(1)).first()
    if batch is None:
        return None
    done, drafts = session.execute(select(func.count(ReportChunk.done_at), func.coalesce(
        func.sum(ReportChunk.drafts), 0)).where(ReportChunk.batch_id == batch.id)).one()
    return Progress(batch.id, f"{batch.term_start.isoformat()}..{batch.term_end.isoformat()}",
                    int(done), batch.total_chunks, batch.guardians, int(drafts))


def chunk_ids(session: Session, batch_id: int) -> list[int]:
    """Return the ids of a batch's chunks not done yet."""
    return list(session.scalars(select(ReportChunk.id).where(
        ReportChunk.batch_id == batch_id, ReportChunk.done_at.is_(None)).order_by(ReportChunk.id)))


def unfinished_chunks(session: Session) -> list[int]:
    """Return the ids of every chunk not done yet, of any batch (rebuilt after a Redis wipe)."""
    return list(session.scalars(select(ReportChunk.id).where(ReportChunk.done_at.is_(None))
                                .order_by(ReportChunk.id)))

"""Merge a suspected duplicate into a canonical person: nothing deleted, reversible (C4).

The merged person stays, marked merged (`people.canonical_id`), with an alias row
merged_id → canonical_id. Marks, adjustments and audit entries keep their own person id;
`identity_ids` and `history` reach them from either id. Live SIM links move to the
canonical person (a link both already hold is revoked instead), open enrolments of the
merged person end, and the duplicate flags between the two are resolved. The whole merge
is one bulk operation (core/bulk.py): reverting it within 72 h puts every row back.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from core import audit, bulk
from core.models import (
    AttendanceAdjustment,
    AttendanceMark,
    AttendanceRecord,
    AuditEntry,
    BulkOperation,
    Contact,
    ContactKind,
    DuplicateFlag,
    Enrolment,
    Person,
    PersonAlias,
)

MAX_CHAIN = 16  # alias hops followed before giving up (a cycle cannot be written, but be safe)


class MergeRefused(ValueError):
    """The two people cannot be merged (unknown, the same, already merged, different roles)."""


def find(session: Session, ref: str) -> Person | None:
    """Return a person by upstream id, or by Hudoor's numeric id."""
    person = session.scalars(select(Person).where(Person.upstream_id == ref)).first()
    if person is None and ref.isdigit():
        person = session.get(Person, int(ref))
    return person


def canonical(session: Session, person_id: int) -> int:
    """Return the id a person resolves to through live aliases (itself when not merged)."""
    seen = person_id
    for _ in range(MAX_CHAIN):
        nxt = session.scalar(select(PersonAlias.canonical_id).where(
            PersonAlias.merged_id == seen, PersonAlias.undone_at.is_(None)).limit(1))
        if nxt is None:
            return seen
        seen = nxt
    return seen


def identity_ids(session: Session, person_id: int) -> list[int]:
    """Return every id of one identity: its canonical id and all ids merged into it."""
    root = canonical(session, person_id)
    ids, frontier = {root}, [root]
    while frontier:
        merged = session.scalars(select(PersonAlias.merged_id).where(
            PersonAlias.canonical_id.in_(frontier), PersonAlias.undone_at.is_(None))).all()
        frontier = [m for m in merged if m not in ids]
        ids.update(frontier)
    return sorted(ids)


def merge(session: Session, *, keep_id: int, merge_id: int, actor: str, reason: str,
          now: datetime) -> BulkOperation:
    """Merge `merge_id` into `keep_id` as one reversible bulk operation (audited).

    Raises:
        MergeRefused: unknown people, the same person, either already merged, roles differ.
    """
    # Both rows locked (PostgreSQL): two merges of the same person cannot both pass the checks.
    locked = {p.id: p for p in session.scalars(select(Person).where(
        Person.id.in_([keep_id, merge_id])).with_for_update().execution_options(populate_existing=True))}
    keep, gone = locked.get(keep_id), locked.get(merge_id)
    if keep is None or gone is None:
        raise MergeRefused("no such person")
    if keep.id == gone.id:
        raise MergeRefused("a person cannot be merged into themself")
    for p in (keep, gone):
        if p.canonical_id is not None:
            root = session.get(Person, canonical(session, p.id))
            raise MergeRefused(f"{p.upstream_id} is already merged into "
                               f"{root.upstream_id if root else p.canonical_id}")
    if keep.role != gone.role:
        raise MergeRefused(f"{keep.upstream_id} is a {keep.role}, {gone.upstream_id} a {gone.role}")
    rec = bulk.Recorder(session, "merge", actor, reason, now,
                        summary={"keep": keep.upstream_id, "merged": gone.upstream_id,
                                 "keep_id": keep.id, "merged_id": gone.id})
    enrolments = session.scalars(select(Enrolment).where(
        Enrolment.person_id == gone.id, Enrolment.ended_at.is_(None))).all()
    links = session.scalars(select(Contact).where(
        Contact.person_id == gone.id, Contact.revoked_at.is_(None))).all()
    flags = session.scalars(select(DuplicateFlag).where(
        DuplicateFlag.status == "open",
        or_((DuplicateFlag.person_id == gone.id) & (DuplicateFlag.other_person_id == keep.id),
            (DuplicateFlag.person_id == keep.id) & (DuplicateFlag.other_person_id == gone.id)))).all()
    rec.track("people", [gone.id])
    rec.track("enrolments", [e.id for e in enrolments])
    rec.track("contacts", [c.id for c in links])
    rec.track("duplicate_flags", [f.id for f in flags])
    gone.canonical_id, gone.updated_at = keep.id, now
    for e in enrolments:
        e.ended_at = now
    held = session.scalars(select(Contact).where(
        Contact.person_id == keep.id, Contact.revoked_at.is_(None))).all()
    keep_staff = any(c.kind == ContactKind.STAFF.value for c in held)
    keep_sims = {(c.kind, c.msisdn) for c in held}
    moved = 0
    for c in links:
        if (c.kind, c.msisdn) in keep_sims or (c.kind == ContactKind.STAFF.value and keep_staff):
            c.revoked_at, c.revoked_reason = now, f"merged into {keep.upstream_id}"[:200]
        else:
            c.person_id = keep.id
            moved += 1
    for f in flags:
        f.status, f.resolved_at = "merged", now
    alias = PersonAlias(merged_id=gone.id, canonical_id=keep.id, operation_id=rec.id,
                        merged_by=actor[:100], reason=reason[:300], merged_at=now)
    session.add(alias)
    session.flush()
    rec.created("person_aliases", [alias.id])
    audit.record(session, actor=actor, action="person.merge", entity="person", entity_id=gone.id,
                 reason=reason, data={"into": keep.id, "operation": rec.id})
    rec.summary.update(links_moved=moved, links_ended=len(links) - moved,
                       enrolments_ended=len(enrolments), flags_resolved=len(flags))
    return rec.finish()


@dataclass(frozen=True)
class History:
    """One identity's history, reachable from any of its ids."""

    canonical: str
    ids: tuple[str, ...]  # upstream ids of the canonical person and of everyone merged into it
    merged: bool  # the id asked for was merged into another
    marks: tuple[dict[str, Any], ...]
    links: tuple[dict[str, Any], ...]
    adjustments: tuple[dict[str, Any], ...]
    audit: tuple[dict[str, Any], ...]

    def as_dict(self) -> dict[str, Any]:
        return {"canonical": self.canonical, "ids": list(self.ids), "merged": self.merged,
                "marks": list(self.marks), "links": list(self.links),
                "adjustments": list(self.adjustments), "audit": list(self.audit)}


def history(session: Session, person: Person, limit: int = 200) -> History:
    """Return marks, SIM links (last digits only), adjustments and audit of every id of `person`."""
    ids = identity_ids(session, person.id)
    people = {p.id: p for p in session.scalars(select(Person).where(Person.id.in_(ids)))}
    ref = {pid: p.upstream_id for pid, p in people.items()}
    root = canonical(session, person.id)
    marks = tuple({"person": ref[pid], "day": day.isoformat(), "status": status}
                  for pid, day, status in session.execute(
                      select(AttendanceMark.person_id, AttendanceRecord.day, AttendanceMark.status)
                      .join(AttendanceRecord, AttendanceRecord.id == AttendanceMark.record_id)
                      .where(AttendanceMark.person_id.in_(ids))
                      .order_by(AttendanceRecord.day, AttendanceMark.id).limit(limit)))
    links = tuple({"id": c.id, "person": ref.get(c.person_id, str(c.person_id)), "kind": c.kind,
                   "sim": f"…{c.msisdn[-3:]}", "live": c.revoked_at is None}
                  for c in session.scalars(select(Contact).where(Contact.person_id.in_(ids))
                                           .order_by(Contact.id).limit(limit)))
    adjustments = tuple({"id": a.id, "person": ref[a.person_id], "day": a.day.isoformat(),
                         "to": a.to_status, "state": a.state}
                        for a in session.scalars(select(AttendanceAdjustment).where(
                            AttendanceAdjustment.person_id.in_(ids))
                            .order_by(AttendanceAdjustment.id).limit(limit)))
    entries = tuple({"seq": e.seq, "at": e.at, "actor": e.actor, "action": e.action,
                     "person": ref[int(e.entity_id)]}
                    for e in session.scalars(select(AuditEntry).where(
                        AuditEntry.entity == "person",
                        AuditEntry.entity_id.in_([str(i) for i in ids]))
                        .order_by(AuditEntry.seq).limit(limit)))
    return History(ref[root], tuple(ref[i] for i in ids), root != person.id, marks, links,
                   adjustments, entries)

"""Schools and classes: upserted from upstream, held in memory during a sync."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from core import audit
from core.models import School, SchoolClass, utcnow
from core.sync.counts import Counts

_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")


@dataclass
class Catalog:
    """Upstream id → database id for schools, and → (id, school id) for classes."""

    schools: dict[str, int] = field(default_factory=dict)
    classes: dict[str, tuple[int, int]] = field(default_factory=dict)

    @classmethod
    def load(cls, session: Session) -> "Catalog":
        """Read every school and class id into memory (tens of thousands of rows at most)."""
        cat = cls()
        cat.schools = {up: sid for up, sid in session.execute(select(School.upstream_id, School.id))}
        for up, cid, sid in session.execute(
            select(SchoolClass.upstream_id, SchoolClass.id, SchoolClass.school_id)
        ):
            cat.classes[up] = (cid, sid)
        return cat


def _valid_school(raw: Any) -> bool:
    return (isinstance(raw, dict) and isinstance(raw.get("id"), str) and bool(_ID.match(raw["id"]))
            and isinstance(raw.get("name"), str) and isinstance(raw.get("governorate"), str))


def _valid_class(raw: Any) -> bool:
    return (isinstance(raw, dict) and isinstance(raw.get("id"), str) and bool(_ID.match(raw["id"]))
            and isinstance(raw.get("name"), str) and isinstance(raw.get("grade"), int))


def upsert_schools(session: Session, raw: list[Any], cat: Catalog, actor: str) -> tuple[Counts, int]:
    """Insert new schools and rename changed ones; return counts and how many were malformed."""
    counts, bad = Counts(), 0
    existing = {s.upstream_id: s for s in session.scalars(select(School))}
    added: list[str] = []
    for item in raw:
        if not _valid_school(item):
            bad += 1
            continue
        row = existing.get(item["id"])
        if row is None:
            row = School(upstream_id=item["id"], name=item["name"][:200],
                         governorate=item["governorate"][:100])
            session.add(row)
            existing[item["id"]] = row
            added.append(item["id"])
        elif (row.name, row.governorate) != (item["name"][:200], item["governorate"][:100]):
            row.name, row.governorate, row.updated_at = item["name"][:200], item["governorate"][:100], utcnow()
            counts.changed += 1
    session.flush()
    cat.schools.update({up: s.id for up, s in existing.items()})
    counts.schools_added = len(added)
    if added or counts.changed:
        audit.record(session, actor=actor, action="sync.schools", entity="school", entity_id="batch",
                     reason="upstream school list", data={"added": added, "changed": counts.changed})
    return counts, bad


def upsert_classes(session: Session, school_pk: int, raw: list[Any], cat: Catalog,
                   actor: str) -> tuple[Counts, int]:
    """Insert a school's new classes, update changed ones, retire vanished ones."""
    counts, bad = Counts(), 0
    existing = {c.upstream_id: c for c in session.scalars(
        select(SchoolClass).where(SchoolClass.school_id == school_pk))}
    seen: set[str] = set()
    added: list[str] = []
    for item in raw:
        if not _valid_class(item) or item["id"] in seen:
            bad += 1
            continue
        seen.add(item["id"])
        row = existing.get(item["id"])
        if row is None:
            if item["id"] in cat.classes:  # class id already used by another school
                bad += 1
                continue
            row = SchoolClass(upstream_id=item["id"], school_id=school_pk, name=item["name"][:100],
                              grade=item["grade"])
            session.add(row)
            existing[item["id"]] = row
            added.append(item["id"])
        elif (row.name, row.grade, row.active) != (item["name"][:100], item["grade"], True):
            row.name, row.grade, row.active, row.updated_at = item["name"][:100], item["grade"], True, utcnow()
            counts.changed += 1
    retired = [up for up, row in existing.items() if up not in seen and row.active]
    if retired:
        session.execute(update(SchoolClass).where(SchoolClass.upstream_id.in_(retired))
                        .values(active=False, updated_at=utcnow()))
    session.flush()
    cat.classes.update({up: (c.id, school_pk) for up, c in existing.items()})
    counts.classes_added = len(added)
    if added or retired or counts.changed:
        audit.record(session, actor=actor, action="sync.classes", entity="school",
                     entity_id=str(school_pk), reason="upstream class list",
                     data={"added": added, "retired": retired, "changed": counts.changed})
    return counts, bad

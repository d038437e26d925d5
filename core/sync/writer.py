"""Apply a batch of upstream people to the database in bulk, inside the caller's transaction."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Iterable

from sqlalchemy import and_, bindparam, insert, update
from sqlalchemy.orm import Session

from core import audit
from core.access import revoke_many
from core.models import (
    DuplicateFlag,
    Enrolment,
    IdentityStatus,
    Person,
    QuarantinedRecord,
    Role,
    utcnow,
)
from core.sync import bulk
from core.sync.catalog import Catalog
from core.sync.counts import Counts
from core.upstream.adapter import (
    DropCounter,
    PersonRecord,
    Rejected,
    is_id,
    minimise,
    name_key,
    validate,
)

P = Person.__table__
E = Enrolment.__table__
REVOKING = frozenset({IdentityStatus.SUSPENDED.value, IdentityStatus.TERMINATED.value})


@dataclass
class RunContext:
    """What every page of one run shares."""

    run_id: int
    actor: str
    catalog: Catalog
    dropped: DropCounter
    mark_seen: bool  # full syncs mark everyone they saw, to find leavers at the end
    observed_at: datetime  # when upstream's state was read (the revocation clock for full syncs)


@dataclass(frozen=True)
class _Existing:
    id: int
    school_id: int
    role: str
    display_name: str
    status: str
    active: bool
    last_seen_run: int | None


def quarantine(session: Session, ctx: RunContext, school: str | None, rejects: list[Rejected]) -> None:
    """Keep rejected records (minimised) with their reasons; nothing else is lost."""
    if rejects:
        session.execute(insert(QuarantinedRecord), [
            {"run_id": ctx.run_id, "upstream_id": r.upstream_id,
             "school_upstream_id": school if is_id(school) else None,
             "reason": r.reason[:300], "record": json.dumps(r.record, ensure_ascii=False)}
            for r in rejects])


def _resolve(rec: PersonRecord, school: str, cat: Catalog) -> tuple[int, list[int]] | str:
    """Return (school id, class ids) or the reason the record cannot be placed."""
    school_pk = cat.schools.get(school)
    if school_pk is None:
        return "unknown school"  # its id, when well-formed, is kept beside the reason
    class_pks = []
    for up in rec.class_ids:
        found = cat.classes.get(up)
        if found is None:
            return f"unknown class {up}"
        if found[1] != school_pk:
            return f"class {up} belongs to another school"
        class_pks.append(found[0])
    return school_pk, class_pks


def parse_batch(raws: Iterable[tuple[Any, str]], ctx: RunContext,
                counts: Counts) -> tuple[list[tuple[PersonRecord, str]], list[tuple[str | None, Rejected]]]:
    """Minimise and validate raw records; drop exact repeats; reject conflicting repeats."""
    good: dict[str, tuple[PersonRecord, str]] = {}
    rejects: list[tuple[str | None, Rejected]] = []
    before = ctx.dropped.total_dropped()
    for raw, school in raws:
        counts.seen += 1
        result = validate(minimise(raw, ctx.dropped))
        if isinstance(result, Rejected):
            rejects.append((school, result))
            continue
        prior = good.get(result.upstream_id)
        if prior is None:
            good[result.upstream_id] = (result, school)
        elif prior == (result, school):
            counts.duplicates_in_feed += 1
        else:
            rejects.append((school, Rejected(result.upstream_id, "conflicting duplicate in one page",
                                             {"id": result.upstream_id})))
    counts.dropped_fields += ctx.dropped.total_dropped() - before
    return list(good.values()), rejects


def _load_existing(session: Session, ids: list[str]) -> dict[str, _Existing]:
    return {r[0]: _Existing(*r[1:]) for r in bulk.existing_people(session, ids)}


def _open_classes(session: Session, person_ids: list[int]) -> dict[int, set[int]]:
    out: dict[int, set[int]] = {pid: set() for pid in person_ids}
    for pid, cid in bulk.open_enrolments(session, person_ids):
        out[pid].add(cid)
    return out


def apply_people(session: Session, raws: Iterable[tuple[Any, str]], ctx: RunContext,
                 reason: str) -> Counts:
    """Upsert a batch of raw upstream people (record, school upstream id); return its counts."""
    counts = Counts()
    records, rejects = parse_batch(raws, ctx, counts)
    placed: list[tuple[PersonRecord, int, list[int]]] = []
    for rec, school in records:
        where = _resolve(rec, school, ctx.catalog)
        if isinstance(where, str):
            rejects.append((school, Rejected(rec.upstream_id, where, {"id": rec.upstream_id})))
        else:
            placed.append((rec, where[0], where[1]))
    for school, rej in rejects:
        quarantine(session, ctx, school, [rej])
    counts.quarantined += len(rejects)
    now = ctx.observed_at if ctx.mark_seen else None
    existing = _load_existing(session, [r.upstream_id for r, _, _ in placed])
    open_classes = _open_classes(session, [e.id for e in existing.values()])
    new_rows, updates, seen_only, enrol_add, enrol_end, revokes = [], [], [], [], [], []
    changed_ids: list[str] = []
    moved_ids: list[str] = []
    stamp = utcnow()
    for rec, school_pk, class_pks in placed:
        old = existing.get(rec.upstream_id)
        if old is None:
            new_rows.append({"upstream_id": rec.upstream_id, "school_id": school_pk, "role": rec.role,
                             "display_name": rec.display_name, "name_key": name_key(rec.display_name),
                             "status": rec.status, "active": True, "created_at": stamp,
                             "updated_at": stamp, "last_seen_run": ctx.run_id if ctx.mark_seen else None,
                             "_classes": class_pks})
            continue
        values: dict[str, Any] = {}
        if (old.display_name, old.role) != (rec.display_name, rec.role):
            values.update(display_name=rec.display_name, role=rec.role,
                          name_key=name_key(rec.display_name))
            counts.changed += 1
            changed_ids.append(rec.upstream_id)
        if old.status != rec.status:
            values["status"] = rec.status
            counts.status_changed += 1
            if rec.status in REVOKING and old.status not in REVOKING:
                revokes.append((old.id, rec.status))
        if not old.active:
            values.update(active=True, left_at=None)
            counts.reactivated += 1
        old_classes, new_classes = open_classes[old.id], set(class_pks)
        if old.school_id != school_pk or old_classes != new_classes:
            values["school_id"] = school_pk
            enrol_end += [{"p": old.id, "c": c} for c in old_classes - new_classes]
            enrol_add += [{"person_id": old.id, "class_id": c, "started_at": stamp}
                          for c in new_classes - old_classes]
            counts.moved += 1
            moved_ids.append(rec.upstream_id)
        if values:
            values.update(pid=old.id, updated_at=stamp)
            if ctx.mark_seen:
                values["last_seen_run"] = ctx.run_id
            updates.append(values)
        else:
            counts.unchanged += 1
            if ctx.mark_seen and old.last_seen_run != ctx.run_id:
                seen_only.append(old.id)
    by_up = {r.upstream_id: r for r, _, _ in placed}
    class_by_up = {r.upstream_id: cls for r, _, cls in placed}
    added_ids = _insert_new(session, new_rows, enrol_add, stamp)
    counts.added += len(added_ids)
    _update_changed(session, updates)
    bulk.mark_seen(session, seen_only, ctx.run_id)
    if enrol_end:
        session.execute(update(E).where(and_(E.c.person_id == bindparam("p"),
                                             E.c.class_id == bindparam("c"), E.c.ended_at.is_(None)))
                        .values(ended_at=stamp), enrol_end)
    bulk.insert_enrolments(session, enrol_add)
    counts.revoked += revoke_many(session, {pid: (status, now or stamp) for pid, status in revokes},
                                  actor=ctx.actor, reason=reason)
    counts.duplicates_flagged += flag_duplicates(session, [
        (pid, name_key(by_up[up].display_name), class_by_up[up]) for pid, up in added_ids.items()
        if by_up[up].role == Role.STUDENT.value])
    if counts.changes or counts.quarantined:
        audit.record(session, actor=ctx.actor, action="sync.apply", entity="people",
                     entity_id=f"run-{ctx.run_id}", reason=reason,
                     data={"added": list(added_ids.values()), "changed": changed_ids,
                           "moved": moved_ids, "status_changed": counts.status_changed,
                           "quarantined": [r.upstream_id for _, r in rejects]})
    return counts


def _insert_new(session: Session, rows: list[dict[str, Any]], enrol_add: list[dict[str, Any]],
                stamp: datetime) -> dict[int, str]:
    """Insert new people and their enrolments; return {new id: upstream id}."""
    if not rows:
        return {}
    classes = {r["upstream_id"]: r.pop("_classes") for r in rows}
    ids = dict(bulk.insert_people(session, rows))
    for pid, up in ids.items():
        enrol_add.extend({"person_id": pid, "class_id": c, "started_at": stamp} for c in classes[up])
    return ids


def _update_changed(session: Session, updates: list[dict[str, Any]]) -> None:
    """Run one executemany UPDATE per distinct set of changed columns."""
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for values in updates:
        groups.setdefault(tuple(sorted(values)), []).append(values)
    for keys, params in groups.items():
        cols = {k: bindparam(f"v_{k}") for k in keys if k != "pid"}
        stmt = update(P).where(P.c.id == bindparam("pid")).values(**cols)
        session.execute(stmt, [{"pid": p["pid"], **{f"v_{k}": p[k] for k in cols}} for p in params])


def flag_duplicates(session: Session, added: list[tuple[int, str, list[int]]]) -> int:
    """Flag each new student who shares a class and a folded name with another student.

    Args:
        added: (person id, name key, class ids) of the people this batch inserted.
    """
    if not added:
        return 0
    classes = sorted({c for _, _, cls in added for c in cls})
    keys = sorted({k for _, k, _ in added})
    rows = bulk.students_named(session, classes, keys)
    by_key: dict[tuple[int, str], list[int]] = {}
    for class_id, key, pid in rows:
        by_key.setdefault((class_id, key), []).append(pid)
    new_ids = {pid for pid, _, _ in added}
    flags = []
    for pids in by_key.values():
        if len(pids) < 2:
            continue
        for pid in pids:
            if pid in new_ids:
                other = min(p for p in pids if p != pid)
                flags.append({"person_id": pid, "other_person_id": other,
                              "reason": "same folded name in the same class"})
    if flags:
        session.execute(insert(DuplicateFlag), flags)
    return len(flags)

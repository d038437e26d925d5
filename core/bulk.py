"""Reversible bulk operations: one record per bulk change, with the before-images to undo it (C4).

A bulk change (a merge, unlinking many SIMs, reissuing a class's slips) runs inside a
`Recorder`: it snapshots the rows it is about to change, then stores, per row, the columns
that changed (before and after) and the rows it created. `revert` puts the before-images
back within REVERT_WINDOW, all or nothing: when any row was changed since (its current
values no longer match the after-image), or putting it back would clash with a newer row,
it refuses and names those rows. Created rows are never deleted: they are retired
(a code expires, an alias is marked undone). Decision: docs/decisions/0024.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Callable

from sqlalchemy import Date, Table, and_, func, select, update
from sqlalchemy.orm import Session

from core import audit, calendar
from core.models import (
    BulkOperation,
    BulkRowImage,
    Contact,
    ContactKind,
    MAX_GUARDIANS,
    DuplicateFlag,
    Enrolment,
    OneTimeCode,
    Person,
    PersonAlias,
    UTCDateTime,
)

REVERT_WINDOW = timedelta(hours=72)

# The tables a bulk operation may touch, by name.
TABLES: dict[str, Table] = {m.__tablename__: m.__table__ for m in (  # type: ignore[misc]
    Contact, DuplicateFlag, Enrolment, OneTimeCode, Person, PersonAlias)}

# How a row the operation created is retired on revert (never deleted).
RETIRE: dict[str, Callable[[datetime], dict[str, Any]]] = {
    "one_time_codes": lambda now: {"expires_at": now},
    "person_aliases": lambda now: {"undone_at": now},
}


class BulkError(ValueError):
    """A bulk operation cannot be shown or reverted."""


class NotFound(BulkError):
    pass


class AlreadyReverted(BulkError):
    pass


class Final(BulkError):
    """Past the revert window: the operation stands for good."""


class ChangedSince(BulkError):
    """Rows the operation touched changed later; reverting would clobber that change."""

    def __init__(self, op_id: int, rows: list[str]) -> None:
        self.rows = rows
        super().__init__(f"operation {op_id} not reverted: {len(rows)} row(s) changed since, "
                         "nothing was changed: " + "; ".join(rows))


def encode(value: Any) -> Any:
    """Return a JSON value for a column value (aware datetimes in UTC ISO form)."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return value


def _decode(table: Table, column: str, value: Any) -> Any:
    if value is None:
        return None
    kind = table.c[column].type
    if isinstance(kind, UTCDateTime):
        return datetime.fromisoformat(value)
    if isinstance(kind, Date):
        return date.fromisoformat(value)
    return value


def snapshot(session: Session, table_name: str, ids: list[int], *, lock: bool = False
             ) -> dict[int, dict[str, Any]]:
    """Return the current columns of rows, encoded as the images store them.

    `lock`: hold the rows (PostgreSQL) until the transaction ends, so what a revert checked
    is what it overwrites.
    """
    if not ids:
        return {}
    table = TABLES[table_name]
    query = select(table).where(table.c.id.in_(ids))
    rows = session.execute(query.with_for_update() if lock else query).mappings()
    return {r["id"]: {k: encode(v) for k, v in r.items()} for r in rows}


@dataclass
class Recorder:
    """Record one bulk operation while it runs; `finish` stores the images and audits it."""

    session: Session
    kind: str
    actor: str
    reason: str
    now: datetime
    summary: dict[str, Any] = field(default_factory=dict)
    _before: dict[tuple[str, int], dict[str, Any]] = field(default_factory=dict)
    _created: list[tuple[str, int]] = field(default_factory=list)
    operation: BulkOperation | None = None

    def __post_init__(self) -> None:
        if not self.reason.strip():
            raise BulkError("a reason is required")
        self.operation = BulkOperation(kind=self.kind, actor=self.actor[:100],
                                       reason=self.reason[:300], created_at=self.now,
                                       final_at=self.now + REVERT_WINDOW, summary="{}")
        self.session.add(self.operation)
        self.session.flush()

    @property
    def id(self) -> int:
        assert self.operation is not None
        return self.operation.id

    def track(self, table_name: str, ids: list[int]) -> None:
        """Snapshot rows about to change (call before changing them)."""
        self.session.flush()
        for rid, image in snapshot(self.session, table_name, ids).items():
            self._before.setdefault((table_name, rid), image)

    def created(self, table_name: str, ids: list[int]) -> None:
        """Note rows this operation inserted."""
        if table_name not in RETIRE:
            raise BulkError(f"rows of {table_name} cannot be created by a reversible operation")
        self._created.extend((table_name, rid) for rid in ids)

    def finish(self) -> BulkOperation:
        """Store the changed columns of every tracked row and every created row; audit it."""
        assert self.operation is not None
        self.session.flush()
        images: list[BulkRowImage] = []
        by_table: dict[str, list[int]] = {}
        for name, rid in [*self._before, *self._created]:
            by_table.setdefault(name, []).append(rid)
        after = {(name, rid): image for name, ids in by_table.items()
                 for rid, image in snapshot(self.session, name, ids).items()}
        for (name, rid), before in self._before.items():
            now_image = after[(name, rid)]
            changed = [k for k in now_image if now_image[k] != before[k]]
            if changed:
                images.append(BulkRowImage(
                    operation_id=self.id, table_name=name, row_id=rid,
                    before=json.dumps({k: before[k] for k in changed}),
                    after=json.dumps({k: now_image[k] for k in changed})))
        for name, rid in self._created:
            images.append(BulkRowImage(operation_id=self.id, table_name=name, row_id=rid,
                                       before=None, after=json.dumps(after[(name, rid)])))
        self.session.add_all(images)
        self.summary["rows"] = len(images)
        self.operation.summary = json.dumps(self.summary, ensure_ascii=False, sort_keys=True)
        audit.record(self.session, actor=self.actor, action=f"bulk.{self.kind}",
                     entity="bulk_operation", entity_id=self.id, reason=self.reason,
                     data={**self.summary, "final_at": self.operation.final_at.isoformat()})
        return self.operation


@dataclass(frozen=True)
class OperationView:
    id: int
    kind: str
    actor: str
    reason: str
    created_at: datetime
    final_at: datetime
    state: str  # revertible | final | reverted
    summary: dict[str, Any]
    reverted_by: str | None = None
    rows: tuple[dict[str, Any], ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "kind": self.kind, "actor": self.actor, "reason": self.reason,
                "created_at": self.created_at.isoformat(), "final_at": self.final_at.isoformat(),
                "state": self.state, "summary": self.summary, "reverted_by": self.reverted_by,
                **({"rows": list(self.rows)} if self.rows else {})}


def _state(op: BulkOperation, now: datetime) -> str:
    if op.reverted_at is not None:
        return "reverted"
    return "final" if now >= op.final_at else "revertible"


def _view(op: BulkOperation, now: datetime, rows: tuple[dict[str, Any], ...] = ()) -> OperationView:
    return OperationView(op.id, op.kind, op.actor, op.reason, op.created_at, op.final_at,
                         _state(op, now), json.loads(op.summary), op.reverted_by, rows)


def listing(session: Session, now: datetime, limit: int = 200) -> list[OperationView]:
    """Return the latest bulk operations, newest first, with whether they can still be undone."""
    ops = session.scalars(select(BulkOperation).order_by(BulkOperation.id.desc()).limit(limit))
    return [_view(op, now) for op in ops]


def show(session: Session, op_id: int, now: datetime) -> OperationView:
    """Return one operation with its row images (column names and values, no phone numbers)."""
    op = session.get(BulkOperation, op_id)
    if op is None:
        raise NotFound(f"no bulk operation {op_id}")
    rows = tuple({"table": i.table_name, "row": i.row_id, "created": i.before is None,
                  "before": json.loads(i.before) if i.before else None,
                  "after": _redact(json.loads(i.after))}
                 for i in session.scalars(select(BulkRowImage).where(
                     BulkRowImage.operation_id == op_id).order_by(BulkRowImage.id)))
    return _view(op, now, rows)


def _redact(image: dict[str, Any]) -> dict[str, Any]:
    """Never show a stored phone number or code hash, even to ops."""
    return {k: ("…" + str(v)[-3:] if k == "msisdn" and v else "(hidden)" if k == "code_hash" else v)
            for k, v in image.items()}


def _clashes(session: Session, table_name: str, row_id: int, restore: dict[str, Any],
             current: dict[str, Any]) -> str | None:
    """Tell whether putting this row back would clash with a newer row (a later change)."""
    if table_name == "contacts" and "revoked_at" in restore and restore["revoked_at"] is None:
        person = restore.get("person_id", current["person_id"])
        c = TABLES["contacts"].c
        if current["kind"] == ContactKind.STAFF.value:  # one live SIM per teacher, one teacher per SIM
            same = (c.msisdn == current["msisdn"]) | (c.person_id == person)
        else:
            same = (c.msisdn == current["msisdn"]) & (c.person_id == person)
        newer = session.scalar(select(c.id).where(
            c.id != row_id, c.kind == current["kind"], c.revoked_at.is_(None), same).limit(1))
        if newer is not None:
            return f"contacts {row_id}: a newer link (contacts {newer}) holds this SIM now"
    if table_name == "enrolments" and "ended_at" in restore and restore["ended_at"] is None:
        c = TABLES["enrolments"].c
        newer = session.scalar(select(c.id).where(
            c.id != row_id, c.person_id == current["person_id"], c.class_id == current["class_id"],
            c.ended_at.is_(None)).limit(1))
        if newer is not None:
            return f"enrolments {row_id}: the class was rejoined since (enrolments {newer})"
    return None


def _too_many_guardians(session: Session, plan: list[tuple[str, int, dict[str, Any]]]) -> list[str]:
    """Name the children who would hold more than MAX_GUARDIANS links once restored."""
    c = TABLES["contacts"].c
    ids = [rid for name, rid, restore in plan
           if name == "contacts" and "revoked_at" in restore and restore["revoked_at"] is None]
    rows = session.execute(select(c.id, c.person_id, c.kind).where(c.id.in_(ids))).all() if ids else []
    back: dict[int, int] = {}
    for _id, person, kind in rows:
        if kind == ContactKind.GUARDIAN.value:
            back[person] = back.get(person, 0) + 1
    problems = []
    for person, n in sorted(back.items()):
        live = session.scalar(select(func.count()).select_from(TABLES["contacts"]).where(
            c.person_id == person, c.kind == ContactKind.GUARDIAN.value, c.revoked_at.is_(None))) or 0
        if live + n > MAX_GUARDIANS:
            problems.append(f"person {person}: {live} guardian links made since; restoring {n} "
                            f"would exceed {MAX_GUARDIANS}")
    return problems


def revert(session: Session, op_id: int, *, by: str, reason: str, now: datetime) -> OperationView:
    """Undo a bulk operation inside the caller's transaction, all or nothing.

    Raises:
        NotFound, AlreadyReverted; Final: past the window (the message gives when it became
        final, Cairo time); ChangedSince: rows changed later, named; nothing is changed.
    """
    if not reason.strip():
        raise BulkError("a reason is required")
    op = session.scalars(select(BulkOperation).where(BulkOperation.id == op_id)
                         .with_for_update()).first()
    if op is None:
        raise NotFound(f"no bulk operation {op_id}")
    if op.reverted_at is not None:
        raise AlreadyReverted(f"operation {op_id} was already reverted at "
                              f"{_cairo(op.reverted_at)} by {op.reverted_by}")
    if now >= op.final_at:
        raise Final(f"operation {op_id} became final at {_cairo(op.final_at)} "
                    f"({int(REVERT_WINDOW.total_seconds() // 3600)} h after it ran); "
                    "it can no longer be reverted")
    images = session.scalars(select(BulkRowImage).where(BulkRowImage.operation_id == op_id)
                             .order_by(BulkRowImage.id)).all()
    plan: list[tuple[str, int, dict[str, Any]]] = []
    changed: list[str] = []
    for img in images:
        current = snapshot(session, img.table_name, [img.row_id], lock=True).get(img.row_id)
        after = json.loads(img.after)
        if current is None:
            changed.append(f"{img.table_name} {img.row_id}: missing")
            continue
        if img.before is None:  # created: retire it, unless it was used or changed since
            keys = [k for k in after if k != "id"]
            restore = {k: encode(v) for k, v in RETIRE[img.table_name](now).items()}
        else:
            keys = list(after)
            restore = json.loads(img.before)
        diff = sorted(k for k in keys if current.get(k) != after[k])
        if diff:
            changed.append(f"{img.table_name} {img.row_id}: {', '.join(diff)} changed since")
            continue
        clash = _clashes(session, img.table_name, img.row_id, restore, current)
        if clash:
            changed.append(clash)
            continue
        plan.append((img.table_name, img.row_id, restore))
    changed += _too_many_guardians(session, plan)
    if changed:
        raise ChangedSince(op_id, changed)
    for name, rid, restore in plan:
        table = TABLES[name]
        session.execute(update(table).where(and_(table.c.id == rid)).values(
            {k: _decode(table, k, v) for k, v in restore.items()}))
    op.reverted_at, op.reverted_by, op.revert_reason = now, by[:100], reason[:300]
    audit.record(session, actor=by, action="bulk.revert", entity="bulk_operation",
                 entity_id=op_id, reason=reason,
                 data={"kind": op.kind, "rows": len(plan), "operation_actor": op.actor})
    return _view(op, now)


def _cairo(when: datetime) -> str:
    return calendar.to_cairo(when).strftime("%Y-%m-%d %H:%M Cairo")


def unlink(session: Session, person_ids: list[int], kind: ContactKind, *, actor: str, reason: str,
           now: datetime, summary: dict[str, Any] | None = None) -> BulkOperation:
    """End every live SIM link of `kind` of these people as one reversible operation."""
    rec = Recorder(session, f"unlink_{'guardians' if kind is ContactKind.GUARDIAN else 'sims'}",
                   actor, reason, now, summary=dict(summary or {}))
    links = session.scalars(select(Contact).where(
        Contact.person_id.in_(person_ids), Contact.kind == kind.value,
        Contact.revoked_at.is_(None))).all() if person_ids else []
    rec.track("contacts", [c.id for c in links])
    for c in links:
        c.revoked_at, c.revoked_reason = now, reason[:200]
    rec.summary.update(people=len(person_ids), links_ended=len(links))
    return rec.finish()


def track_reissue(rec: Recorder, kind: str, person_id: int) -> None:
    """Snapshot a person's live codes of `kind` before a reissue cancels them."""
    live = rec.session.scalars(select(OneTimeCode.id).where(
        OneTimeCode.person_id == person_id, OneTimeCode.kind == kind,
        OneTimeCode.used_at.is_(None), OneTimeCode.burned_at.is_(None),
        OneTimeCode.expires_at > rec.now)).all()
    rec.track("one_time_codes", list(live))


def note_issued(rec: Recorder, kind: str, person_id: int) -> None:
    """Note the code just issued to a person (the newest of its kind) as created."""
    newest = rec.session.scalar(select(OneTimeCode.id).where(
        OneTimeCode.person_id == person_id, OneTimeCode.kind == kind)
        .order_by(OneTimeCode.id.desc()).limit(1))
    if newest is not None:
        rec.created("one_time_codes", [newest])


def touched_sims(session: Session, op_id: int) -> list[str]:
    """Return the SIMs whose links an operation changed (for the caller's USSD cache to forget)."""
    ids = session.scalars(select(BulkRowImage.row_id).where(
        BulkRowImage.operation_id == op_id, BulkRowImage.table_name == "contacts")).all()
    return sorted(set(session.scalars(select(Contact.msisdn).where(Contact.id.in_(ids))))) if ids else []

"""Attendance capture: who may take a class, its roll order, confirm once, late arrivals (U1, U2)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import (
    Integer,
    String,
    and_,
    bindparam,
    case,
    func,
    insert,
    literal,
    select,
    true,
    union_all,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, aliased

from core import audit, calendar
from core.driver_sql import DriverStatement
from core.school_calendar import SchoolCalendar
from core.models import (
    AttendanceMark,
    AttendanceRecord,
    Delegation,
    Enrolment,
    MarkStatus,
    Person,
    Role,
    SchoolClass,
    utcnow,
)


class NotAllowed(PermissionError):
    """This staff member may not take this class (not theirs, no live delegation)."""


class AlreadyTaken(Exception):
    """Another session already confirmed this class today."""


class NotTakenYet(Exception):
    """Late arrivals need the class's attendance to be confirmed first."""


class RollChanged(Exception):
    """The roll the roll numbers were typed on is not the class's roll now (a sync changed it).

    Nothing was written: the caller shows the roll again. `fingerprint` and `size` are the
    roll's now.
    """

    def __init__(self, class_id: int, fingerprint: str, size: int) -> None:
        super().__init__(f"class {class_id}'s roll changed")
        self.class_id, self.fingerprint, self.size = class_id, fingerprint, size


@dataclass(frozen=True)
class ClassRow:
    id: int
    name: str
    size: int | None  # students on the roll; None when not counted (with_sizes=False)
    taken: bool
    delegated: bool


def _held(staff_id, now):  # type: ignore[no-untyped-def]
    """Select the class ids a staff member teaches or holds by a live delegation.

    `staff_id` and `now` are values, or bound parameters for a statement built once.
    """
    own = select(Enrolment.class_id.label("class_id")).where(
        Enrolment.person_id == staff_id, Enrolment.ended_at.is_(None))
    held = select(Delegation.class_id.label("class_id")).where(
        Delegation.grantee_id == staff_id, Delegation.revoked_at.is_(None),
        Delegation.starts_at <= now, Delegation.ends_at > now)
    return own, held


def _build_classes():  # type: ignore[no-untyped-def]
    """The class list statement (and its taken-today companion), with bound parameters."""
    own_q, held_q = _held(bindparam("staff"), bindparam("now"))
    src = union_all(own_q.add_columns(literal(1).label("own")),
                    held_q.add_columns(literal(0).label("own"))).subquery()
    mine = select(src.c.class_id, func.max(src.c.own).label("own")).group_by(src.c.class_id).subquery()
    member = aliased(Enrolment)
    classes = (
        select(SchoolClass.id, SchoolClass.name, func.count(Person.id), mine.c.own)
        .join(mine, mine.c.class_id == SchoolClass.id)
        .outerjoin(member, and_(member.class_id == SchoolClass.id, member.ended_at.is_(None)))
        .outerjoin(Person, and_(Person.id == member.person_id, Person.role == Role.STUDENT.value,
                                Person.active.is_(True), Person.canonical_id.is_(None)))
        .where(SchoolClass.active.is_(True))
        .group_by(SchoolClass.id, SchoolClass.name, mine.c.own)
        .order_by(mine.c.own.desc(), SchoolClass.name, SchoolClass.id))
    names = (  # the same list without the sizes: no student is read
        select(SchoolClass.id, SchoolClass.name, mine.c.own)
        .join(mine, mine.c.class_id == SchoolClass.id)
        .where(SchoolClass.active.is_(True))
        .order_by(mine.c.own.desc(), SchoolClass.name, SchoolClass.id))
    taken = select(AttendanceRecord.class_id).where(
        AttendanceRecord.class_id.in_(bindparam("ids", expanding=True)),
        AttendanceRecord.day == bindparam("day"))
    return classes, names, taken


# Built once, as _LOOKUP below: building this statement cost more CPU than a whole warm
# hop, and a fresh teacher's session (the morning spike) runs it on its first hop.
_CLASSES, _CLASS_NAMES, _TAKEN_AMONG = (DriverStatement(s) for s in _build_classes())
_TAKEN_ON = DriverStatement(select(AttendanceRecord.class_id).where(AttendanceRecord.day == bindparam("day")))


def classes_for(session: Session, staff_id: int, day: date, now: datetime, *,
                with_taken: bool = True, with_sizes: bool = True) -> list[ClassRow]:
    """Return the classes a staff member may take today: their own, then delegated ones.

    One statement for ids, names, sizes and ownership (it runs on the first hop of every
    teacher's session); `with_taken=False` skips the taken-today query for callers that
    keep those flags elsewhere (the USSD hop cache). `with_sizes=False` leaves the sizes
    out (None) for callers that count a class from its roster: counting joins every
    student of every class, most of the statement's cost (decision 0040).
    """
    params = {"staff": staff_id, "now": now}
    if with_sizes:
        rows = _CLASSES.all(session, params)
    else:
        rows = [(cid, name, None, own) for cid, name, own in _CLASS_NAMES.all(session, params)]
    taken: set[int] = set()
    if with_taken and rows:
        ids = [r[0] for r in rows]
        taken = {r[0] for r in _TAKEN_AMONG.all(session, {"ids": ids, "day": day})}
    return [ClassRow(cid, name, size, cid in taken, not own) for cid, name, size, own in rows]


def may_take(session: Session, staff_id: int, class_id: int, now: datetime) -> bool:
    """Tell whether a staff member may take a class now (theirs, or delegated and live)."""
    return _lookup(session, staff_id, class_id, calendar.to_cairo(now).date(), now).allowed


def taken_on(session: Session, day: date) -> list[int]:
    """Return the ids of every class whose attendance is confirmed on `day`."""
    return [r[0] for r in _TAKEN_ON.all(session, {"day": day})]


def roster(session: Session, class_id: int) -> tuple[tuple[tuple[int, str], ...], str]:
    """Return the class's active students in roll order, and a fingerprint of that order."""
    return rosters(session, [class_id])[class_id]


def rosters(session: Session, class_ids: list[int]) -> dict[int, tuple[tuple[tuple[int, str], ...], str]]:
    """Return several classes' rosters (as `roster` gives each) in one statement.

    A teacher's session loads its classes' rosters with its first read, so the marking
    hop takes no connection of its own.
    """
    if not class_ids:
        return {}
    rows: dict[int, list[tuple[int, str]]] = {cid: [] for cid in class_ids}
    for cid, pid, name in _ROSTERS.all(session, {"ids": class_ids}):
        rows[cid].append((pid, name))
    return {cid: (tuple(students), roll_fingerprint(pid for pid, _ in students))
            for cid, students in rows.items()}


def roll_fingerprint(ids: Iterable[int]) -> str:
    """Return the fingerprint of a roll: it changes when the students or their order change."""
    return hashlib.blake2b(",".join(str(pid) for pid in ids).encode(), digest_size=4).hexdigest()


def rolls(session: Session, class_ids: list[int]) -> dict[int, tuple[tuple[int, ...], str]]:
    """Return several classes' rolls, ids only, with the fingerprint `rosters` gives each.

    What marking needs (a roll number is a position on it) without a single name: the
    roll a cache may keep where names may not go, and the confirm's check of that cache.
    """
    if not class_ids:
        return {}
    rows: dict[int, list[int]] = {cid: [] for cid in class_ids}
    for cid, pid in _ROLLS.all(session, {"ids": class_ids}):
        rows[cid].append(pid)
    return {cid: (tuple(ids), roll_fingerprint(ids)) for cid, ids in rows.items()}


def _build_rosters(*columns, of=None):  # type: ignore[no-untyped-def]
    """Select the students on the rolls of classes `of` (default: the `ids` parameter)."""
    if of is None:
        of = Enrolment.class_id.in_(bindparam("ids", expanding=True))
    return (select(Enrolment.class_id, Person.id, *columns)
            .join(Enrolment, Enrolment.person_id == Person.id)
            .where(of, Enrolment.ended_at.is_(None), Person.role == Role.STUDENT.value,
                   Person.active.is_(True),
                   Person.canonical_id.is_(None))  # the roll a mark must be on
            .order_by(Enrolment.class_id, Person.name_key, Person.upstream_id))


_ROSTERS = DriverStatement(_build_rosters(Person.display_name))  # built once (see _CLASSES)
_ROLLS = DriverStatement(_build_rosters())


@dataclass(frozen=True)
class _Lookup:
    allowed: bool
    record_id: int | None
    session_id: str | None
    taken_by: int | None


def _build_lookup():  # type: ignore[no-untyped-def]
    cls, day = bindparam("cls"), bindparam("day")
    own, held = _held(bindparam("staff"), bindparam("now"))
    either = union_all(own, held).subquery()
    allowed = select(func.count()).where(either.c.class_id == cls).scalar_subquery()
    rec = (AttendanceRecord.class_id == cls) & (AttendanceRecord.day == day)
    fields = [select(c).where(rec).scalar_subquery().label(name)
              for c, name in ((AttendanceRecord.id, "rid"), (AttendanceRecord.session_id, "sid"),
                              (AttendanceRecord.taken_by, "taken_by"))]
    return select(allowed.label("allowed"), *fields)


# Built once: a statement object memoises its cache key, so a hop pays for neither
# building nor keying it (that was a fifth of a worker's CPU at the morning spike).
_LOOKUP = DriverStatement(_build_lookup())


def _lookup(session: Session, staff_id: int, class_id: int, day: date, now: datetime) -> _Lookup:
    """Return, in one round trip, whether staff may take the class and the day's record if any."""
    row = _LOOKUP.all(session, {"staff": staff_id, "cls": class_id, "day": day, "now": now})[0]
    return _Lookup(bool(row[0]), row[1], row[2], row[3])


def _build_lookup_and_roll():  # type: ignore[no-untyped-def]
    """The lookup, left-joined to the class's roll in roll order: a row a student (one, with
    no student, for an empty roll). A confirm's reads in one round trip, not two."""
    found = _LOOKUP.statement.subquery("found")
    roll = (_build_rosters(of=Enrolment.class_id == bindparam("cls"))
            .with_only_columns(Person.id, Person.name_key, Person.upstream_id).order_by(None)
            .subquery("roll"))
    return (select(found.c.allowed, found.c.rid, found.c.sid, found.c.taken_by, roll.c.id)
            .select_from(found.outerjoin(roll, true()))
            .order_by(roll.c.name_key, roll.c.upstream_id))


def _lookup_and_roll(session: Session, staff_id: int, class_id: int, day: date,
                     now: datetime) -> tuple[_Lookup, tuple[int, ...]]:
    """Return the lookup and the class's roll (ids in roll order) in one round trip."""
    rows = _LOOKUP_ROLL.all(session, {"staff": staff_id, "cls": class_id, "day": day, "now": now})
    first = rows[0]
    return (_Lookup(bool(first[0]), first[1], first[2], first[3]),
            tuple(r[4] for r in rows if r[4] is not None))


# The dialects whose insert() knows ON CONFLICT DO NOTHING (the same words in both): a
# statement built with it is built once for each, and picked by the session's dialect.
_UPSERTING = (("postgresql", postgresql), ("sqlite", sqlite))


def _build_writes():  # type: ignore[no-untyped-def]
    """The record and its marks, for a roll the save has just read (`rolls`, same transaction).

    The class size and who is on the roll come from that read: the roll is scanned once a
    save, not again by a count in the record's insert and a join in the marks' (three
    scans of ~40 students a save, ~0.5 ms of PostgreSQL, before).
    """
    # Core inserts on the tables: executed with parameters, an ORM insert would be
    # taken for a bulk insert of those parameters.
    records = AttendanceRecord.__table__
    # ON CONFLICT DO NOTHING: a session that confirms
    # the class between this one's lookup and its insert makes this insert return no row,
    # a refusal, not a unique violation that aborts the transaction.
    record = DriverStatement({dialect: module.insert(records).values(
        class_id=bindparam("cls"), day=bindparam("day"), taken_by=bindparam("staff"),
        confirmed_at=bindparam("at", type_=AttendanceRecord.confirmed_at.type),
        session_id=bindparam("sid"), msisdn=bindparam("msisdn"), class_size=bindparam("size"))
        .on_conflict_do_nothing(index_elements=[records.c.class_id, records.c.day])
        .returning(records.c.id, records.c.class_size)
        for dialect, module in _UPSERTING})
    status = case((Person.id.in_(bindparam("late", expanding=True)), MarkStatus.LATE.value),
                  else_=MarkStatus.ABSENT.value)
    marks = DriverStatement(insert(AttendanceMark.__table__).from_select(
        ["record_id", "person_id", "status", "captured_at", "session_id", "marked_by"],
        select(bindparam("rid", type_=Integer), Person.id, status,
               bindparam("at", type_=AttendanceMark.captured_at.type),
               bindparam("sid", type_=String), bindparam("staff", type_=Integer))
        .where(Person.id.in_(bindparam("ids", expanding=True)))))  # on the roll: read just now
    return record, marks


def confirm(session: Session, *, class_id: int, staff_id: int, day: date, absent: tuple[int, ...],
            late: tuple[int, ...], session_id: str, msisdn: str,
            now: datetime | None = None, fingerprint: str | None = None) -> int:
    """Store a class's attendance for the day exactly once; return the record's id.

    A repeat of the same session, or the same teacher confirming the same marks again,
    returns the stored record. Written in few round trips (it ends most USSD sessions):
    the lookup with the class's roll (ids) in one statement, the record with the roll's
    size, the marks of those of `absent`/`late` on that roll, then the audit link.

    `fingerprint`: the roll the caller mapped roll numbers on (a cached one, over USSD).
    When students are marked and the roll is not that one any more, nothing is written.

    `now` (the caller's clock) is the record's confirmed_at: whether it came before the
    digest cut-off decides if parents hear of it in the digest or by an absence alert.

    Raises:
        NotAllowed: the staff member may not take this class.
        AlreadyTaken: a different session confirmed the class first.
        RollChanged: `fingerprint` is not the roll's now (and someone is marked).
    """
    now = now or utcnow()
    found, roll = _lookup_and_roll(session, staff_id, class_id, day, now)
    if found.record_id is not None:
        if found.session_id == session_id or _same_marks(session, found, staff_id, absent, late):
            return found.record_id  # an operator retry, a double confirm, a resumed session
        raise AlreadyTaken(f"class {class_id} was taken on {day} by another session")
    if not found.allowed:
        raise NotAllowed(f"staff {staff_id} may not take class {class_id}")
    now_fingerprint = roll_fingerprint(roll)
    if fingerprint is not None and fingerprint != now_fingerprint and (absent or late):
        raise RollChanged(class_id, now_fingerprint, len(roll))
    row = _INSERT_RECORD.first(session, {
        "cls": class_id, "day": day, "staff": staff_id, "at": now, "sid": session_id[:100],
        "msisdn": msisdn, "size": len(roll)})
    if row is None:  # another session's record landed after the lookup: decide as above
        found = _lookup(session, staff_id, class_id, day, now)
        if found.record_id is not None and (
                found.session_id == session_id or _same_marks(session, found, staff_id, absent, late)):
            return found.record_id
        raise AlreadyTaken(f"class {class_id} was taken on {day} by another session")
    record_id, size = row
    on_roll = set(roll)
    absent = tuple(p for p in absent if p in on_roll)
    late = tuple(p for p in late if p in on_roll)
    _insert_marks(session, record_id, absent, late, now, session_id, staff_id)
    audit.record(session, actor=f"staff:{staff_id}", action="attendance.confirm", entity="class",
                 entity_id=class_id, reason="confirmed over USSD",
                 data={"day": day.isoformat(), "absent": list(absent), "late": list(late),
                       "size": size, "session": session_id[:100]})
    return record_id


def _insert_marks(session: Session, record_id: int, absent: tuple[int, ...],
                  late: tuple[int, ...], now: datetime, session_id: str, staff_id: int) -> None:
    """Insert absent and late marks (of students on the roll: the caller checked) at once."""
    wanted = set(absent) | set(late)
    if not wanted:
        return
    _INSERT_MARKS.run(session, {"rid": record_id, "ids": sorted(wanted),
                                "late": sorted(set(late)) or [0], "at": now,
                                "sid": session_id[:100], "staff": staff_id})


_INSERT_RECORD, _INSERT_MARKS = _build_writes()


def _same_marks(session: Session, found: _Lookup, staff_id: int, absent: tuple[int, ...],
                late: tuple[int, ...]) -> bool:
    """Tell whether a second confirm by the same teacher repeats what is stored."""
    if found.taken_by != staff_id:
        return False
    stored = set(session.execute(select(AttendanceMark.person_id, AttendanceMark.status)
                                 .where(AttendanceMark.record_id == found.record_id)).all())
    wanted = {(p, MarkStatus.ABSENT.value) for p in absent} | {(p, MarkStatus.LATE.value) for p in late}
    return stored == wanted


def mark_late(session: Session, *, class_id: int, staff_id: int, day: date, late: tuple[int, ...],
              session_id: str, fingerprint: str | None = None) -> int:
    """Record late arrivals after confirmation: a late mark supersedes an absence (U2).

    `fingerprint`: the roll the caller mapped roll numbers on, checked as `confirm` does.

    Returns:
        how many marks changed (a repeat changes nothing).

    Raises:
        RollChanged: `fingerprint` is not the roll's now.
    """
    now = utcnow()
    if fingerprint is not None and late:
        roll, now_fingerprint = rolls(session, [class_id])[class_id]
        if fingerprint != now_fingerprint:
            raise RollChanged(class_id, now_fingerprint, len(roll))
    # One round trip: whether staff may take the class and the day's record, with those of
    # `late` on the roll and the mark each has now (None: marked present); a row with no
    # student when none of them is on the roll.
    rows = _LATE_LOOKUP.all(session, {"staff": staff_id, "cls": class_id, "day": day, "now": now,
                                      "ids": sorted(set(late))})
    allowed, record_id = bool(rows[0][0]), rows[0][1]
    if record_id is None:
        raise NotTakenYet(f"class {class_id} has no attendance on {day}")
    if not allowed:
        raise NotAllowed(f"staff {staff_id} may not take class {class_id}")
    current = {pid: status for _a, _r, pid, status in rows if pid is not None}
    to_update = [pid for pid in late if current.get(pid, "") == MarkStatus.ABSENT.value]
    to_insert = [pid for pid in late if pid in current and current[pid] is None]
    if to_update:
        _LATE_UPDATE.run(session, {"rid": record_id, "ids": to_update, "at": now,
                                   "sid": session_id[:100], "staff": staff_id})
    if to_insert:
        # A late mark another session made meanwhile is left as it is, and not counted here.
        landed = {r[0] for r in _LATE_INSERT.all(session, {
            "rid": record_id, "ids": to_insert, "at": now, "sid": session_id[:100], "staff": staff_id})}
        to_insert = [pid for pid in to_insert if pid in landed]
    if to_update or to_insert:
        # A new revision of the class-day: write-back sends it under a new key (C2).
        _NEW_REVISION.run(session, {"rid": record_id})
        audit.record(session, actor=f"staff:{staff_id}", action="attendance.late", entity="class",
                     entity_id=class_id, reason="late arrival over USSD",
                     data={"day": day.isoformat(), "was_absent": to_update, "was_present": to_insert})
    return len(to_update) + len(to_insert)


def _build_late():  # type: ignore[no-untyped-def]
    """Late arrivals' writes, on the tables (Core): built once, no ORM bookkeeping a hop."""
    marks, records = AttendanceMark.__table__, AttendanceRecord.__table__
    to_late = (update(marks).where(marks.c.record_id == bindparam("rid"),
                                   marks.c.person_id.in_(bindparam("ids", expanding=True)))
               .values(status=MarkStatus.LATE.value,
                       captured_at=bindparam("at", type_=marks.c.captured_at.type),
                       session_id=bindparam("sid"), marked_by=bindparam("staff")))
    revision = (update(records).where(records.c.id == bindparam("rid"))
                .values(revision=records.c.revision + 1))
    # One statement for any number of students (their ids are on the roll: the lookup said so).
    late = DriverStatement({dialect: module.insert(marks).from_select(
        ["record_id", "person_id", "status", "captured_at", "session_id", "marked_by"],
        select(bindparam("rid", type_=Integer), Person.id, literal(MarkStatus.LATE.value, String),
               bindparam("at", type_=marks.c.captured_at.type), bindparam("sid", type_=String),
               bindparam("staff", type_=Integer))
        .where(Person.id.in_(bindparam("ids", expanding=True))))
        .on_conflict_do_nothing(index_elements=[marks.c.record_id, marks.c.person_id])
        .returning(marks.c.person_id)
        for dialect, module in _UPSERTING})
    return DriverStatement(to_late), late, DriverStatement(revision)


def _build_late_lookup():  # type: ignore[no-untyped-def]
    """The lookup, left-joined to those of `ids` on the class's roll and their marks that day.

    Was two statements (the lookup, then the marks by the record id it found): one
    statement, so one round trip and one execution fewer in every late-arrival save.
    """
    found = _LOOKUP.statement.subquery("found")
    on_roll = Person.__table__.join(Enrolment.__table__, and_(
        Enrolment.person_id == Person.id, Enrolment.class_id == bindparam("cls"),
        Enrolment.ended_at.is_(None), Person.role == Role.STUDENT.value, Person.active.is_(True),
        Person.canonical_id.is_(None),  # a merged duplicate is off the roll
        Person.id.in_(bindparam("ids", expanding=True))))
    marks = AttendanceMark.__table__
    return (select(found.c.allowed, found.c.rid, Person.id, marks.c.status)
            .select_from(found.outerjoin(on_roll, true())
                         .outerjoin(marks, and_(marks.c.record_id == found.c.rid,
                                                marks.c.person_id == Person.id))))


_LATE_UPDATE, _LATE_INSERT, _NEW_REVISION = _build_late()
_LATE_LOOKUP = DriverStatement(_build_late_lookup())
_LOOKUP_ROLL = DriverStatement(_build_lookup_and_roll())


def late_allowed(now: datetime, cal: SchoolCalendar, school: int | None = None) -> bool:
    """Tell whether late arrivals may still be marked today (a school day, before its cut-off)."""
    return cal.late_allowed(now, school)



"""Attendance rules in the core: who may take a class, exactly-once confirm, late supersedes."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import event, select

from core import attendance
from core.models import (AttendanceMark, AttendanceRecord, Delegation, Enrolment, Person, SchoolClass,
                         utcnow)

DAY = date(2026, 11, 29)


def _staff_and_classes(s):  # type: ignore[no-untyped-def]
    teachers = s.scalars(select(Person).where(Person.role == "teacher").order_by(Person.id)).all()
    mine = set(s.scalars(select(Enrolment.class_id).where(Enrolment.person_id == teachers[0].id,
                                                          Enrolment.ended_at.is_(None))))
    other = s.scalars(select(SchoolClass.id).where(SchoolClass.id.not_in(mine))
                      .order_by(SchoolClass.id)).first()
    return teachers[0], teachers[1], sorted(mine), other


def test_only_own_or_delegated_classes_may_be_taken(synced) -> None:  # type: ignore[no-untyped-def]
    with synced.sessions() as s, s.begin():
        teacher, colleague, mine, other = _staff_and_classes(s)
        assert attendance.may_take(s, teacher.id, mine[0], utcnow())
        assert not attendance.may_take(s, teacher.id, other, utcnow())
        with pytest.raises(attendance.NotAllowed):
            attendance.confirm(s, class_id=other, staff_id=teacher.id, day=DAY, absent=(), late=(),
                               session_id="s1", msisdn="+201001234567")
        s.add(Delegation(class_id=other, grantor_id=colleague.id, grantee_id=teacher.id,
                         ends_at=utcnow() + timedelta(days=1)))
        s.flush()
        assert attendance.may_take(s, teacher.id, other, utcnow())
        rows = attendance.classes_for(s, teacher.id, DAY, utcnow())
        assert [r.delegated for r in rows][-1] is True and {r.id for r in rows} == {*mine, other}
        assert [r.size for r in rows] == [len(attendance.roster(s, r.id)[0]) for r in rows]
        unsized = attendance.classes_for(s, teacher.id, DAY, utcnow(), with_sizes=False)
        assert [(r.id, r.name, r.taken, r.delegated) for r in unsized] == \
            [(r.id, r.name, r.taken, r.delegated) for r in rows]  # same list, same order
        assert {r.size for r in unsized} == {None}


def test_confirm_once_and_late_supersedes_absent(synced) -> None:  # type: ignore[no-untyped-def]
    with synced.sessions() as s, s.begin():
        teacher, _, mine, _ = _staff_and_classes(s)
        students = [pid for pid, _ in attendance.roster(s, mine[0])[0]]
        first = attendance.confirm(s, class_id=mine[0], staff_id=teacher.id, day=DAY,
                                   absent=(students[0], students[1]), late=(), session_id="s1",
                                   msisdn="+201001234567")
        again = attendance.confirm(s, class_id=mine[0], staff_id=teacher.id, day=DAY,
                                   absent=(students[0], students[1]), late=(), session_id="s2",
                                   msisdn="+201001234567")
        assert again == first  # same teacher, same marks, resumed session: same record
        with pytest.raises(attendance.AlreadyTaken):
            attendance.confirm(s, class_id=mine[0], staff_id=teacher.id, day=DAY,
                               absent=(students[2],), late=(), session_id="s3", msisdn="+201001234567")
        assert attendance.mark_late(s, class_id=mine[0], staff_id=teacher.id, day=DAY,
                                    late=(students[0], students[3]), session_id="s4") == 2
        assert attendance.mark_late(s, class_id=mine[0], staff_id=teacher.id, day=DAY,
                                    late=(students[0],), session_id="s5") == 0


def test_the_class_list_sees_what_this_transaction_added_and_not_yet_flushed(synced) -> None:  # type: ignore[no-untyped-def]
    """The hop's reads run on the session's connection (core.db.core_execute), after the
    autoflush session.execute would do: a pending enrolment is in the list, not missed."""
    with synced.sessions() as s, s.begin():
        teacher, _colleague, mine, other = _staff_and_classes(s)
        s.add(Enrolment(person_id=teacher.id, class_id=other))  # pending: no flush here
        assert {r.id for r in attendance.classes_for(s, teacher.id, DAY, utcnow())} == {*mine, other}
        assert attendance.may_take(s, teacher.id, other, utcnow())


def _rival_before(engine, table: str, rival):  # type: ignore[no-untyped-def]
    """Run `rival` (its own transaction, committed) just before the next INSERT INTO `table`
    of any other connection: a session that wins the race between a lookup and its insert."""
    fired: list[bool] = []

    def before(_conn, _cursor, statement, *_rest) -> None:  # type: ignore[no-untyped-def]
        if not fired and statement.startswith(f"INSERT INTO {table}"):
            fired.append(True)
            rival()

    event.listen(engine, "before_cursor_execute", before)
    return lambda: event.remove(engine, "before_cursor_execute", before)


def _postgres_only(synced) -> None:  # type: ignore[no-untyped-def]
    if synced.engine.dialect.name != "postgresql":  # SQLite: the first writer holds the lock
        pytest.skip("two writers at once")


def test_a_confirm_that_loses_the_race_after_its_lookup_is_refused_not_failed(synced) -> None:  # type: ignore[no-untyped-def]
    """Two phones confirm one class at once; the loser gets AlreadyTaken (the 'already
    saved' screen), not a unique violation (a 'not saved, try again' screen)."""
    _postgres_only(synced)
    with synced.sessions() as s:
        teacher, _, mine, _ = _staff_and_classes(s)
        students = [pid for pid, _ in attendance.roster(s, mine[0])[0]]

    def rival() -> None:
        with synced.sessions() as r, r.begin():
            attendance.confirm(r, class_id=mine[0], staff_id=teacher.id, day=DAY, absent=(students[0],),
                               late=(), session_id="winner", msisdn="+201001234567")

    stop = _rival_before(synced.engine, "attendance_records", rival)
    try:
        with synced.sessions() as s, s.begin():
            with pytest.raises(attendance.AlreadyTaken):
                attendance.confirm(s, class_id=mine[0], staff_id=teacher.id, day=DAY,
                                   absent=(students[1],), late=(), session_id="loser",
                                   msisdn="+201001234567")
    finally:
        stop()
    with synced.sessions() as s:
        marks = s.execute(select(AttendanceMark.person_id, AttendanceMark.session_id)).all()
    assert marks == [(students[0], "winner")]


def test_a_late_mark_made_meanwhile_by_another_session_is_kept_and_not_counted_twice(synced) -> None:  # type: ignore[no-untyped-def]
    _postgres_only(synced)
    with synced.sessions() as s, s.begin():
        teacher, _, mine, _ = _staff_and_classes(s)
        students = [pid for pid, _ in attendance.roster(s, mine[0])[0]]
        attendance.confirm(s, class_id=mine[0], staff_id=teacher.id, day=DAY, absent=(),
                           late=(), session_id="morning", msisdn="+201001234567")

    def rival() -> None:
        with synced.sessions() as r, r.begin():
            assert attendance.mark_late(r, class_id=mine[0], staff_id=teacher.id, day=DAY,
                                        late=(students[4],), session_id="first") == 1

    stop = _rival_before(synced.engine, "attendance_marks", rival)
    try:
        with synced.sessions() as s, s.begin():
            assert attendance.mark_late(s, class_id=mine[0], staff_id=teacher.id, day=DAY,
                                        late=(students[4],), session_id="second") == 0
    finally:
        stop()
    with synced.sessions() as s:
        marks = s.execute(select(AttendanceMark.person_id, AttendanceMark.status,
                                 AttendanceMark.session_id)).all()
        revision = s.scalar(select(AttendanceRecord.revision))
    assert marks == [(students[4], "late", "first")] and revision == 2

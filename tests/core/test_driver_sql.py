"""A hop's hot statements on the driver's cursor answer, fail and show themselves exactly as
through SQLAlchemy (core.driver_sql, decision 0041)."""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import event, insert, select, text
from sqlalchemy.dialects.postgresql import psycopg as pg_psycopg
from sqlalchemy.dialects.sqlite import pysqlite as sqlite_pysqlite
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.pool import NullPool

from core import attendance, contacts
from core.db import core_execute, make_engine
from core.driver_sql import DriverStatement, NotForTheDriver, run_script
from core.models import (AttendanceMark, AuditEntry, Contact, Enrolment, Person, School,
                         SchoolClass)

DAY = date(2026, 11, 29)
NOW = datetime(2026, 11, 29, 7, 30, tzinfo=timezone.utc)


def _through_sqlalchemy(session, hot: DriverStatement, params):  # type: ignore[no-untyped-def]
    return [tuple(r) for r in core_execute(session, hot.statement, params).all()]


def _postgres_only(synced) -> None:  # type: ignore[no-untyped-def]
    if synced.engine.dialect.name != "postgresql":
        pytest.skip("SQLite runs these statements through SQLAlchemy itself")


def _terminate(synced, pid: int) -> None:  # type: ignore[no-untyped-def]
    """Have PostgreSQL close backend `pid`, from a connection of no pool the test uses."""
    other = make_engine(synced.engine.url.render_as_string(hide_password=False), poolclass=NullPool)
    with other.connect() as conn:
        conn.execute(text("SELECT pg_terminate_backend(:p)"), {"p": pid})
    other.dispose()


def _world(s):  # type: ignore[no-untyped-def]
    teacher = s.scalars(select(Person).where(Person.role == "teacher").order_by(Person.id)).first()
    classes = list(s.scalars(select(SchoolClass.id).order_by(SchoolClass.id)))
    students = list(s.scalars(select(Person.id).where(Person.role == "student").order_by(Person.id)))
    return teacher, classes, students


def test_every_hot_read_answers_as_sqlalchemy_does(synced) -> None:  # type: ignore[no-untyped-def]
    _postgres_only(synced)
    with synced.sessions() as s, s.begin():
        teacher, classes, students = _world(s)
        mine = list(s.scalars(select(Enrolment.class_id).where(Enrolment.person_id == teacher.id)))
        s.execute(insert(Contact), [{"person_id": teacher.id, "msisdn": "+201001234567",
                                     "kind": "staff", "opted_out_at": NOW}])
        roll = [pid for pid, _ in attendance.roster(s, mine[0])[0]]
        attendance.confirm(s, class_id=mine[0], staff_id=teacher.id, day=DAY, absent=(roll[0],),
                           late=(), session_id="s1", msisdn="ref", now=NOW)  # something taken
        reads = [
            (contacts._BY_MSISDN, {"msisdn": "+201001234567"}),
            (attendance._CLASSES, {"staff": teacher.id, "now": NOW}),
            (attendance._CLASS_NAMES, {"staff": teacher.id, "now": NOW}),
            (attendance._TAKEN_AMONG, {"ids": classes, "day": DAY}),
            (attendance._TAKEN_ON, {"day": DAY}),
            (attendance._ROSTERS, {"ids": mine}),
            (attendance._LOOKUP, {"staff": teacher.id, "cls": mine[0], "day": DAY, "now": NOW}),
            (attendance._LATE_LOOKUP, {"staff": teacher.id, "cls": mine[0], "day": DAY, "now": NOW,
                                       "ids": [*roll[:2], *students[:3]]}),
        ]
        for hot, params in reads:
            ours = [tuple(r) for r in hot.all(s, params)]
            assert ours == _through_sqlalchemy(s, hot, params), hot.statement
            assert ours, hot.statement  # each has something to answer
        row = contacts._BY_MSISDN.all(s, {"msisdn": "+201001234567"})[0]
        assert row[2] == NOW and row[2].tzinfo is not None  # the type's result conversion ran


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(picks=st.lists(st.integers(min_value=0, max_value=40), max_size=12))
def test_an_in_list_of_any_length_answers_as_sqlalchemy_does(synced, picks) -> None:  # type: ignore[no-untyped-def]
    """Empty, one, many, repeated, or not a class at all: the same rows, in the same order."""
    _postgres_only(synced)
    with synced.sessions() as s, s.begin():
        _teacher, classes, students = _world(s)
        ids = [classes[i] if i < len(classes) else 10_000_000 + i for i in picks]
        for hot, params in ((attendance._ROSTERS, {"ids": ids}),
                            (attendance._TAKEN_AMONG, {"ids": ids, "day": DAY})):
            assert [tuple(r) for r in hot.all(s, params)] == _through_sqlalchemy(s, hot, params)
        late = [students[i % len(students)] for i in picks]
        params = {"staff": _teacher.id, "cls": classes[0], "day": DAY, "now": NOW, "ids": late}
        hot = attendance._LATE_LOOKUP
        assert sorted(map(tuple, hot.all(s, params)), key=repr) == \
            sorted(_through_sqlalchemy(s, hot, params), key=repr)


def test_a_written_record_takes_the_columns_scalar_default(synced) -> None:  # type: ignore[no-untyped-def]
    with synced.sessions() as s, s.begin():
        teacher, _, _ = _world(s)
        mine = s.scalars(select(Enrolment.class_id).where(Enrolment.person_id == teacher.id)).first()
        rid = attendance.confirm(s, class_id=mine, staff_id=teacher.id, day=DAY, absent=(), late=(),
                                 session_id="s1", msisdn="ref", now=NOW)
        revision, confirmed = s.execute(text(
            "SELECT revision, confirmed_at FROM attendance_records WHERE id = :i"), {"i": rid}).one()
        assert revision == 1  # the model's default=1, given by the driver path too
        assert confirmed is not None


def test_the_engines_cursor_events_see_the_driver_path(synced) -> None:  # type: ignore[no-untyped-def]
    seen: list[str] = []

    def before(_conn, _cursor, statement, *_rest) -> None:  # type: ignore[no-untyped-def]
        seen.append(statement)

    event.listen(synced.engine, "before_cursor_execute", before)
    try:
        with synced.sessions() as s, s.begin():
            contacts.lookup(s, "+201009999999")
    finally:
        event.remove(synced.engine, "before_cursor_execute", before)
    assert any("FROM contacts JOIN people" in q for q in seen), seen


def test_a_refused_write_is_sqlalchemys_error_with_the_values_hidden(synced) -> None:  # type: ignore[no-untyped-def]
    from core.audit import _APPEND

    row = {"seq": 1, "at": "2026-11-29T07:30:00", "actor": "t", "action": "secret-action",
           "entity": "e", "entity_id": "1", "reason": "r", "data": "{}", "hash_scheme": 2,
           "prev_hash": "0" * 64, "hash": "1" * 64}
    with synced.sessions() as s:
        top = s.scalar(select(AuditEntry.seq).order_by(AuditEntry.seq.desc()).limit(1)) or 0
        _APPEND.run(s, {**row, "seq": top + 1})
        with pytest.raises(IntegrityError) as caught:
            _APPEND.run(s, {**row, "seq": top + 1})  # the same seq again: the primary key refuses
        s.rollback()
        assert "secret-action" not in str(caught.value)
        assert s.scalar(select(AuditEntry.seq).order_by(AuditEntry.seq.desc()).limit(1)) == top


def test_a_connection_postgresql_closed_is_reported_and_dropped(synced) -> None:  # type: ignore[no-untyped-def]
    _postgres_only(synced)  # a server that can close a connection
    with synced.sessions() as s:
        pid = s.execute(text("SELECT pg_backend_pid()")).scalar()
        _terminate(synced, pid)
        with pytest.raises(DBAPIError) as caught:
            contacts.lookup(s, "+201001234567")
        assert caught.value.connection_invalidated
        assert "+201001234567" not in str(caught.value)
        s.rollback()
    with synced.sessions() as s:  # the pool hands out a working connection
        assert contacts.lookup(s, "+201001234567").staff is None


def test_a_script_gives_its_last_statements_rows_shows_itself_and_fails_as_sqlalchemy(  # type: ignore[no-untyped-def]
        synced) -> None:
    """run_script (the audit chain's lock and head, one simple query): the rows are the last
    statement's, the cursor events see it once, and a connection PostgreSQL closed is
    SQLAlchemy's error with the connection dropped, as for a driver statement."""
    _postgres_only(synced)
    seen: list[str] = []

    def before(_conn, _cursor, statement, *_rest) -> None:  # type: ignore[no-untyped-def]
        seen.append(statement)

    event.listen(synced.engine, "before_cursor_execute", before)
    try:
        with synced.sessions() as s:
            assert run_script(s, "SELECT 1; SELECT 2, 'two' UNION ALL SELECT 3, 'three'") == [
                (2, "two"), (3, "three")]
            assert run_script(s, "SELECT 1 WHERE false") == []
            pid = s.execute(text("SELECT pg_backend_pid()")).scalar()
            _terminate(synced, pid)
            with pytest.raises(DBAPIError) as caught:
                run_script(s, "SELECT 1; SELECT 2")
            assert caught.value.connection_invalidated
            s.rollback()
    finally:
        event.remove(synced.engine, "before_cursor_execute", before)
    assert seen[:2] == ["SELECT 1; SELECT 2, 'two' UNION ALL SELECT 3, 'three'",
                        "SELECT 1 WHERE false"]


def test_a_statement_needing_a_default_per_row_is_refused_not_run_differently() -> None:
    marks = DriverStatement(insert(AttendanceMark.__table__), column_keys=(
        "record_id", "person_id", "status", "session_id", "marked_by"))  # no captured_at: utcnow()
    with pytest.raises(NotForTheDriver):
        marks.compiled(pg_psycopg.dialect())


def test_a_session_after_a_failed_flush_refuses_driver_statements_as_its_own(synced) -> None:  # type: ignore[no-untyped-def]
    """The Connection kept for a transaction is not used once the session must roll back."""
    from sqlalchemy.exc import PendingRollbackError

    with synced.sessions() as s:
        contacts.lookup(s, "+201001234567")  # the transaction's Connection is now kept
        taken = s.scalars(select(School.upstream_id)).first()
        s.add(School(upstream_id=taken, name="A twin", governorate="Cairo"))  # upstream_id is unique
        with pytest.raises(IntegrityError):
            s.flush()
        with pytest.raises(PendingRollbackError):
            contacts.lookup(s, "+201001234567")
        s.rollback()
        assert contacts.lookup(s, "+201001234567").staff is None


def test_the_next_transaction_of_a_session_takes_a_live_connection(synced) -> None:  # type: ignore[no-untyped-def]
    _postgres_only(synced)
    with synced.sessions() as s:
        contacts.lookup(s, "+201001234567")
        pid = s.execute(text("SELECT pg_backend_pid()")).scalar()
        s.commit()  # the connection goes back to the pool
        _terminate(synced, pid)
        assert contacts.lookup(s, "+201001234567").staff is None  # not the closed one
        assert s.execute(text("SELECT pg_backend_pid()")).scalar() != pid


def test_every_driver_statement_of_the_app_compiles_for_the_driver_path() -> None:
    """What an app start compiles (gateway.app): none of the hop's statements is refused."""
    import gateway.app  # noqa: F401  (imports every module that makes one)
    from core import driver_sql

    made = driver_sql.compile_all(pg_psycopg.dialect())
    assert made >= 14, made  # the hop's reads and writes (decision 0041)
    assert driver_sql.compile_all(sqlite_pysqlite.dialect()) == 0  # SQLite: through SQLAlchemy


def test_a_value_the_statement_has_no_place_for_is_refused_not_dropped(synced) -> None:  # type: ignore[no-untyped-def]
    """SQLAlchemy compiles an INSERT for the keys it is given; the driver path has its
    columns fixed, so a key it would ignore (a column added to a row, not to the list) fails."""
    _postgres_only(synced)
    from core.audit import _APPEND

    with synced.sessions() as s, pytest.raises(TypeError, match="not parameters"):
        _APPEND.run(s, {"seq": 1, "at": "x", "actor": "t", "action": "a", "entity": "e",
                        "entity_id": "1", "reason": "r", "data": "{}", "hash_scheme": 2,
                        "prev_hash": "0" * 64, "hash": "1" * 64, "a_new_column": "lost?"})

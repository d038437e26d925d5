"""A teacher's session reads the database once before its save, even for a teacher this
process has not seen (the morning spike: nearly every session is a teacher dialling once)."""

from __future__ import annotations

import pytest
from sqlalchemy import event, select

from core.pseudonyms import msisdn_ref
from tests.ussd.phone import Phone
from tests.ussd.test_ussd_http import _to_absent_entry, teacher_phone  # noqa: F401  (fixture)
from ussd import cache, keys


def _forget_the_teacher(runtime, phone, *, caller_too: bool) -> None:  # type: ignore[no-untyped-def]
    """Forget what the activation left warm in this process and (optionally) in Redis."""
    cache._ROSTERS.clear()
    cache._ROLLS.clear()
    cache._BOOK.clear()  # today's taken set stays known as built (_TAKEN_BUILT)
    if caller_too:
        runtime.redis.delete(keys.caller(msisdn_ref(runtime.config.secret_key, phone.msisdn)))
    for key in runtime.redis.scan_iter(keys.classes(0)[:-1] + "*"):
        runtime.redis.delete(key)


def marking_checkouts(engine, phone: Phone) -> tuple[list[int], list[str]]:  # type: ignore[no-untyped-def]
    """Play a marking session (dial, attendance, class, absentees 01 02, confirm); return the
    database connections each hop checked out, and each hop's screen."""
    per_hop: list[int] = []
    screens: list[str] = []

    def count(*_args) -> None:  # type: ignore[no-untyped-def]
        per_hop[-1] += 1

    def hop(send, *args) -> str:  # type: ignore[no-untyped-def]
        per_hop.append(0)
        screens.append(send(*args))
        return screens[-1]

    event.listen(engine, "checkout", count)
    try:
        assert "Attendance" in hop(phone.dial)
        if "Choose class" in hop(phone.send, "1"):
            hop(phone.send, "1")
        assert "Absent" in screens[-1], screens[-1]
        hop(phone.send, "0102")
        assert hop(phone.send, "1").startswith("END")
    finally:
        event.remove(engine, "checkout", count)
    return per_hop, screens


@pytest.mark.parametrize("caller_too", [True, False], ids=["nothing-cached", "caller-cached-elsewhere"])
def test_a_fresh_teachers_marking_session_checks_out_one_connection_before_its_save(  # type: ignore[no-untyped-def]
        teacher_phone, synced, caller_too) -> None:
    """Dial, attendance, class, absentees, confirm: the reads come in the dial's one
    checkout (name, school, calendar, classes, rosters), the save takes the other."""
    phone, _ = teacher_phone
    _forget_the_teacher(synced, phone, caller_too=caller_too)
    per_hop, _screens = marking_checkouts(synced.engine, phone)
    assert per_hop[0] == 1 and per_hop[-1] == 1, per_hop
    assert sum(per_hop) == 2, per_hop  # was 4: the school, then the roster, each on its own hop


def test_a_known_teachers_dial_reads_nothing(teacher_phone, synced) -> None:  # type: ignore[no-untyped-def]
    """When this process and Redis know the teacher, the session's reads take no connection."""
    phone, _ = teacher_phone
    _to_absent_entry(phone)  # warm: caller, name, school, classes, the roster
    checkouts = [0]

    def count(*_args) -> None:  # type: ignore[no-untyped-def]
        checkouts[0] += 1

    event.listen(synced.engine, "checkout", count)
    try:
        phone.dial()  # the main menu, or the offer to continue the marking left open
        screen = phone.send("1")
        if "Choose class" in screen:
            screen = phone.send("1")
        assert "Absent" in screen, screen
    finally:
        event.remove(synced.engine, "checkout", count)
    assert checkouts == [0]


def test_a_known_teachers_hops_make_no_orm_session_and_the_confirm_only_a_connection(  # type: ignore[no-untyped-def]
        teacher_phone, synced, monkeypatch) -> None:
    """The hops above take no connection and make no ORM Session (one a hop before: made
    and closed for nothing). The confirm writes through one checked-out connection, still
    without a Session, whose transaction bookkeeping cost ~180 µs a hop (decision 0042)."""
    from sqlalchemy.orm import sessionmaker

    from core.models import AttendanceMark

    phone, _ = teacher_phone
    _to_absent_entry(phone)  # warm: caller, name, school, classes, the roster
    made: list[int] = []
    checkouts = [0]
    make = sessionmaker.__call__

    def counted(self, **kw):  # type: ignore[no-untyped-def]
        made.append(1)
        return make(self, **kw)

    def count(*_args) -> None:  # type: ignore[no-untyped-def]
        checkouts[0] += 1

    monkeypatch.setattr(sessionmaker, "__call__", counted)
    event.listen(synced.engine, "checkout", count)
    try:
        screen = _to_absent_entry(phone)
        assert "Absent" in screen, screen
        assert made == [] and checkouts == [0]
        phone.send("0102")
        assert phone.send("1").startswith("END")
    finally:
        event.remove(synced.engine, "checkout", count)
    assert made == [] and checkouts == [1]
    with synced.sessions() as s:  # and the marks are there
        assert list(s.scalars(select(AttendanceMark.status))) == ["absent", "absent"]


def _gets(runtime) -> int:  # type: ignore[no-untyped-def]
    """GET commands Redis has run so far (INFO commandstats: a script's GET counts too)."""
    return int(runtime.redis.info("commandstats").get("cmdstat_get", {}).get("calls", 0))


def test_the_confirming_hop_does_not_read_the_caller_again(teacher_phone, synced) -> None:  # type: ignore[no-untyped-def]
    """Saving a class's marks changes nothing about who is calling: the hop that saves
    them answers without a second look at the cached caller (it was a GET every save)."""
    phone, _ = teacher_phone
    _to_absent_entry(phone)
    phone.send("0102")
    before = _gets(synced)
    assert phone.send("1").startswith("END")
    assert _gets(synced) == before


class _Transactions:
    """What reaches PostgreSQL, seen at the driver: each transaction's statements and its end."""

    WRITES = ("INSERT", "UPDATE", "DELETE")

    def __init__(self) -> None:
        self.open: dict[int, list[str]] = {}  # connection id -> statements so far
        self.committed: list[list[str]] = []
        self.rolled_back: list[list[str]] = []
        self.autocommit: list[str] = []  # statements PostgreSQL commits on their own

    def writing_commits(self) -> list[list[str]]:
        return [t for t in self.committed if any(q.lstrip().upper().startswith(self.WRITES) for q in t)]


def _watch_transactions(monkeypatch) -> _Transactions:  # type: ignore[no-untyped-def]
    """Record, at the driver, every statement, COMMIT and ROLLBACK PostgreSQL gets from here on."""
    import psycopg
    from psycopg.pq import TransactionStatus

    seen = _Transactions()
    execute, commit, rollback = psycopg.Cursor.execute, psycopg.Connection.commit, psycopg.Connection.rollback

    def watched_execute(self, query, *args, **kwargs):  # type: ignore[no-untyped-def]
        if self.connection.autocommit:
            seen.autocommit.append(str(query))
        else:
            seen.open.setdefault(id(self.connection), []).append(str(query))
        return execute(self, query, *args, **kwargs)

    def ended(into: list[list[str]], end):  # type: ignore[no-untyped-def]
        def watched(self):  # type: ignore[no-untyped-def]
            if self.info.transaction_status == TransactionStatus.INTRANS:
                into.append(seen.open.pop(id(self), []))
            return end(self)
        return watched

    monkeypatch.setattr(psycopg.Cursor, "execute", watched_execute)
    monkeypatch.setattr(psycopg.Connection, "commit", ended(seen.committed, commit))
    monkeypatch.setattr(psycopg.Connection, "rollback", ended(seen.rolled_back, rollback))
    return seen


def test_a_fresh_teachers_confirming_session_makes_one_durable_commit_and_no_rollback(  # type: ignore[no-untyped-def]
        teacher_phone, synced, monkeypatch) -> None:
    """The marks' transaction is the session's one write (one WAL flush). Taking a pooled
    connection sends nothing (pool_pre_ping sent an autocommit ping, a committed
    transaction each, two a session), and the dial's reads end in a COMMIT that writes
    nothing, not a ROLLBACK: psycopg drops a connection's prepared statements at every
    ROLLBACK, so PostgreSQL planned each hop statement afresh (decision 0039)."""
    if synced.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL's transactions, seen at psycopg")
    phone, _ = teacher_phone
    _forget_the_teacher(synced, phone, caller_too=True)
    seen = _watch_transactions(monkeypatch)
    screen = _to_absent_entry(phone)
    assert "Absent" in screen, screen
    phone.send("0102")
    assert seen.writing_commits() == [] and len(seen.committed) == 1  # the dial's reads
    assert phone.send("1").startswith("END")
    assert seen.autocommit == [] and seen.rolled_back == []
    assert len(seen.writing_commits()) == 1 and len(seen.committed) == 2
    # the lookup with the roll (ids: its size, who may be marked, the check of the cached
    # roll the numbers were typed on), the record, the marks, the chain's lock and head
    # (one query), the audit link
    assert len(seen.writing_commits()[0]) == 5, seen.writing_commits()[0]
    assert "roll.id" in seen.writing_commits()[0][0]


def test_a_confirm_refused_because_the_class_was_taken_meanwhile_ends_without_a_rollback(  # type: ignore[no-untyped-def]
        teacher_phone, synced, client, monkeypatch) -> None:
    """Two sessions mark the same class; the second to confirm is refused. Its transaction
    wrote nothing, so it ends in a COMMIT, not a ROLLBACK (which makes psycopg drop the
    connection's prepared statements: decision 0040); the first session's marks stand."""
    if synced.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL's transactions, seen at psycopg")
    from core.models import AttendanceMark

    first, _ = teacher_phone
    second = Phone(client, msisdn=first.msisdn)
    assert "Absent" in _to_absent_entry(first)
    assert "Absent" in _to_absent_entry(second)
    first.send("0102")
    second.send("0103")
    assert first.send("1").startswith("END")
    seen = _watch_transactions(monkeypatch)
    refused = second.send("1")
    assert "already saved today" in refused, refused
    assert seen.rolled_back == [] and seen.writing_commits() == []
    assert len(seen.committed) == 1  # the lookup and the question, then COMMIT
    with synced.sessions() as session:
        marked = session.scalars(select(AttendanceMark.status)).all()
    assert len(marked) == 2  # rolls 01 and 02 of the first session; nothing of the second (01, 03)


def _count_round_trips(monkeypatch) -> list[list[bytes]]:  # type: ignore[no-untyped-def]
    """Record every round trip to Redis from here on (a pipeline is one), each a hop's entry.

    The hop metrics' flush (at most once a second, whichever hop is due) is left out:
    it belongs to no hop in particular.
    """
    from redis.connection import AbstractConnection

    trips: list[list[bytes]] = [[]]
    send = AbstractConnection.send_packed_command

    def counted(self, command, check_health=True):  # type: ignore[no-untyped-def]
        packed = command if isinstance(command, bytes) else b"".join(command)
        if b":hops:" not in packed:
            trips[-1].append(packed)
        return send(self, command, check_health)

    monkeypatch.setattr(AbstractConnection, "send_packed_command", counted)
    return trips


def test_every_hop_of_a_fresh_teachers_marking_session_makes_two_redis_round_trips(  # type: ignore[no-untyped-def]
        teacher_phone, synced, monkeypatch) -> None:
    """The load (one MGET) and the save (one pipeline) are a hop's floor, and every hop of
    the session keeps to it: the caches the dial fills (caller, class list) and the
    confirm's taken-today mark ride in the save's pipeline (a round trip each, the mark
    two), and the class list a menu hop reads rides with its load when this process left
    the session on that menu (a script's round trip of its own)."""
    phone, _ = teacher_phone
    _forget_the_teacher(synced, phone, caller_too=True)
    _to_absent_entry(phone)  # today's taken set is built now, and this process saw it
    _forget_the_teacher(synced, phone, caller_too=True)
    synced.redis.delete(keys.resume(msisdn_ref(synced.config.secret_key, phone.msisdn)))
    trips = _count_round_trips(monkeypatch)
    assert "Attendance" in phone.dial()
    trips.append([])
    screen = phone.send("1")
    if "Choose class" in screen:
        trips.append([])
        screen = phone.send("1")
    assert "Absent" in screen, screen
    trips.append([])
    phone.send("0102")
    trips.append([])
    assert phone.send("1").startswith("END")
    assert [len(t) for t in trips] == [2] * len(trips), trips
    assert b"SADD" in trips[-1][-1] and b"SET" in trips[-1][-1]  # the mark rides with the save
    assert synced.redis.sismember(keys.taken("2026-11-29"), 0)  # still a built set


def test_the_hops_of_a_marking_session_take_no_redis_connection_from_the_pool(  # type: ignore[no-untyped-def]
        teacher_phone, synced, monkeypatch) -> None:
    """A hop's load and save are sent on its thread's own connection (core.redis_wire), not
    as redis-py pipelines, each of which took a connection from the pool and gave it back
    (one a hop before: the save's). The hop metrics' flush is kept out of the count."""
    from redis.connection import ConnectionPool

    from gateway.ussd import HOPS

    phone, _ = teacher_phone
    _forget_the_teacher(synced, phone, caller_too=True)
    _to_absent_entry(phone)  # today's taken set is built now, and this process saw it
    _forget_the_teacher(synced, phone, caller_too=True)
    monkeypatch.setattr(HOPS, "_every", 1e9)  # no flush within the session
    checkouts: list[int] = []
    take = ConnectionPool.get_connection

    def counted(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        checkouts.append(1)
        return take(self, *args, **kwargs)

    monkeypatch.setattr(ConnectionPool, "get_connection", counted)
    screen = _to_absent_entry(phone)
    assert "Absent" in screen, screen
    phone.send("0102")
    assert phone.send("1").startswith("END")
    assert checkouts == []


def test_a_late_arrivals_save_makes_six_round_trips_to_the_database(  # type: ignore[no-untyped-def]
        teacher_phone, synced, monkeypatch) -> None:
    """The save of a late arrival reads the class's roll the roll numbers are mapped on
    (ids only: a cached roll may be stale); asks in one statement whether the teacher may
    take the class, the day's record and the late student's mark now (two before: the
    lookup, then the marks by the record it found); writes the mark and the record's
    revision; and appends the audit link, on PostgreSQL after taking the chain's lock and
    reading its head in one round trip (two before). At the driver on PostgreSQL: 7 -> 5,
    then 6 with the roll."""
    from core.models import AttendanceMark, MarkStatus

    phone, _ = teacher_phone
    _to_absent_entry(phone)
    phone.send("0102")
    assert phone.send("1").startswith("END")
    phone.dial()
    screen = phone.send("2")
    if "Choose class" in screen:
        screen = phone.send("1")
    assert "Late arrivals" in screen, screen
    assert "Late: 5" in phone.send("05")  # marked present at the confirm: a new late mark
    postgres = synced.engine.dialect.name == "postgresql"
    statements: list[str] = []

    def seen(_conn, _cursor, statement, *_args) -> None:  # type: ignore[no-untyped-def]
        query = " ".join(statement.split()).upper()
        if not query.startswith("BEGIN"):  # SQLite's BEGIN IMMEDIATE goes through a cursor
            statements.append(query)

    driver = _watch_transactions(monkeypatch) if postgres else None
    event.listen(synced.engine, "before_cursor_execute", seen)
    try:
        assert phone.send("1").startswith("END 1 marked late")
    finally:
        event.remove(synced.engine, "before_cursor_execute", seen)
    if driver is not None:  # what reached PostgreSQL, the lock and head's query included
        assert driver.autocommit == [] and driver.rolled_back == [], driver.rolled_back
        assert len(driver.committed) == 1, driver.committed
        statements = [" ".join(q.split()).upper() for q in driver.committed[0]]
    first_write = next(i for i, q in enumerate(statements) if q.startswith(("INSERT", "UPDATE")))
    assert first_write == 2, statements  # the roll; may, record, the student's mark
    assert statements[0].startswith("SELECT ENROLMENTS.CLASS_ID, PEOPLE.ID FROM"), statements
    # the reads, the mark, the revision, the chain's head (and lock), the audit link
    assert len(statements) == 6, statements
    with synced.sessions() as s:
        statuses = s.execute(select(AttendanceMark.status).where(
            AttendanceMark.session_id == phone.session_id)).scalars().all()
    assert statuses == [MarkStatus.LATE.value]

"""A teacher's session reads the database once before its save, even for a teacher this
process has not seen (the morning spike: nearly every session is a teacher dialling once)."""

from __future__ import annotations

import pytest
from sqlalchemy import event

from core.pseudonyms import msisdn_ref
from tests.ussd.test_ussd_http import _to_absent_entry, teacher_phone  # noqa: F401  (fixture)
from ussd import cache, keys


def _forget_the_teacher(runtime, phone, *, caller_too: bool) -> None:  # type: ignore[no-untyped-def]
    """Forget what the activation left warm in this process and (optionally) in Redis."""
    cache._NAMES.clear()
    cache._SCHOOLS.clear()
    cache._ROSTERS.clear()
    if caller_too:
        runtime.redis.delete(keys.caller(msisdn_ref(runtime.config.secret_key, phone.msisdn)))
    for key in runtime.redis.scan_iter(keys.classes(0)[:-1] + "*"):
        runtime.redis.delete(key)


@pytest.mark.parametrize("caller_too", [True, False], ids=["nothing-cached", "caller-cached-elsewhere"])
def test_a_fresh_teachers_marking_session_checks_out_one_connection_before_its_save(  # type: ignore[no-untyped-def]
        teacher_phone, synced, caller_too) -> None:
    """Dial, attendance, class, absentees, confirm: the reads come in the dial's one
    checkout (name, school, calendar, classes, rosters), the save takes the other."""
    phone, _ = teacher_phone
    _forget_the_teacher(synced, phone, caller_too=caller_too)
    per_hop: list[int] = []

    def count(*_args) -> None:  # type: ignore[no-untyped-def]
        per_hop[-1] += 1

    event.listen(synced.engine, "checkout", count)
    try:
        per_hop.append(0)
        assert "Attendance" in phone.dial()
        per_hop.append(0)
        screen = phone.send("1")
        if "Choose class" in screen:
            per_hop.append(0)
            screen = phone.send("1")
        assert "Absent" in screen, screen
        per_hop.append(0)
        phone.send("0102")
        per_hop.append(0)
        assert phone.send("1").startswith("END")
    finally:
        event.remove(synced.engine, "checkout", count)
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


def _count_server_commits(monkeypatch) -> list[int]:  # type: ignore[no-untyped-def]
    """Count, at the driver, the transactions PostgreSQL commits from here on.

    That is every COMMIT of an open transaction and every statement run in autocommit
    (PostgreSQL commits each on its own): what pg_stat_database's xact_commit counts,
    without waiting for its statistics to be flushed.
    """
    import psycopg
    from psycopg.pq import TransactionStatus

    commits = [0]
    execute, commit = psycopg.Cursor.execute, psycopg.Connection.commit

    def counted_execute(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        commits[0] += int(self.connection.autocommit)
        return execute(self, *args, **kwargs)

    def counted_commit(self):  # type: ignore[no-untyped-def]
        commits[0] += int(self.info.transaction_status == TransactionStatus.INTRANS)
        return commit(self)

    monkeypatch.setattr(psycopg.Cursor, "execute", counted_execute)
    monkeypatch.setattr(psycopg.Connection, "commit", counted_commit)
    return commits


def test_a_fresh_teachers_confirming_session_commits_once(teacher_phone, synced, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The marks' transaction is the session's one commit: the dial's reads end in a
    rollback and taking a pooled connection is no transaction (it was two more, one a
    checkout: pool_pre_ping's autocommit ping). Every commit is WAL and backend work on
    the cores the hops share."""
    if synced.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL's transactions (SQLite has no pool ping)")
    phone, _ = teacher_phone
    _forget_the_teacher(synced, phone, caller_too=True)
    commits = _count_server_commits(monkeypatch)
    screen = _to_absent_entry(phone)
    assert "Absent" in screen, screen
    phone.send("0102")
    assert commits == [0]  # reads only so far
    assert phone.send("1").startswith("END")
    assert commits == [1]

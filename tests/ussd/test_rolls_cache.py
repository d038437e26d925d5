"""Rolls cached in Redis (ids, no names): a warmed morning reads SQL only at the save, and a
stale roll never puts a mark on the wrong child (the save maps roll numbers on SQL's roll)."""

from __future__ import annotations

from sqlalchemy import select, update

from core import attendance
from core.models import AttendanceMark, AttendanceRecord, Person
from gateway.cli import cli
from tests.ussd.test_session_reads import marking_checkouts
from tests.ussd.test_ussd_http import _to_absent_entry, teacher_phone  # noqa: F401  (fixture)
from ussd import cache, keys


def _class_of(rt, phone) -> int:  # type: ignore[no-untyped-def]
    """The class the phone's marking session is on (its state in Redis)."""
    from ussd.state import State

    raw = rt.redis.get(keys.session(phone.session_id))
    return State.decode(raw).class_id


def test_a_warmed_mornings_marking_session_reads_the_database_only_at_its_save(  # type: ignore[no-untyped-def]
        teacher_phone, synced, runner) -> None:
    """After the warm job, a process that has its staff book but has never seen this
    teacher's class answers the dial, the menus and the absentees from Redis and memory:
    one connection in the whole session, the save's."""
    phone, _ = teacher_phone
    phone.dial()  # this process's staff book and calendar are loaded (once a few minutes)
    out = runner.invoke(cli, ["ussd-warm"])
    assert out.exit_code == 0, out.output
    cache._ROSTERS.clear()
    cache._ROLLS.clear()
    per_hop, screens = marking_checkouts(synced.engine, phone)
    assert "Absent 2: 1 2" in screens[-2]
    assert per_hop[:-1] == [0] * (len(per_hop) - 1) and per_hop[-1] == 1, per_hop
    with synced.sessions() as s:
        assert len(s.scalars(select(AttendanceMark.person_id)).all()) == 2


def test_what_the_warm_job_leaves_in_redis_names_no_student(teacher_phone, synced, runner) -> None:  # type: ignore[no-untyped-def]
    phone, _ = teacher_phone
    synced.redis.flushdb()
    assert runner.invoke(cli, ["ussd-warm"]).exit_code == 0
    rolls = list(synced.redis.scan_iter(keys.roll(0)[:-1] + "*"))
    assert rolls, "the warm job cached no roll"
    with synced.sessions() as s:
        names = set(s.scalars(select(Person.display_name).where(Person.role == "student")))
    assert names
    for key in synced.redis.scan_iter("*"):
        if synced.redis.type(key) == b"string":
            value = synced.redis.get(key).decode()
            assert not any(name in value for name in names), key
    with synced.sessions() as s:  # and a cached roll is the database's
        for key in rolls:
            roll = cache.roll_from(int(key.rsplit(b":", 1)[1]), synced.redis.get(key))
            held = attendance.rolls(s, [roll.class_id])[roll.class_id]
            assert held == (roll.ids, roll.fingerprint)


def test_a_roll_that_changed_after_it_was_cached_marks_no_wrong_child(  # type: ignore[no-untyped-def]
        teacher_phone, synced) -> None:
    """The teacher types roll 02 on the roll this process cached; then the first student
    leaves (a sync), so 02 is someone else in the database. The confirm saves nothing and
    says the list changed; confirming again marks the child now at 02."""
    phone, _ = teacher_phone
    assert "Absent" in _to_absent_entry(phone)
    class_id = _class_of(synced, phone)
    with synced.sessions() as s:
        before, _fp = attendance.rolls(s, [class_id])[class_id]
    assert "Absent 1: 2" in phone.send("02")
    with synced.sessions() as s:  # the first on the roll leaves: everyone after moves up one
        s.execute(update(Person).where(Person.id == before[0]).values(active=False))
        s.commit()
    assert cache._ROLLS.peek(class_id) is not None  # still cached here: the stale roll
    screen = phone.send("1")
    assert screen.startswith("CON") and "Class list changed" in screen, screen
    with synced.sessions() as s:
        assert s.scalar(select(AttendanceRecord.id)) is None  # nothing saved on the stale roll
    assert phone.send("1").startswith("END")
    with synced.sessions() as s:
        marked = s.scalars(select(AttendanceMark.person_id)).all()
    assert marked == [before[2]]  # roll 02 of the roll the save read


def test_late_arrivals_on_a_roll_that_changed_mark_no_wrong_child(  # type: ignore[no-untyped-def]
        teacher_phone, synced) -> None:
    phone, _ = teacher_phone
    assert "Absent" in _to_absent_entry(phone)
    class_id = _class_of(synced, phone)
    phone.send("0")  # nobody absent
    assert phone.send("1").startswith("END")
    with synced.sessions() as s:
        before, _fp = attendance.rolls(s, [class_id])[class_id]
    phone.dial()
    screen = phone.send("2")
    if "Choose class" in screen:
        screen = phone.send("1")
    assert "Late arrivals" in screen, screen
    assert "Late: 2" in phone.send("02")
    with synced.sessions() as s:
        s.execute(update(Person).where(Person.id == before[0]).values(active=False))
        s.commit()
    screen = phone.send("1")
    assert screen.startswith("CON") and "Class list changed" in screen, screen
    with synced.sessions() as s:
        assert s.scalars(select(AttendanceMark.person_id)).all() == []
    assert "Late: 2" in phone.send("02")
    assert phone.send("1").startswith("END 1 marked late")
    with synced.sessions() as s:
        assert s.scalars(select(AttendanceMark.person_id)).all() == [before[2]]


def test_a_confirm_on_a_stale_roll_writes_nothing_and_one_without_a_roll_still_saves(  # type: ignore[no-untyped-def]
        synced, teacher_phone) -> None:
    """The core's check (any caller may pass the roll it mapped on; the API and CLI pass none)."""
    import pytest

    from core.models import SchoolClass

    _phone, teacher = teacher_phone
    with synced.sessions() as s:
        staff = s.scalar(select(Person.id).where(Person.upstream_id == teacher["id"]))
        cls = next(c for c in s.scalars(select(SchoolClass.id))
                   if attendance.may_take(s, staff, c, synced.clock()))
        ids, fp = attendance.rolls(s, [cls])[cls]
        day = synced.clock().date()
        with pytest.raises(attendance.RollChanged) as refused:
            attendance.confirm(s, class_id=cls, staff_id=staff, day=day, absent=(ids[1],),
                               late=(), session_id="s1", msisdn="x", fingerprint="stale")
        assert (refused.value.fingerprint, refused.value.size) == (fp, len(ids))
        s.rollback()
        assert s.scalar(select(AttendanceRecord.id)) is None
        attendance.confirm(s, class_id=cls, staff_id=staff, day=day, absent=(ids[1], -5),
                           late=(), session_id="s2", msisdn="x")
        s.commit()
        assert s.scalars(select(AttendanceMark.person_id)).all() == [ids[1]]  # -5: not on the roll
        assert s.scalar(select(AttendanceRecord.class_size)) == len(ids)

"""What a hop keeps off the database stays true: the caller's school, today's taken flags, titles."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from core import calendar_store
from core.models import Person, School, SchoolClass
from core.pseudonyms import msisdn_ref
from gateway.cli import cli
from tests.ussd.test_ussd_http import _to_absent_entry, teacher_phone  # noqa: F401  (fixture)
from ussd import keys

DAY = date(2026, 11, 29)  # the suite's Sunday morning


def test_a_governorate_closure_reaches_a_teacher_whose_caller_is_cached(teacher_phone, synced, runner) -> None:  # type: ignore[no-untyped-def]
    """The teacher's school, kept in this process beside the cached caller, decides the day."""
    phone, teacher = teacher_phone
    assert "Attendance" in phone.dial()
    sim = msisdn_ref(synced.config.secret_key, phone.msisdn)
    assert synced.redis.exists(keys.caller(sim))  # the next hops answer from the cached caller
    with synced.sessions() as s:
        school = s.scalar(select(School).join(Person, Person.school_id == School.id)
                          .where(Person.upstream_id == teacher["id"]))
        assert school is not None
        governorate = school.governorate
    out = runner.invoke(cli, ["calendar", "exception", "add", "--scope", "governorate",
                              "--governorate", governorate, "--day", DAY.isoformat(),
                              "--reference", "GOV-2026-9", "--by", "ops:amal", "--reason", "floods"])
    assert out.exit_code == 0, out.output
    calendar_store.forget()  # this process re-reads the calendar at most every CACHE_SECONDS
    assert synced.redis.exists(keys.caller(sim))
    phone.dial()
    assert "No school today" in phone.send("1")


def test_a_caller_cached_by_another_release_is_still_read(teacher_phone, synced) -> None:  # type: ignore[no-untyped-def]
    """Processes of two releases share Redis during a deploy or a rollback: a cached caller
    with a field this release does not know is read, not a crash (a 500 on every hop)."""
    import json

    phone, _ = teacher_phone
    assert "Attendance" in phone.dial()
    sim = msisdn_ref(synced.config.secret_key, phone.msisdn)
    cached = json.loads(synced.redis.get(keys.caller(sim)))
    synced.redis.set(keys.caller(sim), json.dumps({**cached, "from_a_later_release": 7}), ex=60)
    phone.dial()
    assert "Absent" in phone.send("1") or "Choose class" in phone.last


def test_a_taken_set_without_its_built_mark_is_rebuilt_from_sql(teacher_phone, synced) -> None:  # type: ignore[no-untyped-def]
    """A taken-today set that lost its 0 member (expired and re-created by a late SADD) is not
    trusted: the flags come from SQL again, so a taken class is never offered as untaken."""
    phone, _ = teacher_phone
    _to_absent_entry(phone)
    phone.send("0102")
    assert phone.send("1").startswith("END")  # confirmed: the class is taken today
    taken = keys.taken(DAY.isoformat())
    synced.redis.delete(taken)
    synced.redis.sadd(taken, 987654321)  # a set with a stray member and no build mark
    phone.dial()
    screen = phone.send("1")
    if "Choose class" in screen:
        assert "✓" in screen
    else:
        assert "Already taken today" in screen
    assert synced.redis.sismember(taken, 0)  # rebuilt, and marked as built


def test_the_marking_title_names_the_class_from_the_roster(teacher_phone, synced) -> None:  # type: ignore[no-untyped-def]
    """The absent-entry screen is titled by the class's name (the roster carries it)."""
    from ussd.titles import short_class_name

    phone, teacher = teacher_phone
    screen = _to_absent_entry(phone)
    with synced.sessions() as s:
        names = s.scalars(select(SchoolClass.name)).all()
    assert any(short_class_name(n) in screen for n in names), screen
    assert "?" not in screen.splitlines()[0]


def test_the_class_list_script_is_loaded_again_when_redis_has_forgotten_it(teacher_phone, synced) -> None:  # type: ignore[no-untyped-def]
    """The class list and its flags come from one Lua script run by its digest: a Redis that
    restarted or flushed its scripts gets it loaded again, and the hop answers as before."""
    from ussd.cache import _CLASSES_SHA

    phone, _ = teacher_phone
    phone.dial()
    synced.redis.script_flush()
    screen = phone.send("1")
    assert "Choose class" in screen or "Absent" in screen, screen
    assert synced.redis.script_exists(_CLASSES_SHA) == [True]

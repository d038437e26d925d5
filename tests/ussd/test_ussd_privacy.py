"""Phone numbers and names stay out of Redis, telemetry and error logs; revoked staff get an END."""

from __future__ import annotations

import logging
import re

from sqlalchemy import select, text

from core.codes import person_number
from core.db import make_engine
from core.models import AttendanceRecord, OneTimeCode
from gateway.cli import cli
from tests.ussd.phone import Phone

TEACHER_SIM = "+201001234567"
PARENT_SIM = "+201551234567"


def _digits(msisdn: str) -> str:
    return msisdn[-10:]  # the subscriber number, in any format (+20…, 0…, 20…)


def _activate(client, runner, teacher: dict) -> Phone:  # type: ignore[no-untyped-def,type-arg]
    out = runner.invoke(cli, ["codes", "issue", "--staff", teacher["id"]])
    code = re.search(r"code (\d+)", out.output).group(1)  # type: ignore[union-attr]
    phone = Phone(client, msisdn=TEACHER_SIM)
    phone.dial()
    phone.send("3")
    phone.send("1")
    phone.send(person_number(teacher["id"]))
    assert phone.send(code).startswith("END Activated")
    if "English" in phone.dial():
        assert "Attendance" in phone.send("4")  # the staff SIM now prefers English
    return phone


def _mark(phone: Phone, rolls: str = "0102") -> str:
    phone.dial()
    screen = phone.send("1")
    if "Choose class" in screen:
        phone.send("1")
    phone.send(rolls)
    return phone.send("1")


def test_redis_holds_no_phone_number_and_no_name(synced, sandbox, client, runner) -> None:  # type: ignore[no-untyped-def]
    school = sandbox.district.schools()[0]["id"]
    teacher = next(p for p in sandbox.district.roster(school) if p["role"] == "teacher")
    phone = _activate(client, runner, teacher)
    assert "END" in _mark(phone)
    phone.dial()
    phone.send("1")  # an unfinished session: a resume point and a session state stay in Redis
    out = runner.invoke(cli, ["codes", "slips", "--class", sandbox.district.classes(school)[0]["id"]])
    number, code = next(line.split("\t") for line in out.output.splitlines() if "\tcode " in line)[2:4]
    parent = Phone(client, msisdn=PARENT_SIM)
    parent.dial()
    parent.send("2")
    parent.send(number.split()[-1])
    parent.send(code.split()[-1])
    parent.send("1")  # Arabic SMS: the consent wording follows
    assert parent.send("1").startswith("END ")
    parent.dial()
    parent.send("7")  # a wrong key: the session stays open
    assert runner.invoke(cli, ["ussd-warm"]).exit_code == 0

    names = [p["display_name"] for p in sandbox.district.roster(school) if p["role"] != "student"]
    conn = synced.redis
    seen = 0
    for key in conn.scan_iter(count=1000):
        seen += 1
        kind = conn.type(key)
        if kind == b"string":
            values = [conn.get(key) or b""]
        elif kind == b"set":
            values = list(conn.smembers(key))
        elif kind == b"hash":
            values = [b"%s=%s" % kv for kv in conn.hgetall(key).items()]
        elif kind == b"list":
            values = conn.lrange(key, 0, -1)
        else:
            values = [b"%r" % (conn.zrange(key, 0, -1),)]
        for blob in [key, *values]:
            found = blob.decode("utf-8", "replace")
            for sim in (TEACHER_SIM, PARENT_SIM):
                assert _digits(sim) not in found, (key, found)
            for name in names:
                assert name not in found, (key, name)
    assert seen >= 4  # sessions, a resume point, the caller caches: the scan saw them


def test_numbers_kept_as_identifiers_are_keyed_hashes(synced, sandbox, client, runner) -> None:  # type: ignore[no-untyped-def]
    school = sandbox.district.schools()[0]["id"]
    teacher = next(p for p in sandbox.district.roster(school) if p["role"] == "teacher")
    assert "END" in _mark(_activate(client, runner, teacher))
    with synced.sessions() as s:
        record = s.scalars(select(AttendanceRecord)).one()
        used = s.scalars(select(OneTimeCode.used_by).where(OneTimeCode.used_at.is_not(None))).one()
    for value in (record.msisdn, used):
        assert value and _digits(TEACHER_SIM)[-7:] not in value
    assert record.msisdn == used  # the same SIM has the same stand-in everywhere


def test_a_database_error_logs_no_parameters(synced, client, caplog) -> None:  # type: ignore[no-untyped-def]
    engine = make_engine(synced.config.effective_database_url)
    with engine.begin() as conn:  # the caller lookup's table is gone: every hop fails in SQL
        conn.execute(text("ALTER TABLE contacts RENAME TO contacts_away"))
    try:
        with caplog.at_level(logging.INFO):
            screen = Phone(client, msisdn=TEACHER_SIM).dial()
    finally:
        with engine.begin() as conn:
            conn.execute(text("ALTER TABLE contacts_away RENAME TO contacts"))
        engine.dispose()
    assert screen.startswith("END ")
    logged = caplog.text
    assert "contacts" in logged  # the error was logged, with its SQL...
    assert _digits(TEACHER_SIM) not in logged  # ...but not the number it was run with


def test_a_teacher_revoked_mid_session_gets_an_end_screen(synced, sandbox, client, runner) -> None:  # type: ignore[no-untyped-def]
    from ussd import keys

    school = sandbox.district.schools()[0]["id"]
    teacher = next(p for p in sandbox.district.roster(school) if p["role"] == "teacher")
    phone = _activate(client, runner, teacher)
    phone.dial()
    if "Choose class" in phone.send("1"):
        phone.send("1")
    assert "Absent 2" in phone.send("0102")
    sandbox.district.set_status(teacher["id"], "terminated")
    assert runner.invoke(cli, ["sync", "delta"]).exit_code == 0
    for key in synced.redis.scan_iter(match=keys.caller("*")):  # the caller cache's minute is over
        synced.redis.delete(key)
    assert phone.resend().startswith("END ")  # the screen it was on, now refused
    for key in ("1", "9", "3"):
        screen = phone.send(key)  # confirm, list, absent: each would have asserted (a 500)
        assert screen.startswith("END ") and "no longer allowed" in screen
    assert _mark(phone).startswith("CON ")  # a new session: the plain menu of a stranger
    with synced.sessions() as s:
        assert s.scalars(select(AttendanceRecord)).all() == []

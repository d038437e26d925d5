"""The USSD callback end to end: AT-shaped requests, real Redis, SQLite and PostgreSQL."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from core.codes import person_number
from core.pseudonyms import msisdn_ref
from core.models import AttendanceMark, AttendanceRecord, Contact, Delegation, Person, SchoolClass
from gateway.cli import cli
from tests.ussd.phone import Phone
from ussd.titles import short_class_name


def _count(rt, model, *where) -> int:  # type: ignore[no-untyped-def]
    with rt.sessions() as s:
        return s.scalar(select(func.count()).select_from(model).where(*where)) or 0


def _teacher(sandbox) -> dict:  # type: ignore[type-arg]
    school = sandbox.district.schools()[0]["id"]
    return next(p for p in sandbox.district.roster(school) if p["role"] == "teacher")


def _activate(runner, phone: Phone, teacher: dict) -> None:  # type: ignore[no-untyped-def,type-arg]
    out = runner.invoke(cli, ["codes", "issue", "--staff", teacher["id"]])
    assert out.exit_code == 0, out.output
    code = re.search(r"code (\d+)", out.output).group(1)  # type: ignore[union-attr]
    phone.dial()
    phone.send("3")  # English
    assert "Activate teacher" in phone.send("1") or True
    phone.send(person_number(teacher["id"]))
    assert phone.send(code).startswith("END Activated")
    if "English" in phone.dial():
        assert "Attendance" in phone.send("4")  # the staff SIM now prefers English


@pytest.fixture
def teacher_phone(synced, sandbox, client, runner):  # type: ignore[no-untyped-def]
    phone = Phone(client)
    teacher = _teacher(sandbox)
    _activate(runner, phone, teacher)
    return phone, teacher


def _to_absent_entry(phone: Phone) -> str:
    phone.dial()
    screen = phone.send("1")
    if "Choose class" in screen:
        screen = phone.send("1")
    return screen


def test_wrong_token_is_refused_without_touching_state(client, runtime) -> None:  # type: ignore[no-untyped-def]
    resp = client.post("/at/ussd?token=nope", data={"sessionId": "s1", "serviceCode": "*1#",
                                                   "phoneNumber": "+201001234567", "text": ""})
    assert resp.status_code == 403
    assert runtime.redis.dbsize() == 0


@pytest.mark.parametrize("data,status", [
    ({"serviceCode": "*1#", "phoneNumber": "+201001234567", "text": ""}, 400),
    ({"sessionId": "s", "serviceCode": "*1#", "phoneNumber": "not a number", "text": ""}, 400),
    ({"sessionId": "s", "serviceCode": "*1#", "phoneNumber": "+201001234567"}, 400),
    ({"sessionId": "x" * 500, "serviceCode": "*1#", "phoneNumber": "+201001234567", "text": ""}, 400),
])
def test_malformed_requests_get_a_4xx(client, data, status) -> None:  # type: ignore[no-untyped-def]
    assert client.post("/at/ussd?token=test-ussd-token", data=data).status_code == status


def test_bad_input_gets_a_polite_screen(client) -> None:  # type: ignore[no-untyped-def]
    phone = Phone(client)
    assert phone.dial().startswith("CON ")
    assert "أرقام فقط" in phone.send("abc")  # digits only, in Arabic by default
    assert phone.send("7").startswith("CON ")  # not a choice: same menu, a notice
    assert phone.send("9" * 39).startswith("CON ")
    huge = client.post("/at/ussd?token=test-ussd-token", data={
        "sessionId": "big", "serviceCode": "*1#", "phoneNumber": "+201001234567", "text": "1*" * 3000})
    assert huge.status_code == 200 and huge.get_data(as_text=True).startswith("END ")
    enormous = client.post("/at/ussd?token=test-ussd-token", data={
        "sessionId": "bigger", "serviceCode": "*1#", "phoneNumber": "+201001234567",
        "text": "1*" * 40_000})
    assert enormous.status_code == 413  # no USSD hop is 80 KB: refused before parsing
    multipart = client.post("/at/ussd?token=test-ussd-token", content_type="multipart/form-data",
                            data={"sessionId": "mp", "serviceCode": "*1#",
                                  "phoneNumber": "+201001234567", "text": ""})
    assert multipart.get_data(as_text=True).startswith("CON ")  # other encodings still work


def test_teacher_marks_a_class_once_however_often_it_is_confirmed(teacher_phone, synced) -> None:  # type: ignore[no-untyped-def]
    phone, teacher = teacher_phone
    screen = _to_absent_entry(phone)
    assert "present (all)" in screen
    review = phone.send("0103")  # rolls 1 and 3 absent
    assert "Absent 2: 1 3" in review
    done = phone.send("1")
    assert done.startswith("END Saved")
    assert phone.resend() == done  # the operator retries: same answer
    phone.send("1")  # a late extra input after END changes nothing
    with synced.sessions() as s:
        record = s.scalars(select(AttendanceRecord)).one()
        marks = s.scalars(select(AttendanceMark)).all()
    assert len(marks) == 2 and all(m.status == "absent" for m in marks)
    assert all(m.session_id == phone.session_id and m.captured_at is not None for m in marks)
    assert record.session_id == phone.session_id
    # A second session confirming the same marks is the same record, not a second one.
    _to_absent_entry(phone)
    assert _count(synced, AttendanceRecord) == 1


def test_a_dropped_session_resumes_with_its_marks(teacher_phone, synced) -> None:  # type: ignore[no-untyped-def]
    phone, _ = teacher_phone
    _to_absent_entry(phone)
    phone.send("0205")  # then the signal drops: no confirm
    resumed = phone.dial()
    assert "taking attendance" in resumed
    review = phone.send("1")
    assert "Absent 2: 2 5" in review
    assert phone.send("1").startswith("END Saved")
    assert _count(synced, AttendanceRecord) == 1
    assert _count(synced, AttendanceMark) == 2
    assert "taking attendance" not in phone.dial()  # nothing left to resume


def test_late_arrival_supersedes_an_absence(teacher_phone, synced) -> None:  # type: ignore[no-untyped-def]
    phone, _ = teacher_phone
    _to_absent_entry(phone)
    phone.send("0102")
    phone.send("1")
    phone.dial()
    screen = phone.send("2")
    if "Choose class" in screen:
        screen = phone.send("1")
    assert "Late arrivals" in screen
    assert "Late: 2" in phone.send("02")
    assert phone.send("1").startswith("END 1 marked late")
    with synced.sessions() as s:
        statuses = sorted(s.scalars(select(AttendanceMark.status)).all())
    assert statuses == ["absent", "late"]


def test_substitute_delegation_is_scoped_and_revocable(teacher_phone, synced, sandbox, client, runner) -> None:  # type: ignore[no-untyped-def]
    phone, teacher = teacher_phone
    school = sandbox.district.schools()[0]["id"]
    sub = [p for p in sandbox.district.roster(school) if p["role"] == "teacher"][1]
    sub_phone = Phone(client, msisdn="+201201234567")
    _activate(runner, sub_phone, sub)
    phone.dial()
    screen = phone.send("3")
    screen = phone.send("1")
    if "Choose class" in screen:
        screen = phone.send("1")
    phone.send(person_number(sub["id"]))
    assert "for 2 days" in phone.send("2")  # the substitute's name shows above it
    assert phone.send("1").startswith("END Done")
    with synced.sessions() as s:
        d = s.scalars(select(Delegation)).one()
        cls = s.get(SchoolClass, d.class_id)
    assert cls.upstream_id in teacher["class_ids"] and d.revoked_at is None
    sub_phone.dial()
    classes = sub_phone.send("1")
    assert short_class_name(cls.name) in classes  # the substitute now sees the delegated class
    phone.dial()
    phone.send("3")
    assert sub["display_name"][:6] in phone.send("2")
    assert phone.send("1").startswith("END Substitute cancelled")
    assert _count(synced, Delegation, Delegation.revoked_at.is_not(None)) == 1


def test_guardian_enrols_with_a_slip_stops_and_restarts(synced, sandbox, client, runner, tmp_path) -> None:  # type: ignore[no-untyped-def]
    school = sandbox.district.schools()[0]["id"]
    class_id = sandbox.district.classes(school)[0]["id"]
    out = runner.invoke(cli, ["codes", "slips", "--class", class_id])
    assert out.exit_code == 0, out.output
    first = out.output.strip().splitlines()[-1].split("\t")
    number, code = first[2].split()[-1], first[3].split()[-1]
    html = runner.invoke(cli, ["codes", "slips", "--class", class_id, "--reissue",
                               "--out", str(tmp_path / "s.html")])
    assert html.exit_code == 0 and "slips written" in html.output
    assert "CANCELLED" in html.output  # reprinting says loudly that the handed-out codes died
    assert "رقم الطالب" in (tmp_path / "s.html").read_text(encoding="utf-8")
    # The HTML run issued new codes, so the text run's codes no longer work: reissue.
    out = runner.invoke(cli, ["codes", "slips", "--class", class_id, "--reissue"])
    first = out.output.strip().splitlines()[-1].split("\t")
    number, code = first[2].split()[-1], first[3].split()[-1]
    parent = Phone(client, msisdn="+201551234567")
    parent.dial()
    parent.send("2")
    parent.send(number)
    confirm = parent.send(code)
    assert confirm.startswith("CON ") and first[1][:5] in confirm
    assert "Agree?" in parent.send("2")  # yes, English SMS: the consent wording in English
    assert parent.send("1").startswith("END Done")
    with synced.sessions() as s:
        contact = s.scalars(select(Contact).where(Contact.msisdn == "+201551234567")).one()
        assert contact.kind == "guardian" and contact.language == "en"
    parent.dial()
    assert "Stop all daily SMS" in parent.send("2")
    assert parent.send("1").startswith("END Stopped")
    parent.dial()
    assert "Agree?" in parent.send("2")  # restarting consents again, to the wording shown
    assert parent.send("1").startswith("END Restarted")


def test_wrong_codes_lock_out_after_three_tries(client, synced) -> None:  # type: ignore[no-untyped-def]
    phone = Phone(client, msisdn="+201001111111")
    phone.dial()
    phone.send("3")
    for _ in range(2):
        phone.send("1") if "Activate" in phone.last else None
        phone.send("12345678")
        assert "not right" in phone.send("000000")
    phone.send("12345678")
    assert phone.send("000000").startswith("END Too many tries")
    with synced.sessions() as s:
        assert s.scalars(select(Person)).first() is not None
    assert _count(synced, Contact) == 0


def test_ip_allowlist_refuses_other_sources(runtime, client) -> None:  # type: ignore[no-untyped-def]
    from gateway.callbacks import source_allowed

    nets = runtime.config.with_overrides(callback_ip_allowlist="197.1.0.0/16, 10.0.0.1").callback_networks
    assert source_allowed("197.1.2.3", nets) and source_allowed("10.0.0.1", nets)
    assert not source_allowed("8.8.8.8", nets[:1]) and not source_allowed("not an ip", nets)
    assert source_allowed("8.8.8.8", ())
    runtime.config = runtime.config.with_overrides(callback_ip_allowlist="197.1.0.0/16")
    resp = client.post("/at/ussd?token=test-ussd-token", data={
        "sessionId": "s", "serviceCode": "*1#", "phoneNumber": "+201001234567", "text": ""})
    assert resp.status_code == 403 and runtime.redis.dbsize() == 0


def test_warm_caches_answer_like_a_cold_hop_and_expire_in_time(teacher_phone, synced, runner) -> None:  # type: ignore[no-untyped-def]
    from ussd import keys
    from ussd.state import State
    from ussd.warmup import WARM_TTL

    phone, _ = teacher_phone
    phone.dial()
    cold = phone.send("1")
    synced.redis.flushdb()
    out = runner.invoke(cli, ["ussd-warm"])
    assert out.exit_code == 0 and "warmed 1 staff SIMs" in out.output
    sim = msisdn_ref(synced.config.secret_key, phone.msisdn)
    assert 0 < synced.redis.ttl(keys.caller(sim)) <= WARM_TTL
    assert WARM_TTL + 300 < 3600  # warm TTL + sync interval stays inside the 1-hour revocation
    phone.dial()
    assert phone.send("1") == cold  # a warmed hop shows exactly what a cold one did


def test_a_known_session_from_another_phone_ends_and_changes_nothing(client, runtime) -> None:  # type: ignore[no-untyped-def]
    from ussd import keys
    from ussd.state import State

    owner = Phone(client)
    assert owner.dial().startswith("CON ")
    owner.send("3")  # English
    before = runtime.redis.get(keys.session(owner.session_id))
    intruder = Phone(client, msisdn="+201201234567", session_id=owner.session_id,
                     inputs=list(owner.inputs))
    screen = intruder.send("1")
    assert screen == "END هذه الجلسة لهاتف آخر. لم يُحفظ شيء. اطلب الرقم مجددا."
    assert runtime.redis.get(keys.session(owner.session_id)) == before
    assert not runtime.redis.exists(keys.resume(intruder.msisdn))
    owner.send("1")  # the owner's own next hop still continues the session
    assert State.decode(runtime.redis.get(keys.session(owner.session_id))).hops == 2


def test_a_central_exception_closes_marking_over_ussd(teacher_phone, runner) -> None:  # type: ignore[no-untyped-def]
    """The calendar's answer reaches the teacher's phone: a closed day takes no register."""
    phone, _ = teacher_phone
    out = runner.invoke(cli, ["calendar", "exception", "add", "--scope", "national",
                              "--day", "2026-11-29", "--reference", "MOE-2026-301",
                              "--by", "ops:amal", "--reason", "national mourning"])
    assert out.exit_code == 0, out.output
    phone.dial()
    assert "No school today" in phone.send("1")
    out = runner.invoke(cli, ["calendar", "exception", "reverse", "1", "--by", "ops:amal",
                              "--reason", "entered in error"])
    assert out.exit_code == 0, out.output
    assert "No school today" not in _to_absent_entry(phone)


def test_late_arrival_after_the_cut_off_becomes_an_adjustment_request(teacher_phone, synced) -> None:  # type: ignore[no-untyped-def]
    from core.models import AttendanceAdjustment

    phone, _ = teacher_phone
    _to_absent_entry(phone)
    phone.send("0102")
    phone.send("1")
    synced.config = synced.config.with_overrides(digest_cutoff="09:00")  # the clock says 09:30
    phone.dial()
    screen = phone.send("2")
    if "Choose class" in screen:
        screen = phone.send("1")
    phone.send("02")
    end = phone.send("1")
    assert end.startswith("END Sent for approval: 1 late")
    phone.resend()  # an operator retry asks nothing twice
    with synced.sessions() as s:
        rows = s.scalars(select(AttendanceAdjustment)).all()
        statuses = sorted(s.scalars(select(AttendanceMark.status)).all())
    assert [(r.from_status, r.to_status, r.reason_code, r.state) for r in rows] == \
        [("absent", "late", "late_arrival", "pending")]
    assert statuses == ["absent", "absent"]  # nothing changes until a champion approves


def test_champion_approves_a_teachers_request_over_ussd(teacher_phone, synced, sandbox, client, runner) -> None:  # type: ignore[no-untyped-def]
    import json

    from core.models import AttendanceAdjustment

    phone, teacher = teacher_phone
    _to_absent_entry(phone)
    phone.send("01")
    phone.send("1")
    with synced.sessions() as s:
        student = s.scalars(select(Person.upstream_id).join(
            AttendanceMark, AttendanceMark.person_id == Person.id)).one()
    req = runner.invoke(cli, ["adjustments", "request", "--student", student, "--day",
                              "2026-11-29", "--to", "present", "--reason", "medical",
                              "--by", teacher["id"]])
    assert req.exit_code == 0, req.output
    school = sandbox.district.schools()[0]["id"]
    champion = next(p for p in sandbox.district.roster(school) if p["role"] == "champion")
    boss = Phone(client, msisdn="+201001234999")
    _activate(runner, boss, champion)
    boss.dial()
    screen = boss.send("5")
    assert "29/11: absent to present" in screen and "1 Approve" in screen
    assert boss.send("1").startswith("END Approved.")
    with synced.sessions() as s:
        row = s.scalars(select(AttendanceAdjustment)).one()
    assert row.state == "approved" and row.id == json.loads(req.output)["id"]
    boss.dial()
    assert boss.send("5").startswith("END No requests waiting.")
    # A teacher has no Approvals choice.
    phone.dial()
    assert "Approvals" not in phone.last

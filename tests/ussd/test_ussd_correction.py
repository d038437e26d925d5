"""A teacher's correction request over USSD (main menu 6), decided under Approvals (U3)."""

from __future__ import annotations

from sqlalchemy import select

from core.models import AttendanceAdjustment, AttendanceMark, AuditEntry, Person
from tests.ussd.phone import Phone
from tests.ussd.test_ussd_http import _activate, _to_absent_entry, teacher_phone  # noqa: F401


def _to_correction(phone: Phone) -> str:
    phone.dial()
    screen = phone.send("6")
    if "Choose class" in screen or "اختر" in screen:
        screen = phone.send("1")  # the class attendance was taken for: the same first choice
    return screen


def _body(screen: str) -> str:
    return screen[4:]


def _fits(screen: str) -> bool:
    body = _body(screen)
    return len(body) <= (182 if body.isascii() else 80)


def test_teacher_asks_a_correction_and_a_champion_approves_it(teacher_phone, synced, sandbox, client, runner) -> None:  # type: ignore[no-untyped-def]
    phone, teacher = teacher_phone
    _to_absent_entry(phone)
    phone.send("01")
    assert phone.send("1").startswith("END Saved")
    phone.dial()
    assert "6 Correct" in phone.last

    students = _to_correction(phone)
    assert "01 " in students and "Roll no. to correct:" in students and "0 Back" in students
    assert "Roll numbers: 2 digits each." in phone.send("1")  # one digit is not a roll number
    days = phone.send("01")
    # Sunday 29 Nov: today, then Thu 26, Wed 25, Tue 24 (locks today); Mon 23 locked Thursday.
    assert [line[2:] for line in _body(days).splitlines() if line[:2] in ("1 ", "2 ", "3 ", "4 ")] \
        == ["29/11", "26/11", "25/11", "24/11"]
    assert "23/11" not in days
    assert "No attendance taken for 26/11." in phone.send("2")
    assert "Which day?" in phone.send("0")
    status = phone.send("1")
    assert "29/11: absent. Make it:" in status
    assert "1 present" in status and "3 late" in status and "2 absent" not in status
    assert "Not a choice." in phone.send("2")  # already absent: not offered, not taken
    reasons = phone.send("1")
    assert "4 Medical" in reasons and "1 Entry error" in reasons
    confirm = phone.send("4")
    assert "29/11: absent to present" in confirm and "Medical" in confirm and "1 Send" in confirm
    sent = phone.send("1")
    assert sent.startswith("END Sent for approval.")
    assert phone.resend() == sent  # an operator retry asks nothing twice

    with synced.sessions() as s:
        me = s.scalars(select(Person).where(Person.upstream_id == teacher["id"])).one()
        row = s.scalars(select(AttendanceAdjustment)).one()
        mark = s.scalars(select(AttendanceMark)).one()
        audit = s.scalars(select(AuditEntry).where(AuditEntry.action == "adjustment.request")).one()
    assert (row.person_id, row.from_status, row.to_status, row.reason_code, row.state) == \
        (mark.person_id, "absent", "present", "medical", "pending")
    assert row.requested_by == f"staff:{me.id}" == audit.actor
    assert mark.status == "absent"  # the original mark is never changed

    # The same student-day again: the waiting request is named, nothing new is stored.
    _to_correction(phone)
    phone.send("01")
    phone.send("1")
    phone.send("3")
    phone.send("1")
    assert phone.send("1").startswith("END A request for that day already waits.")

    school = sandbox.district.schools()[0]["id"]
    champion = next(p for p in sandbox.district.roster(school) if p["role"] == "champion")
    boss = Phone(client, msisdn="+201001234999")
    _activate(runner, boss, champion)
    boss.dial()
    assert "29/11: absent to present" in boss.send("5")
    assert boss.send("1").startswith("END Approved.")
    with synced.sessions() as s:
        rows = s.scalars(select(AttendanceAdjustment)).all()
    decided_by = f"staff:{_id(synced, champion['id'])}"
    assert [(r.state, r.decided_by) for r in rows] == [("approved", decided_by)]

    # Now present: the teacher is offered absent and late, never present again.
    _to_correction(phone)
    phone.send("01")
    again = phone.send("1")
    assert "29/11: present. Make it:" in again and "1 present" not in again


def _id(rt, upstream_id: str) -> int:  # type: ignore[no-untyped-def]
    with rt.sessions() as s:
        return s.scalars(select(Person.id).where(Person.upstream_id == upstream_id)).one()


def test_every_correction_screen_fits_in_arabic(teacher_phone) -> None:  # type: ignore[no-untyped-def]
    phone, _ = teacher_phone
    _to_absent_entry(phone)
    phone.send("0102")
    phone.send("1")
    phone.dial()
    phone.send("4")  # back to Arabic
    screens = [phone.dial()]
    for key in ("6", "1", "02", "1", "0", "1", "3", "0", "3", "5"):
        screens.append(phone.send(key))
    screens.append(phone.send("1"))
    assert screens[-1].startswith("END ") and "أُرسل للاعتماد" in screens[-1]
    assert all(_fits(s) for s in screens), [s for s in screens if not _fits(s)]
    assert not any(s.isascii() for s in screens[1:])  # every screen is in Arabic

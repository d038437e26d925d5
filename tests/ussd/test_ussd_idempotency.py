"""Retries, stale requests and dropped sessions through the real endpoint never double-count."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, func, select

from core.models import AttendanceMark, AttendanceRecord
from tests.ussd.phone import Phone
from tests.ussd.test_ussd_http import teacher_phone  # noqa: F401  (fixture)


def _next_input(screen: str) -> str | None:
    """Answer the screen the way a teacher marking rolls 1 and 3 absent would."""
    if screen.startswith("END "):
        return None
    if "taking attendance" in screen or "Choose class" in screen:
        return "1"
    if "present (all)" in screen:
        return "0103"
    if "Absent 2: 1 3" in screen:
        return "1"
    if "Absent" in screen:  # reviewing something else: re-enter the absentees
        return "3"
    return "1"  # main menu: attendance


def _stale(phone: Phone, keep: int) -> str:
    """Post an earlier request of this session again (late, out of order)."""
    current = phone.inputs
    phone.inputs = current[:keep]
    try:
        return phone.resend()
    finally:
        phone.inputs = current


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(ops=st.lists(st.sampled_from(["advance", "advance", "advance", "retry", "stale", "drop"]),
                    min_size=1, max_size=25))
def test_confirmed_class_is_stored_exactly_once(teacher_phone, synced, ops) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    phone, _ = teacher_phone
    with synced.sessions() as s, s.begin():
        s.execute(delete(AttendanceMark))
        s.execute(delete(AttendanceRecord))
    for key in synced.redis.scan_iter("hudoor:ussd:*"):
        synced.redis.delete(key)
    screen = phone.dial()
    saved_screens = 0
    for op in ops + ["advance"] * 8:
        if op == "drop" or screen.startswith("END "):
            screen = phone.dial()
        elif op == "retry":
            assert phone.resend() == screen  # same request, same answer, nothing applied twice
        elif op == "stale" and phone.inputs:
            _stale(phone, len(phone.inputs) - 1)
        else:
            nxt = _next_input(screen)
            if nxt is not None:
                screen = phone.send(nxt)
        saved_screens += screen.startswith("END Saved")
    with synced.sessions() as s:
        records = s.scalar(select(func.count()).select_from(AttendanceRecord))
        marks = s.execute(select(AttendanceMark.person_id, AttendanceMark.status)).all()
    assert records <= 1
    if saved_screens:
        assert records == 1
        assert len(marks) == 2 and {m.status for m in marks} == {"absent"}
    assert len({m.person_id for m in marks}) == len(marks)

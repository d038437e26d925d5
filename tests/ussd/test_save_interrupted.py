"""A save whose database connection dies part-way says "not saved" and writes nothing; the
teacher's next press saves it once (R2: never slow-to-absent, nothing half-written)."""

from __future__ import annotations

import pytest
from sqlalchemy import event, func, select

from core.models import AttendanceMark, AttendanceRecord, AuditEntry
from tests.core.test_driver_sql import _terminate
from tests.ussd.test_ussd_http import _to_absent_entry, teacher_phone  # noqa: F401  (fixture)


def _counts(synced) -> tuple[int, int, int]:  # type: ignore[no-untyped-def]
    with synced.sessions() as s:
        return tuple(s.scalar(select(func.count()).select_from(t))  # type: ignore[return-value]
                     for t in (AttendanceRecord, AttendanceMark, AuditEntry))


def test_a_save_cut_off_at_the_audit_chains_lock_says_not_saved_and_saves_at_the_next_press(  # type: ignore[no-untyped-def]
        teacher_phone, synced) -> None:
    """The connection goes after the marks are written, before the audit chain's lock (a
    query of its own on the driver's cursor): the hop answers the review with "Not saved",
    not a 500, nothing of the save stays, and pressing 1 again confirms once."""
    if synced.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL's lock query; SQLite has no connection to lose")
    phone, _ = teacher_phone
    assert "Absent" in _to_absent_entry(phone)
    review = phone.send("0102")
    assert "\n1 " in review, review
    before = _counts(synced)
    cut: list[int] = []

    def after_the_marks(_conn, cursor, statement, *_rest) -> None:  # type: ignore[no-untyped-def]
        if not cut and statement.startswith("INSERT INTO attendance_marks"):
            cut.append(cursor.connection.info.backend_pid)
            _terminate(synced, cut[0])

    event.listen(synced.engine, "after_cursor_execute", after_the_marks)
    try:
        interrupted = phone.send("1")
    finally:
        event.remove(synced.engine, "after_cursor_execute", after_the_marks)
    assert cut, "the save wrote no marks"
    assert interrupted.startswith("CON ") and "Not saved" in interrupted, interrupted
    assert "\n1 " in interrupted, interrupted  # still the review: the marks are kept
    assert _counts(synced) == before  # nothing half-written
    assert phone.send("1").startswith("END ")
    records, marks, audit = _counts(synced)
    assert (records, marks, audit) == (before[0] + 1, before[1] + 2, before[2] + 1)

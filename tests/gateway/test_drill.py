"""`hudoor drill restore`: a verified restore on SQLite and on a fresh PostgreSQL cluster."""

from __future__ import annotations

import json
from datetime import date

from sqlalchemy import func, select

from core import attendance, audit_anchor
from core.models import AuditEntry, Enrolment, Person
from gateway.cli import cli

DAY = date(2026, 11, 29)


def _take_attendance(rt) -> None:  # type: ignore[no-untyped-def]
    """Every teacher confirms their first class with its first two students absent."""
    with rt.sessions() as s, s.begin():
        teachers = s.scalars(select(Person).where(Person.role == "teacher").order_by(Person.id)).all()
        for teacher in teachers:
            class_id = s.scalars(select(Enrolment.class_id).where(
                Enrolment.person_id == teacher.id, Enrolment.ended_at.is_(None))
                .order_by(Enrolment.class_id)).first()
            students = [pid for pid, _ in attendance.roster(s, class_id)[0]]
            try:
                attendance.confirm(s, class_id=class_id, staff_id=teacher.id, day=DAY,
                                   absent=tuple(students[:2]), late=(), session_id=f"d{teacher.id}",
                                   msisdn="+201001234567")
            except attendance.AlreadyTaken:
                pass  # a class two teachers share: the first one took it


def test_drill_restores_verifies_and_reads_through_the_app(synced, runner) -> None:  # type: ignore[no-untyped-def]
    _take_attendance(synced)
    with synced.sessions() as s:
        audit_anchor.anchor_now(s, synced.config.audit_anchor_path, synced.clock())
        head_before = s.scalar(select(func.max(AuditEntry.seq)))
    result = runner.invoke(cli, ["drill", "restore", "--json", "--sample", "5"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout.strip().splitlines()[-1])
    checks = {c["name"]: c for c in report["checks"]}
    assert set(checks) == {"schema revision", "row counts", "audit head", "audit chain",
                           "app answers", "sample reads", "queues rebuilt from the outbox"}
    assert all(c["ok"] for c in checks.values()), checks
    assert "read through the admin API match" in checks["sample reads"]["detail"]
    assert report["counts"]["attendance_marks"] > 0 and report["rto_seconds"] > 0
    assert report["writes_since_backup"] == 0
    assert "backing up" in result.stderr and "restored in" in result.stderr  # progress
    with synced.sessions() as s:  # the drill only read the source
        assert s.scalar(select(func.max(AuditEntry.seq))) == head_before


def test_drill_fails_when_the_restore_lacks_anchored_rows(synced, runner) -> None:  # type: ignore[no-untyped-def]
    """An anchor the restored chain cannot show (newer rows lost, a chain rewritten) fails it."""
    path = synced.config.audit_anchor_path
    with synced.sessions() as s:
        anchor = audit_anchor.anchor_now(s, path, synced.clock())
    assert anchor is not None
    with path.open("a", encoding="utf-8") as f:  # an anchor of rows the backup lacks
        f.write(f"{anchor.at}\t{anchor.count + 5}\t{'0' * 64}\n")
    result = runner.invoke(cli, ["drill", "restore", "--sample", "0"])
    assert result.exit_code == 1
    assert "FAILED audit chain" in result.stdout and "drill FAILED" in result.stdout

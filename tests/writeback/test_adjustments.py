"""Retroactive adjustments through the CLI and admin API: reason, approver, lock, write-back."""

from __future__ import annotations

import json
from datetime import date, timedelta

from sqlalchemy import select

from core import calendar
from core.models import AttendanceAdjustment, AttendanceMark, AuditEntry, Person, School
from gateway.cli import cli
from tests.writeback.support import confirm_days

DAY = date(2026, 11, 26)  # Thursday; the runtime's clock is Sunday 29 November
OLD = date(2026, 11, 19)  # locked on Tuesday 24 November


def test_working_days_skip_weekends_and_holidays() -> None:
    assert calendar.working_days_after(DAY, 3) == date(2026, 12, 1)
    assert calendar.working_days_after(date(2026, 10, 5), 1) == date(2026, 10, 7)  # 6 Oct


def _people(rt):  # type: ignore[no-untyped-def]
    """An absent student on DAY, their school's teacher and champion, another school's champion."""
    with rt.sessions() as s:
        mark = s.scalars(select(AttendanceMark).where(AttendanceMark.status == "absent")
                         .order_by(AttendanceMark.id)).first()
        student = s.get(Person, mark.person_id)
        taker = s.get(Person, mark.marked_by)
        school = s.get(School, student.school_id)
        champ = s.scalars(select(Person).where(Person.school_id == school.id,
                                               Person.role.in_(("champion", "principal")))).first()
        other = s.scalars(select(Person).where(Person.school_id != school.id,
                                               Person.role == "champion")).first()
        return student.upstream_id, taker.upstream_id, champ.upstream_id, other.upstream_id, \
            school.upstream_id


def _central_token(runner, subject: str, role: str) -> str:  # type: ignore[no-untyped-def]
    """A token for central staff: bound to an entry of the staff register."""
    added = _cli(runner, "staff", "add", "--staff-id", subject, "--name", f"Test {role}",
                 "--role", role, "--by", "test", "--reason", "fixture")
    assert added.exit_code == 0, added.output
    out = _cli(runner, "tokens", "issue", "--subject", subject, "--role", role)
    assert out.exit_code == 0, out.output
    return out.stdout.strip()


def _school_of(rt, upstream_id: str) -> str:  # type: ignore[no-untyped-def]
    with rt.sessions() as s:
        person = s.scalars(select(Person).where(Person.upstream_id == upstream_id)).one()
        return s.get(School, person.school_id).upstream_id


def _cli(runner, *args: str):  # type: ignore[no-untyped-def]
    return runner.invoke(cli, list(args))


def _token(runner, subject: str, school: str) -> str:  # type: ignore[no-untyped-def]
    out = _cli(runner, "tokens", "issue", "--subject", subject, "--role", "champion",
               "--school", school)
    assert out.exit_code == 0, out.output
    return out.stdout.strip()


def test_teacher_requests_champion_approves_original_kept_and_written_back(wb, sandbox, runner, client) -> None:  # type: ignore[no-untyped-def]
    confirm_days(wb, [DAY], late_share=0.0)
    _cli(runner, "writeback", "drain", "--until-idle")
    student, teacher, champ, other, school = _people(wb)
    out = _cli(runner, "adjustments", "request", "--student", student, "--day", DAY.isoformat(),
               "--to", "present", "--reason", "data_entry_error", "--by", teacher)
    assert out.exit_code == 0, out.output
    req = json.loads(out.output)
    assert (req["from"], req["to"], req["state"]) == ("absent", "present", "pending")
    again = _cli(runner, "adjustments", "request", "--student", student, "--day", DAY.isoformat(),
                 "--to", "late", "--reason", "late_arrival", "--by", teacher)
    assert again.exit_code != 0 and "AlreadyPending" in again.output
    bad_reason = _cli(runner, "adjustments", "request", "--student", student, "--day",
                      DAY.isoformat(), "--to", "late", "--reason", "because", "--by", teacher)
    assert bad_reason.exit_code == 2  # only the fixed list
    # The teacher cannot decide; a champion of another school (their own token) cannot either.
    mine = _cli(runner, "adjustments", "decide", str(req["id"]), "--approve", "--by", teacher)
    assert mine.exit_code != 0 and "NotAllowed" in mine.output
    path = f"/api/v1/adjustments/{req['id']}/decision"
    foreign = client.post(path, json={"approve": True},
                          headers={"Authorization": f"Bearer {_token(runner, other, _school_of(wb, other))}"})
    assert foreign.status_code == 403
    listed = client.get(f"/api/v1/schools/{school}/adjustments",
                        headers={"Authorization": f"Bearer {_token(runner, champ, school)}"})
    assert [a["id"] for a in listed.get_json()] == [req["id"]]
    assert client.post(path, json={"approve": "yes"}, headers={
        "Authorization": f"Bearer {_token(runner, champ, school)}"}).status_code == 400
    ok = client.post(path, json={"approve": True},
                     headers={"Authorization": f"Bearer {_token(runner, champ, school)}"})
    assert ok.status_code == 200, ok.get_json()
    assert ok.get_json()["state"] == "approved"
    with wb.sessions() as s:
        row = s.get(AttendanceAdjustment, req["id"])
        mark = s.scalars(select(AttendanceMark).join(Person, Person.id == AttendanceMark.person_id)
                         .where(Person.upstream_id == student)).one()
        assert mark.status == "absent"  # the original mark is never overwritten
        assert row.requested_at and row.decided_at and row.from_status == "absent"
        actions = set(s.scalars(select(AuditEntry.action)))
    assert {"adjustment.request", "adjustment.decide"} <= actions
    _cli(runner, "writeback", "drain", "--until-idle")
    held = [m for cd in sandbox.attendance.read(school, DAY.isoformat()) for m in cd.marks]
    assert student not in {s for s, _ in held}  # upstream now has the student present
    code = _cli(runner, "reconcile", "--day", DAY.isoformat())
    assert code.exit_code == 0 and "agreed" in code.output


def test_a_requester_never_approves_their_own_request(wb, runner, client) -> None:  # type: ignore[no-untyped-def]
    confirm_days(wb, [DAY], late_share=0.0)
    student, _, champ, _, school = _people(wb)
    req = json.loads(_cli(runner, "adjustments", "request", "--student", student, "--day",
                          DAY.isoformat(), "--to", "late", "--reason", "late_arrival",
                          "--by", champ).output)
    resp = client.post(f"/api/v1/adjustments/{req['id']}/decision", json={"approve": True},
                       headers={"Authorization": f"Bearer {_token(runner, champ, school)}"})
    assert resp.status_code == 403 and "own" in resp.get_json()["error"]


def test_after_the_window_only_a_central_exception_changes_the_day(wb, runner, client) -> None:  # type: ignore[no-untyped-def]
    confirm_days(wb, [DAY, OLD], late_share=0.0)
    student, teacher, champ, _, school = _people(wb)
    locked = _cli(runner, "adjustments", "request", "--student", student, "--day", OLD.isoformat(),
                  "--to", "present", "--reason", "medical", "--by", teacher)
    assert locked.exit_code != 0 and "Locked" in locked.output
    # A pending request that outlives the window expires when someone tries to decide it.
    req = json.loads(_cli(runner, "adjustments", "request", "--student", student, "--day",
                          DAY.isoformat(), "--to", "present", "--reason", "medical",
                          "--by", teacher).output)
    start = wb.clock()
    wb.clock = lambda: start + timedelta(days=3)  # Wednesday 2 December: past Tuesday's lock
    resp = client.post(f"/api/v1/adjustments/{req['id']}/decision", json={"approve": True},
                       headers={"Authorization": f"Bearer {_token(runner, champ, school)}"})
    assert resp.status_code == 409
    with wb.sessions() as s:
        assert s.get(AttendanceAdjustment, req["id"]).state == "expired"
    no_ref = _cli(runner, "adjustments", "exception", "--student", student, "--day",
                  DAY.isoformat(), "--to", "present", "--reason", "system_fault", "--by", "ops1")
    assert no_ref.exit_code == 2
    out = _cli(runner, "adjustments", "exception", "--student", student, "--day", DAY.isoformat(),
               "--to", "present", "--reason", "system_fault", "--ref", "DIR-2026-114",
               "--by", "ops1")
    assert out.exit_code == 0, out.output
    done = json.loads(out.output)
    assert done["state"] == "approved" and done["exception_ref"] == "DIR-2026-114"
    with wb.sessions() as s:
        entry = s.scalars(select(AuditEntry).where(
            AuditEntry.action == "adjustment.central_exception")).one()
    assert entry.actor == "central:ops1" and "DIR-2026-114" in entry.reason


def test_auditor_reads_both_fingerprints(wb, sandbox, runner, client) -> None:  # type: ignore[no-untyped-def]
    confirm_days(wb, [DAY])
    _cli(runner, "writeback", "drain", "--until-idle")
    _cli(runner, "reconcile", "--day", DAY.isoformat())
    token = _central_token(runner, "aud", "auditor")
    resp = client.get(f"/api/v1/reconciliations?day={DAY.isoformat()}",
                      headers={"Authorization": f"Bearer {token}"})
    rows = resp.get_json()
    assert resp.status_code == 200 and len(rows) == 2
    assert all(r["hudoor_fingerprint"] == r["upstream_fingerprint"] for r in rows)
    desk = _central_token(runner, "d", "desk")
    assert client.get(f"/api/v1/reconciliations?day={DAY.isoformat()}",
                      headers={"Authorization": f"Bearer {desk}"}).status_code == 403


def test_parent_told_absent_gets_one_correction_after_quiet_hours(wb, runner) -> None:  # type: ignore[no-untyped-def]
    from datetime import datetime, timezone

    from core import contacts
    from digests.models import OutboxMessage

    confirm_days(wb, [DAY], late_share=0.0)
    student, teacher, champ, _, _ = _people(wb)
    with wb.sessions() as s, s.begin():
        person = s.scalars(select(Person).where(Person.upstream_id == student)).one()
        contacts.link_guardian(s, person, "+201001112223", "en", actor="test")
    # Confirmed after the cut-off: the parent was told by an absence alert, not the digest.
    assert _cli(runner, "digests", "daily", "--day", DAY.isoformat()).exit_code == 0
    req = json.loads(_cli(runner, "adjustments", "request", "--student", student, "--day",
                          DAY.isoformat(), "--to", "present", "--reason", "official_excuse",
                          "--by", teacher).output)
    none_yet = json.loads(_cli(runner, "digests", "corrections").output)
    assert none_yet["enqueued"] == 0  # pending: nothing to correct yet
    assert _cli(runner, "adjustments", "decide", str(req["id"]), "--approve",
                "--by", champ).exit_code == 0
    wb.clock = lambda: datetime(2026, 11, 29, 20, 0, tzinfo=timezone.utc)  # 22:00 in Cairo
    assert json.loads(_cli(runner, "digests", "corrections").output)["enqueued"] == 1
    assert json.loads(_cli(runner, "digests", "corrections").output)["enqueued"] == 0  # once
    with wb.sessions() as s:
        msg = s.scalars(select(OutboxMessage).where(OutboxMessage.kind.like("correction-%"))).one()
    assert msg.text.startswith("Correction: Hudoor 26/11:") and msg.text.endswith("present")
    assert calendar.to_cairo(msg.next_attempt_at).hour == 7  # after the quiet hours


def test_undecided_requests_expire_when_the_window_closes(wb, runner) -> None:  # type: ignore[no-untyped-def]
    from core import runtime as core_runtime
    from core.writeback import jobs as wb_jobs

    confirm_days(wb, [DAY], late_share=0.0)
    student, teacher, _, _, _ = _people(wb)
    req = json.loads(_cli(runner, "adjustments", "request", "--student", student, "--day",
                          DAY.isoformat(), "--to", "late", "--reason", "late_arrival",
                          "--by", teacher).output)
    core_runtime._worker_runtime = wb
    try:
        assert wb_jobs.expire_adjustments() == 0  # Sunday: still inside the window
        start = wb.clock()
        wb.clock = lambda: start + timedelta(days=3)
        assert wb_jobs.expire_adjustments() == 1
    finally:
        core_runtime._worker_runtime = None
    listed = _cli(runner, "adjustments", "list", "--state", "expired")
    assert json.loads(listed.output)["id"] == req["id"]

"""Write-back through the outbox to the sandbox SIS over HTTP, the DLQ CLI, lag on the wall."""

from __future__ import annotations

import json
from datetime import date

import requests
from rq import Queue
from sqlalchemy import select

from core import runtime as core_runtime
from gateway.cli import cli
from core.models import AuditEntry, WritebackItem
from sandbox.write_faults import WriteFaults
from core.writeback import jobs as wb_jobs
from tests.writeback.support import confirm_days, local_school_days

DAY = date(2026, 11, 26)


def _upstream(sandbox, school: str, day: date):  # type: ignore[no-untyped-def]
    return sandbox.attendance.read(school, day.isoformat())


def test_confirmed_class_days_reach_upstream_and_lag_returns_to_zero(wb, sandbox, runner, client) -> None:  # type: ignore[no-untyped-def]
    confirm_days(wb, [DAY])
    before = client.get("/status.json").get_json()["writeback"]
    assert before["pending"] == 0  # swept in by the first drain, not by capture
    out = runner.invoke(cli, ["writeback", "drain", "--until-idle"])
    assert out.exit_code == 0, out.output
    counts = json.loads(out.output.strip().splitlines()[-1])
    assert counts["sent"] > 0 and counts["dead"] == 0
    for school, held in local_school_days(wb, DAY).items():
        assert {cd.class_id: cd for cd in _upstream(sandbox, school, DAY)} == \
            {cd.class_id: cd for cd in held}
    status = client.get("/status.json").get_json()["writeback"]
    assert status == {**status, "pending": 0, "dead": 0, "oldest_unacked_seconds": 0.0}
    assert "hudoor_writeback_lag_seconds 0.0" in client.get("/metrics").get_data(as_text=True)
    assert "Attendance write-back" in client.get("/status").get_data(as_text=True)
    # A second drain has nothing to send: one row per class-day revision.
    again = json.loads(runner.invoke(cli, ["writeback", "drain", "--until-idle"]).output)
    assert again["sent"] == 0 and again["collected"] == 0


def test_lag_is_the_age_of_the_oldest_unacknowledged_write(wb, sandbox, runner, client) -> None:  # type: ignore[no-untyped-def]
    confirm_days(wb, [DAY])
    sandbox.write_faults.set(WriteFaults(error_rate=1.0))
    wb.config = wb.config.with_overrides(writeback_retry_base_seconds=600)
    runner.invoke(cli, ["writeback", "drain"])
    start = wb.clock()
    wb.clock = lambda: start.replace(minute=start.minute + 7)
    status = client.get("/status.json").get_json()["writeback"]
    assert status["pending"] > 0 and status["oldest_unacked_seconds"] == 420.0
    assert "hudoor_writeback_lag_seconds 420.0" in client.get("/metrics").get_data(as_text=True)


def test_poison_writes_go_to_the_dlq_and_replay_is_audited(wb, sandbox, runner) -> None:  # type: ignore[no-untyped-def]
    confirm_days(wb, [DAY])
    sandbox.write_faults.set(WriteFaults(error_rate=1.0))
    runner.invoke(cli, ["writeback", "drain", "--until-idle"])
    listed = runner.invoke(cli, ["writeback", "dlq", "list"])
    ids = [int(line.split("\t")[0]) for line in listed.output.strip().splitlines()]
    assert ids and "3 attempts" in listed.output and "HTTP 5" in listed.output
    refused = runner.invoke(cli, ["writeback", "dlq", "replay", str(ids[0]), "--by", "ops1"])
    assert refused.exit_code != 0  # --reason is required
    sandbox.write_faults.set(WriteFaults())
    out = runner.invoke(cli, ["writeback", "dlq", "replay", *map(str, ids), "--by", "ops1",
                              "--reason", "upstream outage over"])
    assert out.exit_code == 0 and f"replayed {len(ids)}" in out.output
    assert runner.invoke(cli, ["writeback", "dlq", "replay", str(ids[0]), "--by", "ops1",
                               "--reason", "again"]).exit_code != 0  # not dead any more
    runner.invoke(cli, ["writeback", "drain", "--until-idle"])
    with wb.sessions() as s:
        states = set(s.scalars(select(WritebackItem.state)))
        replays = s.scalars(select(AuditEntry).where(AuditEntry.action == "writeback.replay")).all()
    assert states == {"acked"} and len(replays) == len(ids)
    assert {r.actor for r in replays} == {"cli:ops1"} and replays[0].reason == "upstream outage over"
    assert "empty" in runner.invoke(cli, ["writeback", "dlq", "list"]).output


def test_refused_write_is_dead_at_once(wb, sandbox) -> None:  # type: ignore[no-untyped-def]
    from core.writeback.client import AttendanceClient, WriteRefused
    from core.writeback.fingerprint import ClassDay

    client = AttendanceClient(sandbox.url)
    bad = ClassDay("no-such-class", 1, 30, ())
    try:
        client.put(sandbox.district.infos[0].id, DAY, bad)
    except WriteRefused as exc:
        assert "404" in str(exc)
    else:
        raise AssertionError("a write for an unknown class must be refused")


def test_writeback_sheds_while_capture_work_waits(wb, sandbox) -> None:  # type: ignore[no-untyped-def]
    confirm_days(wb, [DAY])
    core_runtime._worker_runtime = wb
    try:
        Queue("urgent", connection=wb.redis).enqueue("gateway.jobs.warm_ussd")
        assert "shed" in wb_jobs.send_due()["skipped"]
        Queue("urgent", connection=wb.redis).empty()
        assert wb_jobs.send_due()["sent"] > 0
    finally:
        core_runtime._worker_runtime = None


def test_late_arrival_is_a_new_revision_and_a_stale_reordered_write_is_ignored(wb, sandbox, runner) -> None:  # type: ignore[no-untyped-def]
    from core import attendance
    from core.models import AttendanceRecord
    from core.writeback import snapshot
    from core.writeback.client import AttendanceClient

    confirm_days(wb, [DAY], late_share=0.0)
    with wb.sessions() as s:
        rec = s.scalars(select(AttendanceRecord).join(
            __import__("core.models", fromlist=["AttendanceMark"]).AttendanceMark,
            AttendanceRecord.id == __import__("core.models", fromlist=["AttendanceMark"])
            .AttendanceMark.record_id)).first()
        school, old = snapshot.class_day(s, rec.class_id, DAY)
    runner.invoke(cli, ["writeback", "drain", "--until-idle"])
    with wb.sessions() as s, s.begin():
        student = s.get(__import__("core.models", fromlist=["Person"]).Person,
                        s.scalars(select(__import__("core.models", fromlist=["AttendanceMark"])
                                         .AttendanceMark.person_id).where(
                            __import__("core.models", fromlist=["AttendanceMark"])
                            .AttendanceMark.record_id == rec.id)).first())
        assert attendance.mark_late(s, class_id=rec.class_id, staff_id=rec.taken_by, day=DAY,
                                    late=(student.id,), session_id="late-1") == 1
    runner.invoke(cli, ["writeback", "drain", "--until-idle"])
    held = {cd.class_id: cd for cd in sandbox.attendance.read(school, DAY.isoformat())}
    assert held[old.class_id].revision == old.revision + 1
    assert (student.upstream_id, "late") in held[old.class_id].marks
    # The revision-1 write delivered late (reordered) changes nothing upstream.
    assert AttendanceClient(sandbox.url).put(school, DAY, old).result == "stale"
    assert sandbox.attendance.read(school, DAY.isoformat()) == list(held.values())


def test_sandbox_write_contract_refuses_bad_bodies_and_absorbs_repeats(sandbox) -> None:  # type: ignore[no-untyped-def]
    from core.writeback.client import write_body
    from core.writeback.fingerprint import ClassDay

    school = sandbox.district.infos[0].id
    cls = sandbox.district.classes(school)[0]["id"]
    url = f"{sandbox.url}/v2/schools/{school}/attendance/{DAY.isoformat()}/classes/{cls}"
    cd = ClassDay(cls, 1, 30, (("STU-1", "absent"),))
    assert requests.put(url, json=write_body(cd, DAY), timeout=5).json()["result"] == "applied"
    assert requests.put(url, json=write_body(cd, DAY), timeout=5).json()["result"] == "duplicate"
    for broken in ({**write_body(cd, DAY), "digest": "0" * 64},
                   {**write_body(cd, DAY), "key": "x"},
                   {**write_body(cd, DAY), "marks": [{"student_id": "A", "status": "absent"}] * 2},
                   {**write_body(cd, DAY), "schema_version": "1"}, [1, 2]):
        resp = requests.put(url, json=broken, timeout=5)
        assert resp.status_code == 400, broken
    read = requests.get(f"{sandbox.url}/v2/schools/{school}/attendance/{DAY.isoformat()}",
                        timeout=5).json()
    assert read["schema_version"] == "2" and len(read["classes"]) == 1
    assert requests.post(f"{sandbox.url}/sandbox/write-faults", json={"drop_rate": 2},
                         timeout=5).status_code == 400

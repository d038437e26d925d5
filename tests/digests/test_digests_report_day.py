"""Report day (S2): one batch, chunks taken by workers, one term summary per guardian."""

from __future__ import annotations

import json
from datetime import date

from rq import Queue, SimpleWorker
from sqlalchemy import func, select

from core import runtime as core_runtime
from core.models import AttendanceMark, AttendanceRecord, Contact, ContactKind, Enrolment, Person
from digests.models import MessageKind, OutboxMessage
from digests.templates import given_name
from gateway.cli import cli
from tests.support.consent import consent_all


def _family(rt, sandbox):  # type: ignore[no-untyped-def]
    """Two siblings on one guardian SIM, a third child on another; some marks over the term."""
    school = sandbox.district.schools()[0]["id"]
    kids = [p for p in sandbox.district.roster(school) if p["role"] == "student"][:3]
    with rt.sessions() as s, s.begin():
        people = [s.scalars(select(Person).where(Person.upstream_id == k["id"])).one() for k in kids]
        teacher = s.scalars(select(Person).where(Person.role == "teacher")).first()
        for person, msisdn in zip(people, ["+201001110001", "+201001110001", "+201201110002"]):
            s.add(Contact(person_id=person.id, msisdn=msisdn, kind=ContactKind.GUARDIAN.value))
        consent_all(s)
        for day, status in ((date(2026, 11, 15), "absent"), (date(2026, 11, 16), "absent"),
                            (date(2026, 11, 17), "late")):
            class_id = s.scalars(select(Enrolment.class_id).where(
                Enrolment.person_id == people[0].id)).one()
            record = AttendanceRecord(class_id=class_id, day=day, taken_by=teacher.id, class_size=40,
                                      session_id=f"s-{day}", msisdn="+201001234567")
            s.add(record)
            s.flush()
            s.add(AttendanceMark(record_id=record.id, person_id=people[0].id, status=status,
                                 session_id=f"s-{day}", marked_by=teacher.id))
    return people


def test_report_day_batch_is_chunked_worked_and_idempotent(synced, sandbox, runner, client, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    people = _family(synced, sandbox)
    cfg = synced.config
    monkeypatch.setenv("HUDOOR_DATABASE_URL", cfg.effective_database_url)
    monkeypatch.setenv("HUDOOR_REDIS_URL", cfg.redis_url)
    monkeypatch.setenv("HUDOOR_SHAPER_GUARD_MS", str(cfg.shaper_guard_ms))
    monkeypatch.setattr(core_runtime, "_worker_runtime", None)
    out = runner.invoke(cli, ["digests", "report-day", "--from", "2026-11-01", "--to", "2026-11-26",
                              "--chunk-size", "1"])
    assert out.exit_code == 0, out.output
    assert json.loads(out.output.strip().splitlines()[-1]) == {"batch": 1, "guardians": 2, "chunks": 2}
    before = client.get("/status.json").get_json()["report_day"]
    assert (before["chunks_done"], before["chunks_total"]) == (0, 2)
    SimpleWorker([Queue("digests", connection=synced.redis)], connection=synced.redis).work(burst=True)
    after = client.get("/status.json").get_json()["report_day"]
    assert (after["chunks_done"], after["drafts"]) == (2, 2)
    assert "2 of 2 chunks" in client.get("/status").get_data(as_text=True)
    with synced.sessions() as s:
        rows = s.scalars(select(OutboxMessage).where(OutboxMessage.kind == MessageKind.REPORT_DAY.value)
                         .order_by(OutboxMessage.msisdn)).all()
    assert [r.msisdn for r in rows] == ["+201001110001", "+201201110002"]
    siblings = rows[0].text
    first = given_name(people[0].display_name)
    assert f"{first} غياب يومين وتأخير يوم" in siblings  # two absences, one late: dual, singular
    assert "لا غياب ولا تأخير" in siblings  # the sibling's clean term: the zero forms
    again = runner.invoke(cli, ["digests", "report-day", "--from", "2026-11-01", "--to", "2026-11-26"])
    assert again.exit_code == 0
    SimpleWorker([Queue("digests", connection=synced.redis)], connection=synced.redis).work(burst=True)
    with synced.sessions() as s:
        assert s.scalar(select(func.count()).select_from(OutboxMessage).where(
            OutboxMessage.kind == MessageKind.REPORT_DAY.value)) == 2  # nobody is told twice
    if core_runtime._worker_runtime is not None:
        core_runtime._worker_runtime.close()

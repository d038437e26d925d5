"""Full and delta sync against the sandbox SIS over real HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import requests
from sqlalchemy import bindparam, func, select

from core.models import (
    AuditEntry,
    DuplicateFlag,
    Enrolment,
    Person,
    QuarantinedRecord,
    SchoolClass,
)
from core.sync.delta import run_delta
from core.sync.full import run_full
from core.upstream.versions import SchemaVersionRefused
from gateway.cli import cli
from tests.core.snapshot import snapshot


def _count(rt, model, *where) -> int:  # type: ignore[no-untyped-def]
    with rt.sessions() as s:
        return s.scalar(select(func.count()).select_from(model).where(*where)) or 0


def test_full_sync_stores_the_district_and_a_second_run_changes_nothing(synced, sandbox, runner):  # type: ignore[no-untyped-def]
    total = sandbox.district.base_population
    assert _count(synced, Person) == total
    assert _count(synced, Enrolment, Enrolment.ended_at.is_(None)) >= total
    with synced.sessions() as s:
        before, audit_rows = snapshot(s), s.scalar(select(func.count()).select_from(AuditEntry))
    result = runner.invoke(cli, ["sync", "full"])
    assert result.exit_code == 0, result.output
    assert "nothing changed" in result.output
    assert f"seen {total}" in result.output
    with synced.sessions() as s:
        assert snapshot(s) == before
        assert s.scalar(select(func.count()).select_from(AuditEntry)) == audit_rows


def test_a_full_sync_leaves_the_planner_statistics_of_what_it_filled(synced):  # type: ignore[no-untyped-def]
    """The planner knows the roster tables' sizes when the sync ends, not when autovacuum
    next samples them: a spike right after a term-start sync is planned for full tables."""
    if synced.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL's statistics")
    from sqlalchemy import text

    from core.sync.full import ROSTER_TABLES

    with synced.sessions() as s:
        rows = dict(s.execute(text("SELECT relname, reltuples FROM pg_class WHERE relname IN :names")
                              .bindparams(bindparam("names", expanding=True)),
                              {"names": list(ROSTER_TABLES)}).all())
        people = s.scalar(select(func.count()).select_from(Person))
    assert set(rows) == set(ROSTER_TABLES)
    assert rows["people"] == people  # a small table is read whole: the count is exact
    assert all(n > 0 for n in rows.values()), rows


def test_delta_applies_moves_renames_leavers_and_newcomers(synced, sandbox):  # type: ignore[no-untyped-def]
    d = sandbox.district
    school = d.schools()[0]["id"]
    roster = d.roster(school)
    students = [p for p in roster if p["role"] == "student"]
    mover, leaver, renamed = students[0], students[1], students[2]
    target = next(c["id"] for c in d.classes(school) if c["id"] not in mover["class_ids"])
    d.move(mover["id"], target)
    d.leave(leaver["id"])
    d.rename(renamed["id"], "ياسمين عبد الرحمن")
    newcomer = {"id": d.next_student_id(school), "display_name": "عمر خالد", "role": "student",
                "class_ids": [target]}
    d.upsert(newcomer, school)
    report = run_delta(synced.sessions, synced.upstream())
    c = report.counts
    assert (c.moved, c.deactivated, c.changed, c.added) == (1, 1, 1, 1)
    with synced.sessions() as s:
        gone = s.scalars(select(Person).where(Person.upstream_id == leaver["id"])).one()
        assert gone.active is False and gone.left_at is not None  # kept, never deleted
        moved = s.scalars(select(Person).where(Person.upstream_id == mover["id"])).one()
        history = s.execute(select(SchoolClass.upstream_id, Enrolment.ended_at)
                            .join(SchoolClass, SchoolClass.id == Enrolment.class_id)
                            .where(Enrolment.person_id == moved.id)).all()
        assert {(cls, ended is None) for cls, ended in history} == {
            (mover["class_ids"][0], False), (target, True)}
    again = run_delta(synced.sessions, synced.upstream())
    assert again.counts.changes == 0


def test_full_sync_deactivates_people_upstream_no_longer_lists(synced, sandbox):  # type: ignore[no-untyped-def]
    d = sandbox.district
    school = d.schools()[1]["id"]
    leaver = d.roster(school)[5]
    d.leave(leaver["id"])
    report = run_full(synced.sessions, synced.upstream())
    assert report.counts.deactivated == 1 and report.counts.changes == 1
    assert _count(synced, Person, Person.upstream_id == leaver["id"], Person.active.is_(False)) == 1


def test_malformed_records_are_quarantined_and_nothing_else_is_lost(runtime, sandbox):  # type: ignore[no-untyped-def]
    sandbox.faults.update(missing_fields=0.05, wrong_types=0.05, seed=3)
    from core.upstream.client import HttpTransport

    runtime.transport = HttpTransport(sandbox.url)
    report = run_full(runtime.sessions, runtime.upstream())
    bad = report.counts.quarantined
    assert bad > 0 and report.status == "done"
    assert _count(runtime, Person) == sandbox.district.base_population - bad
    with runtime.sessions() as s:
        reasons = s.scalars(select(QuarantinedRecord.reason)).all()
    assert len(reasons) == bad and all(reasons)
    assert any("role" in r for r in reasons) and any("display_name" in r or "class_ids" in r for r in reasons)


def test_repeated_records_are_applied_once(runtime, sandbox):  # type: ignore[no-untyped-def]
    sandbox.faults.update(duplicates=0.2, seed=5)
    from core.upstream.client import HttpTransport

    runtime.transport = HttpTransport(sandbox.url)
    report = run_full(runtime.sessions, runtime.upstream())
    assert report.counts.duplicates_in_feed > 0
    assert _count(runtime, Person) == sandbox.district.base_population


def test_extra_upstream_fields_are_dropped_counted_and_never_stored(runtime, sandbox):  # type: ignore[no-untyped-def]
    sandbox.faults.update(extra_fields=True)
    school = sandbox.district.schools()[0]["id"]
    page = requests.get(f"{sandbox.url}/v1/schools/{school}/roster", timeout=10).json()
    leaked = {k: v for p in page["people"][:20] for k, v in p.items()
              if k not in ("id", "display_name", "role", "class_ids", "status")}
    assert leaked, "the sandbox sends extra fields"
    from core.upstream.client import HttpTransport

    runtime.transport = HttpTransport(sandbox.url)
    report = run_full(runtime.sessions, runtime.upstream())
    assert report.counts.dropped_fields >= sandbox.district.base_population
    assert set(leaked) <= set(report.dropped_fields)
    from tests.core.test_minimisation import _dump

    stored = _dump(runtime)
    for value in {str(v) for v in leaked.values() if len(str(v)) >= 6}:
        assert value not in stored


def test_unknown_schema_version_is_refused_until_registered_with_notice(runtime, sandbox, runner):  # type: ignore[no-untyped-def]
    from core.upstream.client import HttpTransport

    runtime.transport = HttpTransport(sandbox.url)
    sandbox.faults.update(schema_version="2")
    with pytest.raises(SchemaVersionRefused):
        run_full(runtime.sessions, runtime.upstream())
    assert _count(runtime, Person) == 0
    result = runner.invoke(cli, ["sync", "full"])
    assert result.exit_code != 0 and "schema version '2' is not accepted" in result.output
    today = runtime.today()
    short = runner.invoke(cli, ["contract", "register", "2", "--effective",
                                str(today + timedelta(days=20))])
    assert short.exit_code != 0 and "only 20 days" in short.output
    future = runner.invoke(cli, ["contract", "register", "2", "--effective",
                                 str(today + timedelta(days=30))])
    assert future.exit_code == 0, future.output
    assert runner.invoke(cli, ["sync", "full"]).exit_code != 0  # announced, not yet in force
    later = runtime.clock() + timedelta(days=30)
    runtime.clock = lambda: later
    done = runner.invoke(cli, ["sync", "full", "--json"])
    assert done.exit_code == 0, done.output
    assert json.loads(done.output.strip().splitlines()[-1])["counts"]["added"] > 0


def test_sync_rides_out_upstream_5xx_with_retries(runtime, sandbox):  # type: ignore[no-untyped-def]
    from core.upstream.client import HttpTransport

    sandbox.faults.update(error_rate=0.3, seed=11)
    runtime.transport = HttpTransport(sandbox.url, retries=8, backoff=0.01)
    report = run_full(runtime.sessions, runtime.upstream())
    assert report.status == "done"
    assert _count(runtime, Person) == sandbox.district.base_population


def test_suspected_duplicates_are_flagged_not_merged(synced, sandbox):  # type: ignore[no-untyped-def]
    d = sandbox.district
    school = d.schools()[0]["id"]
    original = next(p for p in d.roster(school) if p["role"] == "student")
    twin = {"id": d.next_student_id(school), "display_name": original["display_name"].replace("ة", "ه"),
            "role": "student", "class_ids": original["class_ids"]}
    d.upsert(twin, school)
    report = run_delta(synced.sessions, synced.upstream())
    assert report.counts.duplicates_flagged == 1 and report.counts.added == 1
    with synced.sessions() as s:
        flag = s.scalars(select(DuplicateFlag)).one()
        people = {s.get(Person, flag.person_id).upstream_id, s.get(Person, flag.other_person_id).upstream_id}
        assert people == {twin["id"], original["id"]}
        assert flag.status == "open"
        assert all(p.active and p.canonical_id is None for p in s.scalars(
            select(Person).where(Person.upstream_id.in_(people))))

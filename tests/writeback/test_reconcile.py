"""Nightly reconciliation over HTTP: fingerprints on both sides, repair, audited report, verify."""

from __future__ import annotations

import json
from datetime import date

import requests
from sqlalchemy import select

from core.models import AuditEntry, ReconciliationReport, WritebackItem
from sandbox.write_faults import WriteFaults
from gateway.cli import cli
from tests.writeback.support import confirm_days

DAY = date(2026, 11, 25)


def _reconcile(runner, *extra: str):  # type: ignore[no-untyped-def]
    out = runner.invoke(cli, ["reconcile", "--day", DAY.isoformat(), "--json", *extra])
    return out.exit_code, json.loads(out.output.strip().splitlines()[-1])


def test_agreed_after_write_back(wb, sandbox, runner) -> None:  # type: ignore[no-untyped-def]
    confirm_days(wb, [DAY])
    runner.invoke(cli, ["writeback", "drain", "--until-idle"])
    code, reports = _reconcile(runner)
    assert code == 0 and len(reports) == 2
    assert {r["outcome"] for r in reports} == {"agreed"}
    assert all(r["local"]["digest"] == r["remote"]["digest"] for r in reports)
    school = reports[0]["school"]
    code, only = _reconcile(runner, "--school", school)
    assert [r["school"] for r in only] == [school]


def test_dropped_writes_are_repaired_and_dlq_settled(wb, sandbox, runner) -> None:  # type: ignore[no-untyped-def]
    confirm_days(wb, [DAY])
    sandbox.write_faults.set(WriteFaults(drop_rate=1.0))  # every write answers 200, none stored
    runner.invoke(cli, ["writeback", "drain", "--until-idle"])
    sandbox.write_faults.set(WriteFaults())
    code, reports = _reconcile(runner)
    assert code == 0 and {r["outcome"] for r in reports} == {"repaired"}
    assert all("missing upstream" in " ".join(r["reasons"]) for r in reports)
    assert all(r["resent"] > 0 for r in reports)
    with wb.sessions() as s:
        rows = s.scalars(select(ReconciliationReport)).all()
        audits = s.scalars(select(AuditEntry).where(AuditEntry.action == "reconcile.report")).all()
    assert len(rows) == 2 and all(r.local_fingerprint == r.remote_fingerprint for r in rows)
    assert len(audits) == 2 and "repaired" in audits[0].reason


def test_silent_corruption_is_found_repaired_and_verify_catches_later_tampering(wb, sandbox, runner) -> None:  # type: ignore[no-untyped-def]
    confirm_days(wb, [DAY])
    runner.invoke(cli, ["writeback", "drain", "--until-idle"])
    school = sandbox.district.infos[0].id
    assert requests.post(f"{sandbox.url}/sandbox/corrupt", json={"school_id": school,
                         "day": DAY.isoformat()}, timeout=5).status_code == 200
    code, reports = _reconcile(runner)
    by_school = {r["school"]: r for r in reports}
    assert by_school[school]["outcome"] == "repaired"
    assert "content differs" in " ".join(by_school[school]["reasons"])
    verified = runner.invoke(cli, ["reconcile", "verify", "--day", DAY.isoformat()])
    assert verified.exit_code == 0, verified.output
    assert verified.output.count("ok\t") == 2
    # Tampering upstream after the report is visible to anyone re-verifying.
    requests.post(f"{sandbox.url}/sandbox/corrupt", json={"school_id": school,
                  "day": DAY.isoformat()}, timeout=5)
    again = runner.invoke(cli, ["reconcile", "verify", "--day", DAY.isoformat(), "--json"])
    assert again.exit_code == 1
    results = {r["school"]: r for r in json.loads(again.output)}
    assert results[school]["ok"] is False and "upstream" in results[school]["detail"]


def test_a_school_day_upstream_keeps_refusing_is_reported_differing(wb, sandbox, runner) -> None:  # type: ignore[no-untyped-def]
    wb.config = wb.config.with_overrides(reconcile_rounds=2)
    confirm_days(wb, [DAY])
    sandbox.write_faults.set(WriteFaults(drop_rate=1.0))
    code, reports = _reconcile(runner)
    assert code == 1 and {r["outcome"] for r in reports} == {"differing"}
    assert all(r["reasons"] for r in reports)
    with wb.sessions() as s:
        # Nothing settled: the outbox still owes these writes.
        assert set(s.scalars(select(WritebackItem.state))) <= {"pending"}


def test_reconcile_needs_a_day_and_verify_without_reports_fails(wb, runner) -> None:  # type: ignore[no-untyped-def]
    assert runner.invoke(cli, ["reconcile"]).exit_code == 2
    out = runner.invoke(cli, ["reconcile", "verify", "--day", DAY.isoformat()])
    assert out.exit_code == 1 and "no reconciliation report" in out.output


def test_reconciliation_settles_dead_letters_it_repaired(wb, sandbox, runner) -> None:  # type: ignore[no-untyped-def]
    confirm_days(wb, [DAY])
    sandbox.write_faults.set(WriteFaults(error_rate=1.0))
    runner.invoke(cli, ["writeback", "drain", "--until-idle"])
    assert "empty" not in runner.invoke(cli, ["writeback", "dlq", "list"]).output
    sandbox.write_faults.set(WriteFaults())
    code, reports = _reconcile(runner)
    assert code == 0 and {r["outcome"] for r in reports} == {"repaired"}
    assert "empty" in runner.invoke(cli, ["writeback", "dlq", "list"]).output
    with wb.sessions() as s:
        assert set(s.scalars(select(WritebackItem.state))) == {"acked"}

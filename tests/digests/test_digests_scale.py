"""`hudoor digests daily` at scale on PostgreSQL: no statement carries a list of every id."""

from __future__ import annotations

import json
from datetime import date

import pytest
from sqlalchemy import func, select

from core.db import make_engine
from digests.models import DigestRun, OutboxMessage
from gateway.cli import cli
from tests.support.school_day import build

SUNDAY = date(2026, 11, 29)
STUDENTS = 100_000  # above PostgreSQL's 65,535 parameters a statement


@pytest.mark.postgres
def test_daily_digests_for_100k_students_on_postgresql(runtime, runner, db_url) -> None:  # type: ignore[no-untyped-def]
    if not db_url.startswith("postgresql"):
        pytest.skip("the parameter limit is PostgreSQL's; SQLite is covered by the small tests")
    engine = make_engine(db_url)
    guardians = build(engine, STUDENTS, SUNDAY)
    engine.dispose()
    out = runner.invoke(cli, ["digests", "daily", "--day", SUNDAY.isoformat()])
    assert out.exit_code == 0, out.output
    report = json.loads(out.output.strip().splitlines()[-1])
    assert (report["guardians"], report["drafts"]) == (guardians, guardians)
    with runtime.sessions() as s:
        assert s.scalar(select(func.count()).select_from(OutboxMessage)) == guardians
        assert s.scalar(select(DigestRun.drafts).where(DigestRun.day == SUNDAY)) == guardians
        # Student 20 is absent, and shares SIM +201110000019 with student 19 (siblings).
        text = s.scalar(select(OutboxMessage.text).where(
            OutboxMessage.msisdn == "+201510000019"))
    assert text == "حضور ٢٩/١١: منة الله حضور، عمر غياب"

"""A schema version's notice is the day it is registered: never backdated, never changed."""

from __future__ import annotations

import json
from datetime import date, timedelta

from sqlalchemy import select

from core.models import AuditEntry, ContractVersion
from gateway.cli import cli


def _rows(runtime) -> list[tuple[str, date, date]]:  # type: ignore[no-untyped-def]
    with runtime.sessions() as s:
        return [(r.version, r.notice_date, r.effective_date)
                for r in s.scalars(select(ContractVersion).order_by(ContractVersion.version))]


def _audited(runtime) -> list[dict]:  # type: ignore[no-untyped-def,type-arg]
    with runtime.sessions() as s:
        return [json.loads(e.data) for e in s.scalars(
            select(AuditEntry).where(AuditEntry.action == "contract.register"))]


def test_a_notice_cannot_be_backdated(runtime, runner) -> None:  # type: ignore[no-untyped-def]
    today = runtime.today()
    result = runner.invoke(cli, ["contract", "register", "2", "--notice",
                                 str(today - timedelta(days=40)), "--effective", str(today)])
    assert result.exit_code != 0 and "day of registration" in result.output
    assert _rows(runtime) == [] and _audited(runtime) == []


def test_the_notice_is_the_runtime_clocks_today_and_is_audited(runtime, runner) -> None:  # type: ignore[no-untyped-def]
    today = runtime.today()
    assert today == date(2026, 11, 29)  # the fixture's clock, not the machine's
    effective = today + timedelta(days=30)
    result = runner.invoke(cli, ["contract", "register", "2", "--effective", str(effective)])
    assert result.exit_code == 0, result.output
    assert _rows(runtime) == [("2", today, effective)]
    assert _audited(runtime) == [{"notice": str(today), "effective": str(effective)}]
    explicit = runner.invoke(cli, ["contract", "register", "3", "--notice", str(today),
                                   "--effective", str(effective + timedelta(days=1))])
    assert explicit.exit_code == 0, explicit.output


def test_re_registration_cannot_move_the_dates(runtime, runner) -> None:  # type: ignore[no-untyped-def]
    today = runtime.today()
    effective = today + timedelta(days=45)
    assert runner.invoke(cli, ["contract", "register", "2", "--effective", str(effective)]).exit_code == 0
    later = runtime.clock() + timedelta(days=20)
    runtime.clock = lambda: later  # twenty days on, someone tries to pull the date forward
    for moved in (effective - timedelta(days=15), effective + timedelta(days=5)):
        result = runner.invoke(cli, ["contract", "register", "2", "--effective", str(moved)])
        assert result.exit_code != 0 and "cannot change" in result.output
    same = runner.invoke(cli, ["contract", "register", "2", "--effective", str(effective)])
    assert same.exit_code == 0 and "unchanged" in same.output
    assert _rows(runtime) == [("2", today, effective)]
    assert len(_audited(runtime)) == 1
    accepted = runner.invoke(cli, ["contract", "list"])
    assert accepted.output.split() == ["1"]
    runtime.clock = lambda: later + timedelta(days=25)
    assert runner.invoke(cli, ["contract", "list"]).output.split() == ["1", "2"]

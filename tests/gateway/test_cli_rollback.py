"""`hudoor release rollback-plan|rollback`: what a rollback drops and loses; refusals."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from core import migrate, rollback
from core.db import make_engine
from core.runtime import Runtime
from gateway.app import create_app
from gateway.cli import cli
from tests.conftest import SCHOOL_MORNING


def _declared(revision: str) -> str:
    return str(rollback.scripts("sqlite://").get_revision(revision).module.irreversible_data)


def test_a_rollback_through_a_migration_marked_irreversible_is_refused(runner) -> None:  # type: ignore[no-untyped-def]
    result = runner.invoke(cli, ["release", "rollback-plan", "--to", "0007"])
    assert result.exit_code == 1
    assert "0008 → 0007: Keyed audit hashes" in result.output
    assert "  drops column audit_log.hash_scheme" in result.output
    assert f"refused: 0008 (Keyed audit hashes" in result.output
    assert _declared("0008") in result.output
    assert "may run" not in result.output


def test_rolling_back_to_nothing_is_refused_by_the_first_migration(runner) -> None:  # type: ignore[no-untyped-def]
    result = runner.invoke(cli, ["release", "rollback-plan", "--to", "base"])
    assert result.exit_code == 1
    assert _declared("0001") in result.output


def test_an_unknown_target_is_a_clear_error(runner) -> None:  # type: ignore[no-untyped-def]
    result = runner.invoke(cli, ["release", "rollback-plan", "--to", "9999"])
    assert result.exit_code == 1
    assert "9999 is not a revision below" in result.output


@pytest.fixture
def at_0011(request: pytest.FixtureRequest, config, tmp_path) -> Iterator[tuple[Runtime, str]]:  # type: ignore[no-untyped-def]
    """A runtime whose database stands at 0011, with one central calendar exception."""
    if config.database_url.startswith("sqlite"):
        url = f"sqlite:///{tmp_path / 'at_0011.db'}"
    else:
        url = request.getfixturevalue("pg_cluster").create_database("hudoor_at_0011")
    migrate.upgrade(url, "0011")
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text(
            "INSERT INTO calendar_exceptions (scope, day, open, reference, created_by, reason, "
            "created_at) VALUES ('national', '2026-12-03', false, 'MOE-1', 'ops', 'storm', "
            "'2026-11-29 07:30:00+00:00')"))
    engine.dispose()
    rt = Runtime(config.with_overrides(database_url=url), clock=lambda: SCHOOL_MORNING)
    yield rt, url
    rt.close()


def test_the_plan_lists_what_each_downgrade_drops_and_the_rows_it_loses(at_0011) -> None:  # type: ignore[no-untyped-def]
    rt, _url = at_0011
    runner = create_app({"TESTING": True, "HUDOOR_RUNTIME": rt}).test_cli_runner()
    result = runner.invoke(cli, ["release", "rollback-plan"])
    assert result.exit_code == 0, result.output
    assert "0011 → 0010: One calendar" in result.output
    assert "  drops table calendar_exceptions\n" in result.output
    assert "  drops table gate_firings\n" in result.output
    assert "1 row(s) of calendar_exceptions" in result.output
    assert "2 row(s) of calendar_terms" in result.output  # the seeded terms go too
    assert "rollback to 0010 may run" in result.output


def test_a_rollback_runs_audited_and_a_refused_one_changes_nothing(at_0011) -> None:  # type: ignore[no-untyped-def]
    rt, url = at_0011
    runner = create_app({"TESTING": True, "HUDOOR_RUNTIME": rt}).test_cli_runner()
    refused = runner.invoke(cli, ["release", "rollback", "--to", "0005", "--by", "ops:amal",
                                  "--reason", "stage 5% failed"])
    assert refused.exit_code == 1
    assert "refused: 0008" in refused.output
    assert migrate.current(url) == "0011"

    done = runner.invoke(cli, ["release", "rollback", "--to", "0010", "--by", "ops:amal",
                               "--reason", "stage 5% failed"])
    assert done.exit_code == 0, done.output
    assert "database at revision 0010" in done.output
    assert migrate.current(url) == "0010"
    engine = make_engine(url)
    with engine.connect() as conn:
        actions = conn.execute(sa.text("SELECT actor, action, entity_id, reason FROM audit_log")).all()
        assert "calendar_exceptions" not in sa.inspect(conn).get_table_names()
    engine.dispose()
    assert actions == [("ops:amal", "db.downgrade", "0010", "stage 5% failed")]

"""Admin tokens are bound to a holder, checked on every request and revoked with the holder."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from core.models import ApiToken, Revocation, utcnow
from core.sync.delta import run_delta
from gateway.cli import cli
from tests.gateway.test_api import _get, _token, champion_of

DAY = "?day=2026-11-29"


def _school_and_champion(sandbox) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    school = sandbox.district.schools()[0]["id"]
    return school, champion_of(sandbox, school)


def test_a_champion_token_dies_with_the_persons_access_upstream(synced, sandbox, client, runner) -> None:  # type: ignore[no-untyped-def]
    school, champion = _school_and_champion(sandbox)
    token = _token(runner, "champion", school, champion)
    url = f"/api/v1/schools/{school}/attendance{DAY}"
    assert _get(client, url, token).status_code == 200
    sandbox.district.leave(champion)
    report = run_delta(synced.sessions, synced.upstream())
    assert report.counts.deactivated == 1 and report.counts.revoked == 1
    assert _get(client, url, token).status_code == 401
    with synced.sessions() as s:
        rev = s.scalars(select(Revocation)).one()
        assert rev.tokens_revoked == 1 and rev.lag_seconds < 3600
    lag = client.get("/status.json").get_json()["revocation_lag_24h"]
    assert lag["tokens_revoked"] == 1 and lag["goal_seconds"] == 900 and lag["within_goal"]
    assert "1 admin tokens" in client.get("/status").get_data(as_text=True)
    assert runner.invoke(cli, ["tokens", "list"]).output.strip() == "no live tokens"
    assert "revoked" in runner.invoke(cli, ["tokens", "list", "--all"]).output


def test_a_suspension_ends_the_token_on_the_next_request(synced, sandbox, client, runner) -> None:  # type: ignore[no-untyped-def]
    school, champion = _school_and_champion(sandbox)
    token = _token(runner, "champion", school, champion)
    sandbox.district.set_status(champion, "suspended")
    run_delta(synced.sessions, synced.upstream())
    assert _get(client, f"/api/v1/schools/{school}/attendance{DAY}", token).status_code == 401


def test_issue_refuses_unknown_schools_holders_and_mismatched_roles(synced, sandbox, runner) -> None:  # type: ignore[no-untyped-def]
    school, champion = _school_and_champion(sandbox)
    other = sandbox.district.schools()[1]["id"]
    teacher = next(p["id"] for p in sandbox.district.roster(school) if p["role"] == "teacher")

    def refused(*args: str) -> str:
        out = runner.invoke(cli, ["tokens", "issue", *args])
        assert out.exit_code != 0, out.output
        return out.output

    assert "no such school NO-SUCH" in refused("--subject", champion, "--role", "champion",
                                               "--school", "NO-SUCH")
    assert "not a person of school" in refused("--subject", champion, "--role", "champion",
                                               "--school", other)
    assert "not an active champion" in refused("--subject", teacher, "--role", "champion",
                                               "--school", school)
    assert "needs --school" in refused("--subject", champion, "--role", "champion")
    assert "central staff register" in refused("--subject", "C-nobody", "--role", "ops")
    _token(runner, "desk", subject="C-7")
    assert "central staff register" in refused("--subject", "C-7", "--role", "ops")  # not their role
    assert "scoped to a school" in refused("--subject", "C-7", "--role", "desk", "--school", school)
    with synced.sessions() as s:
        assert s.scalars(select(ApiToken.role)).all() == ["desk"]


def test_revoke_lists_and_refuses_from_the_next_request(client, runner) -> None:  # type: ignore[no-untyped-def]
    assert runner.invoke(cli, ["tokens", "list"]).output.strip() == "no live tokens"
    assert runner.invoke(cli, ["tokens", "list", "--all"]).output.strip() == "no tokens"
    token = _token(runner, "auditor")
    listed = runner.invoke(cli, ["tokens", "list"]).output
    assert listed.startswith("1\tauditor\tC-auditor\t-\texpires ") and token not in listed
    assert _get(client, "/api/v1/audit/verify", token).status_code == 200
    out = runner.invoke(cli, ["tokens", "revoke", "1", "--by", "sec-officer", "--reason", "laptop lost"])
    assert out.exit_code == 0 and "token 1 revoked" in out.output
    assert _get(client, "/api/v1/audit/verify", token).status_code == 401
    again = runner.invoke(cli, ["tokens", "revoke", "1", "--by", "x", "--reason", "y"])
    assert again.exit_code != 0 and "no live token 1" in again.output
    assert runner.invoke(cli, ["audit", "verify"]).exit_code == 0


def test_central_staff_leave_through_the_register_and_lose_their_tokens(client, runner) -> None:  # type: ignore[no-untyped-def]
    assert runner.invoke(cli, ["staff", "list"]).output.strip() == "the central staff register is empty"
    token = _token(runner, "ops", subject="OPS-17")
    assert "OPS-17\tops\tactive" in runner.invoke(cli, ["staff", "list"]).output
    assert _get(client, "/api/v1/sync/runs", token).status_code == 200
    out = runner.invoke(cli, ["staff", "deactivate", "OPS-17", "--by", "head-of-ops", "--reason", "left"])
    assert out.exit_code == 0 and "1 tokens revoked" in out.output
    assert _get(client, "/api/v1/sync/runs", token).status_code == 401
    assert runner.invoke(cli, ["staff", "add", "--staff-id", "X", "--name", "X", "--role", "champion",
                               "--by", "a", "--reason", "b"]).exit_code != 0  # champions: roster only


def test_an_expired_token_is_refused(runtime, client, runner) -> None:  # type: ignore[no-untyped-def]
    token = _token(runner, "security")
    assert _get(client, "/api/v1/tokens", token).get_json()[0]["role"] == "security"
    with runtime.sessions() as s, s.begin():
        s.execute(update(ApiToken).values(expires_at=utcnow() - timedelta(seconds=1)))
    assert _get(client, "/api/v1/tokens", token).status_code == 401


def test_an_empty_secret_signs_and_accepts_nothing_in_any_environment(runtime, runner) -> None:  # type: ignore[no-untyped-def]
    runner.invoke(cli, ["staff", "add", "--staff-id", "OPS-1", "--name", "Ops", "--role", "ops",
                        "--by", "t", "--reason", "r"])
    runtime.config = runtime.config.with_overrides(secret_key="")
    out = runner.invoke(cli, ["tokens", "issue", "--subject", "OPS-1", "--role", "ops"])
    assert out.exit_code != 0 and "HUDOOR_SECRET_KEY is empty" in out.output
    from itsdangerous import URLSafeSerializer

    forged = URLSafeSerializer("", salt="hudoor-api-token").dumps({"jti": "x"})
    client = runner.app.test_client()
    assert _get(client, "/api/v1/sync/runs", forged).status_code == 401

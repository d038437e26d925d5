"""The admin API: deny by default, role- and school-scoped, aggregates only."""

from __future__ import annotations

import pytest
from flask import Flask

from core import api_tokens
from core.models import utcnow
from gateway.cli import cli


def _token(runner, role: str, school: str | None = None, subject: str | None = None) -> str:  # type: ignore[no-untyped-def]
    """Issue a token: champions for a roster person, other roles via the central register."""
    if role == "champion":
        args = ["tokens", "issue", "--subject", subject or "", "--role", role, "--school", school or ""]
    else:
        subject = subject or f"C-{role}"
        runner.invoke(cli, ["staff", "add", "--staff-id", subject, "--name", f"Test {role}",
                            "--role", role, "--by", "test", "--reason", "fixture"])
        args = ["tokens", "issue", "--subject", subject, "--role", role]
    out = runner.invoke(cli, args)
    assert out.exit_code == 0, out.output
    return out.stdout.strip()


def champion_of(sandbox, school: str) -> str:  # type: ignore[no-untyped-def]
    return next(p["id"] for p in sandbox.district.roster(school) if p["role"] == "champion")


def _get(client, path: str, token: str | None):  # type: ignore[no-untyped-def]
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return client.get(path, headers=headers)


def test_no_token_or_a_forged_one_is_refused(client, runner, runtime) -> None:  # type: ignore[no-untyped-def]
    assert _get(client, "/api/v1/sync/runs", None).status_code == 401
    assert _get(client, "/api/v1/sync/runs", "forged.token.value").status_code == 401
    token = _token(runner, "ops")
    with runtime.sessions() as s, pytest.raises(api_tokens.TokenInvalid):  # another secret
        api_tokens.resolve(s, "another-secret", token, utcnow())


def test_roles_get_exactly_their_permissions(synced, client, runner) -> None:  # type: ignore[no-untyped-def]
    ops, desk, auditor = (_token(runner, r) for r in ("ops", "desk", "auditor"))
    assert _get(client, "/api/v1/sync/runs", ops).status_code == 200
    assert _get(client, "/api/v1/sync/runs", desk).status_code == 403
    assert _get(client, "/api/v1/duplicates", desk).status_code == 200
    assert _get(client, "/api/v1/quarantine", desk).status_code == 403
    assert _get(client, "/api/v1/audit/verify", auditor).get_json()["ok"] is True
    assert _get(client, "/api/v1/sync/runs", auditor).status_code == 403


def test_champions_see_only_their_school_and_only_aggregates(synced, sandbox, client, runner) -> None:  # type: ignore[no-untyped-def]
    mine, other = (s["id"] for s in sandbox.district.schools()[:2])
    token = _token(runner, "champion", mine, champion_of(sandbox, mine))
    ok = _get(client, f"/api/v1/schools/{mine}/attendance?day=2026-11-29", token)
    assert ok.status_code == 200 and ok.get_json()["classes_taken"] == 0
    assert _get(client, f"/api/v1/schools/{other}/attendance?day=2026-11-29", token).status_code == 403
    assert _get(client, f"/api/v1/schools/{mine}/attendance", token).status_code == 400
    assert _get(client, "/api/v1/sync/runs", token).status_code == 403
    assert runner.invoke(cli, ["tokens", "issue", "--subject", "x", "--role", "champion"]).exit_code != 0


def test_an_endpoint_without_a_declared_permission_is_denied(app: Flask, client, runner) -> None:  # type: ignore[no-untyped-def]
    from gateway import api

    # Someone adds a view and forgets @requires: the blueprint's guard still refuses it.
    app.view_functions["api.forgotten"] = lambda: "secret"
    app.add_url_rule("/api/v1/forgotten", endpoint="api.forgotten")
    assert api.bp.name == "api"
    resp = _get(client, "/api/v1/forgotten", _token(runner, "ops"))
    assert resp.status_code == 403 and "denied by default" in resp.get_json()["error"]

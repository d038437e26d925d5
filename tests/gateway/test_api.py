"""The admin API: deny by default, role- and school-scoped, aggregates only."""

from __future__ import annotations

import pytest
from flask import Flask

from sqlalchemy import select

from core import api_tokens
from core.models import AttendanceMark, utcnow
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


def _mark_a_class(client, runner, sandbox) -> None:  # type: ignore[no-untyped-def]
    """A teacher marks rolls 1-6 absent over USSD, then roll 2 late: 5 absent, 1 late."""
    import re

    from core.codes import person_number
    from tests.ussd.phone import Phone

    school = sandbox.district.schools()[0]["id"]
    teacher = next(p for p in sandbox.district.roster(school) if p["role"] == "teacher")
    out = runner.invoke(cli, ["codes", "issue", "--staff", teacher["id"]])
    code = re.search(r"code (\d+)", out.output).group(1)  # type: ignore[union-attr]
    phone = Phone(client)
    phone.dial()
    phone.send("1")
    phone.send(person_number(teacher["id"]))
    assert phone.send(code).startswith("END ")
    for menu, rolls in (("1", "010203040506"), ("2", "02")):  # mark, then a late arrival
        phone.dial()
        if "اختر الفصل" in phone.send(menu) or "Choose class" in phone.last:
            phone.send("1")
        phone.send(rolls)
        assert phone.send("1").startswith("END ")


def test_champions_see_only_their_school_and_only_aggregates(synced, sandbox, client, runner) -> None:  # type: ignore[no-untyped-def]
    mine, other = (s["id"] for s in sandbox.district.schools()[:2])
    _mark_a_class(client, runner, sandbox)
    token = _token(runner, "champion", mine, champion_of(sandbox, mine))
    ok = _get(client, f"/api/v1/schools/{mine}/attendance?day=2026-11-29", token)
    assert ok.status_code == 200 and ok.get_json()["classes_taken"] == 1
    [taken] = ok.get_json()["classes"]
    # Five absent is shown; one late is a small cell: "<5", never the exact count.
    assert taken["absent"] == 5 and taken["late"] == "<5" and taken["size"] >= 5
    with synced.sessions() as s:  # the exact counts exist: the API chose not to show one
        assert sorted(s.scalars(select(AttendanceMark.status))) == ["absent"] * 5 + ["late"]
    assert set(taken) == {"class", "size", "absent", "late"}  # aggregates only: no names, no ids
    empty = _get(client, f"/api/v1/schools/{mine}/attendance?day=2026-11-26", token).get_json()
    assert empty["classes_taken"] == 0 and empty["classes"] == []
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

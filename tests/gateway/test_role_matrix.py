"""ONE matrix: every role × every admin-API endpoint and desk-console page, as docs/SECURITY.md says.

Each role gets a real credential (an API token; a console session signed in by SMS code) and
calls every row of gateway/security_matrix.py; "✓" must not be refused, "—" must be a 403,
"✓ own school" must be refused for another school.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from flask import Flask

from core import api_tokens
from core.models import utcnow
from core.rbac import Role
from gateway import security_matrix
from tests.support.desk import csrf, make_champion, make_staff, sign_in

MINE, OTHER = "SCH-0001", "SCH-0002"


def _path(rule: str, school: str) -> str:
    path = rule.replace("<school>", school)
    path = re.sub(r"<int:[^>]+>", "1", path)
    return re.sub(r"<[^>]+>", "x", path)


def _credentials(runtime, app: Flask) -> dict[Role, tuple[str, object]]:  # type: ignore[no-untyped-def]
    """Return, per role, an API token and a console-signed-in test client."""
    make_champion(runtime, "STF-0001-0001", MINE)
    make_champion(runtime, "STF-0002-0001", OTHER)
    out: dict[Role, tuple[str, object]] = {}
    for i, role in enumerate(Role):
        subject = "STF-0001-0001" if role is Role.CHAMPION else f"M-{role.value}"
        if role is not Role.CHAMPION:
            make_staff(runtime, subject, role)
        with runtime.sessions() as s, s.begin():
            token, _row = api_tokens.issue(
                s, runtime.config.secret_key, subject, role,
                school=MINE if role is Role.CHAMPION else None, actor="test", now=utcnow(),
                lifetime=timedelta(hours=1))
        client = app.test_client()
        client.environ_base["REMOTE_ADDR"] = f"10.9.0.{i + 1}"  # one address each: no shared limit
        sign_in(client, runtime, subject)
        out[role] = (token, client)
    return out


def _call(client, method: str, path: str, token: str | None):  # type: ignore[no-untyped-def]
    if token is not None:
        return client.open(path, method=method, headers={"Authorization": f"Bearer {token}"})
    data = {"csrf_token": csrf(client.get("/desk/").get_data(as_text=True))} if method == "POST" else None
    return client.open(path, method=method, data=data)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # the page tests cover PostgreSQL
def test_every_role_on_every_endpoint_and_page(app: Flask, runtime) -> None:
    creds = _credentials(runtime, app)
    rows = security_matrix.rows(app)
    guarded = [r for r in rows if r.guard.startswith(("bearer token", "desk session"))]
    assert any(r.path.startswith("/desk") for r in guarded) and any(r.path.startswith("/api") for r in guarded)
    # Sign-out ends the session it is called with: it goes last.
    guarded.sort(key=lambda r: r.path == "/desk/sign-out")
    checked = 0
    for row in guarded:
        api = row.guard.startswith("bearer token")
        for role, cell in zip(Role, row.roles):
            token, client = creds[role]
            for method in row.methods.split(", "):
                resp = _call(client, method, _path(row.path, MINE), token if api else None)
                if cell == "—":
                    assert resp.status_code == 403, (role, method, row.path, resp.status_code)
                else:
                    assert resp.status_code not in (401, 403), (role, method, row.path, resp.status_code)
                    if not api:
                        assert resp.status_code != 302, (role, row.path, "signed out?")
                if cell == "✓ own school":
                    other = _call(client, method, _path(row.path, OTHER), token if api else None)
                    assert other.status_code == 403, (role, row.path, "another school")
                checked += 1
    assert checked >= len(guarded) * len(Role)

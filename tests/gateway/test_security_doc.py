"""docs/SECURITY.md's role × endpoint matrix is what the code declares, and every route has a rule."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask

from gateway import security_matrix

DOC = Path(__file__).resolve().parents[2] / "docs" / "SECURITY.md"


def test_the_committed_matrix_matches_the_code(app: Flask) -> None:
    want = security_matrix.render(app)
    assert security_matrix.committed(DOC.read_text()) == want, (
        "docs/SECURITY.md is stale: paste `python -m gateway.security_matrix` between its markers")


def test_a_new_route_without_an_access_rule_cannot_be_documented(app: Flask) -> None:
    app.add_url_rule("/reports/export", endpoint="reports.export", view_func=lambda: "rows")
    with pytest.raises(security_matrix.UndeclaredEndpoint, match="/reports/export"):
        security_matrix.render(app)


def test_a_permission_change_shows_up_as_a_drift(app: Flask, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from core.rbac import GRANTS, Permission, Role

    monkeypatch.setitem(GRANTS, Role.DESK, GRANTS[Role.DESK] | {Permission.QUARANTINE_READ})
    assert security_matrix.render(app) != security_matrix.committed(DOC.read_text())

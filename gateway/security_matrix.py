"""The role × endpoint matrix of docs/SECURITY.md, generated from the app's routes and guards.

One matrix for the admin API (bearer tokens) and the desk console's pages (sessions): both
declare a core.rbac Permission per view, and tests/gateway/test_role_matrix.py requests every
row as every role and checks the answer against this table.

`python -m gateway.security_matrix` prints it; tests/gateway/test_security_doc.py fails when
the committed document differs from what the code declares.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask

from core.rbac import GRANTS, Role
from gateway import callbacks

# Endpoints anyone may call: health and aggregate counts, no personal data (docs/SECURITY.md).
PUBLIC = frozenset({"status.healthz", "status.status_page", "status.status_json", "status.metrics"})
DEV_ONLY = frozenset({"devphone", "devsms"})  # these blueprints answer 404 in production
BEGIN, END = "<!-- role-matrix:begin -->", "<!-- role-matrix:end -->"


class UndeclaredEndpoint(LookupError):
    """A route whose access rule the matrix cannot name: declare it before shipping."""


@dataclass(frozen=True)
class Row:
    path: str
    methods: str
    guard: str
    roles: tuple[str, ...]  # one cell per Role, in enum order


def _cells(view) -> tuple[str, ...]:  # type: ignore[no-untyped-def]
    permission, scoped = view.permission, getattr(view, "school_scoped", False)
    return tuple(("✓ own school" if scoped and role is Role.CHAMPION else "✓")
                 if permission in GRANTS[role] else "—" for role in Role)


def _row(app: Flask, rule) -> Row:  # type: ignore[no-untyped-def]
    methods = ", ".join(sorted(set(rule.methods or ()) - {"HEAD", "OPTIONS"}))
    view = app.view_functions[rule.endpoint]
    blank = tuple("·" for _ in Role)
    if rule.endpoint.startswith("api."):
        permission = getattr(view, "permission", None)
        if permission is None:
            return Row(rule.rule, methods, "none declared: refused (deny by default)", blank)
        return Row(rule.rule, methods, f"bearer token with `{permission.value}`", _cells(view))
    if rule.endpoint.startswith("console."):
        if getattr(view, "public", False):
            return Row(rule.rule, methods, "anyone: a sign-in step (CSRF token, rate-limited)", blank)
        permission = getattr(view, "permission", None)
        if permission is None:
            return Row(rule.rule, methods, "none declared: refused (deny by default)", blank)
        return Row(rule.rule, methods, f"desk session with `{permission.value}` (+ CSRF on POST)",
                   _cells(view))
    if rule.rule.startswith(callbacks.PREFIX):
        name = rule.rule[len(callbacks.PREFIX):]
        if name not in callbacks.CALLBACKS:
            return Row(rule.rule, methods, "no callback token: refused (deny by default)", blank)
        return Row(rule.rule, methods, f"Africa's Talking: allow-list + `{name}` callback token", blank)
    if rule.endpoint.split(".")[0] in DEV_ONLY:
        return Row(rule.rule, methods, "anyone, development and test only (404 in production)", blank)
    if rule.endpoint in PUBLIC:
        return Row(rule.rule, methods, "anyone (aggregate counts, no personal data)", blank)
    raise UndeclaredEndpoint(f"{rule.rule} ({rule.endpoint}) has no declared access rule")


def rows(app: Flask) -> list[Row]:
    """Return one row per route, by path."""
    return [_row(app, rule) for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule)]


def render(app: Flask) -> str:
    """Return the matrix as a Markdown table between its markers."""
    head = ["endpoint", "methods", "guard", *(r.value for r in Role)]
    lines = [BEGIN, "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join([f"`{r.path}`", r.methods, r.guard, *r.roles]) + " |" for r in rows(app)]
    return "\n".join([*lines, END])


def committed(text: str) -> str:
    """Return the matrix block of a document (markers included); empty when it has none."""
    start, end = text.find(BEGIN), text.find(END)
    return text[start:end + len(END)] if 0 <= start < end else ""


if __name__ == "__main__":
    from core.config import Config
    from gateway.app import create_app

    print(render(create_app({"HUDOOR_CONFIG": Config(env="test")})))

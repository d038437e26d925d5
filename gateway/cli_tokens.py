"""`hudoor tokens`: grant admin-API access by role (audited)."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

from core import rbac
from core.runtime import runtime_of

group = AppGroup("tokens", help="Admin API tokens (role-based, 12-hour expiry).")


@group.command("issue")
@click.option("--subject", required=True, help="Who the token is for (name or staff id).")
@click.option("--role", type=click.Choice([r.value for r in rbac.Role]), required=True)
@click.option("--school", default=None, help="Upstream school id (champions only).")
@click.option("--by", "actor", default="cli", help="Who grants it (audited).")
def issue(subject: str, role: str, school: str | None, actor: str) -> None:
    """Print a bearer token for the admin API."""
    rt = runtime_of(current_app)
    with rt.sessions() as session, session.begin():
        try:
            token = rbac.issue(session, rt.config.secret_key, subject, rbac.Role(role),
                               school=school, actor=actor)
        except ValueError as exc:
            raise click.ClickException(str(exc)) from exc
    click.echo(token)

"""`hudoor tokens` and `hudoor staff`: admin-API access by role, bound to a holder (audited)."""

from __future__ import annotations

from datetime import timedelta

import click
from flask import current_app
from flask.cli import AppGroup

from core import api_tokens, rbac, staff_register
from core.models import utcnow
from core.runtime import runtime_of

group = AppGroup("tokens", help="Admin API tokens: bound to a holder, revocable, listed.")
staff = AppGroup("staff", help="The central staff register (ops, desk, security, auditor).")


@group.command("issue")
@click.option("--subject", required=True,
              help="Upstream person id (champions) or central staff id (other roles).")
@click.option("--role", type=click.Choice([r.value for r in rbac.Role]), required=True)
@click.option("--school", default=None, help="Upstream school id (champions only).")
@click.option("--by", "actor", default="cli", help="Who grants it (audited).")
def issue(subject: str, role: str, school: str | None, actor: str) -> None:
    """Print a bearer token for the admin API."""
    rt = runtime_of(current_app)
    with rt.sessions() as session, session.begin():
        try:
            token, row = api_tokens.issue(
                session, rt.config.secret_key, subject, rbac.Role(role), school=school, actor=actor,
                now=utcnow(), lifetime=timedelta(hours=rt.config.api_token_hours))
        except api_tokens.TokenRefused as exc:
            raise click.ClickException(str(exc)) from exc
    click.echo(token)
    click.echo(f"token id {row.id}, expires {row.expires_at.isoformat()}", err=True)


@group.command("list")
@click.option("--all", "include_ended", is_flag=True, help="Also revoked and expired tokens.")
def list_tokens(include_ended: bool) -> None:
    """List tokens (live ones by default): id, role, holder, school, expiry."""
    with runtime_of(current_app).sessions() as session:
        rows = api_tokens.listing(session, utcnow(), include_ended=include_ended)
    if not rows:
        click.echo("no tokens" if include_ended else "no live tokens")
    for t in rows:
        state = f"revoked {t.revoked_at.isoformat()}" if t.revoked_at else f"expires {t.expires_at.isoformat()}"
        click.echo(f"{t.id}\t{t.role}\t{t.subject}\t{t.school or '-'}\t{state}\tby {t.issued_by}")


@group.command("revoke")
@click.argument("token_id", type=int)
@click.option("--by", "actor", required=True, help="Who revokes it (audited).")
@click.option("--reason", required=True, help="Why (audited).")
def revoke(token_id: int, actor: str, reason: str) -> None:
    """Revoke a token by its id (`hudoor tokens list`); it is refused from the next request."""
    with runtime_of(current_app).sessions() as session, session.begin():
        if not api_tokens.revoke(session, token_id, actor=actor, reason=reason, now=utcnow()):
            raise click.ClickException(f"no live token {token_id}")
    click.echo(f"token {token_id} revoked")


@staff.command("add")
@click.option("--staff-id", "staff_ref", required=True, help="The ministry's staff id.")
@click.option("--name", required=True, help="Display name.")
@click.option("--role", type=click.Choice(sorted(r.value for r in rbac.CENTRAL_ROLES)), required=True)
@click.option("--by", "actor", required=True, help="Who adds them (audited).")
@click.option("--reason", required=True, help="Why (audited), e.g. the appointment reference.")
def staff_add(staff_ref: str, name: str, role: str, actor: str, reason: str) -> None:
    """Register a central staff member who may then be issued tokens for that role."""
    with runtime_of(current_app).sessions() as session, session.begin():
        try:
            staff_register.add(session, staff_ref, name, rbac.Role(role), actor=actor, reason=reason)
        except staff_register.StaffRefused as exc:
            raise click.ClickException(str(exc)) from exc
    click.echo(f"{staff_ref} registered as {role}")


@staff.command("deactivate")
@click.argument("staff_ref")
@click.option("--by", "actor", required=True, help="Who removes them (audited).")
@click.option("--reason", required=True, help="Why (audited).")
def staff_deactivate(staff_ref: str, actor: str, reason: str) -> None:
    """Deactivate a central staff member and revoke their tokens at once."""
    with runtime_of(current_app).sessions() as session, session.begin():
        try:
            n = staff_register.deactivate(session, staff_ref, actor=actor, reason=reason)
        except staff_register.StaffRefused as exc:
            raise click.ClickException(str(exc)) from exc
    click.echo(f"{staff_ref} deactivated, {n} tokens revoked, desk-console sessions ended")


@staff.command("bind-phone")
@click.argument("staff_ref")
@click.option("--msisdn", required=True, help="The SIM its holder gave for desk sign-in codes.")
@click.option("--consent", is_flag=True, required=True,
              help="Confirm the holder gave this number themselves and agreed to codes by SMS.")
@click.option("--by", "actor", required=True, help="Who binds it (audited).")
@click.option("--reason", required=True, help="How the number and consent were given (audited).")
def staff_bind_phone(staff_ref: str, msisdn: str, consent: bool, actor: str, reason: str) -> None:
    """Bind a central staff member's SIM: the desk console sends their sign-in codes to it."""
    if not consent:
        raise click.ClickException("--consent is required: bind only a number its holder gave")
    rt = runtime_of(current_app)
    with rt.sessions() as session, session.begin():
        try:
            number = staff_register.bind_phone(session, staff_ref, msisdn, secret=rt.config.secret_key,
                                               actor=actor, reason=reason)
        except staff_register.StaffRefused as exc:
            raise click.ClickException(str(exc)) from exc
    click.echo(f"{staff_ref}: SIM …{number[-3:]} bound for desk sign-in codes")


@staff.command("list")
def staff_list() -> None:
    """List the central staff register."""
    with runtime_of(current_app).sessions() as session:
        rows = staff_register.entries(session)
    if not rows:
        click.echo("the central staff register is empty")
    for e in rows:
        click.echo(f"{e.staff_ref}\t{e.role}\t{'active' if e.active else 'inactive'}\t{e.display_name}")

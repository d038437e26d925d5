"""`hudoor privacy`: data-subject requests for the school or the desk (list, close)."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from gateway.cli_common import rt

privacy = AppGroup("privacy", help="Guardians' data requests: access, correction, erasure.")


@privacy.command("requests")
def privacy_requests() -> None:
    """List open requests, oldest deadline first (id, kind, school, phone, due, late)."""
    from core import privacy as rights

    runtime = rt()
    now = runtime.clock()
    with runtime.sessions() as session:
        rows = rights.open_requests(session)
        for r in rows:
            late = "LATE" if r.due_at < now else ""
            phone = r.msisdn or "-"  # held only while open: the school calls back
            click.echo(f"{r.id}\t{r.kind}\t{r.school_id or '-'}\t{phone}\t"
                       f"{r.due_at.date().isoformat()}\t{late}".rstrip())
    click.echo(f"{len(rows)} open", err=True)


@privacy.command("close")
@click.argument("request_id", type=int)
@click.option("--by", "actor", required=True, help="Who handled it (staff id or name).")
@click.option("--note", required=True, help="What was done (kept, audited).")
def privacy_close(request_id: int, actor: str, note: str) -> None:
    """Close a correction request once the school has handled it; the number is dropped."""
    from core import privacy as rights
    from core.models import PrivacyRequest

    runtime = rt()
    with runtime.sessions() as session, session.begin():
        request = session.get(PrivacyRequest, request_id)
        if request is None or request.status != rights.Status.OPEN.value:
            raise click.ClickException(f"no open request {request_id}")
        if request.kind != rights.Kind.CORRECTION.value:
            raise click.ClickException(f"request {request_id} is {request.kind}: it is answered "
                                       "by the system, not closed by hand")
        rights.answer(session, request, actor=f"cli:{actor}", now=runtime.clock(), note=note,
                      status=rights.Status.CLOSED)
    click.echo(f"closed {request_id}")

"""`hudoor merge`: merge a suspected duplicate into a canonical person (reversible, never a delete)."""

from __future__ import annotations

import json

import click
from flask.cli import with_appcontext

from core import bulk
from core import merge as merging
from core.rbac import Permission
from gateway.cli_bulk import central_actor, forget_touched
from gateway.cli_common import rt


@click.command("merge")
@click.option("--keep", required=True, help="Upstream id of the person who stays (canonical).")
@click.option("--merge", "merged", required=True, help="Upstream id of the duplicate merged into it.")
@click.option("--by", required=True, help="Central staff id of who merges (ops).")
@click.option("--reason", required=True, help="Why (audited).")
@with_appcontext
def merge(keep: str, merged: str, by: str, reason: str) -> None:
    """Merge MERGE into KEEP: history stays reachable from both ids; `hudoor bulk revert` undoes it."""
    runtime = rt()
    try:
        with runtime.sessions() as session, session.begin():
            actor = central_actor(session, by, Permission.PEOPLE_MERGE)
            kept, gone = merging.find(session, keep), merging.find(session, merged)
            if kept is None or gone is None:
                raise click.ClickException(f"no such person {keep if kept is None else merged}")
            op = merging.merge(session, keep_id=kept.id, merge_id=gone.id, actor=actor,
                               reason=reason, now=runtime.clock())
            summary = json.loads(op.summary)
    except (merging.MergeRefused, bulk.BulkError) as exc:
        raise click.ClickException(str(exc)) from exc
    forget_touched(runtime, op.id)
    click.echo(json.dumps({"operation": op.id, **summary}, ensure_ascii=False))
    click.echo(f"`hudoor bulk revert {op.id} --by … --reason …` undoes it until "
               f"{op.final_at:%Y-%m-%d %H:%M} UTC", err=True)

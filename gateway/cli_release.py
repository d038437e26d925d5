"""`hudoor release`: may a deploy start now, the staged plan, and the rollback package."""

from __future__ import annotations

from datetime import datetime

import click
from flask.cli import AppGroup

from gateway.cli_common import progress, rt

group = AppGroup("release", help="Release windows, the staged rollout and the rollback package.")
KINDS = click.Choice(["feature", "fix"])


def _when(moment: datetime) -> str:
    return f"{moment:%a %-d %b %Y %H:%M} (Cairo)"


def _moment(at: str | None) -> datetime:
    """Return --at as an aware moment (no offset: Cairo time), or the runtime's clock."""
    from core import calendar

    if at is None:
        return calendar.now_cairo(rt().clock)
    try:
        parsed = datetime.fromisoformat(at)
    except ValueError as exc:
        raise click.BadParameter(f"{at!r} is not an ISO date-time (e.g. 2026-12-04T10:00)",
                                 param_hint="--at") from exc
    return parsed.replace(tzinfo=calendar.CAIRO) if parsed.tzinfo is None else parsed


def _rules_and_calendar():  # type: ignore[no-untyped-def]
    from core import calendar_store, release, wall

    runtime = rt()
    try:  # the thresholds the wall grades come from the wall's file (one place)
        rules = release.load_rules(thresholds_file=runtime.config.wall_thresholds_file
                                   or str(wall.DEFAULT))
    except release.RulesError as exc:
        raise click.ClickException(str(exc)) from exc
    with runtime.sessions() as session:
        return rules, calendar_store.current(session, runtime.config)


@group.command("check")
@click.option("--at", default=None, help="ISO date-time (no offset: Cairo); default now.")
@click.option("--kind", type=KINDS, default="feature", show_default=True)
@click.pass_context
def check(ctx: click.Context, at: str | None, kind: str) -> None:
    """Say whether a deploy may start now; exit 1 with the reasons if not."""
    from core import release

    moment = _moment(at)
    rules, cal = _rules_and_calendar()
    verdict = release.check(cal, moment, release.ReleaseKind(kind), rules)
    if verdict.window is None:
        for reason in verdict.reasons:
            click.echo(f"refused: {reason}")
        click.echo(f"a {kind} may not start at {_when(verdict.moment)}")
        ctx.exit(1)
    click.echo(f"may start: a {kind} at {_when(verdict.moment)}; "
               f"the window ends {_when(verdict.window.end)}")


@group.command("plan")
@click.option("--from", "at", default=None, help="ISO date-time to plan from; default now.")
@click.option("--kind", type=KINDS, default="feature", show_default=True)
def plan_cmd(at: str | None, kind: str) -> None:
    """Print the stages 5% → 25% → 100%: each one's window and the thresholds it must hold."""
    from core import release

    rules, cal = _rules_and_calendar()
    placed = release.plan(cal, _moment(at), release.ReleaseKind(kind), rules)
    for step in placed:
        stage = step.stage
        where = (f"{_when(step.window.start)} – {_when(step.window.end)}" if step.window
                 else f"no window within {release.HORIZON_DAYS} days")
        click.echo(f"stage {stage.percent}%: {where}")
        click.echo(f"  before it: `hudoor release rollback-plan` passes (the rollback package)")
        click.echo(f"  hold {stage.hold_school_days} school day(s)"
                   + (f", until {_when(step.hold_ends)}" if step.hold_ends else ""))
        for threshold in stage.thresholds:
            click.echo(f"    {threshold}  ({threshold.means})")
    last = placed[-1].window if placed else None
    if last is None or last.start.date() >= rules.phase2_starts:
        click.echo(f"warning: the 100% stage is not in before Phase 2 starts "
                   f"({rules.phase2_starts:%-d %b %Y})")
    else:
        click.echo(f"100% is in before Phase 2 starts ({rules.phase2_starts:%-d %b %Y})")


@group.command("rollback-plan")
@click.option("--to", "to", default=None, help="Revision to go back to (default: one step back).")
@click.pass_context
def rollback_plan(ctx: click.Context, to: str | None) -> None:
    """List what rolling the database back does; exit 1 if a step needs a data step first."""
    from core import rollback

    progress("building each revision's schema on a scratch database")
    try:
        steps = rollback.plan(rt().config.effective_database_url, to, progress)
    except rollback.RollbackError as exc:
        raise click.ClickException(str(exc)) from exc
    for step in steps:
        click.echo(f"{step.revision} → {step.down_to}: {step.title}")
        for table in step.dropped_tables:
            click.echo(f"  drops table {table}")
        for column in step.dropped_columns:
            click.echo(f"  drops column {column}")
        for name in step.restored:
            click.echo(f"  re-creates {name} (empty)")
        if step.data_step:
            click.echo(f"  moves data: {step.data_step}")
        click.echo("  loses: " + ("; ".join(step.losses) if step.losses else "no rows"))
    refused = rollback.refusals(steps)
    for reason in refused:
        click.echo(f"refused: {reason}", err=True)
    if refused:
        ctx.exit(1)
    click.echo(f"rollback to {steps[-1].down_to} may run: "
               f"`hudoor release rollback --to {steps[-1].down_to} --by WHO --reason WHY`")


@group.command("rollback")
@click.option("--to", "to", required=True, help="Revision to go back to.")
@click.option("--by", required=True, help="Who rolls back.")
@click.option("--reason", required=True, help="Why (the failed stage, the incident).")
def rollback_run(to: str, by: str, reason: str) -> None:
    """Roll the database back to --to after the same checks as rollback-plan (audited first)."""
    from core import audit, migrate, rollback

    runtime = rt()
    url = runtime.config.effective_database_url
    if not (by.strip() and reason.strip()):
        raise click.ClickException("--by and --reason are required")
    try:
        steps = rollback.plan(url, to, progress)
    except rollback.RollbackError as exc:
        raise click.ClickException(str(exc)) from exc
    refused = rollback.refusals(steps)
    if refused:
        raise click.ClickException("refused: " + "; ".join(refused))
    with runtime.sessions() as session, session.begin():  # recorded while the schema is current
        audit.record(session, actor=by, action="db.downgrade", entity="schema", entity_id=to,
                     reason=reason, data={"from": steps[0].revision, "to": to,
                                          "losses": [loss for s in steps for loss in s.losses]})
    runtime.engine.dispose()
    for step in steps:
        progress(f"downgrading {step.revision} → {step.down_to}")
        migrate.downgrade(url, step.down_to)
    click.echo(f"database at revision {migrate.current(url) or 'empty'}")

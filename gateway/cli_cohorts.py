"""`hudoor cohorts`: features switched per school in 5 → 25 → 100 % stages (G3), every change audited."""

from __future__ import annotations

import json

import click
from flask.cli import AppGroup

from gateway.cli_common import progress, rt

group = AppGroup("cohorts", help="Staged rollout of features per school (5 → 25 → 100 %).")


def _change(fn, feature: str, by: str, reason: str) -> None:  # type: ignore[no-untyped-def]
    from core import cohorts

    runtime = rt()
    if not by.strip() or not reason.strip():
        raise click.ClickException("--by and --reason must not be empty")
    try:
        with runtime.sessions() as session, session.begin():
            row = fn(session, feature, by=by.strip(), reason=reason.strip(), now=runtime.clock())
            out = {"feature": row.feature, "percent": row.percent, "held": row.held,
                   "since": row.since.isoformat()}
    except cohorts.CohortError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(json.dumps(out))


@group.command("status")
@click.argument("feature", required=False)
def status_cmd(feature: str | None) -> None:
    """Show each feature's stage, hold and hours of health so far (JSON lines)."""
    from core import cohorts

    runtime = rt()
    with runtime.sessions() as session:
        rows = cohorts.status(session, runtime.clock())
        if feature is not None:
            rows = [r for r in rows if r["feature"] == feature]
            if not rows:
                raise click.ClickException(f"no such feature {feature}")
            rows[0]["history"] = [
                {"action": h.action, "from": h.from_percent, "to": h.to_percent,
                 "at": h.at.isoformat(), "by": h.by, "reason": h.reason}
                for h in cohorts.history(session, feature)]
    for row in rows:
        click.echo(json.dumps(row, ensure_ascii=False))


@group.command("advance")
@click.argument("feature")
@click.option("--by", required=True, help="Who advances it (audited).")
@click.option("--reason", required=True, help="Why (audited).")
def advance_cmd(feature: str, by: str, reason: str) -> None:
    """Move FEATURE to its next stage; refused while held or before the stage was healthy long enough."""
    from core import cohorts

    _change(cohorts.advance, feature, by, reason)


@group.command("hold")
@click.argument("feature")
@click.option("--by", required=True, help="Who holds it (audited).")
@click.option("--reason", required=True, help="Why (audited).")
def hold_cmd(feature: str, by: str, reason: str) -> None:
    """Hold FEATURE at its stage: no advance until the hold is lifted."""
    from core import cohorts

    _change(cohorts.hold, feature, by, reason)


@group.command("lift")
@click.argument("feature")
@click.option("--by", required=True, help="Who lifts the hold (audited).")
@click.option("--reason", required=True, help="Why (audited).")
def lift_cmd(feature: str, by: str, reason: str) -> None:
    """Lift FEATURE's hold; its stage's health clock starts again from now."""
    from core import cohorts

    _change(cohorts.lift, feature, by, reason)


@group.command("sample")
def sample_cmd() -> None:
    """Record a health sample now (the scheduler does this every 30 minutes)."""
    from gateway.health import sample

    progress("gathering health figures")
    for row in sample(rt()):
        click.echo(json.dumps(row))

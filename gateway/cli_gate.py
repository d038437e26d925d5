"""`hudoor gate`: directives, evaluation, a school's figures, the ministry's reversal, simulation.

There is deliberately no command to fire a gate, to set a threshold for one school, or to
undo a firing locally: `evaluate` fires only when the stored rules say so.
"""

from __future__ import annotations

import json
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select

from core import calendar_store
from core.gate import rules as gate_rules
from core.gate import service
from core.gate.service import GateError
from core.models import School
from core.runtime import runtime_of

group = AppGroup("gate", help="The paper-parity gate (digital replaces paper, never early).")
directive = AppGroup("directive", help="Pre-signed directives the gate executes.")
group.add_command(directive)


@directive.command("register")
@click.option("--name", required=True)
@click.option("--file", "path", type=click.Path(exists=True, dir_okay=False), required=True)
@click.option("--by", required=True)
def directive_register(name: str, path: str, by: str) -> None:
    """Store a directive's text and SHA-256 (before the pilot; never edited)."""
    rt = runtime_of(current_app)
    try:
        with rt.sessions() as s, s.begin():
            row = service.register_directive(s, name, Path(path).read_text(encoding="utf-8"),
                                             by=by, now=rt.clock())
            click.echo(f"directive {row.name} registered, sha256 {row.sha256}")
    except GateError as exc:
        raise click.ClickException(str(exc)) from exc


@group.command("evaluate")
@click.option("--school", default=None, help="Upstream school id (default: every school).")
def evaluate(school: str | None) -> None:
    """Evaluate completed weeks; fire where the rules are met (the scheduler runs this daily)."""
    rt = runtime_of(current_app)
    with rt.sessions() as s, s.begin():
        q = select(School.id, School.upstream_id).where(School.active)
        if school:
            q = q.where(School.upstream_id == school)
        cal = calendar_store.current(s, rt.config)
        for sid, upstream in s.execute(q).all():
            rep = service.evaluate(s, sid, cal, rt.clock(), actor="gate:evaluate")
            click.echo(f"{upstream} {rep.state.value}")


@group.command("show")
@click.option("--school", required=True)
def show(school: str) -> None:
    """Print one school's window, weekly figures and state (aggregates only)."""
    rt = runtime_of(current_app)
    with rt.sessions() as s:
        sid = calendar_store.school_id(s, school)
        if sid is None:
            raise click.ClickException(f"no school {school!r}")
        rep = service.report(s, sid, calendar_store.current(s, rt.config), rt.clock())
    click.echo(json.dumps({"school": school, "state": rep.state.value,
                           "window_starts": rep.window_starts.isoformat(),
                           "window_ends": rep.window_ends.isoformat() if rep.window_ends else None,
                           "weeks": [w.as_dict() for w in rep.weeks], "fired": rep.fired},
                          ensure_ascii=False, indent=1))


@group.command("rules")
def rules() -> None:
    """Print the gate's thresholds (data; changed only by a reviewed migration)."""
    rt = runtime_of(current_app)
    with rt.sessions() as s:
        loaded = gate_rules.load(s)
    for name, value in loaded.__dict__.items():
        click.echo(f"{name} = {value}")


@group.command("reverse")
@click.option("--school", required=True)
@click.option("--reference", required=True, help="The ministry's decision reference.")
@click.option("--by", required=True)
@click.option("--reason", required=True)
def reverse(school: str, reference: str, by: str, reason: str) -> None:
    """Reverse a school's firing on the ministry's decision (central, audited)."""
    rt = runtime_of(current_app)
    try:
        with rt.sessions() as s, s.begin():
            service.reverse(s, school, reference=reference, by=by, reason=reason, now=rt.clock())
    except GateError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"gate of {school} reversed: paper is the legal record again")


@group.command("simulate")
@click.option("--from", "start", type=click.DateTime(["%Y-%m-%d"]), default="2026-09-01",
              show_default=True)
@click.option("--to", "end", type=click.DateTime(["%Y-%m-%d"]), default="2026-11-30",
              show_default=True)
@click.option("--seed", type=int, default=2026, show_default=True)
@click.option("--weeks/--no-weeks", default=False, help="Print every school's weekly verdicts.")
def simulate(start, end, seed: int, weeks: bool) -> None:  # type: ignore[no-untyped-def]
    """Play a term for a sandbox district (own throwaway database): whose gate fires when."""
    import tempfile

    from core.gate import simulate as sim

    with tempfile.TemporaryDirectory(prefix="hudoor-gate-sim-") as tmp:
        outcomes = sim.run(Path(tmp), start.date(), end.date(), seed=seed)
    for out in outcomes:
        fired = f"fired {out.fired_on.isoformat()}" if out.fired_on else "not fired (paper stays)"
        click.echo(f"{out.profile.code:14} {out.profile.kind:34} {fired}")
        if weeks:
            for line in out.weeks:
                click.echo(f"    {line}")

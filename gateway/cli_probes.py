"""`hudoor probes`: synthetic probes of each operator's zero-rated flows (U5)."""

from __future__ import annotations

import json
import sys

import click
from flask.cli import AppGroup

from gateway.cli_common import progress, rt

group = AppGroup("probes", help="Operator probes: a USSD session and an SMS round trip each.")


@group.command("run")
def probes_run() -> None:
    """Probe now (the scheduler does it every 10 minutes, 07:00–20:50 Cairo); exit 1 on an alert."""
    from gateway.probes import run

    runtime = rt()
    if not runtime.config.probe_sims:
        click.echo("error: no probe SIMs configured (HUDOOR_PROBE_NUMBERS=vodafone=+2010…,…)",
                   err=True)
        sys.exit(2)
    progress(f"probing {', '.join(runtime.config.probe_sims)} via {runtime.config.probe_ussd_url}")
    lines = run(runtime)
    for line in lines:
        click.echo(line.text())
    sys.exit(1 if any(line.alert for line in lines) else 0)


@group.command("status")
@click.option("--json", "as_json", is_flag=True)
def probes_status(as_json: bool) -> None:
    """Each operator's newest probe of each kind, with its failure streak."""
    from core import probes

    runtime = rt()
    with runtime.sessions() as session:
        latest = probes.latest(session, list(runtime.config.probe_sims))
    if as_json:
        click.echo(json.dumps({op: {k: v.as_json() for k, v in kinds.items()}
                               for op, kinds in latest.items()}, ensure_ascii=False))
        return
    if not latest:
        click.echo("no probe has finished yet", err=True)
    for operator, kinds in latest.items():
        for kind, r in kinds.items():
            click.echo(f"{operator:9} {kind:4} {'ok' if r.ok else 'FAILED'} "
                       f"{r.latency_ms if r.latency_ms is not None else '—'} ms at {r.at.isoformat()}"
                       f", {r.failures_in_a_row} failures in a row{'  ALERT' if r.alert else ''}")

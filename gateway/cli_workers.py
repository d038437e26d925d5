"""`hudoor worker|scheduler|ussd-warm`: the processes that run Hudoor's background work."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from gateway.cli_common import rt


@click.command("ussd-warm")
@with_appcontext
def ussd_warm() -> None:
    """Warm the USSD hop caches now (the scheduler does it before the first bell)."""
    from ussd.warmup import warm_now

    click.echo(f"warmed {warm_now(rt())} staff SIMs")


@click.command("worker")
@with_appcontext
@click.option("--burst", is_flag=True, help="Work until the queues are empty, then stop.")
def worker(burst: bool) -> None:
    """Run an RQ worker on Hudoor's queues (urgent first, digests last)."""
    from rq import Worker

    from core.runtime import QUEUES

    Worker(list(QUEUES), connection=rt().redis).work(burst=burst)


@click.command("scheduler")
@with_appcontext
def scheduler() -> None:
    """Enqueue the periodic jobs (delta sync every HUDOOR_SYNC_INTERVAL_SECONDS)."""
    from rq.cron import CronScheduler

    from gateway import schedule

    runtime = rt()
    cron = CronScheduler(connection=runtime.redis)
    schedule.register(cron, runtime.config)
    cron.start()

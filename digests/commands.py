"""The `hudoor digests|dlq` commands; gateway/cli.py mounts them."""

from __future__ import annotations

import json
from datetime import timedelta

import click
from flask import current_app
from flask.cli import AppGroup

from core import audit, calendar
from digests import outbox
from digests.alerts import enqueue_late_alerts
from digests.daily import enqueue_daily
from digests.outbox import RetryPolicy
from digests.services import build_sender, enqueue_chunks, requeue_all, requeue_from_outbox
from core.runtime import runtime_of

digests = AppGroup("digests", help="Daily SMS digests and their sending.")
dlq = AppGroup("dlq", help="SMS that were given up on.")


@digests.command("daily")
@click.option("--day", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="School day (default: today in Cairo).")
def daily(day) -> None:  # type: ignore[no-untyped-def]
    """Compose and enqueue one school day's digests (idempotent), then queue the senders."""
    rt = runtime_of(current_app)
    now = rt.clock()
    the_day = day.date() if day else calendar.today(rt.clock)
    with rt.sessions() as session, session.begin():
        run = enqueue_daily(session, the_day, rt.config, actor="cli", now=now)
        alerts = enqueue_late_alerts(session, the_day, rt.config, now)
    jobs = requeue_from_outbox(rt.sessions, rt.redis, rt.clock())
    click.echo(json.dumps({"day": the_day.isoformat(), "guardians": run.guardians,
                           "drafts": run.drafts, "absence_alerts": alerts,
                           "skipped": run.skipped_reason, "jobs": jobs}))


@digests.command("corrections")
def corrections() -> None:
    """Enqueue correction SMS for approved adjustments of days a parent was told absent (once)."""
    from digests.corrections import enqueue_corrections

    rt = runtime_of(current_app)
    with rt.sessions() as session, session.begin():
        added = enqueue_corrections(session, rt.config, rt.clock())
    requeue_from_outbox(rt.sessions, rt.redis, rt.clock())
    click.echo(json.dumps({"enqueued": added}))


@digests.command("report-day")
@click.option("--from", "start", type=click.DateTime(["%Y-%m-%d"]), required=True,
              help="First day of the term.")
@click.option("--to", "end", type=click.DateTime(["%Y-%m-%d"]), required=True,
              help="Last day of the term (the summary's date).")
@click.option("--chunk-size", type=click.IntRange(1, 20_000), default=5000, show_default=True,
              help="Guardians per chunk; workers take chunks in parallel.")
def report_day(start, end, chunk_size: int) -> None:  # type: ignore[no-untyped-def]
    """Plan the report-day batch and queue one job per chunk (progress on /status)."""
    from digests.report_day import chunk_ids, plan

    rt = runtime_of(current_app)
    with rt.sessions() as session, session.begin():
        batch = plan(session, start.date(), end.date(), chunk_size, actor="cli")
        ids = chunk_ids(session, batch.id)
    enqueue_chunks(rt.redis, ids)  # after the commit, so a worker always finds its chunk
    click.echo(json.dumps({"batch": batch.id, "guardians": batch.guardians, "chunks": len(ids)}))


@digests.command("requeue")
def requeue() -> None:
    """Rebuild all unfinished SMS work from SQL: report-day chunks, sending jobs, in-doubt."""
    rt = runtime_of(current_app)
    click.echo(json.dumps(requeue_all(rt)))


@digests.command("send")
@click.option("--until-idle", is_flag=True, help="Stop when nothing is due.")
@click.option("--seconds", type=float, default=None, help="Stop after this long.")
@click.option("--threads", type=int, default=32,
              help="Threads for a provider without an event-loop transport.")
@click.option("--batch", type=int, default=500, help="Most messages per operator per round.")
@click.option("--pooled/--sdk-transport", default=None,
              help="Keep-alive pool, or the SDK's own request per message "
                   "(default: HUDOOR_AT_KEEPALIVE; see docs/BENCHMARKS.md).")
def send(until_idle: bool, seconds: float | None, threads: int, batch: int,
         pooled: bool | None) -> None:
    """Run the sending loop in this process (an RQ worker runs the same through jobs).

    The `hudoor` script hands `digests send` to digests/send_main.py before loading the
    app; this command is the same sender for a CLI runner that has the app already."""
    rt = runtime_of(current_app)
    sender = build_sender(rt, threads=threads, batch=batch, pooled=pooled)
    grace = timedelta(seconds=rt.config.sms_unknown_grace_seconds)
    try:
        stats = sender.run(until_idle=until_idle, stop_after=seconds, grace=grace)
    finally:
        sender.close()
    click.echo(json.dumps({"submitted": stats.submitted, "accepted": stats.accepted,
                           "refused": stats.refused, "throttled": stats.throttled,
                           "missed": stats.missed, "held": stats.held,
                           "held_back": stats.held_back}))


@dlq.command("list")
@click.option("--limit", type=int, default=100)
def dlq_list(limit: int) -> None:
    """Print dead-lettered messages, one JSON object per line."""
    rt = runtime_of(current_app)
    with rt.sessions() as session:
        rows = outbox.dead_letters(session, limit)
        if not rows:  # on stderr: stdout stays one JSON object per line for scripts
            click.echo("the dead-letter queue is empty: no SMS was given up on", err=True)
        for row in rows:
            click.echo(json.dumps({"id": row.id, "msisdn": row.msisdn, "kind": row.kind,
                                   "day": row.day.isoformat(), "attempts": row.attempts,
                                   "reason": row.failure_reason}, ensure_ascii=False))


@dlq.command("replay")
@click.argument("ids", nargs=-1, type=int, required=True)
@click.option("--by", "actor", required=True, help="Who asks for the replay (audited).")
@click.option("--reason", required=True, help="Why these are worth sending again.")
def dlq_replay(ids: tuple[int, ...], actor: str, reason: str) -> None:
    """Queue dead-lettered messages again with a fresh attempt budget."""
    rt = runtime_of(current_app)
    with rt.sessions() as session, session.begin():
        done = outbox.replay(session, list(ids), RetryPolicy.from_config(rt.config), rt.clock())
        if done:
            audit.record(session, actor=actor, action="dlq.replay", entity="sms_outbox",
                         entity_id=",".join(map(str, done))[:200], reason=reason,
                         data={"ids": done})
    requeue_from_outbox(rt.sessions, rt.redis, rt.clock())
    click.echo(json.dumps({"replayed": done}))

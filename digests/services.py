"""Wire the SMS pipeline's parts from a Runtime: shaper, provider, sender, queues."""

from __future__ import annotations

from datetime import datetime, timedelta

import redis
from rq import Queue
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus
from sqlalchemy.orm import Session, sessionmaker

from core.runtime import Runtime
from digests import keys, outbox, report_day, send_main
from digests.loop_sender import LoopSender
from digests.outbox import RetryPolicy
from digests.providers.base import Provider
from shaping.bucket import RateShaper
from shaping.policy import OperatorCaps, Priority

_WAITING = {JobStatus.QUEUED, JobStatus.STARTED, JobStatus.SCHEDULED, JobStatus.DEFERRED}


def build_shaper(runtime: Runtime) -> RateShaper:
    """Return the shared per-operator shaper configured by HUDOOR_OPERATOR_CAPS."""
    return RateShaper(runtime.redis, OperatorCaps.parse(runtime.config.operator_caps),
                      urgent_share=runtime.config.sms_urgent_share,
                      guard_us=runtime.config.shaper_guard_ms * 1000)


def build_sender(runtime: Runtime, provider: Provider | None = None, *, pooled: bool | None = None,
                 threads: int = 32, batch: int = 500) -> LoopSender:
    """Return the event-loop sender on the configured provider (or the one given)."""
    return send_main.build(runtime.config, runtime.sessions, runtime.redis,
                           runtime.clock,  # HUDOOR_FAKE_NOW and tests' pinned clocks
                           provider=provider, pooled=pooled, threads=threads, batch=batch)


def _waiting(job_id: str, connection: redis.Redis) -> bool:
    try:
        return Job.fetch(job_id, connection=connection).get_status() in _WAITING
    except NoSuchJobError:
        return False


def enqueue_chunks(connection: redis.Redis, chunk_ids: list[int]) -> list[str]:
    """Make sure a job waits for each report-day chunk given; return the ids enqueued."""
    made = []
    queue = Queue(keys.QUEUE_FOR[Priority.DIGEST], connection=connection)
    for chunk_id in chunk_ids:
        job_id = keys.report_chunk_job_id(chunk_id)
        if not _waiting(job_id, connection):
            queue.enqueue("digests.jobs.report_day_chunk", chunk_id, job_id=job_id,
                          job_timeout=3600, result_ttl=60, failure_ttl=86400)
            made.append(job_id)
    return made


def requeue_all(runtime: Runtime) -> list[str]:
    """Rebuild from SQL every kind of unfinished durable work; return the job ids enqueued.

    Redis holds nothing SQL cannot rebuild: after a wipe (and every minute, scheduled)
    this settles in-doubt messages past the DLR grace by their class, queues a job for
    every report-day chunk not done, and a sending job for every group with due
    messages. (The daily digests are rebuilt by `digests_if_due`, from `digest_runs`.)
    """
    now = runtime.clock()
    grace = timedelta(seconds=runtime.config.sms_unknown_grace_seconds)
    with runtime.sessions() as session, session.begin():
        outbox.recover_in_doubt(session, now, grace, RetryPolicy.from_config(runtime.config))
        chunks = report_day.unfinished_chunks(session)
    made = enqueue_chunks(runtime.redis, chunks)
    return made + requeue_from_outbox(runtime.sessions, runtime.redis, now)


def requeue_from_outbox(sessions: sessionmaker[Session], connection: redis.Redis,
                        now: datetime) -> list[str]:
    """Make sure a sending job waits for every (operator, priority) with due messages.

    Idempotent: the outbox is the truth and job ids are fixed, so after Redis is
    wiped (or on every scheduler tick) this rebuilds exactly what is missing.
    Returns the ids of the jobs it enqueued.
    """
    with sessions() as session:
        groups = outbox.due_groups(session, now)
    made = []
    for operator, priority, _count in groups:
        job_id = keys.send_job_id(operator, priority)
        if _waiting(job_id, connection):
            continue
        Queue(keys.QUEUE_FOR[priority], connection=connection).enqueue(
            "digests.jobs.send_due", operator.value, int(priority), job_id=job_id,
            job_timeout=3600, result_ttl=60, failure_ttl=86400)
        made.append(job_id)
    return made

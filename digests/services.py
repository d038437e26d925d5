"""Wire the SMS pipeline's parts from a Runtime: shaper, provider, sender, queues."""

from __future__ import annotations

from datetime import datetime

import redis
from rq import Queue
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus
from sqlalchemy.orm import Session, sessionmaker

from core.models import utcnow
from core.runtime import Runtime
from digests import keys, outbox
from digests.outbox import RetryPolicy
from digests.providers import make_provider
from digests.providers.base import Provider
from digests.sender import Sender
from shaping.bucket import RateShaper
from shaping.policy import OperatorCaps

_WAITING = {JobStatus.QUEUED, JobStatus.STARTED, JobStatus.SCHEDULED, JobStatus.DEFERRED}


def build_shaper(runtime: Runtime) -> RateShaper:
    """Return the shared per-operator shaper configured by HUDOOR_OPERATOR_CAPS."""
    return RateShaper(runtime.redis, OperatorCaps.parse(runtime.config.operator_caps),
                      urgent_share=runtime.config.sms_urgent_share,
                      guard_us=runtime.config.shaper_guard_ms * 1000)


def build_sender(runtime: Runtime, provider: Provider | None = None, *, pooled: bool | None = None,
                 threads: int = 32, batch: int = 500) -> Sender:
    """Return a Sender on the configured provider (or the one given)."""
    return Sender(runtime.sessions, build_shaper(runtime),
                  OperatorCaps.parse(runtime.config.operator_caps),
                  provider or make_provider(runtime.config, pooled=pooled),
                  RetryPolicy.from_config(runtime.config), threads=threads, batch=batch,
                  clock=runtime.clock)  # HUDOOR_FAKE_NOW and tests' pinned clocks reach the sender


def requeue_from_outbox(sessions: sessionmaker[Session], connection: redis.Redis,
                        now: datetime | None = None) -> list[str]:
    """Make sure a sending job waits for every (operator, priority) with due messages.

    Idempotent: the outbox is the truth and job ids are fixed, so after Redis is
    wiped (or on every scheduler tick) this rebuilds exactly what is missing.
    Returns the ids of the jobs it enqueued.
    """
    with sessions() as session:
        groups = outbox.due_groups(session, now or utcnow())
    made = []
    for operator, priority, _count in groups:
        job_id = keys.send_job_id(operator, priority)
        try:
            if Job.fetch(job_id, connection=connection).get_status() in _WAITING:
                continue
        except NoSuchJobError:
            pass
        Queue(keys.QUEUE_FOR[priority], connection=connection).enqueue(
            "digests.jobs.send_due", operator.value, int(priority), job_id=job_id,
            job_timeout=3600, result_ttl=60, failure_ttl=86400)
        made.append(job_id)
    return made

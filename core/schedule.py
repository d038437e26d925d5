"""The periodic jobs and how often they run."""

from __future__ import annotations

from rq.cron import CronScheduler

from core import jobs
from core.config import Config

# Revocation must land within 1 hour of the upstream change: the delta sync interval
# plus one sync's duration bounds it, so the interval is capped well below an hour.
MAX_SYNC_INTERVAL_SECONDS = 1800


def register(cron: CronScheduler, cfg: Config) -> None:
    """Register Hudoor's periodic jobs on `cron`."""
    interval = min(cfg.sync_interval_seconds, MAX_SYNC_INTERVAL_SECONDS)
    cron.register(jobs.sync_delta, queue_name="sync", interval=interval, job_timeout=1800,
                  name="sync_delta")
    # Before the first bell (06:30 Cairo = 04:30 UTC in winter, 05:30 local in summer time),
    # Sunday to Thursday: warm the USSD caches so the spike's first hops read no database.
    cron.register(jobs.warm_ussd, queue_name="urgent", cron="30 4 * * 0-4", name="warm_ussd")
    from digests import jobs as sms_jobs  # the SMS pipeline's periodic work

    # Rebuild sending jobs from the outbox every minute: Redis may have been wiped.
    cron.register(sms_jobs.requeue, queue_name="default", interval=60, name="sms_requeue")
    # Inbound-SMS ids hold a parent's number; a week outlives every operator retry.
    cron.register(sms_jobs.forget_inbound_ids, queue_name="default", cron="15 1 * * *",
                  name="forget_inbound_ids")
    # Cheap check every five minutes; fires once a school day at the digest cut-off.
    cron.register(sms_jobs.digests_if_due, queue_name="digests", interval=300, job_timeout=3600,
                  name="digests_if_due")
    # Correction SMS for approved adjustments (held past quiet hours by the outbox).
    cron.register(sms_jobs.corrections, queue_name="digests", interval=300, name="sms_corrections")
    from core.writeback import jobs as wb_jobs

    # Write-back every minute on its own queue (workers take it last; it sheds itself).
    cron.register(wb_jobs.send_due, queue_name="writeback", interval=60, job_timeout=600,
                  name="writeback_send_due")
    # Nightly at 01:00 UTC (03:00 Cairo, 04:00 in summer time): reconcile with upstream.
    cron.register(wb_jobs.reconcile_nightly, queue_name="writeback", cron="0 1 * * *",
                  job_timeout=3600, name="reconcile_nightly")
    # Shortly after midnight Cairo: requests past their 3-working-day window expire (U3).
    cron.register(wb_jobs.expire_adjustments, queue_name="default", cron="30 22 * * *",
                  name="expire_adjustments")

"""The periodic jobs and how often they run; cron times are read in Africa/Cairo."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Callable

from croniter import croniter
from rq.cron import CronJob, CronScheduler
from rq.utils import now as rq_now

from gateway import jobs
from core.calendar import CAIRO
from core.config import Config

# Revocation must land within 1 hour of the upstream change: the delta sync interval
# plus one sync's duration bounds it, so the interval is capped well below an hour.
MAX_SYNC_INTERVAL_SECONDS = 1800
# School mornings, Cairo time: warm at 06:00, then every 15 minutes until 09:45. Each warm
# entry lives 20 minutes (ussd.warmup.WARM_TTL), so the caches stay warm until ~10:05 and a
# revoked teacher's menu still lives at most one sync interval + 20 minutes.
WARM_CRON = "*/15 6-9 * * 0-4"
# The audit head goes to the anchor file this often: at most this much of the newest
# audit can be removed unseen (decision 3).
ANCHOR_INTERVAL_SECONDS = 300
# Cohort health (G3): a sample every 30 minutes; core/cohort_rules.toml allows a 90-minute
# hole before a stage's health clock starts again, so one lost run does not restart it.
COHORT_HEALTH_SECONDS = 1800


PROBE_CRON = "*/10 7-20 * * *"
# Tickets past their SLA, every five minutes around the clock (Cairo): an audited escalation
# once per deadline (core/ticket_sla.py); SLAs run in working hours, but a deadline can fall at
# any minute of one.
SLA_OVERDUE_CRON = "*/5 * * * *"


def next_cairo(cron: str, after: datetime) -> datetime:
    """Return the first moment after `after` that `cron` matches in Cairo local time, in UTC."""
    return croniter(cron, after.astimezone(CAIRO)).get_next(datetime).astimezone(timezone.utc)


class CairoCronJob(CronJob):
    """A cron job whose fields mean Cairo time, whatever the host's TZ (RQ reads host time)."""

    def get_next_enqueue_time(self) -> datetime:
        if not self.cron:
            return super().get_next_enqueue_time()
        return next_cairo(self.cron, self.latest_enqueue_time or rq_now())


def _cairo_cron(cron: CronScheduler, func: Callable[..., Any], expr: str, *, queue_name: str,
                name: str, **options: Any) -> None:
    job = CairoCronJob(queue_name=queue_name, func=func, cron=expr, name=name, **options)
    cron.get_jobs().append(job)  # RQ's register() would build a host-time CronJob
    if job not in cron.get_jobs():
        raise RuntimeError("this RQ version hands out a copy of its cron jobs; update _cairo_cron")


def register(cron: CronScheduler, cfg: Config) -> None:
    """Register Hudoor's periodic jobs on `cron`."""
    interval = min(cfg.sync_interval_seconds, MAX_SYNC_INTERVAL_SECONDS)
    cron.register(jobs.sync_delta, queue_name="sync", interval=interval, job_timeout=1800,
                  name="sync_delta")
    # Before the first bell and through the morning spike, Sunday to Thursday: the first
    # hops read no database.
    _cairo_cron(cron, jobs.warm_ussd, WARM_CRON, queue_name="urgent", name="warm_ussd")
    cron.register(jobs.anchor_audit, queue_name="default", interval=ANCHOR_INTERVAL_SECONDS,
                  name="anchor_audit")
    # Every night (Cairo): the parity gate looks at the weeks that just completed (nothing fires early).
    _cairo_cron(cron, jobs.gate_evaluate, "0 2 * * *", queue_name="default", name="gate_evaluate",
                job_timeout=3600)
    # Every ten minutes outside quiet hours (Cairo): each operator's zero-rated flows (U5).
    if cfg.probe_sims:
        _cairo_cron(cron, jobs.probe_operators, PROBE_CRON, queue_name="default",
                    name="probe_operators", job_timeout=300)
    cron.register(jobs.cohort_health, queue_name="default", interval=COHORT_HEALTH_SECONDS,
                  name="cohort_health")
    _cairo_cron(cron, jobs.sla_overdue, SLA_OVERDUE_CRON, queue_name="default", name="sla_overdue")
    from digests import jobs as sms_jobs  # the SMS pipeline's periodic work

    # Rebuild sending jobs from the outbox every minute: Redis may have been wiped.
    cron.register(sms_jobs.requeue, queue_name="default", interval=60, name="sms_requeue")
    # Inbound-SMS ids hold a parent's number; a week outlives every operator retry.
    _cairo_cron(cron, sms_jobs.forget_inbound_ids, "15 1 * * *", queue_name="default",
                name="forget_inbound_ids")
    # Guardians' data requests answered (SMS copy, erasure in the outbox) and waiting SMS
    # without live consent withdrawn: within a minute of the USSD request (PDPL, decision 26).
    cron.register(sms_jobs.privacy_requests, queue_name="urgent", interval=60,
                  name="privacy_requests")
    # Nightly (Cairo): the retention schedule (docs/PRIVACY.md) purges what is past its time.
    _cairo_cron(cron, jobs.retention_purge, "45 1 * * *", queue_name="default",
                name="retention_purge", job_timeout=3600)
    # Cheap check every five minutes; fires once a school day at the digest cut-off.
    cron.register(sms_jobs.digests_if_due, queue_name="digests", interval=300, job_timeout=3600,
                  name="digests_if_due")
    # Correction SMS for approved adjustments (held past quiet hours by the outbox).
    cron.register(sms_jobs.corrections, queue_name="digests", interval=300, name="sms_corrections")
    from core.writeback import jobs as wb_jobs

    # Write-back every minute on its own queue (workers take it last; it sheds itself).
    cron.register(wb_jobs.send_due, queue_name="writeback", interval=60, job_timeout=600,
                  name="writeback_send_due")
    # Nightly at 03:00 Cairo: reconcile with upstream.
    _cairo_cron(cron, wb_jobs.reconcile_nightly, "0 3 * * *", queue_name="writeback",
                job_timeout=3600, name="reconcile_nightly")
    # Shortly after midnight Cairo: requests past their 3-working-day window expire (U3).
    _cairo_cron(cron, wb_jobs.expire_adjustments, "30 0 * * *", queue_name="default",
                name="expire_adjustments")

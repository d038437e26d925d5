"""Name every Redis key and RQ job id the SMS pipeline uses (shaping keys live in shaping.keys)."""

from __future__ import annotations

from shaping.operators import Operator
from shaping.policy import Priority

QUEUE_FOR = {Priority.URGENT: "urgent", Priority.DIGEST: "digests"}


def send_job_id(operator: Operator, priority: Priority) -> str:
    """Return the RQ job id of the sending job for one operator and priority class.

    One fixed id per (operator, priority): re-enqueueing after a Redis wipe, or
    twice by accident, leaves at most one waiting job, and a job only sends rows
    it claims in the database, so even two running at once cannot send twice.
    """
    return f"hudoor-sms-send-{operator.value}-{priority.name.lower()}"


def report_chunk_job_id(chunk_id: int) -> str:
    """Return the RQ job id of one report-day chunk (fixed: a rebuild never doubles it)."""
    return f"hudoor-report-chunk-{chunk_id}"


def digests_running(day: str) -> str:
    """Held (with a TTL) while one worker composes the day's digests; what is done is in SQL."""
    return f"hudoor:digests:running:{day}"

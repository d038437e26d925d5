"""The outbox on both databases: enqueue once, claim, record, DLR storms, recovery, DLQ."""

from __future__ import annotations

import random
from datetime import date, timedelta

from sqlalchemy import func, select

from core.models import utcnow
from digests import outbox
from digests.dlr import Applied, Report, apply_report
from digests.models import DeliveryReport, OutboxMessage
from digests.outbox import Draft, RetryPolicy
from digests.providers.base import Outcome, SubmitResult
from shaping.operators import Operator
from shaping.policy import Priority

DAY = date(2026, 11, 29)
POLICY = RetryPolicy(max_attempts=3, base_seconds=1, quiet_start_hour=0, quiet_end_hour=0)


def drafts(n: int, day: date = DAY) -> list[Draft]:
    return [Draft("daily_digest", day, f"+2010{i:08d}", "ar", f"حضور {i}") for i in range(n)]


def sent_rows(runtime, n: int) -> list[OutboxMessage]:  # type: ignore[no-untyped-def]
    now = utcnow()
    with runtime.sessions() as s, s.begin():
        outbox.enqueue(s, drafts(n), now)
        rows = outbox.claim(s, Operator.VODAFONE, Priority.DIGEST, n, now)
        for i, row in enumerate(rows):
            outbox.record_result(s, row, SubmitResult(Outcome.ACCEPTED, f"AT-{i}"), POLICY, now)
    return rows


def states(runtime) -> dict[str, int]:  # type: ignore[no-untyped-def]
    with runtime.sessions() as s:
        return dict(s.execute(select(OutboxMessage.state, func.count())
                              .group_by(OutboxMessage.state)).all())


def test_enqueue_is_idempotent(runtime) -> None:  # type: ignore[no-untyped-def]
    with runtime.sessions() as s, s.begin():
        outbox.enqueue(s, drafts(5))
    with runtime.sessions() as s, s.begin():
        outbox.enqueue(s, drafts(5) + drafts(2, DAY + timedelta(days=1)))
    assert states(runtime) == {"queued": 7}
    with runtime.sessions() as s:
        row = s.scalars(select(OutboxMessage).limit(1)).one()
        assert (row.operator, row.encoding, row.segments) == ("vodafone", "UCS-2", 1)


def test_claim_takes_each_row_once(runtime) -> None:  # type: ignore[no-untyped-def]
    now = utcnow()
    with runtime.sessions() as s, s.begin():
        outbox.enqueue(s, drafts(10), now)
    with runtime.sessions() as s, s.begin():
        first = outbox.claim(s, Operator.VODAFONE, Priority.DIGEST, 6, now)
    with runtime.sessions() as s, s.begin():
        second = outbox.claim(s, Operator.VODAFONE, Priority.DIGEST, 6, now)
    assert len(first) == 6 and len(second) == 4
    assert not {r.id for r in first} & {r.id for r in second}
    assert all(r.attempts == 1 for r in first + second)


def test_dlr_storm_duplicates_and_out_of_order_give_correct_final_states(runtime) -> None:  # type: ignore[no-untyped-def]
    rows = sent_rows(runtime, 30)
    reports = []
    for i, row in enumerate(rows):
        final = ("Success", None) if i % 3 else ("Failed", "UserInBlackList")
        for status, reason in (("Sent", None), ("Buffered", None), final, final):
            reports.append(Report(f"AT-{i}", status, row.msisdn, "60202", reason))
    random.Random(4).shuffle(reports)
    applied: dict[Applied, int] = {}
    for report in reports:
        with runtime.sessions() as s, s.begin():
            result = apply_report(s, report, POLICY, utcnow())
        applied[result] = applied.get(result, 0) + 1
    assert applied[Applied.DUPLICATE] == 30
    assert states(runtime) == {"delivered": 20, "dead_lettered": 10}
    with runtime.sessions() as s:
        assert s.scalar(select(func.count()).select_from(DeliveryReport)) == 90


def test_transient_dlr_retries_with_backoff_then_dead_letters(runtime) -> None:  # type: ignore[no-untyped-def]
    [row] = sent_rows(runtime, 1)
    now = utcnow()
    for attempt in range(1, 4):
        with runtime.sessions() as s, s.begin():
            apply_report(s, Report(f"AT-{attempt - 1}" if attempt == 1 else f"R-{attempt}",
                                   "Failed", row.msisdn, None, "DeliveryFailure"), POLICY, now)
            fresh = s.get(OutboxMessage, row.id)
            assert fresh is not None
            if attempt < 3:
                assert fresh.state == "failed" and fresh.next_attempt_at > now
                later = fresh.next_attempt_at
                again = outbox.claim(s, Operator.VODAFONE, Priority.DIGEST, 1, later)
                assert [r.id for r in again] == [row.id]
                outbox.record_result(s, again[0], SubmitResult(Outcome.ACCEPTED,
                                                               f"R-{attempt + 1}"), POLICY, later)
            else:
                assert fresh.state == "dead_lettered"
                assert fresh.failure_reason == "Failed: DeliveryFailure"


def test_stale_report_about_an_earlier_attempt_is_ignored(runtime) -> None:  # type: ignore[no-untyped-def]
    [row] = sent_rows(runtime, 1)
    now = utcnow()
    with runtime.sessions() as s, s.begin():
        apply_report(s, Report("AT-0", "Failed", row.msisdn, None, "DeliveryFailure"), POLICY, now)
        outbox.claim(s, Operator.VODAFONE, Priority.DIGEST, 1, now + timedelta(hours=1))
    with runtime.sessions() as s, s.begin():
        assert apply_report(s, Report("AT-0", "Sent", row.msisdn), POLICY, now) is Applied.STALE
    assert states(runtime) == {"submitted": 1}


def test_report_before_submit_answer_is_applied_when_the_answer_lands(runtime) -> None:  # type: ignore[no-untyped-def]
    now = utcnow()
    with runtime.sessions() as s, s.begin():
        outbox.enqueue(s, drafts(1), now)
        [row] = outbox.claim(s, Operator.VODAFONE, Priority.DIGEST, 1, now)
    with runtime.sessions() as s, s.begin():
        # Another number's report: nothing to adopt, kept for later.
        assert apply_report(s, Report("AT-X", "Success", "+201099999999"), POLICY,
                            now) is Applied.UNMATCHED


def test_killed_sender_rows_are_adopted_by_dlr_or_dead_lettered(runtime) -> None:  # type: ignore[no-untyped-def]
    now = utcnow()
    with runtime.sessions() as s, s.begin():
        outbox.enqueue(s, drafts(3), now)
        rows = outbox.claim(s, Operator.VODAFONE, Priority.DIGEST, 3, now)
    with runtime.sessions() as s, s.begin():
        assert apply_report(s, Report("AT-k", "Success", rows[0].msisdn), POLICY,
                            now) is Applied.ADOPTED
    with runtime.sessions() as s, s.begin():
        assert outbox.recover_in_doubt(s, now + timedelta(minutes=1), timedelta(seconds=30),
                                       POLICY) == 2
    assert states(runtime) == {"delivered": 1, "dead_lettered": 2}
    with runtime.sessions() as s, s.begin():
        done = outbox.replay(s, [rows[1].id, rows[0].id], POLICY, now)
    assert done == [rows[1].id]
    assert states(runtime) == {"delivered": 1, "dead_lettered": 1, "queued": 1}


def test_throttled_submit_is_not_an_attempt(runtime) -> None:  # type: ignore[no-untyped-def]
    now = utcnow()
    with runtime.sessions() as s, s.begin():
        outbox.enqueue(s, drafts(1), now)
        [row] = outbox.claim(s, Operator.VODAFONE, Priority.DIGEST, 1, now)
        outbox.record_result(s, row, SubmitResult(Outcome.THROTTLED, None, "502"), POLICY, now)
        assert (row.state, row.attempts) == ("failed", 0)

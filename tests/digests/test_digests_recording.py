"""Recording a round of answers: the one-statement path for accepted answers does what
the state machine does, and a round of mixed answers lands as each answer says.

Both through the real database (SQLite and PostgreSQL); the round through a real
event-loop sender (``services.build_sender``) with a provider that answers on script.
"""

from __future__ import annotations

import itertools
import threading
from datetime import timedelta

from sms_support import drafts
from sqlalchemy import select, update

from core.models import utcnow
from core.runtime import Runtime
from digests import outbox, recording
from digests.dlr import Applied, Report, apply_report
from digests.models import DeliveryReport, OutboxMessage, OutboxState
from digests.outbox import RetryPolicy
from digests.providers.base import (
    Outcome,
    ProviderInDoubt,
    ProviderUnavailable,
    Submission,
    SubmitResult,
)
from digests.services import build_sender

POLICY = RetryPolicy(max_attempts=3, base_seconds=1, quiet_start_hour=0, quiet_end_hour=0)
_COLUMNS = ("state", "attempts", "provider_message_id", "failure_reason",
            "sent_at", "finished_at", "next_attempt_at", "updated_at", "claim")


def _snapshot(row: OutboxMessage) -> tuple[object, ...]:
    return tuple(getattr(row, name) for name in _COLUMNS)


def test_accept_moves_rows_as_the_state_machine_does_from_every_state(runtime) -> None:  # type: ignore[no-untyped-def]
    """Every state x sent_at set or not x an id already there or not: two twin rows,
    one moved by outbox.record_result (the ORM and the pure state machine), one by
    recording.accept (one statement for the round); they must end the same."""
    cases = list(itertools.product(OutboxState, (False, True), (None, "AT-before")))
    before = utcnow() - timedelta(hours=1)
    now = utcnow()
    with runtime.sessions() as s, s.begin():
        outbox.enqueue(s, drafts(2 * len(cases)), before)
    with runtime.sessions() as s, s.begin():
        ids = list(s.scalars(select(OutboxMessage.id).order_by(OutboxMessage.id)))
        for n, (state, sent, prior) in enumerate(cases):
            s.execute(update(OutboxMessage).where(OutboxMessage.id.in_(ids[2 * n:2 * n + 2]))
                      .values(state=state.value, attempts=1, provider_message_id=prior,
                              sent_at=before if sent else None, updated_at=before,
                              failure_reason="earlier"))
    with runtime.sessions() as s, s.begin():
        rows = {r.id: r for r in s.scalars(select(OutboxMessage))}
        for n in range(len(cases)):
            outbox.record_result(s, rows[ids[2 * n]], SubmitResult(Outcome.ACCEPTED, f"AT-{n}"),
                                 POLICY, now)
        recording.accept(s, [(ids[2 * n + 1], f"AT-{n}") for n in range(len(cases))], now)
    with runtime.sessions() as s:
        rows = {r.id: r for r in s.scalars(select(OutboxMessage))}
    moved = 0
    for n, case in enumerate(cases):
        by_orm, by_sql = rows[ids[2 * n]], rows[ids[2 * n + 1]]
        assert _snapshot(by_sql) == _snapshot(by_orm), case
        assert by_sql.provider_message_id == f"AT-{n}"
        moved += by_sql.state == "sent" and case[0] is OutboxState.SUBMITTED
    assert moved == 4  # only SUBMITTED rows moved (x2 sent_at x2 prior id)


class Script:
    """A provider answering each number as the test says, with what happens meanwhile
    (a delivery report landing before the submit answer is recorded)."""

    name = "script"

    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime
        self.plan: dict[str, str] = {}
        self._lock = threading.Lock()

    def submit(self, message: Submission) -> SubmitResult:
        what = self.plan[message.msisdn]
        pid = f"AT-{message.outbox_id}"
        if what in ("report-first", "adopted-first"):
            # The operator's report beats the answer here: for another spelling of the
            # number it waits unmatched; for this number it adopts the claimed row.
            phone = "+201099999999" if what == "report-first" else message.msisdn
            with self._lock, self._runtime.sessions() as s, s.begin():
                apply_report(s, Report(pid, "Success", phone), POLICY, utcnow())
            return SubmitResult(Outcome.ACCEPTED, pid)
        if what == "refused":
            return SubmitResult(Outcome.PERMANENT, None, "406 UserInBlacklist")
        if what == "throttled":
            return SubmitResult(Outcome.THROTTLED, None, "502 RejectedByGateway")
        if what == "unreachable":
            raise ProviderUnavailable("connection refused")
        if what == "in-doubt":
            raise ProviderInDoubt("no answer within the read timeout")
        return SubmitResult(Outcome.ACCEPTED, pid)


def test_a_round_of_mixed_answers_is_recorded_as_each_answer_says(runtime) -> None:  # type: ignore[no-untyped-def]
    runtime.config = runtime.config.with_overrides(quiet_start_hour=0, quiet_end_hour=0,
                                                   operator_caps="vodafone=5000,orange=5000,"
                                                                 "etisalat=5000,we=5000",
                                                   sms_urgent_share=0.0)
    runtime.clock = utcnow  # the sender paces on a moving clock
    kinds = ["accepted"] * 4 + ["report-first", "adopted-first", "refused", "throttled",
                                "unreachable", "in-doubt"]
    messages = drafts(len(kinds))
    with runtime.sessions() as s, s.begin():
        outbox.enqueue(s, messages)
    provider = Script(runtime)
    provider.plan = {d.msisdn: kind for d, kind in zip(messages, kinds)}
    sender = build_sender(runtime, provider, threads=4)
    try:
        while sender.stats.submitted < len(kinds):
            sender.run_once()
    finally:
        sender.close()
    with runtime.sessions() as s:
        rows = {r.msisdn: r for r in s.scalars(select(OutboxMessage))}
        reports = {r.provider_message_id: r for r in s.scalars(select(DeliveryReport))}
    got = {d.msisdn: rows[d.msisdn] for d in messages}
    by_kind: dict[str, list[OutboxMessage]] = {}
    for d, kind in zip(messages, kinds):
        by_kind.setdefault(kind, []).append(got[d.msisdn])
    for row in by_kind["accepted"]:
        assert (row.state, row.provider_message_id, row.attempts) == ("sent", f"AT-{row.id}", 1)
        assert row.sent_at is not None and row.sent_at == row.updated_at
    [first] = by_kind["report-first"]  # the waiting report applied when the answer landed
    assert (first.state, first.provider_message_id) == ("delivered", f"AT-{first.id}")
    assert reports[f"AT-{first.id}"].outbox_id == first.id
    assert reports[f"AT-{first.id}"].applied == Applied.MOVED.value
    [adopted] = by_kind["adopted-first"]  # delivered stays delivered: the answer is older news
    assert (adopted.state, adopted.provider_message_id) == ("delivered", f"AT-{adopted.id}")
    assert adopted.finished_at is not None
    [refused] = by_kind["refused"]
    assert (refused.state, refused.failure_reason) == ("dead_lettered", "406 UserInBlacklist")
    [throttled] = by_kind["throttled"]
    assert (throttled.state, throttled.attempts) == ("failed", 0)
    [unreachable] = by_kind["unreachable"]
    assert (unreachable.state, unreachable.attempts) == ("failed", 0)
    assert unreachable.failure_reason.startswith("unreachable: ")
    [doubt] = by_kind["in-doubt"]
    assert (doubt.state, doubt.provider_message_id) == ("submitted", None)
    assert (sender.stats.accepted, sender.stats.refused, sender.stats.throttled,
            sender.stats.in_doubt) == (6, 1, 1, 1)


def _group(g: tuple[object, object, int]) -> tuple[int, str]:
    return int(g[1]), str(g[0])  # type: ignore[call-overload]


def test_a_rounds_claim_takes_the_oldest_due_rows_of_each_group(runtime) -> None:  # type: ignore[no-untyped-def]
    """claims.due_counts and claims.claim_groups (prepared texts) against the outbox's
    plain queries: counts capped per group, the n oldest due rows of each group claimed
    across both sendable states, nothing not yet due, nothing claimed twice."""
    from digests import claims
    from shaping.operators import Operator
    from shaping.policy import Priority

    now = utcnow()
    with runtime.sessions() as s, s.begin():
        outbox.enqueue(s, drafts(40), now - timedelta(minutes=5))
        ids = list(s.scalars(select(OutboxMessage.id).order_by(OutboxMessage.id)))
        # Every 3rd row failed earlier (sendable), every 5th waits for its retry, every
        # 7th is already sent: the walks must mix the states and skip what is not due.
        for i, outbox_id in enumerate(ids):
            values: dict[str, object] = {}
            if i % 3 == 0:
                values["state"] = "failed"
            if i % 5 == 0:
                values["next_attempt_at"] = now + timedelta(minutes=5)
            if i % 7 == 0:
                values["state"] = "sent"
            if values:
                s.execute(update(OutboxMessage).where(OutboxMessage.id == outbox_id)
                          .values(**values))
        s.execute(update(OutboxMessage).where(OutboxMessage.id.in_(ids[:8]))
                  .values(priority=int(Priority.URGENT)))
    with runtime.sessions() as s:
        plain = sorted(outbox.due_groups(s, now), key=_group)
        capped = claims.due_counts(s, now, 3)
        assert [int(pr) for _, pr, _ in capped] == sorted(int(pr) for _, pr, _ in capped)
        assert sorted(capped, key=_group) == [(op, pr, min(3, n)) for op, pr, n in plain]
        assert sorted(claims.due_counts(s, now, 100), key=_group) == plain
        due = {(r.operator, r.priority): [] for r in s.scalars(select(OutboxMessage))}
        for row in s.scalars(select(OutboxMessage).where(
                OutboxMessage.state.in_(["queued", "failed"]),
                OutboxMessage.next_attempt_at <= now).order_by(OutboxMessage.id)):
            due[(row.operator, row.priority)].append(row.id)
    wants = [(op, pr, 2) for op, pr, _ in plain]
    with runtime.sessions() as s, s.begin():
        claimed = claims.claim_groups(s, wants, now)
    for (op, pr, _), rows in zip(wants, claimed):
        assert [r.id for r in rows] == due[(op.value, int(pr))][:2]
        assert {(r.operator, r.priority) for r in rows} == {(op.value, int(pr))}
    taken = [r.id for rows in claimed for r in rows]
    with runtime.sessions() as s:
        marked = {r.id: r for r in s.scalars(select(OutboxMessage).where(
            OutboxMessage.state == "submitted"))}
        assert sorted(marked) == sorted(taken)
        assert len({r.claim for r in marked.values()}) == 1
        assert all(r.submitted_at == now and r.provider_message_id is None
                   for r in marked.values())
        assert (sorted(claims.due_counts(s, now, 100), key=_group)
                == sorted(outbox.due_groups(s, now), key=_group))
    assert Operator.VODAFONE in {op for op, _, _ in plain}

"""The outbox state machine: monotonic under any order of events (hypothesis)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from digests.models import OutboxState as S
from digests.states import FINAL, Event, rank, transition

MAX = 4
events = st.lists(st.sampled_from(list(Event)), max_size=40)


def run(state: S, seq: list[Event], attempts: int = 1) -> list[S]:
    seen = [state]
    for event in seq:
        if event is Event.CLAIMED and state in (S.QUEUED, S.FAILED):
            attempts += 1
        state = transition(state, event, attempts=attempts, max_attempts=MAX).state
        seen.append(state)
    return seen


@given(st.sampled_from(list(S)), events)
def test_delivered_is_absorbing(start: S, seq: list[Event]) -> None:
    seen = run(start, seq)
    first = next((i for i, s in enumerate(seen) if s is S.DELIVERED), None)
    if first is not None:
        assert all(s is S.DELIVERED for s in seen[first:])


@given(st.sampled_from(list(S)), events)
def test_only_retries_replays_and_proof_of_delivery_lower_or_leave_final(start: S,
                                                                         seq: list[Event]) -> None:
    state, attempts = start, 1
    for event in seq:
        move = transition(state, event, attempts=attempts, max_attempts=MAX)
        if rank(move.state) < rank(state):
            assert event in (Event.TRANSIENT_FAILURE, Event.NOT_HANDED_OVER, Event.REPLAYED,
                             Event.RESENT_UNKNOWN)
            assert move.state in (S.FAILED, S.QUEUED)
        if state is S.DEAD_LETTERED and move.changed:
            assert event in (Event.REPLAYED, Event.DELIVERED)
        state = move.state


@given(events)
def test_a_late_sent_never_overwrites_a_final_state(seq: list[Event]) -> None:
    for final in FINAL:
        assert transition(final, Event.ACCEPTED, attempts=1, max_attempts=MAX).state is final


@given(st.integers(min_value=0, max_value=10))
def test_transient_failures_retry_until_the_budget_then_dead_letter(attempts: int) -> None:
    move = transition(S.SENT, Event.TRANSIENT_FAILURE, attempts=attempts, max_attempts=MAX)
    assert move.state is (S.FAILED if attempts < MAX else S.DEAD_LETTERED)
    assert move.retry is (attempts < MAX)


def test_permanent_failure_dead_letters_at_once() -> None:
    assert transition(S.SENT, Event.PERMANENT_FAILURE, attempts=1,
                      max_attempts=MAX).state is S.DEAD_LETTERED
    assert transition(S.SUBMITTED, Event.PERMANENT_FAILURE, attempts=1,
                      max_attempts=MAX).state is S.DEAD_LETTERED


def test_failure_news_about_an_attempt_already_over_changes_nothing() -> None:
    for state in (S.QUEUED, S.FAILED):
        assert not transition(state, Event.PERMANENT_FAILURE, attempts=1, max_attempts=MAX).changed


def test_in_doubt_messages_are_dead_lettered_never_requeued() -> None:
    move = transition(S.SUBMITTED, Event.OUTCOME_UNKNOWN, attempts=1, max_attempts=MAX)
    assert move.state is S.DEAD_LETTERED and not move.retry
    assert transition(S.DEAD_LETTERED, Event.DELIVERED, attempts=1,
                      max_attempts=MAX).state is S.DELIVERED


def test_withdrawn_only_from_waiting_and_never_moves_again() -> None:
    for state in (S.QUEUED, S.FAILED):
        assert transition(state, Event.WITHDRAWN, attempts=1, max_attempts=MAX).state is S.WITHDRAWN
    for state in (S.SUBMITTED, S.SENT, S.DELIVERED, S.DEAD_LETTERED):
        assert not transition(state, Event.WITHDRAWN, attempts=1, max_attempts=MAX).changed
    for event in Event:
        assert not transition(S.WITHDRAWN, event, attempts=1, max_attempts=MAX).changed


def test_an_in_doubt_message_of_a_resent_class_retries_within_its_budget() -> None:
    move = transition(S.SUBMITTED, Event.RESENT_UNKNOWN, attempts=1, max_attempts=MAX)
    assert move.state is S.FAILED and move.retry
    assert transition(S.SUBMITTED, Event.RESENT_UNKNOWN, attempts=MAX,
                      max_attempts=MAX).state is S.DEAD_LETTERED
    assert not transition(S.SENT, Event.RESENT_UNKNOWN, attempts=1, max_attempts=MAX).changed

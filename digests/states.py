"""The outbox state machine as one pure function: monotonic, so late news never rewinds."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from digests.models import OutboxState as S


class Event(enum.Enum):
    """What can happen to a message."""

    CLAIMED = "claimed"  # a sender took it and is about to hand it over
    ACCEPTED = "accepted"  # the provider took it (status 100-102), or a DLR says Sent/Buffered
    DELIVERED = "delivered"  # a DLR says Success
    TRANSIENT_FAILURE = "transient_failure"  # worth another attempt
    PERMANENT_FAILURE = "permanent_failure"  # never worth another attempt
    NOT_HANDED_OVER = "not_handed_over"  # throttled or unreachable: try again, no attempt spent
    OUTCOME_UNKNOWN = "outcome_unknown"  # claimed, then its sender vanished, no DLR came
    RESENT_UNKNOWN = "resent_unknown"  # in doubt past the DLR grace, and its class is resent
    REPLAYED = "replayed"  # a person asked for a dead letter to be sent again
    WITHDRAWN = "withdrawn"  # the number sent STOP before the message left


# Rank orders what we know: a move to a lower rank would forget news.
_RANK = {S.QUEUED: 0, S.FAILED: 0, S.SUBMITTED: 1, S.SENT: 2, S.DEAD_LETTERED: 3,
         S.WITHDRAWN: 3, S.DELIVERED: 4}
FINAL = frozenset({S.DELIVERED, S.DEAD_LETTERED, S.WITHDRAWN})
SENDABLE = frozenset({S.QUEUED, S.FAILED})


@dataclass(frozen=True)
class Move:
    """The state after an event, and whether anything changed."""

    state: S
    changed: bool
    retry: bool = False  # the caller must schedule next_attempt_at


def transition(state: S, event: Event, *, attempts: int, max_attempts: int) -> Move:
    """Return where a message in `state` goes on `event` after `attempts` attempts.

    Delivered is absorbing: nothing the provider says later undoes it. A late
    "Sent" never rewinds "Delivered" or a failure. A transient failure goes to
    FAILED (retry) while attempts remain, else to DEAD_LETTERED. Dead letters
    move only on a replay by a person or on proof of delivery. A withdrawn message
    (STOP while it waited) never left and never moves again. An in-doubt message past
    the DLR grace is resent only when its class says so (RESENT_UNKNOWN), within the
    attempt budget.
    """
    stay = Move(state, False)
    if state in (S.DELIVERED, S.WITHDRAWN):
        return stay
    if event is Event.WITHDRAWN:
        return Move(S.WITHDRAWN, True) if state in SENDABLE else stay
    if event is Event.DELIVERED:
        return Move(S.DELIVERED, True)
    if event is Event.REPLAYED:
        return Move(S.QUEUED, True) if state is S.DEAD_LETTERED else stay
    if state is S.DEAD_LETTERED:
        return stay
    if event is Event.CLAIMED:
        return Move(S.SUBMITTED, True) if state in SENDABLE else stay
    if event is Event.ACCEPTED:
        return Move(S.SENT, True) if state is S.SUBMITTED else stay
    if event is Event.NOT_HANDED_OVER:
        return Move(S.FAILED, True, retry=True) if state is S.SUBMITTED else stay
    if event is Event.OUTCOME_UNKNOWN:
        return Move(S.DEAD_LETTERED, True) if state is S.SUBMITTED else stay
    if event is Event.RESENT_UNKNOWN:
        if state is not S.SUBMITTED:
            return stay
        return (Move(S.FAILED, True, retry=True) if attempts < max_attempts
                else Move(S.DEAD_LETTERED, True))
    if state in SENDABLE:
        return stay  # a failure report for an attempt that is already over
    if event is Event.TRANSIENT_FAILURE and attempts < max_attempts:
        return Move(S.FAILED, True, retry=True)
    return Move(S.DEAD_LETTERED, True)


def rank(state: S) -> int:
    """Return how much a state knows; transitions never lower it except to retry."""
    return _RANK[state]

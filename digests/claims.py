"""What a sender asks the outbox each round: how much is due per group, and a claim.

Both are Core statements built once (bound parameters for the moment, the counts and
the claim token) and walked along ix_sms_outbox_group (migration 0022) in id order, so
a round costs what it takes — at most a round's worth of index entries per group — and
not a count and a sort of the whole backlog. Built per round from ORM expressions they
cost more CPU than the SQL they ran (docs/BENCHMARKS.md, issue 16).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import Row, Select, Update, bindparam, func, literal, select, union_all, update
from sqlalchemy.orm import Session

from digests.models import OutboxMessage, OutboxState
from digests.states import SENDABLE
from shaping.operators import Operator
from shaping.policy import Priority

_T = OutboxMessage.__table__
_STATES = sorted(s.value for s in SENDABLE)
Group = tuple[str, int]  # (operator, priority) as stored


def _walk(group: Group, state: str, columns: list[Any], limit: str) -> Select[Any]:
    """One group's due rows in one sendable state, in id order, at most :limit of them."""
    operator, priority = group
    return (select(*columns)
            .where(_T.c.operator == operator, _T.c.priority == priority, _T.c.state == state,
                   _T.c.next_attempt_at <= bindparam("now"))
            .order_by(_T.c.id).limit(bindparam(limit)))


@lru_cache(maxsize=1)
def _counts() -> Select[Any]:
    parts = []
    for operator in Operator:
        for priority in Priority:
            group = (operator.value, int(priority))
            for state in _STATES:
                due = _walk(group, state, [literal(1)], "cap").subquery()
                parts.append(select(literal(group[0]).label("operator"),
                                    literal(group[1]).label("priority"),
                                    select(func.count()).select_from(due).scalar_subquery()
                                    .label("n")))
    return union_all(*parts)  # type: ignore[return-value]


def due_counts(session: Session, now: datetime, cap: int) -> list[tuple[Operator, Priority, int]]:
    """(operator, priority, count) of messages due now, urgent first, each count capped at
    ``cap``: ``outbox.due_groups`` for a round that takes at most ``cap`` of a group."""
    counts: dict[Group, int] = {}
    for op, pr, n in session.execute(_counts(), {"now": now, "cap": cap}):
        counts[(op, pr)] = min(cap, counts.get((op, pr), 0) + int(n))
    return sorted(((Operator(op), Priority(pr), n) for (op, pr), n in counts.items() if n),
                  key=lambda g: int(g[1]))


@lru_cache(maxsize=256)
def _claim(groups: tuple[Group, ...]) -> Update:
    picks = []
    for i, group in enumerate(groups):
        states = union_all(*(select(_walk(group, state, [_T.c.id], f"n{i}")
                                    .with_for_update(skip_locked=True).subquery().c.id)
                             for state in _STATES)).subquery()
        # The n oldest of the group's walks (one per sendable state).
        picks.append(select(states.c.id).order_by(states.c.id).limit(bindparam(f"n{i}"))
                     .subquery())
    ids = union_all(*(select(pick.c.id) for pick in picks))
    return (update(_T).where(_T.c.id.in_(ids))
            .values(state=OutboxState.SUBMITTED.value, claim=bindparam("token"),
                    attempts=_T.c.attempts + 1, submitted_at=bindparam("now"),
                    updated_at=bindparam("now"), provider_message_id=None)
            .returning(_T.c.id, _T.c.msisdn, _T.c.text, _T.c.operator, _T.c.priority))


def claim_groups(session: Session, wants: Sequence[tuple[Operator, Priority, int]],
                 now: datetime) -> list[list[Row[Any]]]:
    """Claim up to n due messages of each (operator, priority, n) in one UPDATE ... RETURNING.

    ``outbox.claim`` for a round's groups at once: rows marked SUBMITTED with this
    claim's token before anything is sent, returned per group as plain values (id,
    msisdn, text, operator, priority) in id order — no ORM instance a message.
    """
    if not wants:
        return []
    keys = tuple((operator.value, int(priority)) for operator, priority, _ in wants)
    params: dict[str, Any] = {"now": now, "token": uuid.uuid4().hex}
    params.update({f"n{i}": n for i, (_, _, n) in enumerate(wants)})
    claimed = session.execute(_claim(keys), params).all()
    groups: dict[Group, list[Row[Any]]] = {key: [] for key in keys}
    for row in sorted(claimed, key=lambda r: r.id):
        groups[(row.operator, row.priority)].append(row)
    return [groups[key] for key in keys]

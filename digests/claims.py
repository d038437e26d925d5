"""What a sender asks the outbox each round: how much is due per group, and a claim.

Both are SQL texts written once (bound parameters for the moment, the counts and the
claim token) and walked along ix_sms_outbox_group (migration 0022) in id order, so a
round costs what it takes — at most a round's worth of index entries per group — and
not a count and a sort of the whole backlog. Built per round from ORM expressions they
cost more CPU than the SQL they ran; as Core expressions built once, SQLAlchemy still
walked their 24 sub-selects for a cache key on every execution (~1 ms a round): as
texts they cost what their SQL costs (docs/BENCHMARKS.md, issue 16).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import Integer, Row, TextClause, bindparam, text
from sqlalchemy.orm import Session

from digests.models import OutboxMessage, OutboxState
from digests.states import SENDABLE
from shaping.operators import Operator
from shaping.policy import Priority

_T = OutboxMessage.__table__
_STATES = sorted(s.value for s in SENDABLE)
Group = tuple[str, int]  # (operator, priority) as stored


def _name(value: object) -> str:
    """A group's operator, priority or state as written into the statement (no quoting
    needed: the enums' values are words and numbers, checked here)."""
    word = str(value)
    if not word.replace("_", "").isalnum():
        raise ValueError(f"not a plain word: {word!r}")
    return word


def _walk(group: Group, state: str, column: str, limit: str, lock: bool) -> str:
    """One group's due rows in one sendable state, in id order, at most :limit of them."""
    operator, priority = group
    return (f"SELECT {column} FROM sms_outbox WHERE operator = '{_name(operator)}' "
            f"AND priority = {int(priority)} AND state = '{_name(state)}' "
            f"AND next_attempt_at <= :now ORDER BY id LIMIT :{limit}"
            + (" FOR UPDATE SKIP LOCKED" if lock else ""))


_NOW = bindparam("now", type_=_T.c.next_attempt_at.type)


@lru_cache(maxsize=1)
def _counts() -> TextClause:
    parts = []
    for operator in Operator:
        for priority in Priority:
            group = (operator.value, int(priority))
            for state in _STATES:
                parts.append(f"SELECT '{_name(group[0])}' AS operator, {group[1]} AS priority, "
                             f"(SELECT count(*) FROM ({_walk(group, state, '1', 'cap', False)})"
                             f" AS due) AS n")
    return text(" UNION ALL ".join(parts)).bindparams(_NOW, bindparam("cap", type_=Integer()))


def due_counts(session: Session, now: datetime, cap: int) -> list[tuple[Operator, Priority, int]]:
    """(operator, priority, count) of messages due now, urgent first, each count capped at
    ``cap``: ``outbox.due_groups`` for a round that takes at most ``cap`` of a group."""
    counts: dict[Group, int] = {}
    for op, pr, n in session.execute(_counts(), {"now": now, "cap": cap}):
        counts[(op, pr)] = min(cap, counts.get((op, pr), 0) + int(n))
    return sorted(((Operator(op), Priority(pr), n) for (op, pr), n in counts.items() if n),
                  key=lambda g: int(g[1]))


@lru_cache(maxsize=256)
def _claim(groups: tuple[Group, ...], lock: bool) -> TextClause:
    picks = []
    for i, group in enumerate(groups):
        states = " UNION ALL ".join(f"SELECT id FROM ({_walk(group, state, 'id', f'n{i}', lock)})"
                                    f" AS w{j}" for j, state in enumerate(_STATES))
        # The n oldest of the group's walks (one per sendable state).
        picks.append(f"SELECT id FROM (SELECT id FROM ({states}) AS s{i} ORDER BY id "
                     f"LIMIT :n{i}) AS p{i}")
    return text(
        f"UPDATE sms_outbox SET state = '{_name(OutboxState.SUBMITTED.value)}', "
        "claim = :token, attempts = attempts + 1, submitted_at = :now, updated_at = :now, "
        "provider_message_id = NULL WHERE id IN (" + " UNION ALL ".join(picks) + ") "
        "RETURNING id, msisdn, text, operator, priority").bindparams(_NOW)


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
    # Rows another sender is claiming are skipped on PostgreSQL (SQLite has one writer).
    lock = session.get_bind().dialect.name == "postgresql"
    claimed = session.execute(_claim(keys, lock), params).all()
    groups: dict[Group, list[Row[Any]]] = {key: [] for key in keys}
    for row in sorted(claimed, key=lambda r: r.id):
        groups[(row.operator, row.priority)].append(row)
    return [groups[key] for key in keys]

"""Outbox rows as plain values for recording a round of answers (no ORM unit of work).

The common answer — accepted, with the provider's message id — is recorded for the
whole round in one statement (``accept``): an ``executemany`` of one prepared UPDATE on
SQLite, one ``UPDATE ... FROM unnest(...)`` on PostgreSQL, no row read first. It is
``outbox.record_result`` for that answer, written in SQL: the id is always kept (a
DLR may name it later), and only a row still SUBMITTED moves to SENT (the state
machine's ACCEPTED; tests/digests/test_digests_recording.py holds the two to the same
result from every state). Every other answer is read and moved in Python
(``Recording``), as rare as it is varied.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, select, text, update
from sqlalchemy.orm import Session

from digests.models import OutboxMessage, OutboxState

_TABLE = OutboxMessage.__table__
_MOVED = ("state", "attempts", "operator", "provider_message_id", "failure_reason", "sent_at",
          "finished_at", "next_attempt_at", "updated_at")

_SUBMITTED, _SENT = OutboxState.SUBMITTED.value, OutboxState.SENT.value
# What ACCEPTED does (digests.states.transition, outbox.move): SUBMITTED -> SENT, the
# first sent_at kept; from any other state nothing but the provider's id.
_MOVE = (f"state = CASE WHEN {{o}}state = '{_SUBMITTED}' THEN '{_SENT}' ELSE {{o}}state END, "
         f"sent_at = CASE WHEN {{o}}state = '{_SUBMITTED}' THEN COALESCE({{o}}sent_at, {{now}}) "
         f"ELSE {{o}}sent_at END, "
         f"updated_at = CASE WHEN {{o}}state = '{_SUBMITTED}' THEN {{now}} "
         f"ELSE {{o}}updated_at END")
# SQLite: the driver's own executemany of one prepared statement (qmark parameters).
_ACCEPT_SQLITE = ("UPDATE sms_outbox SET provider_message_id = ?, "
                  + _MOVE.format(o="", now="?") + " WHERE id = ?")
# PostgreSQL: the round in one statement, one round trip.
_ACCEPT_PG = text(
    "UPDATE sms_outbox AS o SET provider_message_id = a.pid, "
    + _MOVE.format(o="o.", now=":now")
    + " FROM unnest(CAST(:ids AS bigint[]), CAST(:pids AS text[])) AS a(id, pid)"
    " WHERE o.id = a.id").bindparams(bindparam("now", type_=_TABLE.c.updated_at.type))


def accept(session: Session, accepted: list[tuple[int, str]], now: datetime) -> None:
    """Record ``(outbox id, provider message id)`` pairs the provider accepted."""
    if not accepted:
        return
    connection = session.connection()
    dialect = connection.dialect
    if dialect.name == "postgresql":
        connection.execute(_ACCEPT_PG, {"ids": [i for i, _ in accepted],
                                        "pids": [p for _, p in accepted], "now": now})
        return
    # The moment as the column type stores it (SQLite compares these as text).
    process = _TABLE.c.updated_at.type.dialect_impl(dialect).bind_processor(dialect)
    stamp = process(now) if process is not None else now
    connection.exec_driver_sql(_ACCEPT_SQLITE, [(pid, stamp, stamp, outbox_id)
                                                 for outbox_id, pid in accepted])


class Recording:
    """An outbox row's moving parts as plain attributes: what outbox.move and the DLR
    code read and set, without an ORM instance per message."""

    __slots__ = ("id", "changed", *_MOVED)

    def __init__(self, values: dict[str, object]) -> None:
        for name, value in values.items():
            setattr(self, name, value)
        self.changed = False

    @classmethod
    def load(cls, session: Session, ids: list[int]) -> list[Recording]:
        if not ids:
            return []
        columns = [_TABLE.c.id, *(_TABLE.c[name] for name in _MOVED)]
        found = session.execute(select(*columns).where(_TABLE.c.id.in_(ids)).with_for_update())
        return [cls(dict(row._mapping)) for row in found]

    @staticmethod
    def store(session: Session, rows: list[Recording]) -> None:
        if not rows:
            return
        session.execute(
            update(_TABLE).where(_TABLE.c.id == bindparam("_id"))
            .values({name: bindparam(name) for name in _MOVED}),
            [{"_id": r.id, **{name: getattr(r, name) for name in _MOVED}} for r in rows])

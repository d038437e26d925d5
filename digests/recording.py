"""Outbox rows as plain values for recording a round of answers (no ORM unit of work)."""

from __future__ import annotations

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from digests.models import OutboxMessage

_TABLE = OutboxMessage.__table__
_MOVED = ("state", "attempts", "operator", "provider_message_id", "failure_reason", "sent_at",
          "finished_at", "next_attempt_at", "updated_at")


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

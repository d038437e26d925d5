"""Append to and verify the hash-chained audit log that every write path uses."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, Iterator

from sqlalchemy import insert, select, text
from sqlalchemy.orm import Session

from core.models import AuditEntry, utcnow

GENESIS = "0" * 64
# Any fixed number; every appender takes this transaction-scoped lock on PostgreSQL
# so two writers never read the same chain head.
_PG_LOCK_KEY = 72_017_001


def canonical_json(value: Any) -> str:
    """Serialise `value` deterministically (sorted keys, no spaces, UTF-8 kept)."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)


def link_hash(prev_hash: str, seq: int, at: str, actor: str, action: str, entity: str,
              entity_id: str, reason: str, data: str) -> str:
    """Return the hash of one chain link over every stored column and its predecessor."""
    body = canonical_json([seq, at, actor, action, entity, entity_id, reason, data])
    return hashlib.sha256(f"{prev_hash}|{body}".encode()).hexdigest()


# Built once (they run on every audited write, i.e. at the end of most USSD sessions).
_LOCK = text("SELECT pg_advisory_xact_lock(:k)")
_HEAD = select(AuditEntry.seq, AuditEntry.hash).order_by(AuditEntry.seq.desc()).limit(1)
_APPEND = insert(AuditEntry.__table__)


def _head(session: Session) -> tuple[int, str]:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(_LOCK, {"k": _PG_LOCK_KEY})
    row = session.execute(_HEAD).first()
    return (row[0], row[1]) if row else (0, GENESIS)


def record(session: Session, *, actor: str, action: str, entity: str, entity_id: str | int,
           reason: str, data: dict[str, Any] | None = None) -> int:
    """Append one audit entry inside the caller's transaction; return its sequence number.

    Args:
        actor: who made the change ("sync:run-12", "champion:STF-0001-0003", "cli:root").
        action: what happened ("sync.apply", "person.deactivate", "contract.register").
        entity: the kind of record changed; entity_id: which one (or a batch label).
        reason: why, in words a reviewer understands.
        data: the change itself (ids, before/after values).
    """
    seq, prev = _head(session)
    seq += 1
    at = utcnow().isoformat(timespec="microseconds")
    row = {
        "seq": seq, "at": at, "actor": actor[:100], "action": action[:64], "entity": entity[:64],
        "entity_id": str(entity_id)[:200], "reason": reason[:300],
        "data": canonical_json(data or {}),
    }
    row["prev_hash"] = prev
    row["hash"] = link_hash(prev, seq, at, row["actor"], row["action"], row["entity"],
                            row["entity_id"], row["reason"], row["data"])
    session.execute(_APPEND, [row])
    return seq


@dataclass
class Verification:
    """What `verify` found: how many links were checked and every break in the chain."""

    checked: int = 0
    head_seq: int = 0
    head_hash: str = GENESIS
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _rows(session: Session, batch: int) -> Iterator[AuditEntry]:
    last = 0
    while True:
        rows = session.scalars(
            select(AuditEntry).where(AuditEntry.seq > last).order_by(AuditEntry.seq).limit(batch)
        ).all()
        if not rows:
            return
        yield from rows
        last = rows[-1].seq


def verify(session: Session, *, expect_head: str | None = None, batch: int = 5000) -> Verification:
    """Walk the whole chain and report every edited, removed or inserted link.

    An edited row no longer matches its own hash; a removed or inserted row breaks
    the sequence or the next row's prev_hash. Removing the newest rows is only
    visible against a head hash kept outside the database (`expect_head`).
    """
    result = Verification()
    prev_hash, expected_seq = GENESIS, 1
    for row in _rows(session, batch):
        result.checked += 1
        if row.seq != expected_seq:
            result.problems.append(f"seq {expected_seq}..{row.seq - 1} missing (rows removed)")
        if row.prev_hash != prev_hash:
            result.problems.append(f"seq {row.seq}: prev_hash does not match the row before it")
        actual = link_hash(row.prev_hash, row.seq, row.at, row.actor, row.action, row.entity,
                           row.entity_id, row.reason, row.data)
        if actual != row.hash:
            result.problems.append(f"seq {row.seq}: contents do not match its hash (row edited)")
        prev_hash, expected_seq = row.hash, row.seq + 1
        result.head_seq, result.head_hash = row.seq, row.hash
    if expect_head is not None and expect_head != result.head_hash:
        result.problems.append(
            f"head is {result.head_hash[:16]}… at seq {result.head_seq}, expected {expect_head[:16]}…"
            " (newest rows removed or chain replaced)"
        )
    return result

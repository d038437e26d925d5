"""Append to and verify the keyed, hash-chained audit log that every write path uses."""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass, field
from typing import Any, Iterator, Protocol, Sequence

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from core.db import core_execute
from core.driver_sql import DriverStatement, run_script
from core.models import AuditEntry, utcnow

GENESIS = "0" * 64
# How a row's hash was made. UNKEYED rows predate keyed hashing (migration 0008) and stay
# as written: the audit log is never rewritten. Every row appended since is KEYED.
UNKEYED, KEYED = 1, 2
# Any fixed number; every appender takes this transaction-scoped lock on PostgreSQL
# so two writers never read the same chain head.
_PG_LOCK_KEY = 72_017_001


class AuditKeyMissing(RuntimeError):
    """The session carries no audit key (build sessions with core.db.make_sessionmaker)."""


class Anchored(Protocol):
    """A head recorded outside the database: `count` rows, the last one hashing to `head`."""

    at: str
    count: int
    head: str


def canonical_json(value: Any) -> str:
    """Serialise `value` deterministically (sorted keys, no spaces, UTF-8 kept)."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)


def link_hash(key: bytes | None, prev_hash: str, seq: int, at: str, actor: str, action: str,
              entity: str, entity_id: str, reason: str, data: str) -> str:
    """Return one link's hash over every stored column and its predecessor.

    With a key: HMAC-SHA256 (scheme KEYED); without: the plain SHA-256 of UNKEYED rows.
    """
    body = canonical_json([seq, at, actor, action, entity, entity_id, reason, data])
    if key is None:
        return hashlib.sha256(f"{prev_hash}|{body}".encode()).hexdigest()
    return hmac.new(key, f"{KEYED}|{prev_hash}|{body}".encode(), hashlib.sha256).hexdigest()


def session_key(session: Session) -> bytes:
    """Return the audit key the session was built with."""
    key = session.info.get("audit_key")
    if not key:
        raise AuditKeyMissing("this session has no audit key; build it with the runtime's sessions")
    return bytes(key)


# Built once (they run on every audited write, i.e. at the end of most USSD sessions).
_HEAD = select(AuditEntry.seq, AuditEntry.hash).order_by(AuditEntry.seq.desc()).limit(1)
_APPEND = DriverStatement(insert(AuditEntry.__table__), column_keys=(
    "seq", "at", "actor", "action", "entity", "entity_id", "reason", "data", "hash_scheme",
    "prev_hash", "hash"))


# PostgreSQL: the lock and the head in one round trip, two statements in one simple query.
# Each statement of a simple query takes its own snapshot when it starts (READ COMMITTED),
# so the head is read once the lock is held: after the last appender's COMMIT, never before.
_LOCK_THEN_HEAD = (f"SELECT pg_advisory_xact_lock({_PG_LOCK_KEY}); "
                   "SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")


def _head(session: Session) -> tuple[int, str]:
    if session.get_bind().dialect.name == "postgresql":
        # On the driver's cursor (SQLAlchemy reads only a query's first result: the lock's),
        # its errors raised as SQLAlchemy's, as every statement's are.
        rows = run_script(session, _LOCK_THEN_HEAD)
        row = rows[0] if rows else None
    else:
        row = core_execute(session, _HEAD).first()
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

    Raises:
        AuditKeyMissing: the session was not built with the audit key.
    """
    key = session_key(session)
    seq, prev = _head(session)
    seq += 1
    at = utcnow().isoformat(timespec="microseconds")
    row = {
        "seq": seq, "at": at, "actor": actor[:100], "action": action[:64], "entity": entity[:64],
        "entity_id": str(entity_id)[:200], "reason": reason[:300],
        "data": canonical_json(data or {}), "hash_scheme": KEYED,
    }
    row["prev_hash"] = prev
    row["hash"] = link_hash(key, prev, seq, at, row["actor"], row["action"], row["entity"],
                            row["entity_id"], row["reason"], row["data"])
    _APPEND.run(session, row)
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


def _rows(session: Session, batch: int, after: int) -> Iterator[AuditEntry]:
    last = after
    while True:
        rows = session.scalars(
            select(AuditEntry).where(AuditEntry.seq > last).order_by(AuditEntry.seq).limit(batch)
        ).all()
        if not rows:
            return
        yield from rows
        last = rows[-1].seq


def _start(session: Session, since: Anchored | None, result: Verification) -> bool:
    """Check the row an incremental walk starts after; return whether it is keyed."""
    if since is None or since.count == 0:
        return False
    row = session.execute(select(AuditEntry.hash, AuditEntry.hash_scheme)
                          .where(AuditEntry.seq == since.count)).first()
    if row is None or row[0] != since.head:
        result.problems.append(f"seq {since.count} does not match the anchor of {since.at}"
                               " (chain rewritten or truncated)")
        return False
    result.head_seq, result.head_hash = since.count, since.head
    return bool(row[1] == KEYED)


def verify(session: Session, *, anchors: Sequence[Anchored] = (), since: Anchored | None = None,
           expect_head: str | None = None, trust_unkeyed: bool = False,
           batch: int = 5000) -> Verification:
    """Walk the chain (after `since`, else all of it) and report every break.

    An edited row no longer matches its keyed hash; a removed or inserted row breaks
    the sequence or the next row's prev_hash; without the key no row can be re-hashed.
    Removed newest rows and a replaced chain show against the anchors (oldest first):
    each anchored row must still be there with its anchored hash, and unkeyed rows are
    accepted only up to the oldest anchor (the upgrade's) and never after a keyed row;
    with no anchor at all, only when `trust_unkeyed` (the very first anchoring).
    """
    key = session_key(session)
    result = Verification()
    keyed_seen = _start(session, since, result)
    anchored = {a.count: a for a in anchors}
    legacy_limit = anchors[0].count if anchors else (None if trust_unkeyed else 0)
    prev_hash, expected_seq = result.head_hash, result.head_seq + 1
    for row in _rows(session, batch, result.head_seq):
        result.checked += 1
        if row.seq != expected_seq:
            result.problems.append(f"seq {expected_seq}..{row.seq - 1} missing (rows removed)")
        if row.prev_hash != prev_hash:
            result.problems.append(f"seq {row.seq}: prev_hash does not match the row before it")
        if row.hash_scheme == UNKEYED and (keyed_seen or (legacy_limit is not None
                                                          and row.seq > legacy_limit)):
            result.problems.append(f"seq {row.seq}: unkeyed row written after keyed hashing began"
                                   " or not vouched for by an anchor (chain replaced?)")
        keyed_seen = keyed_seen or row.hash_scheme == KEYED
        actual = link_hash(key if row.hash_scheme == KEYED else None, row.prev_hash, row.seq,
                           row.at, row.actor, row.action, row.entity, row.entity_id, row.reason,
                           row.data)
        if actual != row.hash:
            result.problems.append(f"seq {row.seq}: contents do not match its hash (row edited)")
        if row.seq in anchored and anchored[row.seq].head != row.hash:
            result.problems.append(f"seq {row.seq} does not match the anchor of "
                                   f"{anchored[row.seq].at} (chain rewritten)")
        prev_hash, expected_seq = row.hash, row.seq + 1
        result.head_seq, result.head_hash = row.seq, row.hash
    for anchor in anchors:
        if anchor.count > result.head_seq:
            result.problems.append(
                f"the anchor of {anchor.at} counts {anchor.count} entries but the chain ends at"
                f" seq {result.head_seq} (newest rows removed)")
    if expect_head is not None and expect_head != result.head_hash:
        result.problems.append(
            f"head is {result.head_hash[:16]}… at seq {result.head_seq}, expected {expect_head[:16]}…"
            " (newest rows removed or chain replaced)"
        )
    return result

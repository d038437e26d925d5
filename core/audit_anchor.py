"""Anchor the audit chain's head outside the database, in an append-only file an auditor holds.

Each line is `time<TAB>row count<TAB>head HMAC`. `hudoor audit verify` checks the chain
against every line, so removing the newest rows, or replacing the chain, shows without
anyone passing a head by hand (decision 3).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy.orm import Session

from core import audit


class AuditBroken(RuntimeError):
    """The chain does not verify (or the anchor file is unreadable): nothing is anchored."""


@dataclass(frozen=True)
class Anchor:
    """The chain's head at one moment: `count` entries, the last hashing to `head`."""

    at: str
    count: int
    head: str

    def line(self) -> str:
        return f"{self.at}\t{self.count}\t{self.head}\n"


def read_anchors(path: Path) -> tuple[list[Anchor], list[str]]:
    """Return the anchors in `path`, oldest first, and a complaint per unreadable line."""
    if not path.exists():
        return [], []
    anchors, problems = [], []
    for n, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not raw.strip():
            continue
        parts = raw.split("\t")
        if len(parts) != 3 or not parts[1].isdigit() or len(parts[2]) != 64:
            problems.append(f"anchor file line {n} is unreadable")
            continue
        anchors.append(Anchor(parts[0], int(parts[1]), parts[2]))
    return anchors, problems


def verify(session: Session, path: Path, *, expect_head: str | None = None) -> audit.Verification:
    """Walk the whole chain and check it against every anchor in `path`."""
    anchors, problems = read_anchors(path)
    result = audit.verify(session, anchors=anchors, expect_head=expect_head)
    result.problems[:0] = problems
    return result


def anchor_now(session: Session, path: Path, now: datetime) -> Anchor | None:
    """Check the entries since the newest anchor, then append the new head; None if unchanged.

    Raises:
        AuditBroken: the chain since the last anchor does not verify; nothing is appended,
            so a broken chain is never blessed.
    """
    anchors, problems = read_anchors(path)
    last = anchors[-1] if anchors else None
    # The first anchor (made by `hudoor db upgrade`) vouches for the rows written before
    # keyed hashing; from then on unkeyed rows are accepted only up to it.
    result = audit.verify(session, anchors=anchors, since=last, trust_unkeyed=not anchors)
    if problems or not result.ok:
        raise AuditBroken("; ".join(problems + result.problems[:5]))
    if last is not None and last.count == result.head_seq:
        return None
    anchor = Anchor(now.isoformat(timespec="seconds"), result.head_seq, result.head_hash)
    path.parent.mkdir(parents=True, exist_ok=True)
    # O_APPEND: one short write lands whole at the end, even with two anchoring processes.
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
    try:
        os.write(fd, anchor.line().encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    return anchor

"""Seal and verify a breach case's evidence: what the records said before anyone acted.

When a case opens (in the ticket's own transaction, so nobody can act first) the audit chain's
head and anchor, the audit rows, database rows and log lines about the named people and school
are serialised canonically, hashed with SHA-256 and stored write-once; the hash is also written
into the keyed audit chain, so a snapshot changed behind the product's back shows twice.
Phone numbers stay keyed hashes and tails here as everywhere (data minimisation).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from core import audit, audit_anchor, pseudonyms, ticket_text
from core.config import Config
from core.models import (
    ApiToken,
    AuditEntry,
    CentralStaff,
    Contact,
    Delegation,
    Enrolment,
    EvidenceSnapshot,
    Person,
    Revocation,
    School,
)

FORMAT = 1
MAX_AUDIT_ROWS = 1000
MAX_LOG_LINES = 500
MAX_LOG_LINE = 500  # characters kept of one log line
MAX_LOG_BYTES = 4 * 1024 * 1024  # of each log, the newest part: sealing stays quick


@dataclass(frozen=True)
class Sources:
    """Where evidence is gathered from besides the database."""

    anchor_file: Path
    log_dir: Path
    secret: str  # keys the phone-number stand-ins


def sources_of(config: Config) -> Sources:
    """Return the evidence sources a running service has: anchor file, log folder, key."""
    return Sources(config.audit_anchor_path, config.var_dir / "log", config.secret_key)


def _iso(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def _row(obj: Any, columns: tuple[str, ...]) -> dict[str, Any]:
    return {c: _iso(getattr(obj, c)) for c in columns}


def _like(value: str) -> str:
    return "%" + value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _audit_rows(session: Session, names: list[str], extra: list[tuple[str, str]]) -> list[dict[str, Any]]:
    terms = [AuditEntry.entity_id.in_(names)] if names else []
    terms += [AuditEntry.data.like(_like(f'"{n}"'), escape="\\") for n in names]
    terms += [AuditEntry.actor.like(_like(n), escape="\\") for n in names]
    terms += [(AuditEntry.entity == e) & (AuditEntry.entity_id == i) for e, i in extra]
    if not terms:
        return []
    rows = session.scalars(select(AuditEntry).where(or_(*terms))
                           .order_by(AuditEntry.seq.desc()).limit(MAX_AUDIT_ROWS)).all()
    cols = ("seq", "at", "actor", "action", "entity", "entity_id", "reason", "data", "prev_hash",
            "hash", "hash_scheme")
    return [_row(r, cols) for r in reversed(rows)]


def _db_rows(session: Session, people: list[str], school: str | None, secret: str) -> dict[str, Any]:
    persons = session.scalars(select(Person).where(Person.upstream_id.in_(people))).all() if people else []
    ids = [p.id for p in persons]
    school_row = session.scalars(select(School).where(School.upstream_id == school)).first() \
        if school else None
    staff = session.scalars(select(CentralStaff).where(CentralStaff.staff_ref.in_(people))).all() \
        if people else []
    token_terms = [ApiToken.person_id.in_(ids), ApiToken.staff_id.in_([s.id for s in staff])]
    if school:
        token_terms.append(ApiToken.school_upstream_id == school)
    tokens = session.scalars(select(ApiToken).where(or_(*token_terms)).order_by(ApiToken.id)).all()
    contacts = session.scalars(select(Contact).where(Contact.person_id.in_(ids))
                               .order_by(Contact.id)).all()
    return {
        "schools": [_row(school_row, ("id", "upstream_id", "name", "governorate", "active",
                                      "updated_at"))] if school_row else [],
        "people": [_row(p, ("id", "upstream_id", "school_id", "role", "display_name", "status",
                            "active", "canonical_id", "updated_at", "left_at")) for p in persons],
        "central_staff": [_row(s, ("id", "staff_ref", "role", "active", "added_at",
                                   "deactivated_at")) for s in staff],
        "enrolments": [_row(e, ("id", "person_id", "class_id", "started_at", "ended_at"))
                       for e in session.scalars(select(Enrolment).where(
                           Enrolment.person_id.in_(ids)).order_by(Enrolment.id))],
        # The number itself stays out: its keyed stand-in and last digits name the SIM.
        "contacts": [{**_row(c, ("id", "person_id", "kind", "consented_at", "opted_out_at",
                                 "revoked_at")),
                      "msisdn_ref": pseudonyms.msisdn_ref(secret, c.msisdn),
                      "msisdn_tail": pseudonyms.msisdn_tail(c.msisdn)} for c in contacts],
        "delegations": [_row(d, ("id", "class_id", "grantor_id", "grantee_id", "starts_at",
                                 "ends_at", "revoked_at"))
                        for d in session.scalars(select(Delegation).where(or_(
                            Delegation.grantor_id.in_(ids), Delegation.grantee_id.in_(ids)))
                            .order_by(Delegation.id))],
        "revocations": [_row(r, ("id", "person_id", "status", "changed_at", "applied_at"))
                        for r in session.scalars(select(Revocation).where(
                            Revocation.person_id.in_(ids)).order_by(Revocation.id))],
        # Never the jti: a token's row says who held what, not how to use it.
        "api_tokens": [_row(t, ("id", "role", "person_id", "staff_id", "school_upstream_id",
                                "issued_at", "issued_by", "expires_at", "revoked_at"))
                       for t in tokens],
    }


def _log_lines(log_dir: Path, names: list[str]) -> list[dict[str, Any]]:
    """Return the lines of the newest MAX_LOG_BYTES of each log that name someone, by offset."""
    if not names or not log_dir.is_dir():
        return []
    found: list[dict[str, Any]] = []
    for path in sorted(log_dir.glob("*.log")):
        with path.open("rb") as handle:
            start = max(0, path.stat().st_size - MAX_LOG_BYTES)
            handle.seek(start)
            if start:
                start += len(handle.readline())  # a cut first line is not evidence
            for raw in handle:
                line = raw.decode("utf-8", errors="replace")
                if any(name in line for name in names):
                    # A log should hold no phone number; if one slipped in, it is not copied
                    # into a record nobody can erase.
                    clean, _ = ticket_text.strip(line.rstrip("\n")[:MAX_LOG_LINE])
                    found.append({"file": path.name, "offset": start, "text": clean})
                    if len(found) >= MAX_LOG_LINES:
                        return found
                start += len(raw)
    return found


def digest(content: str) -> str:
    """Return the SHA-256 of canonical content."""
    return hashlib.sha256(content.encode("utf-8")).hexdigest()


def seal(session: Session, *, case_id: int, ticket_id: int, people: list[str],
         school: str | None, taken_by: str, now: datetime, sources: Sources) -> EvidenceSnapshot:
    """Gather, hash and store the evidence of a case (write-once); audit its hash."""
    head = session.execute(select(AuditEntry.seq, AuditEntry.hash)
                           .order_by(AuditEntry.seq.desc()).limit(1)).first()
    head_seq, head_hash = (head[0], head[1]) if head else (0, audit.GENESIS)
    anchors, _ = audit_anchor.read_anchors(sources.anchor_file)
    names = [*people, *([school] if school else [])]
    content = audit.canonical_json({
        "format": FORMAT, "case": case_id, "ticket": ticket_id,
        "taken_at": now.isoformat(), "taken_by": taken_by,
        "subjects": {"school": school, "people": people},
        "audit_head": {"seq": head_seq, "hash": head_hash},
        "anchor": {"at": anchors[-1].at, "count": anchors[-1].count,
                   "head": anchors[-1].head} if anchors else None,
        "audit_rows": _audit_rows(session, names, [("support_ticket", str(ticket_id)),
                                                   ("breach_case", str(case_id))]),
        "db_rows": _db_rows(session, people, school, sources.secret),
        "log_lines": _log_lines(sources.log_dir, names),
    })
    row = EvidenceSnapshot(case_id=case_id, taken_at=now, taken_by=taken_by[:100],
                           audit_head_seq=head_seq, audit_head_hash=head_hash, content=content,
                           sha256=digest(content))
    session.add(row)
    session.flush()
    audit.record(session, actor=taken_by, action="evidence.seal", entity="evidence_snapshot",
                 entity_id=row.id, reason="evidence sealed before anyone acts on the case",
                 data={"case": case_id, "sha256": row.sha256, "audit_head_seq": head_seq})
    return row


@dataclass
class EvidenceCheck:
    snapshot_id: int
    sha256: str
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def verify(session: Session, snapshot: EvidenceSnapshot) -> EvidenceCheck:
    """Re-hash a snapshot and check it against its stored hash, its audit row and the chain."""
    result = EvidenceCheck(snapshot.id, snapshot.sha256)
    actual = digest(snapshot.content)
    if actual != snapshot.sha256:
        result.problems.append(f"content hashes to {actual[:16]}…, sealed as {snapshot.sha256[:16]}…"
                               " (snapshot changed)")
    sealed = session.scalars(select(AuditEntry.data).where(
        AuditEntry.action == "evidence.seal", AuditEntry.entity == "evidence_snapshot",
        AuditEntry.entity_id == str(snapshot.id))).first()
    if sealed is None:
        result.problems.append("no audit row records this seal (audit chain or snapshot replaced)")
    elif json.loads(sealed).get("sha256") != actual:
        result.problems.append("the audit chain recorded another hash for this snapshot")
    if snapshot.audit_head_seq:
        now_hash = session.scalar(select(AuditEntry.hash).where(
            AuditEntry.seq == snapshot.audit_head_seq))
        if now_hash != snapshot.audit_head_hash:
            result.problems.append(f"audit row {snapshot.audit_head_seq} no longer has the head hash"
                                   " sealed (chain rewritten since)")
    return result

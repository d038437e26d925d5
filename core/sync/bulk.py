"""Bulk statements for sync: PostgreSQL gets array (unnest) statements, others executemany.

Multi-row VALUES statements with thousands of placeholders cost more to build and parse
than to run on PostgreSQL; one statement with one array parameter per column does not.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert, select, text, update
from sqlalchemy.orm import Session

from core.models import Enrolment, Person

P = Person.__table__
E = Enrolment.__table__

_PEOPLE_COLS = ("upstream_id", "school_id", "role", "display_name", "name_key", "status",
                "active", "created_at", "updated_at", "last_seen_run")
_PEOPLE_TYPES = ("text", "bigint", "text", "text", "text", "text", "boolean", "timestamptz",
                 "timestamptz", "bigint")


def _pg(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _unnest(cols: tuple[str, ...], types: tuple[str, ...]) -> str:
    return ", ".join(f"CAST(:{c} AS {t}[])" for c, t in zip(cols, types))


def insert_people(session: Session, rows: list[dict[str, Any]]) -> list[tuple[int, str]]:
    """Insert people; return (id, upstream_id) of each."""
    if not rows:
        return []
    if _pg(session):
        sql = (f"INSERT INTO people ({', '.join(_PEOPLE_COLS)}) "
               f"SELECT * FROM unnest({_unnest(_PEOPLE_COLS, _PEOPLE_TYPES)}) "
               "RETURNING id, upstream_id")
        params = {c: [r[c] for r in rows] for c in _PEOPLE_COLS}
        return [(i, u) for i, u in session.execute(text(sql), params)]
    return [(i, u) for i, u in session.execute(insert(P).returning(P.c.id, P.c.upstream_id), rows)]


def insert_enrolments(session: Session, rows: list[dict[str, Any]]) -> None:
    """Insert open enrolments (person_id, class_id, started_at)."""
    if not rows:
        return
    if _pg(session):
        cols, types = ("person_id", "class_id", "started_at"), ("bigint", "bigint", "timestamptz")
        session.execute(text(f"INSERT INTO enrolments ({', '.join(cols)}) "
                             f"SELECT * FROM unnest({_unnest(cols, types)})"),
                        {c: [r[c] for r in rows] for c in cols})
        return
    session.execute(insert(E), rows)


def existing_people(session: Session, upstream_ids: list[str]) -> list[tuple[Any, ...]]:
    """Return (upstream_id, id, school_id, role, display_name, status, active, last_seen_run)."""
    cols = (P.c.upstream_id, P.c.id, P.c.school_id, P.c.role, P.c.display_name, P.c.status,
            P.c.active, P.c.last_seen_run)
    if not upstream_ids:
        return []
    if _pg(session):
        stmt = select(*cols).where(text("people.upstream_id = ANY(CAST(:ids AS text[]))"))
        return [tuple(r) for r in session.execute(stmt, {"ids": upstream_ids})]
    return [tuple(r) for r in session.execute(select(*cols).where(P.c.upstream_id.in_(upstream_ids)))]


def open_enrolments(session: Session, person_ids: list[int]) -> list[tuple[int, int]]:
    """Return (person_id, class_id) of the open enrolments of these people."""
    if not person_ids:
        return []
    if _pg(session):
        stmt = select(E.c.person_id, E.c.class_id).where(
            text("enrolments.person_id = ANY(CAST(:ids AS bigint[]))"), E.c.ended_at.is_(None))
        return [(p, c) for p, c in session.execute(stmt, {"ids": person_ids})]
    return [(p, c) for p, c in session.execute(select(E.c.person_id, E.c.class_id).where(
        E.c.person_id.in_(person_ids), E.c.ended_at.is_(None)))]


def mark_seen(session: Session, person_ids: list[int], run_id: int) -> None:
    """Stamp people as seen by this run (leavers are the ones left unstamped)."""
    if not person_ids:
        return
    if _pg(session):
        session.execute(text("UPDATE people SET last_seen_run = :run "
                             "WHERE id = ANY(CAST(:ids AS bigint[]))"),
                        {"run": run_id, "ids": person_ids})
        return
    session.execute(update(P).where(P.c.id.in_(person_ids)).values(last_seen_run=run_id))


def students_named(session: Session, class_ids: list[int], keys: list[str]) -> list[tuple[int, str, int]]:
    """Return (class_id, name_key, person_id) of active students in these classes with these names."""
    if _pg(session):
        sql = text("SELECT e.class_id, p.name_key, p.id FROM enrolments e JOIN people p "
                   "ON p.id = e.person_id WHERE e.class_id = ANY(CAST(:classes AS bigint[])) "
                   "AND e.ended_at IS NULL AND p.name_key = ANY(CAST(:keys AS text[])) "
                   "AND p.active AND p.role = 'student'")
        return [(c, k, p) for c, k, p in session.execute(sql, {"classes": class_ids, "keys": keys})]
    stmt = (select(E.c.class_id, P.c.name_key, P.c.id).join(P, P.c.id == E.c.person_id)
            .where(E.c.class_id.in_(class_ids), E.c.ended_at.is_(None), P.c.name_key.in_(keys),
                   P.c.active.is_(True), P.c.role == "student"))
    return [(c, k, p) for c, k, p in session.execute(stmt)]

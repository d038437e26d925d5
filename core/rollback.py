"""The rollback package: what downgrading the database to an earlier revision does.

Each revision's downgrade is described from the migrations themselves: what it drops is
the difference between the schema at the revision and the one below it (both built on a
scratch SQLite database by the real migrations), and what data that loses is counted in
the live database. A migration declares, at module level,

- `irreversible_data = "why"` when no downgrade can give back what it changed without a
  data step first (the rollback is then refused), and
- `downgrade_data = "what"` when its downgrade moves or rewrites data on the way down.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import alembic.util
import sqlalchemy as sa
from alembic.script import Script, ScriptDirectory

from core import migrate
from core.db import make_engine

Progress = Callable[[str], None]
Tables = dict[str, set[str]]


class RollbackError(ValueError):
    """A rollback cannot be planned (the message says why)."""


@dataclass(frozen=True)
class Step:
    """One revision's downgrade: what it drops, what it gives back empty, what data goes."""

    revision: str
    down_to: str
    title: str
    dropped_tables: tuple[str, ...]
    dropped_columns: tuple[str, ...]  # "table.column"
    restored: tuple[str, ...]  # tables/columns a downgrade re-creates, empty
    losses: tuple[str, ...]  # "N rows of table", "N values of table.column"
    data_step: str | None
    irreversible: str | None


def scripts(url: str) -> ScriptDirectory:
    """Return the migration scripts."""
    return ScriptDirectory.from_config(migrate.alembic_config(url))


def path(directory: ScriptDirectory, current: str, to: str) -> list[Script]:
    """Return the revisions a downgrade from `current` to `to` undoes, newest first."""
    down = [s for s in directory.walk_revisions(base="base", head=current)]
    names = [s.revision for s in down]
    if to != "base" and to not in names:
        raise RollbackError(f"{to} is not a revision below {current} (known: {', '.join(names)})")
    if to == current:
        raise RollbackError(f"the database is already at {to}")
    return down if to == "base" else down[:names.index(to)]


def _tables(engine: sa.Engine) -> Tables:
    inspector = sa.inspect(engine)
    return {t: {c["name"] for c in inspector.get_columns(t)}
            for t in inspector.get_table_names() if t != "alembic_version"}


_built: dict[tuple[str, ...], dict[str, Tables]] = {}  # the migrations do not change in a process


def schemas(revisions: list[str], progress: Progress) -> dict[str, Tables]:
    """Build each revision's tables and columns on a scratch SQLite database, oldest first."""
    if tuple(revisions) in _built:
        return _built[tuple(revisions)]
    found: dict[str, Tables] = {"base": {}}
    with tempfile.TemporaryDirectory(prefix="hudoor-rollback-") as tmp:
        url = f"sqlite:///{Path(tmp) / 'scratch.db'}"
        engine = make_engine(url)
        try:
            for revision in revisions:
                progress(f"  reading the schema at {revision}")
                migrate.upgrade(url, revision)
                found[revision] = _tables(engine)
        finally:
            engine.dispose()
    _built[tuple(revisions)] = found
    return found


def _count(conn: sa.Connection, table: str, column: str | None = None) -> int:
    query = sa.select(sa.func.count()).select_from(sa.table(table))
    if column:
        query = query.where(sa.column(column).is_not(None))
    return int(conn.scalar(query) or 0)


def _title(script: Script) -> str:
    """Return a migration's first paragraph on one line."""
    return " ".join(script.longdoc.split("\n\n")[0].split()) or script.revision


def _losses(conn: sa.Connection, tables: tuple[str, ...],
            columns: tuple[str, ...]) -> tuple[str, ...]:
    lost = [f"{n} row(s) of {t}" for t in tables if (n := _count(conn, t))]
    lost += [f"{n} value(s) of {c}" for c in columns if (n := _count(conn, *c.split(".", 1)))]
    return tuple(lost)


def plan(url: str, to: str | None, progress: Progress = lambda _m: None) -> list[Step]:
    """Describe each downgrade from the live revision down to `to` (default: one step back)."""
    current = migrate.current(url)
    if current is None:
        raise RollbackError("the database has no schema revision (run `hudoor db upgrade`)")
    directory = scripts(url)
    try:
        one_back = directory.get_revision(current).down_revision
    except alembic.util.CommandError as exc:  # a database newer than this code
        raise RollbackError(f"the database is at {current}, which this code does not know") from exc
    undone = path(directory, current, to or (one_back if isinstance(one_back, str) else "base"))
    chain = [s.revision for s in reversed(list(directory.walk_revisions("base", current)))]
    built = schemas(chain, progress)
    engine = make_engine(url)
    steps = []
    try:
        with engine.connect() as conn:
            for script in undone:
                below = script.down_revision if isinstance(script.down_revision, str) else "base"
                at, under = built[script.revision], built[below or "base"]
                tables = tuple(sorted(set(at) - set(under)))
                columns = tuple(sorted(f"{t}.{c}" for t in set(at) & set(under)
                                       for c in at[t] - under[t]))
                restored = tuple(sorted(set(under) - set(at))) + tuple(sorted(
                    f"{t}.{c}" for t in set(at) & set(under) for c in under[t] - at[t]))
                module = script.module
                steps.append(Step(script.revision, below or "base", _title(script),
                                  tables, columns, restored, _losses(conn, tables, columns),
                                  getattr(module, "downgrade_data", None),
                                  getattr(module, "irreversible_data", None)))
    finally:
        engine.dispose()
    return steps


def refusals(steps: list[Step]) -> list[str]:
    """Return why the rollback must not run (empty: it may)."""
    return [f"{s.revision} ({s.title}) cannot be rolled back without a data step: {s.irreversible}"
            for s in steps if s.irreversible]

"""Run a USSD hop's few hot statements on the driver's cursor, compiled once per dialect.

SQLAlchemy's execution of a compiled statement (the execution context, parameter
processing, the result's wrapper) costs about 150 µs of CPU a statement over psycopg's
own, on statements that take PostgreSQL ~100 µs: a tenth of a fresh teacher's hop
(decision 0041). A `DriverStatement` keeps SQLAlchemy for what it is good at (building
and compiling the statement, the types' conversions) and, on PostgreSQL, runs the SQL it
compiled on the session's own connection and transaction through psycopg's cursor:

- parameters bound in the statement (a role, a status) are merged in; a column's scalar
  default (an INSERT's `revision=1`) likewise; the types' bind processors run;
- an expanding IN list is expanded as SQLAlchemy expands it (one parameter an item,
  the SQL built once for each length);
- result rows are plain tuples, with the types' result processors applied;
- the engine's cursor events fire as for any statement (hooks in tests, counters in
  benches), and a driver error is raised as SQLAlchemy's DBAPIError, parameters hidden,
  with the connection invalidated when PostgreSQL has gone.

Other dialects (SQLite: the embedded default) run the statement through SQLAlchemy, as
before. A statement the driver path cannot run faithfully (a callable column default,
executemany) is refused when first compiled, never run differently.
"""

from __future__ import annotations

import weakref
from typing import Any, Mapping, Sequence

from sqlalchemy import exc
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.orm import Session

from core.db import session_connection


_MAX_EXPANSIONS = 512  # list-length combinations kept per statement and dialect


class NotForTheDriver(TypeError):
    """The statement needs SQLAlchemy's execution (a per-row default, a literal list, …)."""


class _Compiled:
    """One statement compiled for one dialect, with what running it needs."""

    __slots__ = ("compiled", "sql", "static", "names", "binds", "lists", "results", "_expanded")

    def __init__(self, statement: Any, dialect: Dialect, column_keys: Sequence[str] | None) -> None:
        compiled = statement.compile(dialect=dialect, column_keys=column_keys)
        every = compiled.construct_params(_check=False)
        static = {k: v for k, v in every.items() if v is not None}
        for column in (*compiled.insert_prefetch, *compiled.update_prefetch):
            default = column.onupdate if column in compiled.update_prefetch else column.default
            if default is None or not default.is_scalar:
                raise NotForTheDriver(f"{column} has a per-row default")
            static[column.key] = default.arg
        if compiled.literal_execute_params or any(p.literal_execute for p in compiled.post_compile_params):
            raise NotForTheDriver("a parameter is rendered into the SQL at execution")
        self.compiled, self.sql, self.static = compiled, compiled.string, static
        self.names = frozenset(every) | frozenset(static)
        self.lists = {p.key: p.type._cached_bind_processor(dialect) for p in compiled.post_compile_params}
        self.binds = {k: f for k, f in (compiled._bind_processors or {}).items() if k not in self.lists}
        processors = [type_._cached_result_processor(dialect, None)
                      for _key, _name, _objs, type_ in compiled._result_columns]
        self.results = processors if any(processors) else None
        # Expanding lists, per tuple of their lengths: the SQL with one parameter an item
        # (SQLAlchemy's own expansion) and each list's item names.
        self._expanded: dict[tuple[int, ...], tuple[str, dict[str, list[str]]]] = {}

    def statement_and_parameters(self, params: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        if not params.keys() <= self.names:  # the driver would ignore it: a value never stored
            raise TypeError(f"not parameters of this statement: {sorted(params.keys() - self.names)}")
        out = {**self.static, **params}
        for name, process in self.binds.items():
            if out.get(name) is not None:
                out[name] = process(out[name])
        if not self.lists:
            return self.sql, out
        # An IN list stays one parameter an item, as SQLAlchemy runs it: PostgreSQL keeps a
        # generic plan for each length, where one `= ANY(array)` statement was planned
        # afresh at every call (its generic plan's estimate never beat a custom one).
        lengths = tuple(len(out[name]) for name in self.lists)
        if lengths not in self._expanded:
            if len(self._expanded) >= _MAX_EXPANSIONS:
                self._expanded.clear()  # lengths are bounded by a roster; this only caps memory
            state = self.compiled.construct_expanded_state(out)
            self._expanded[lengths] = (state.statement, dict(state.parameter_expansion))
        sql, names = self._expanded[lengths]
        for name, process in self.lists.items():
            values = out.pop(name)
            out.update(zip(names[name], map(process, values) if process else values))
        return sql, out


class DriverStatement:
    """A statement a hop runs often: SQLAlchemy builds and compiles it, psycopg runs it.

    `statement`: one statement, or one per dialect name (a dialect's own ON CONFLICT
    insert), picked by the session's dialect.
    `column_keys`: for an INSERT built without values, the columns its parameters give.
    """

    __slots__ = ("statement", "column_keys", "_by_dialect", "__weakref__")

    def __init__(self, statement: Any, column_keys: Sequence[str] | None = None) -> None:
        self.statement, self.column_keys = statement, column_keys
        self._by_dialect: dict[str, _Compiled] = {}
        _ALL.add(self)

    def for_dialect(self, name: str) -> Any:
        """The statement built for dialect `name` (KeyError: none is)."""
        return self.statement[name] if isinstance(self.statement, Mapping) else self.statement

    def compiled(self, dialect: Dialect) -> _Compiled:
        """The statement as the driver path runs it on `dialect` (compiled on first use)."""
        key = f"{dialect.name}+{dialect.driver}"
        if key not in self._by_dialect:
            self._by_dialect[key] = _Compiled(self.for_dialect(dialect.name), dialect,
                                              self.column_keys)
        return self._by_dialect[key]

    def all(self, session: Session, params: dict[str, Any]) -> Sequence[Sequence[Any]]:
        """Run it in the session's transaction; return every row (tuples)."""
        conn = session_connection(session)
        if conn.dialect.driver != "psycopg":
            return conn.execute(self.for_dialect(conn.dialect.name), params).all()
        compiled = self.compiled(conn.dialect)
        rows = _run(conn, *compiled.statement_and_parameters(params), fetch=True)
        if compiled.results is None:
            return rows  # type: ignore[no-any-return]
        procs = compiled.results
        return [tuple(p(v) if p else v for p, v in zip(procs, row)) for row in rows]

    def first(self, session: Session, params: dict[str, Any]) -> Sequence[Any] | None:
        rows = self.all(session, params)
        return rows[0] if rows else None

    def run(self, session: Session, params: dict[str, Any]) -> int:
        """Run a write that returns no rows in the session's transaction; return its row count."""
        conn = session_connection(session)
        if conn.dialect.driver != "psycopg":
            return conn.execute(self.for_dialect(conn.dialect.name), params).rowcount  # type: ignore[no-any-return]
        compiled = self.compiled(conn.dialect)
        return _run(conn, *compiled.statement_and_parameters(params), fetch=False)  # type: ignore[no-any-return]


# Every driver statement alive: the modules' constants (one a test makes goes with it).
_ALL: weakref.WeakSet[DriverStatement] = weakref.WeakSet()


def compile_all(dialect: Dialect) -> int:
    """Compile every driver statement made so far for `dialect`; return how many.

    Called when an app starts: its first hops then pay for no compiling, and a statement
    the driver path cannot run (NotForTheDriver) stops the start instead of failing a hop.
    Nothing to do on a dialect whose statements run through SQLAlchemy (SQLite).
    """
    if dialect.driver != "psycopg":
        return 0
    mine = [st for st in _ALL
            if not isinstance(st.statement, Mapping) or dialect.name in st.statement]
    for statement in mine:
        statement.compiled(dialect)
    return len(mine)


def run_script(session: Session, sql: str) -> Sequence[Sequence[Any]]:
    """Run statements without parameters in one query (PostgreSQL's simple query protocol:
    each statement takes its own snapshot as it starts) in the session's transaction;
    return the last statement's rows. Cursor events fire and errors are raised as for a
    driver statement."""
    return _run(session_connection(session), sql, None, fetch=True)  # type: ignore[no-any-return]


def _run(conn: Connection, sql: str, params: dict[str, Any] | None, *, fetch: bool) -> Any:
    """Execute on the connection's driver cursor, as Connection.execute would for a string.

    Without parameters (None), `sql` may be several statements: the rows are the last one's.
    """
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    events = conn._has_events or conn.engine._has_events
    try:
        if events:
            conn.dispatch.before_cursor_execute(conn, cursor, sql, params, None, False)
        cursor.execute(sql, params)
        if events:
            conn.dispatch.after_cursor_execute(conn, cursor, sql, params, None, False)
        if not fetch:
            return cursor.rowcount
        while params is None and cursor.nextset():
            pass
        return cursor.fetchall()
    except conn.dialect.loaded_dbapi.Error as e:
        gone = conn.dialect.is_disconnect(e, conn.connection.dbapi_connection, cursor)
        wrapped = exc.DBAPIError.instance(sql, params, e, conn.dialect.loaded_dbapi.Error,
                                          hide_parameters=conn.engine.hide_parameters,
                                          connection_invalidated=gone, dialect=conn.dialect)
        if gone:
            conn.invalidate(e)
        raise wrapped from e
    finally:
        cursor.close()

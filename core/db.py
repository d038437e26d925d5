"""Create database engines and sessions (primary and read replica)."""

from __future__ import annotations

import select
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlalchemy.orm import Session, sessionmaker


def _sqlite_setup(engine: Engine) -> None:
    """Make SQLite behave: foreign keys, WAL, a busy timeout, write-locking BEGIN."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy, not pysqlite, decide when a transaction begins.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # IMMEDIATE takes the write lock up front, so the audit chain head
        # read at the start of a transaction cannot change under it.
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def closed_by_server(dbapi_conn: Any) -> bool:
    """Tell, without a round trip, whether PostgreSQL closed (or is closing) a pooled connection.

    An idle connection has nothing to read: the server speaks only when asked, except to
    say it is going (a restart, a terminated backend, an idle timeout: an error message,
    then end of file). A zero-timeout poll of the socket sees that.
    """
    if dbapi_conn.closed or dbapi_conn.broken:
        return True
    try:
        readable, _, _ = select.select([dbapi_conn.fileno()], [], [], 0)
    except (OSError, ValueError):
        return True
    return bool(readable)


def _postgres_setup(engine: Engine) -> None:
    """Hand out no pooled connection PostgreSQL has closed: the first use after a restart works.

    Instead of SQLAlchemy's `pool_pre_ping`, whose ping is a round trip and an empty
    autocommit statement — a committed transaction in PostgreSQL's books for every
    checkout, two a USSD session (decision 0039) — the socket is polled: a closed one is
    dropped and the pool connects afresh (a DisconnectionError on checkout does that).
    """

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_conn: Any, _record: Any, _proxy: Any) -> None:
        if closed_by_server(dbapi_conn):
            raise DisconnectionError("PostgreSQL closed this pooled connection")


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine for `url` with Hudoor's connection settings.

    Statement parameters (phone numbers, names) are kept out of error messages and
    logs: an exception shows the SQL, never the values.
    """
    kwargs.setdefault("hide_parameters", True)
    if url.startswith("sqlite"):
        engine = create_engine(url, **kwargs)
        _sqlite_setup(engine)
        return engine
    engine = create_engine(url, **kwargs)
    if engine.dialect.driver == "psycopg" and not kwargs.get("pool_pre_ping"):
        _postgres_setup(engine)
    return engine


def make_sessionmaker(engine: Engine, audit_key: bytes | None = None) -> sessionmaker[Session]:
    """Return a session factory bound to `engine`; its sessions carry the audit chain's key."""
    info = {"audit_key": audit_key} if audit_key else {}
    return sessionmaker(bind=engine, expire_on_commit=False, info=info)


_HELD = "core.db.connection"  # session.info: (its root transaction, that transaction's Connection)


def session_connection(session: Session) -> Connection:
    """The session's Connection in its current transaction (begun if need be), after the
    autoflush `session.execute` would do.

    Kept in the session's info for the transaction: asking the session every statement went
    through its transaction state machine each time (~160 µs a call under cProfile, about a
    third of that without it). Not used once the transaction is inactive (a failed flush):
    the session then answers itself, with its PendingRollbackError.
    """
    if type(session) is SessionOnDemand:
        return session.connection()
    if session.autoflush:
        session.flush()  # returns at once when nothing is pending
    held = session.info.get(_HELD)
    transaction = session.get_transaction()
    if held is not None and held[0] is transaction and transaction is not None \
            and transaction.is_active and not held[1].invalidated and not held[1].closed:
        return held[1]  # type: ignore[no-any-return]
    conn = session.connection()
    session.info[_HELD] = (session.get_transaction(), conn)
    return conn


def core_execute(session: Session, statement: Any, params: Any = None) -> Any:
    """Run a statement that loads no ORM objects on the session's own connection and transaction.

    The rows (or the write) are what `session.execute` gives, after the same autoflush,
    without the ORM's per-call execution machinery: about 90 us less a statement, for the
    statements a USSD hop runs (column reads, Core writes on tables). Not for statements
    that select entities or are ORM-enabled updates.
    """
    return session_connection(session).execute(statement, params)


class SessionOnDemand:
    """A request's database work, begun only when something first needs it (a USSD hop: most
    make no query), on a plain Connection until something needs the ORM.

    A hop's hot statements (driver statements, `core_execute`) need only a Connection in a
    transaction: `session_connection` gives them one checked out from the engine, without a
    Session, whose transaction bookkeeping (begin, commit, close) cost ~180 µs of CPU a hop
    that reaches the database (decision 0042). Anything else asked of the stand-in (an ORM
    `get`, `add`, `execute`) makes the real Session, joined to that Connection and in full
    control of its transaction, so everything stays one transaction either way.
    `commit`, `rollback` and `in_transaction()` act on whichever is in use. Closed on leaving
    the `with`.
    """

    __slots__ = ("_factory", "_session", "_conn", "_info")

    def __init__(self, factory: sessionmaker[Session]) -> None:
        self._factory = factory
        self._session: Session | None = None
        self._conn: Connection | None = None
        self._info: dict[str, Any] | None = None

    @property
    def made(self) -> bool:
        """Whether the database was asked anything (a Session made or a connection taken)."""
        return self._session is not None or self._conn is not None

    @property
    def orm(self) -> Session | None:
        """The ORM Session, if anything needed one."""
        return self._session

    @property
    def info(self) -> dict[str, Any]:
        """The session's info (the audit chain's key), without making a Session."""
        if self._session is not None:
            return self._session.info
        if self._info is None:
            self._info = dict(self._factory.kw.get("info") or {})
        return self._info

    def get_bind(self) -> Engine:
        return self._factory.kw["bind"]  # type: ignore[no-any-return]

    def connection(self) -> Connection:
        """The Connection in its current transaction (begun if need be)."""
        if self._session is not None:
            return session_connection(self._session)
        conn = self._conn
        if conn is None:
            conn = self._conn = self.get_bind().connect()
        if not conn.in_transaction():
            conn.begin()
        return conn

    def in_transaction(self) -> bool:
        if self._session is not None:
            return self._session.in_transaction()
        return self._conn is not None and self._conn.in_transaction()

    def commit(self) -> None:
        if self._session is not None:
            self._session.commit()
        elif self._conn is not None and self._conn.in_transaction():
            self._conn.commit()

    def rollback(self) -> None:
        if self._session is not None:
            self._session.rollback()
        elif self._conn is not None and self._conn.in_transaction():
            self._conn.rollback()

    def __getattr__(self, name: str) -> Any:  # only for names the stand-in does not have
        if self._session is None:
            if self._conn is None:
                self._session = self._factory()
            else:  # the ORM joins the transaction the Connection is in and owns it from now
                self._session = self._factory(bind=self._conn, join_transaction_mode="control_fully")
                if self._info:
                    self._session.info.update(self._info)
        return getattr(self._session, name)

    def __enter__(self) -> "SessionOnDemand":
        return self

    def __exit__(self, *_exc: object) -> None:
        try:
            if self._session is not None:
                self._session.close()
        finally:
            if self._conn is not None:
                self._conn.close()  # rolls back whatever was not committed


def end_reads(session: Session | SessionOnDemand) -> None:
    """End a transaction that only read, keeping the connection's prepared statements.

    psycopg forgets every statement it prepared on a connection at each ROLLBACK (and
    counts uses afresh), so a hop path ending its reads in a rollback never reached its
    prepared statements: PostgreSQL parsed and planned each statement every time, more
    CPU than running them (decision 0039). A transaction that wrote nothing commits with
    no WAL and no flush. Pending ORM changes, were there any, are rolled back, never
    committed by this.
    """
    if _pending(session):
        session.rollback()
    elif session.in_transaction():
        session.commit()


def _pending(session: Session | SessionOnDemand) -> bool:
    """Whether the ORM holds changes not yet flushed (none when no Session was made)."""
    orm = session.orm if isinstance(session, SessionOnDemand) else session
    return orm is not None and bool(orm.new or orm.dirty or orm.deleted)


def end_refused(session: Session | SessionOnDemand) -> None:
    """End a transaction whose work was refused (a class taken meanwhile, not the caller's):
    nothing of it stays.

    A refusal mostly comes before the first write. On PostgreSQL a transaction that wrote
    nothing (no transaction id assigned) then ends in a COMMIT: the same outcome as a
    ROLLBACK, without psycopg dropping the connection's prepared statements, which made
    PostgreSQL plan every statement of the next hops on that connection afresh (decision
    0040). Anything written or pending in the ORM is rolled back; so is a transaction the
    question itself cannot run in.
    """
    if not session.in_transaction():
        return
    if not _pending(session) and is_postgres(session.get_bind()):
        try:
            wrote = session.connection().exec_driver_sql(_WROTE).scalar()
        except DBAPIError:
            wrote = True  # an aborted transaction: roll it back
        if wrote is None:
            session.commit()
            return
    session.rollback()


_WROTE = "SELECT txid_current_if_assigned()"  # NULL until the transaction writes


def refresh_planner_statistics(session: Session, tables: tuple[str, ...]) -> None:
    """Have PostgreSQL sample `tables` now (ANALYZE), in the caller's transaction.

    After a mass write (a term-start full sync) the planner's row counts are those of the
    tables before it until autovacuum gets round to them, a minute or more later: meanwhile
    it plans the hop statements for near-empty tables (sequential scans, hash joins over
    every class), and a morning spike right after a sync pays for it (decision 0040).
    SQLite: nothing (its planner keeps no statistics unless asked, and needs none here).
    """
    if is_postgres(session.get_bind()):
        session.execute(text(f"ANALYZE {', '.join(tables)}"))


def is_postgres(engine: Engine) -> bool:
    """Tell whether `engine` talks to PostgreSQL."""
    return engine.dialect.name == "postgresql"

"""The audit chain: every write path appends; verify catches edits, removals, truncation."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from core import audit
from gateway.cli import cli


def _append(runtime, n: int) -> None:  # type: ignore[no-untyped-def]
    with runtime.sessions() as s, s.begin():
        for i in range(n):
            audit.record(s, actor="test", action="thing.change", entity="thing", entity_id=i,
                         reason="because", data={"i": i, "name": "مدرسة"})


def _drop_guard(runtime) -> None:  # type: ignore[no-untyped-def]
    """Act as a superuser who removes the append-only triggers first."""
    with runtime.engine.begin() as conn:
        if runtime.engine.dialect.name == "postgresql":
            conn.execute(text("DROP TRIGGER audit_log_no_update ON audit_log"))
        else:
            conn.execute(text("DROP TRIGGER audit_log_no_update"))
            conn.execute(text("DROP TRIGGER audit_log_no_delete"))


def test_chain_verifies_and_is_append_only(runtime) -> None:  # type: ignore[no-untyped-def]
    _append(runtime, 5)
    with runtime.sessions() as s:
        result = audit.verify(s)
    assert result.ok and result.checked == 5 and result.head_seq == 5
    with pytest.raises(DBAPIError, match="append-only"):
        with runtime.engine.begin() as conn:
            conn.execute(text("UPDATE audit_log SET reason = 'x' WHERE seq = 2"))
    with pytest.raises(DBAPIError, match="append-only"):
        with runtime.engine.begin() as conn:
            conn.execute(text("DELETE FROM audit_log WHERE seq = 2"))


def test_verify_catches_an_edited_row(runtime, runner) -> None:  # type: ignore[no-untyped-def]
    _append(runtime, 6)
    _drop_guard(runtime)
    with runtime.engine.begin() as conn:
        conn.execute(text("UPDATE audit_log SET data = :d WHERE seq = 3"), {"d": '{"i":99}'})
    result = runner.invoke(cli, ["audit", "verify"])
    assert result.exit_code == 1
    assert "seq 3: contents do not match its hash (row edited)" in result.output


def test_verify_catches_a_removed_row(runtime) -> None:  # type: ignore[no-untyped-def]
    _append(runtime, 6)
    _drop_guard(runtime)
    with runtime.engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_log WHERE seq = 4"))
    with runtime.sessions() as s:
        result = audit.verify(s)
    assert not result.ok
    assert any("missing" in p for p in result.problems)
    assert any("seq 5: prev_hash" in p for p in result.problems)


def test_verify_catches_a_rehashed_forgery_and_truncation(runtime) -> None:  # type: ignore[no-untyped-def]
    _append(runtime, 4)
    with runtime.sessions() as s:
        head = audit.verify(s).head_hash
    _drop_guard(runtime)
    # A forger who holds the key, rewrites row 2 and recomputes its hash still breaks row 3.
    key = runtime.config.audit_key_bytes
    with runtime.sessions() as s, s.begin():
        row = s.execute(text("SELECT * FROM audit_log WHERE seq = 2")).mappings().one()
        forged = audit.link_hash(key, row["prev_hash"], 2, row["at"], row["actor"], row["action"],
                                 row["entity"], row["entity_id"], "forged", row["data"])
        s.execute(text("UPDATE audit_log SET reason='forged', hash=:h WHERE seq=2"), {"h": forged})
    with runtime.sessions() as s:
        assert any("seq 3: prev_hash" in p for p in audit.verify(s).problems)
    with runtime.engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_log WHERE seq >= 2"))
    with runtime.sessions() as s:
        assert audit.verify(s).ok  # a clean prefix looks fine on its own...
        assert not audit.verify(s, expect_head=head).ok  # ...but not against the anchored head


def test_writers_appending_at_once_keep_one_unbroken_chain(runtime) -> None:  # type: ignore[no-untyped-def]
    """Appenders in parallel transactions each read the head only once they hold the chain's
    lock (on PostgreSQL the lock and the head now travel in one query, two statements):
    every link follows the one before it, none is lost, none fails on a taken seq."""
    import threading

    if runtime.engine.dialect.name != "postgresql":
        pytest.skip("SQLite writers queue on the database's own write lock")
    writers, each = 4, 15
    start = threading.Barrier(writers)
    failures: list[BaseException] = []

    def write(w: int) -> None:
        try:
            start.wait()
            for i in range(each):
                with runtime.sessions() as s, s.begin():
                    audit.record(s, actor=f"test:{w}", action="thing.change", entity="thing",
                                 entity_id=i, reason="in parallel")
                    s.execute(text("SELECT pg_sleep(0.001)"))  # hold the lock past the append
        except BaseException as exc:  # noqa: BLE001  (reported below)
            failures.append(exc)

    threads = [threading.Thread(target=write, args=(w,)) for w in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
    with runtime.sessions() as s:
        result = audit.verify(s)
    assert result.ok, result.problems
    assert result.checked == writers * each and result.head_seq == writers * each

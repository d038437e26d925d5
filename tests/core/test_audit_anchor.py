"""The keyed audit chain and its anchors: truncation and re-hashing show without a head by hand."""

from __future__ import annotations

import json
import secrets
from datetime import timedelta

import pytest
from sqlalchemy import text

from core import audit
from tests.support.production import production_env
from core.config import Config, ConfigError
from gateway.app import create_app
from gateway.cli import cli
from tests.core.test_audit import _append, _drop_guard


def _verify(runner) -> tuple[int, str]:  # type: ignore[no-untyped-def]
    result = runner.invoke(cli, ["audit", "verify"])
    return result.exit_code, result.output


def _anchor(runner) -> str:  # type: ignore[no-untyped-def]
    result = runner.invoke(cli, ["audit", "anchor"])
    assert result.exit_code == 0, result.output
    return result.output


def _rehash_all(runtime, key: bytes | None, scheme: int) -> None:  # type: ignore[no-untyped-def]
    """Act as a database superuser who recomputes every link after an edit of row 1."""
    with runtime.sessions() as s, s.begin():
        rows = s.execute(text("SELECT * FROM audit_log ORDER BY seq")).mappings().all()
        prev = audit.GENESIS
        for row in rows:
            reason = "forged" if row["seq"] == 1 else row["reason"]
            h = audit.link_hash(key, prev, row["seq"], row["at"], row["actor"], row["action"],
                                row["entity"], row["entity_id"], reason, row["data"])
            s.execute(text("UPDATE audit_log SET reason=:r, prev_hash=:p, hash=:h, hash_scheme=:k"
                           " WHERE seq=:s"), {"r": reason, "p": prev, "h": h, "k": scheme,
                                               "s": row["seq"]})
            prev = h


def test_removing_the_newest_rows_fails_verify_against_the_anchor(runtime, runner) -> None:  # type: ignore[no-untyped-def]
    _append(runtime, 5)
    assert "anchored 5 entries" in _anchor(runner)
    assert _anchor(runner) == "nothing new to anchor\n"
    _append(runtime, 2)
    assert _verify(runner)[0] == 0
    _drop_guard(runtime)
    with runtime.engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_log WHERE seq >= 4"))
    code, output = _verify(runner)
    assert code == 1
    assert "counts 5 entries but the chain ends at seq 3 (newest rows removed)" in output
    refused = runner.invoke(cli, ["audit", "anchor"])
    assert refused.exit_code != 0 and "not anchored" in refused.output


@pytest.mark.parametrize("scheme", ["unkeyed", "wrong key"])
def test_re_hashing_every_row_fails_verify(runtime, runner, scheme) -> None:  # type: ignore[no-untyped-def]
    _append(runtime, 4)
    _drop_guard(runtime)
    if scheme == "unkeyed":  # the old scheme: anyone with the database could recompute it
        _rehash_all(runtime, None, audit.UNKEYED)
    else:
        _rehash_all(runtime, b"x" * 32, audit.KEYED)
    code, output = _verify(runner)
    assert code == 1
    assert "seq 1: contents do not match its hash" in output or "seq 1: unkeyed row" in output


def test_unkeyed_rows_from_before_the_upgrade_verify_up_to_the_upgrade_anchor(runtime, runner) -> None:  # type: ignore[no-untyped-def]
    _append(runtime, 3)
    _drop_guard(runtime)
    _rehash_all(runtime, None, audit.UNKEYED)  # what an older release wrote, reason aside
    code, output = _verify(runner)  # nothing outside the database vouches for them yet
    assert code == 1 and "not vouched for by an anchor" in output
    upgrade = runner.invoke(cli, ["db", "upgrade"])
    assert upgrade.exit_code == 0 and "anchored 3 entries" in upgrade.output
    _append(runtime, 2)  # keyed from here on
    assert _verify(runner)[0] == 0
    _anchor(runner)
    # Converting a keyed row back to the old scheme is refused, even re-chained correctly.
    _rehash_all(runtime, None, audit.UNKEYED)
    code, output = _verify(runner)
    assert code == 1 and "seq 4: unkeyed row written after keyed hashing began" in output


def test_the_scheduler_anchors_and_the_anchor_lines_hold_time_count_and_head(runtime, runner) -> None:  # type: ignore[no-untyped-def]
    from core import audit_anchor

    _append(runtime, 3)
    path = runtime.config.audit_anchor_path
    with runtime.sessions() as s:
        made = audit_anchor.anchor_now(s, path, runtime.clock())
        again = audit_anchor.anchor_now(s, path, runtime.clock() + timedelta(minutes=5))
    assert made is not None and again is None
    at, count, head = path.read_text().strip().split("\t")
    assert (at, int(count)) == (runtime.clock().isoformat(timespec="seconds"), 3)
    with runtime.sessions() as s:
        assert head == audit.verify(s).head_hash
    path.write_text(path.read_text() + "garbage\n")
    code, output = _verify(runner)
    assert code == 1 and "anchor file line 2 is unreadable" in output


def test_sessions_without_the_key_cannot_write_the_audit(runtime) -> None:  # type: ignore[no-untyped-def]
    from core.db import make_sessionmaker

    with make_sessionmaker(runtime.engine)() as s, pytest.raises(audit.AuditKeyMissing):
        audit.record(s, actor="x", action="y", entity="z", entity_id=1, reason="r")


_PROD = {k: v for k, v in production_env().items() if k != "HUDOOR_AUDIT_KEY"}
STRONG = secrets.token_urlsafe(32)


@pytest.mark.parametrize(("key", "complaint"), [
    (None, "HUDOOR_AUDIT_KEY of at least 32 bytes"),
    ("short", "HUDOOR_AUDIT_KEY of at least 32 bytes"),
    ("k" * 64, "HUDOOR_AUDIT_KEY of at least 32 bytes"),  # long, but no entropy
    (_PROD["HUDOOR_SECRET_KEY"], "must differ from every other secret"),
])
def test_production_needs_its_own_long_audit_key(key, complaint) -> None:  # type: ignore[no-untyped-def]
    env = dict(_PROD, **({"HUDOOR_AUDIT_KEY": key} if key else {}))
    with pytest.raises(ConfigError, match=complaint):
        Config.from_env(env)
    without_anchor = {k: v for k, v in _PROD.items() if k != "HUDOOR_AUDIT_ANCHOR_FILE"}
    with pytest.raises(ConfigError, match="HUDOOR_AUDIT_ANCHOR_FILE"):
        Config.from_env({**without_anchor, "HUDOOR_AUDIT_KEY": STRONG})
    assert Config.from_env({**_PROD, "HUDOOR_AUDIT_KEY": STRONG}).audit_key_bytes == STRONG.encode()
    assert json.dumps(Config().audit_key)  # the development key is a plain string


def test_upgrading_a_database_with_unkeyed_rows_keeps_them_verifiable(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Migration 0008 on a database an older release wrote: nothing rewritten, all verifies."""
    import hashlib

    from core import migrate
    from core.runtime import Runtime

    url = f"sqlite:///{tmp_path / 'old.db'}"
    migrate.upgrade(url, "0005")
    rt = Runtime(Config(env="test", var_dir=tmp_path / "var", database_url=url))
    prev = audit.GENESIS
    with rt.engine.begin() as conn:
        for seq in (1, 2):
            body = audit.canonical_json([seq, f"2026-01-0{seq}T00:00:00", "cli", "x.y", "thing",
                                         str(seq), "old release", "{}"])
            h = hashlib.sha256(f"{prev}|{body}".encode()).hexdigest()
            conn.execute(text("INSERT INTO audit_log VALUES (:s, :at, 'cli', 'x.y', 'thing', :e,"
                              " 'old release', '{}', :p, :h)"),
                         {"s": seq, "at": f"2026-01-0{seq}T00:00:00", "e": str(seq), "p": prev, "h": h})
            prev = h
    app_runner = create_app({"TESTING": True, "HUDOOR_RUNTIME": rt}).test_cli_runner()
    upgraded = app_runner.invoke(cli, ["db", "upgrade"])
    assert upgraded.exit_code == 0 and "anchored 2 entries" in upgraded.output, upgraded.output
    _append(rt, 2)
    result = app_runner.invoke(cli, ["audit", "verify"])
    assert result.exit_code == 0 and "4 entries checked" in result.output, result.output
    rt.close()


def test_registered_contract_dates_cannot_be_changed_in_the_database(runtime, runner) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy.exc import DBAPIError

    effective = runtime.today() + timedelta(days=30)
    assert runner.invoke(cli, ["contract", "register", "2", "--effective", str(effective)]).exit_code == 0
    for statement in ("UPDATE contract_versions SET notice_date = '2020-01-01'",
                      "UPDATE contract_versions SET effective_date = '2020-01-01'",
                      "DELETE FROM contract_versions"):
        with pytest.raises(DBAPIError, match="fixed once registered"):
            with runtime.engine.begin() as conn:
                conn.execute(text(statement))

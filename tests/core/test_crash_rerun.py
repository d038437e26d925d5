"""kill -9 a sync at arbitrary points, rerun it: the end state equals an uninterrupted run."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from core import audit
from core.config import Config
from core.db import make_engine, make_sessionmaker
from sandbox.district import District
from sandbox.server import SandboxServer
from tests.core.snapshot import snapshot
from sandbox.churn import apply_random_changes

HUDOOR = str(Path(sys.executable).parent / "hudoor")


def _env(db_url: str, redis_url: str, upstream: str) -> dict[str, str]:
    return {**os.environ, "HUDOOR_DATABASE_URL": db_url, "HUDOOR_REDIS_URL": redis_url,
            "HUDOOR_UPSTREAM_URL": upstream, "HUDOOR_UPSTREAM_PAGE_SIZE": "30"}


def _reference_db(db_url: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    if db_url.startswith("sqlite"):
        ref = tmp_path / "reference.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), ref)
        return f"sqlite:///{ref}"
    return request.getfixturevalue("pg_cluster").create_database(
        "hudoor_reference", template="hudoor_template")


def _state(url: str) -> dict:  # type: ignore[type-arg]
    engine = make_engine(url)
    with make_sessionmaker(engine, Config.from_env().audit_key_bytes)() as s:
        snap = snapshot(s)
        assert audit.verify(s).ok
    engine.dispose()
    return snap


def _district() -> District:
    return District(seed=21, schools=6, students_per_school=300, teachers_per_school=8)


def _faulty(sandbox: SandboxServer) -> None:
    sandbox.faults.update(missing_fields=0.01, duplicates=0.02, seed=9)


def _run(env: dict[str, str], *args: str) -> None:
    done = subprocess.run([HUDOOR, "sync", *args], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def _progress(url: str, kind: str) -> int:
    """Return how far the latest run of `kind` got (people seen), as committed."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            raw = conn.execute(text("SELECT counts FROM sync_runs WHERE kind = :k "
                                    "ORDER BY id DESC LIMIT 1"), {"k": kind}).scalar()
    finally:
        engine.dispose()
    return int(json.loads(raw or "{}").get("seen", 0))


def _kill_after(env: dict[str, str], kind: str, thresholds: tuple[int, ...],
                rng: random.Random) -> int:
    """Start the sync, SIGKILL it once it has committed past each threshold; count the kills."""
    kills = 0
    for threshold in thresholds:
        proc = subprocess.Popen([HUDOOR, "sync", kind], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while proc.poll() is None and time.monotonic() < deadline:
            if _progress(env["HUDOOR_DATABASE_URL"], kind) >= threshold:
                time.sleep(rng.random() * 0.05)  # land anywhere inside the next page
                break
            time.sleep(0.01)
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            kills += 1
        proc.wait()
    return kills


@pytest.mark.slow
@pytest.mark.timeout(1800)  # polls for its end state; a busy single core is slow
def test_full_and_delta_sync_survive_kill_9(db_url, redis_url, tmp_path, request) -> None:  # type: ignore[no-untyped-def]
    # The reference: the same district and the same changes, synced without interruption.
    ref_url = _reference_db(db_url, tmp_path, request)
    with SandboxServer(_district()) as sandbox:
        _faulty(sandbox)
        env = _env(ref_url, redis_url, sandbox.url)
        _run(env, "full")
        apply_random_changes(sandbox.district, 600, rng_seed=5)
        _run(env, "delta")
    reference = _state(ref_url)

    rng = random.Random(4)
    with SandboxServer(_district()) as sandbox:
        _faulty(sandbox)
        env = _env(db_url, redis_url, sandbox.url)
        kills = _kill_after(env, "full", (150, 600, 1100, 1500), rng)
        _run(env, "full")
        apply_random_changes(sandbox.district, 600, rng_seed=5)
        kills += _kill_after({**env, "HUDOOR_UPSTREAM_PAGE_SIZE": "20"}, "delta", (100, 300), rng)
        _run(env, "delta")
    assert kills == 6, "every sync was interrupted mid-run"
    interrupted = _state(db_url)
    assert interrupted["people"] == reference["people"]
    assert interrupted["enrolments"] == reference["enrolments"]
    assert interrupted["classes"] == reference["classes"]
    assert interrupted["flags"] == reference["flags"]
    assert sorted(set(interrupted["quarantine"])) == sorted(set(reference["quarantine"]))

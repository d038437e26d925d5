"""RQ jobs: thin wrappers that build the worker's runtime and call the domain code."""

from __future__ import annotations

from typing import Any

from core.config import Config
from core.runtime import Runtime
from core.sync.delta import run_delta
from core.sync.full import run_full

# Worker order: capture first; write-back last, and it sheds itself while urgent work waits.
QUEUES = ("urgent", "sync", "default", "digests", "writeback")

_runtime: Runtime | None = None


def worker_runtime() -> Runtime:
    """Return this worker process's runtime, built on first use (not at import)."""
    global _runtime
    if _runtime is None:
        _runtime = Runtime(Config.from_env())
    return _runtime


def sync_delta() -> dict[str, Any]:
    """Apply upstream's change feed (scheduled every HUDOOR_SYNC_INTERVAL_SECONDS)."""
    rt = worker_runtime()
    return run_delta(rt.sessions, rt.upstream(), actor="scheduler").as_dict()


def sync_full(school: str | None = None) -> dict[str, Any]:
    """Run a full roster sync of every school, or one."""
    rt = worker_runtime()
    return run_full(rt.sessions, rt.upstream(), school=school, actor="worker").as_dict()


def warm_ussd() -> int:
    """Warm the USSD hop caches before the first bell (scheduled on school mornings)."""
    from ussd.warmup import warm_now

    return warm_now(worker_runtime())

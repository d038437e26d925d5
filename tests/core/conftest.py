"""Sync fixtures: a live sandbox SIS on loopback and the runtime pointed at it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from core.sandbox.district import District
from core.sandbox.server import SandboxServer
from core.upstream.client import HttpTransport


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(District(seed=7, schools=2, students_per_school=90,
                                teachers_per_school=5)) as server:
        yield server


@pytest.fixture
def synced(runtime, sandbox):  # type: ignore[no-untyped-def]
    """The runtime after one full sync from the sandbox."""
    from core.sync.full import run_full

    runtime.transport = HttpTransport(sandbox.url, retries=3, backoff=0.01)
    runtime.config = runtime.config.with_overrides(upstream_url=sandbox.url, upstream_page_size=40)
    report = run_full(runtime.sessions, runtime.upstream())
    assert report.status == "done"
    return runtime

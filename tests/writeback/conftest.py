"""Write-back fixtures: a synced runtime whose retries are immediate."""

from __future__ import annotations

import pytest


@pytest.fixture
def wb(synced, sandbox):  # type: ignore[no-untyped-def]
    """The synced runtime, retrying at once (tests do not wait out a backoff)."""
    synced.config = synced.config.with_overrides(writeback_retry_base_seconds=0,
                                                 writeback_max_attempts=3, writeback_timeout=2.0)
    return synced

"""Settings read from the environment: booleans say yes or no, anything else is refused."""

from __future__ import annotations

import pytest

from core.config import Config, ConfigError


@pytest.mark.parametrize(("raw", "want"), [("", True), ("true", True), ("1", True), ("On", True),
                                           ("false", False), ("0", False), ("no", False)])
def test_keepalive_setting(raw: str, want: bool) -> None:
    assert Config.from_env({"HUDOOR_AT_KEEPALIVE": raw}).at_keepalive is want


def test_a_boolean_that_is_neither_is_refused() -> None:
    with pytest.raises(ConfigError, match="HUDOOR_AT_KEEPALIVE"):
        Config.from_env({"HUDOOR_AT_KEEPALIVE": "perhaps"})

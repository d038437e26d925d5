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


def test_the_web_server_settings() -> None:
    cfg = Config.from_env({})
    assert (cfg.web_workers, cfg.web_threads, cfg.web_access_log) == (3, 4, False)  # the benched shape
    cfg = Config.from_env({"HUDOOR_WEB_WORKERS": "2", "HUDOOR_WEB_THREADS": "8",
                           "HUDOOR_WEB_ACCESS_LOG": "on"})
    assert (cfg.web_workers, cfg.web_threads, cfg.web_access_log) == (2, 8, True)
    for bad in ({"HUDOOR_WEB_WORKERS": "0"}, {"HUDOOR_WEB_THREADS": "0"}):
        with pytest.raises(ConfigError, match="HUDOOR_WEB_WORKERS and HUDOOR_WEB_THREADS"):
            Config.from_env(bad)
    with pytest.raises(ConfigError, match="HUDOOR_WEB_THREADS must be an integer"):
        Config.from_env({"HUDOOR_WEB_THREADS": "many"})


def test_the_shaper_books_arrivals_unless_told_departures() -> None:
    assert Config.from_env({}).shaper_schedule == "arrival"
    assert Config.from_env({"HUDOOR_SHAPER_SCHEDULE": "departure"}).shaper_schedule == "departure"
    with pytest.raises(ConfigError, match="HUDOOR_SHAPER_SCHEDULE must be arrival or departure"):
        Config.from_env({"HUDOOR_SHAPER_SCHEDULE": "sideways"})

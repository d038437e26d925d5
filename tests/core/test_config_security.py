"""Start-up refuses what production must never run with: weak secrets, typos, sandbox defaults."""

from __future__ import annotations

import secrets

import pytest

from core.config import Config, ConfigError
from gateway.app import create_app
from tests.support.production import production_env


def test_a_complete_production_environment_starts() -> None:
    cfg = Config.from_env(production_env())
    assert cfg.env == "production" and cfg.callback_token("ussd") != cfg.callback_token("inbound")


@pytest.mark.parametrize("name", ["HUDOOR_SECRET_KEY", "HUDOOR_USSD_CALLBACK_TOKEN",
                                  "HUDOOR_DLR_CALLBACK_TOKEN", "HUDOOR_INBOUND_CALLBACK_TOKEN"])
@pytest.mark.parametrize("value", ["", "   ", "s3cret", "a" * 64, "ab" * 40, secrets.token_hex(16),
                                   secrets.token_urlsafe(24)])
def test_production_refuses_an_empty_or_weak_secret(name: str, value: str) -> None:
    with pytest.raises(ConfigError, match=name):
        Config.from_env(production_env(**{name: value}))


def test_production_refuses_the_same_secret_twice() -> None:
    shared = secrets.token_urlsafe(32)
    with pytest.raises(ConfigError, match="same secret"):
        Config.from_env(production_env(HUDOOR_SECRET_KEY=shared, HUDOOR_DLR_CALLBACK_TOKEN=shared))
    with pytest.raises(ConfigError, match="same secret"):
        Config.from_env(production_env(HUDOOR_UPSTREAM_TOKEN=shared, HUDOOR_USSD_CALLBACK_TOKEN=shared))


def test_hex_and_urlsafe_secrets_of_32_random_bytes_are_enough() -> None:
    Config.from_env(production_env(HUDOOR_SECRET_KEY=secrets.token_hex(32)))
    Config.from_env(production_env(HUDOOR_INBOUND_CALLBACK_TOKEN=secrets.token_urlsafe(32)))


@pytest.mark.parametrize(("overrides", "message"), [
    ({"HUDOOR_UPSTREAM_URL": ""}, "HUDOOR_UPSTREAM_URL is the sandbox default"),
    ({"HUDOOR_UPSTREAM_URL": "http://127.0.0.1:5050"}, "sandbox default"),
    ({"HUDOOR_UPSTREAM_TOKEN": ""}, "HUDOOR_UPSTREAM_TOKEN"),
    ({"HUDOOR_SMS_PROVIDER": "console"}, "console"),
    ({"HUDOOR_SMS_PROVIDER": ""}, "console"),  # the default is the console
])
def test_production_refuses_sandbox_defaults(overrides: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Config.from_env(production_env(**overrides))


@pytest.mark.parametrize("typo", ["Production", "prod", "production ", " production", "PRODUCTION",
                                  "staging", ""])
def test_an_unknown_environment_is_refused_not_run_as_development(typo: str) -> None:
    with pytest.raises(ConfigError, match="HUDOOR_ENV must be one of"):
        Config.from_env(production_env(HUDOOR_ENV=typo))


@pytest.mark.parametrize("mode", ["development", "test"])
def test_development_and_test_keep_their_defaults(mode: str) -> None:
    cfg = Config.from_env({"HUDOOR_ENV": mode})
    assert cfg.env == mode and cfg.callback_token("ussd")


@pytest.mark.parametrize("old", ["HUDOOR_CALLBACK_TOKEN", "HUDOOR_USSD_IP_ALLOWLIST"])
def test_a_renamed_setting_is_refused_rather_than_ignored(old: str) -> None:
    with pytest.raises(ConfigError, match=f"{old} is replaced by"):
        Config.from_env({old: "x"})


def test_a_malformed_allow_list_entry_fails_at_start_up(config: Config) -> None:
    with pytest.raises(ConfigError, match="'10.0.0.300'"):
        Config.from_env({"HUDOOR_CALLBACK_IP_ALLOWLIST": "192.0.2.0/24, 10.0.0.300"})
    with pytest.raises(ConfigError, match="not an address"):  # a Config built by hand too
        create_app({"HUDOOR_CONFIG": config.with_overrides(callback_ip_allowlist="africastalking")})


def test_the_app_refuses_to_start_in_production_with_empty_secrets(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    for name, value in production_env(HUDOOR_SECRET_KEY="", HUDOOR_USSD_CALLBACK_TOKEN="",
                                      HUDOOR_DLR_CALLBACK_TOKEN="").items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match="HUDOOR_SECRET_KEY, HUDOOR_USSD_CALLBACK_TOKEN"):
        create_app()

"""SMS providers behind one small protocol; build the configured one with `make_provider`."""

from __future__ import annotations

from core.config import Config
from digests.providers.base import Provider


class UnknownProvider(ValueError):
    """Signal an HUDOOR_SMS_PROVIDER value no provider answers to."""


def make_provider(config: Config, *, pooled: bool | None = None) -> Provider:
    """Return the provider HUDOOR_SMS_PROVIDER names (pooled: override HUDOOR_AT_KEEPALIVE)."""
    if config.sms_provider == "console":
        from digests.providers.console import ConsoleProvider

        return ConsoleProvider()
    if config.sms_provider == "africastalking":
        from digests.providers.africastalking import AfricasTalkingProvider

        return AfricasTalkingProvider(config.at_username, config.at_api_key,
                                      base_url=config.at_base_url,
                                      sender_id=config.at_sender_id,
                                      pooled=config.at_keepalive if pooled is None else pooled)
    raise UnknownProvider(config.sms_provider)

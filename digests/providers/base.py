"""The provider boundary: what digests/ needs from any SMS gateway, and nothing more."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Protocol


class Outcome(enum.Enum):
    """What one submit did for one recipient."""

    ACCEPTED = "accepted"
    TRANSIENT = "transient"  # refused now; another attempt later may work
    PERMANENT = "permanent"  # refused for good: dead-letter it
    THROTTLED = "throttled"  # refused because we sent too fast: retry and back off


@dataclass(frozen=True)
class Submission:
    """One message to hand over."""

    outbox_id: int
    msisdn: str  # E.164
    text: str


@dataclass(frozen=True)
class SubmitResult:
    """The provider's answer for one submission."""

    outcome: Outcome
    provider_message_id: str | None = None
    reason: str = ""
    cost: str = ""


class ProviderError(RuntimeError):
    """The request as a whole failed."""


class ProviderUnavailable(ProviderError):
    """The provider could not be reached; nothing was handed over."""


class ProviderInDoubt(ProviderError):
    """The request may have reached the provider but no answer came back."""


class Provider(Protocol):
    """An SMS gateway: Africa's Talking, a console, later a local Egyptian aggregator."""

    name: str

    def submit(self, message: Submission) -> SubmitResult:
        """Hand one message over; raise ProviderUnavailable or ProviderInDoubt on I/O failure."""
        ...

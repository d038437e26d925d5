"""A development provider that logs messages instead of sending them."""

from __future__ import annotations

import itertools
import logging

from digests.providers.base import Outcome, Submission, SubmitResult

log = logging.getLogger(__name__)


class ConsoleProvider:
    """Accept every message and log it; ids are console-1, console-2, ..."""

    name = "console"

    def __init__(self) -> None:
        self._ids = itertools.count(1)
        self.sent: list[Submission] = []

    def submit(self, message: Submission) -> SubmitResult:
        """Log the message and report it accepted."""
        self.sent.append(message)
        log.info("SMS to %s: %s", message.msisdn, message.text)
        return SubmitResult(Outcome.ACCEPTED, f"console-{next(self._ids)}")

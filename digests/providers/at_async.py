"""Africa's Talking on an event loop: the SDK's exact request, on one aiohttp session.

The event-loop sender (digests/loop_sender.py) posts what ``SMSService.send`` posts for
one recipient (same URL, form fields in the same order, the SDK's headers) on
keep-alive connections, and reads the answer by the SDK's rules and ours: a 2xx
``application/json`` body is parsed by ``codes.parse_answer``; any other 2xx body is
an unexpected answer; a non-2xx answer is a transient refusal of the whole request.
tests/digests/test_at_async.py proves the two requests are the same on the wire.

Errors keep the outbox's meaning: nothing handed over (could not connect) is
``ProviderUnavailable``; sent and maybe received (timeout or disconnect after the
connection was up) is ``ProviderInDoubt``. aiohttp never resends a POST by itself.
"""

from __future__ import annotations

import json
import re
from urllib.parse import urlencode

import aiohttp

from digests.providers.base import (
    Outcome,
    ProviderError,
    ProviderInDoubt,
    ProviderUnavailable,
    Submission,
    SubmitResult,
)
from digests.providers.codes import parse_answer

TIMEOUT = (3.05, 9.05)  # the SDK's own default: connect, read
SDK_USER_AGENT = "africastalking-python/2.0.0"  # what the SDK sends (africastalking/Service.py)
_PHONE = re.compile(r"^\+\d{1,3}\d{3,}$")  # the SDK's validate_phone


def messaging_url(username: str, base_url: str = "") -> str:
    """The SDK's URL for SMSService.send: base (production, sandbox or given) + /version1."""
    if base_url:
        base = base_url.rstrip("/")
    elif username == "sandbox":
        base = "https://api.sandbox.africastalking.com"
    else:
        base = "https://api.africastalking.com"
    return base + "/version1/messaging"


class AsyncAfricasTalking:
    """One SMS per POST on a shared keep-alive aiohttp session (open it with ``start``)."""

    name = "africastalking"

    def __init__(self, username: str, api_key: str, *, base_url: str = "",
                 sender_id: str = "", timeout: tuple[float, float] = TIMEOUT,
                 connections: int = 64) -> None:
        self._username = username
        self._url = messaging_url(username, base_url)
        self._headers = {"Accept": "application/json", "User-Agent": SDK_USER_AGENT,
                         "apiKey": api_key,
                         "Content-Type": "application/x-www-form-urlencoded"}
        self._sender_id = sender_id or None
        self._timeout = aiohttp.ClientTimeout(total=None, sock_connect=timeout[0],
                                              sock_read=timeout[1])
        self._connections = connections
        self._session: aiohttp.ClientSession | None = None

    def body(self, message: Submission) -> bytes:
        """The form the SDK builds, in its order (``requests`` encodes it the same way)."""
        data: dict[str, object] = {"username": self._username, "to": message.msisdn,
                                   "message": message.text, "bulkSMSMode": 1}
        if self._sender_id is not None:
            data["from"] = self._sender_id
        return urlencode(data).encode()

    async def start(self) -> None:
        # No retries anywhere: a resend is the outbox's decision, never the transport's.
        connector = aiohttp.TCPConnector(limit=self._connections, ttl_dns_cache=300)
        self._session = aiohttp.ClientSession(connector=connector, timeout=self._timeout,
                                              skip_auto_headers=("User-Agent",),
                                              auto_decompress=True)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def submit(self, message: Submission) -> SubmitResult:
        """Send one message; map its answer as the SDK-path provider does."""
        if not _PHONE.match(message.msisdn):  # the SDK refuses before any I/O
            return SubmitResult(Outcome.PERMANENT, None,
                                f"InvalidPhoneNumber: Invalid phone number: {message.msisdn}")
        if self._session is None:
            raise RuntimeError("AsyncAfricasTalking.start() was not awaited")
        try:
            async with self._session.post(self._url, data=self.body(message),
                                          headers=self._headers) as answer:
                raw = await answer.read()
                status, kind = answer.status, answer.headers.get("Content-Type")
        except (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError) as exc:
            raise ProviderUnavailable(str(exc) or type(exc).__name__) from exc  # not handed over
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            # Sent, maybe received: in doubt, as the SDK path's ReadTimeout.
            raise ProviderInDoubt(str(exc) or type(exc).__name__) from exc
        text = raw.decode("utf-8", "replace")
        if not 200 <= status < 300:
            return SubmitResult(Outcome.TRANSIENT, None, f"http: {text[:150]}")
        if kind != "application/json":  # the SDK returns the JSON only for exactly this type
            return parse_answer(text)
        try:
            return parse_answer(json.loads(raw))
        except ValueError as exc:
            raise ProviderError(f"unexpected answer: {text[:200]}") from exc

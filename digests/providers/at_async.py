"""Africa's Talking on an event loop: the SDK's exact request, on keep-alive connections.

The event-loop sender (digests/loop_sender.py) posts what ``SMSService.send`` posts for
one recipient (same URL, form fields in the same order, the SDK's headers, and
requests' own Accept-Encoding and Connection) on keep-alive connections
(digests/providers/keepalive.py), and reads the answer by the SDK's rules and ours: a 2xx
``application/json`` body is parsed by ``codes.parse_answer``; any other 2xx body is
an unexpected answer; a non-2xx answer is a transient refusal of the whole request.
tests/digests/test_at_async.py proves the two requests are the same on the wire.

Errors keep the outbox's meaning: nothing handed over (could not connect) is
``ProviderUnavailable``; sent and maybe received (timeout or disconnect after the
connection was up) is ``ProviderInDoubt``. Nothing resends a POST by itself.
"""

from __future__ import annotations

import json
import re
from urllib.parse import quote_plus

from digests.providers.base import (
    Outcome,
    ProviderError,
    ProviderInDoubt,
    ProviderUnavailable,
    Submission,
    SubmitResult,
)
from digests.providers.codes import parse_answer
from digests.providers.keepalive import Endpoint, Lost, NotSent

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


class _Quoted(dict[int, str]):
    """``quote_plus`` of one character by its code point, kept once asked for: a form
    value is its characters' quotings joined (UTF-8 and percent-encoding work per
    character), which ``str.translate`` does in C."""

    def __missing__(self, code: int) -> str:
        quoted = quote_plus(chr(code))
        if len(self) < 4096:  # the alphabets a school's messages use; never unbounded
            self[code] = quoted
        return quoted


_QUOTED = _Quoted()


def form_value(value: str) -> bytes:
    """``quote_plus(value)`` as bytes: what ``urlencode`` writes for a form value."""
    return value.translate(_QUOTED).encode("ascii")


class AsyncAfricasTalking:
    """One SMS per POST on shared keep-alive connections (open them with ``start``)."""

    name = "africastalking"

    def __init__(self, username: str, api_key: str, *, base_url: str = "",
                 sender_id: str = "", timeout: tuple[float, float] = TIMEOUT,
                 connections: int = 64) -> None:
        self._username = username
        self._url = messaging_url(username, base_url)
        # requests' defaults (User-Agent, Accept-Encoding, Accept, Connection) as the SDK
        # overrides them, then the SDK's key and the form's type.
        self._headers = [("User-Agent", SDK_USER_AGENT), ("Accept-Encoding", "gzip, deflate"),
                         ("Accept", "application/json"), ("Connection", "keep-alive"),
                         ("apiKey", api_key),
                         ("Content-Type", "application/x-www-form-urlencoded")]
        self._sender_id = sender_id or None
        # username, to, message, bulkSMSMode[, from]: the SDK's fields in its order.
        self._form_head = f"username={form_value(username).decode()}&to=".encode()
        self._form_tail = b"&bulkSMSMode=1" + (b"&from=" + form_value(sender_id)
                                               if sender_id else b"")
        self._timeout = timeout
        self._connections = connections
        self._endpoint: Endpoint | None = None

    def body(self, message: Submission) -> bytes:
        """The form the SDK builds, in its order, byte for byte what ``requests`` encodes
        (``urlencode``): the constant fields encoded once, the number and the text per
        character from a table (tests/digests/test_at_async.py holds it to urlencode)."""
        return b"%s%s&message=%s%s" % (self._form_head, form_value(message.msisdn),
                                        form_value(message.text), self._form_tail)

    async def start(self) -> None:
        self._endpoint = Endpoint(self._url, self._headers, connect_timeout=self._timeout[0],
                                  read_timeout=self._timeout[1],
                                  connections=self._connections)

    async def close(self) -> None:
        if self._endpoint is not None:
            self._endpoint.close()
            self._endpoint = None

    async def submit(self, message: Submission) -> SubmitResult:
        """Send one message; map its answer as the SDK-path provider does."""
        if not _PHONE.match(message.msisdn):  # the SDK refuses before any I/O
            return SubmitResult(Outcome.PERMANENT, None,
                                f"InvalidPhoneNumber: Invalid phone number: {message.msisdn}")
        if self._endpoint is None:
            raise RuntimeError("AsyncAfricasTalking.start() was not awaited")
        try:
            answer = await self._endpoint.post(self.body(message))
        except NotSent as exc:
            raise ProviderUnavailable(str(exc)) from exc  # not handed over
        except Lost as exc:
            raise ProviderInDoubt(str(exc)) from exc  # sent, maybe received
        raw, status, kind = answer.body, answer.status, answer.headers.get("content-type")
        text = raw.decode("utf-8", "replace")
        if not 200 <= status < 300:
            return SubmitResult(Outcome.TRANSIENT, None, f"http: {text[:150]}")
        if kind != "application/json":  # the SDK returns the JSON only for exactly this type
            return parse_answer(text)
        try:
            return parse_answer(json.loads(raw))
        except ValueError as exc:
            raise ProviderError(f"unexpected answer: {text[:200]}") from exc

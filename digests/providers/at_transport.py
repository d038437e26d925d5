"""A keep-alive POST for the Africa's Talking SDK on urllib3, requests' own transport.

The SDK calls ``requests.post`` per message: a new TCP (and, in production, TLS)
connection each time, plus requests' per-call work (environment proxy lookup,
hooks, cookie handling, runtime protocol checks). Measured on loopback: ~1.0 ms
of client CPU a message as shipped, 0.66 ms with a keep-alive requests.Session,
0.30 ms on a urllib3 pool. The SDK still builds every request and reads every
answer; only its private POST helper is replaced, and urllib3's errors are raised
as the requests errors the provider already classifies.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

import requests
import urllib3
from urllib3.exceptions import (
    ConnectTimeoutError,
    HTTPError,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
)


class _Answer:
    """The part of requests.Response the SDK reads: status_code, headers, json(), text."""

    def __init__(self, status: int, headers: Any, body: bytes) -> None:
        self.status_code = status
        self.headers = {k.lower(): v for k, v in headers.items()}
        self._body = body

    @property
    def text(self) -> str:
        return self._body.decode("utf-8", "replace")

    def json(self) -> Any:
        return json.loads(self._body)


class PooledPost:
    """Replace ``Service.__make_post_request``: same arguments, keep-alive connections."""

    def __init__(self, maxsize: int = 64) -> None:
        # No retries: a resend is the outbox's decision, never the transport's.
        self._pool = urllib3.PoolManager(maxsize=maxsize, block=False, retries=False)

    def __call__(self, url: str, headers: Any, data: Any, params: Any, callback: Any = None,
                 timeout: Any = (3.05, 9.05)) -> Any:
        if params:
            url = f"{url}?{urlencode(params)}"
        connect, read = timeout if isinstance(timeout, tuple) else (timeout, timeout)
        sent = dict(headers or {}, **{"Content-Type": "application/x-www-form-urlencoded"})
        try:
            raw = self._pool.request("POST", url, body=urlencode(data or {}), headers=sent,
                                     timeout=urllib3.Timeout(connect=connect, read=read))
        except (ConnectTimeoutError, NewConnectionError) as exc:
            raise requests.exceptions.ConnectionError(str(exc)) from exc  # not handed over
        except (ReadTimeoutError, ProtocolError) as exc:
            # Sent, maybe received: in doubt, exactly like requests' ReadTimeout.
            raise requests.exceptions.ReadTimeout(str(exc)) from exc
        except HTTPError as exc:
            raise requests.exceptions.ConnectionError(str(exc)) from exc
        answer = _Answer(raw.status, raw.headers, raw.data)
        return answer if not callback else callback(answer)

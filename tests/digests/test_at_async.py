"""The event-loop transport posts the SDK's own request and reads answers by the same rules."""

from __future__ import annotations

import asyncio
import http.server
import json
import socket
import threading
from collections.abc import Iterator
from urllib.parse import parse_qsl, urlencode

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from digests.providers.africastalking import AfricasTalkingProvider
from digests.providers.at_async import AsyncAfricasTalking, messaging_url
from digests.providers.base import (
    Outcome,
    ProviderInDoubt,
    ProviderUnavailable,
    Submission,
    SubmitResult,
)
from shaping.policy import OperatorCaps
from simulator.network import Faults, Network
from simulator.server import Simulator
from tests.support.servers import free_port

# What a request carries that the SDK (not the HTTP library) decides.
SDK_HEADERS = ("accept", "user-agent", "apikey", "content-type")


def via_loop(at: AsyncAfricasTalking, messages: list[Submission]) -> list[SubmitResult]:
    async def go() -> list[SubmitResult]:
        await at.start()
        try:
            return [await at.submit(m) for m in messages]
        finally:
            await at.close()

    return asyncio.run(go())


class Capture:
    """A one-thread HTTP server that keeps each request and answers one given answer."""

    def __init__(self, status: int = 201, body: bytes = b"", kind: str = "application/json"):
        self.requests: list[dict[str, object]] = []
        seen = self.requests

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # noqa: N802
                raw = self.rfile.read(int(self.headers["Content-Length"]))
                seen.append({"method": "POST", "path": self.path, "body": raw,
                             "headers": {k.lower(): v for k, v in self.headers.items()}})
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def answer(code: int, message_id: str = "ATXid_1") -> bytes:
    return json.dumps({"SMSMessageData": {"Message": "Sent to 1/1", "Recipients": [
        {"statusCode": code, "number": "+201001234567", "status": "x", "cost": "EGP 0.25",
         "messageId": message_id}]}}).encode()


@pytest.fixture
def capture() -> Iterator[Capture]:
    server = Capture(body=answer(101))
    yield server
    server.close()


@pytest.mark.parametrize("sender_id", ["", "HUDOOR"])
@pytest.mark.parametrize("pooled", [False, True])
def test_the_same_request_as_the_sdk(capture: Capture, pooled: bool, sender_id: str) -> None:
    message = Submission(7, "+201001234567", "حضور أحمد اليوم & غداً 100%")
    sdk = AfricasTalkingProvider("hudoor", "secret-key", base_url=capture.url,
                                 sender_id=sender_id, pooled=pooled)
    by_sdk = sdk.submit(message)
    by_loop = via_loop(AsyncAfricasTalking("hudoor", "secret-key", base_url=capture.url,
                                           sender_id=sender_id), [message])[0]
    first, second = capture.requests
    assert first["path"] == second["path"] == "/version1/messaging"
    assert first["body"] == second["body"]  # the same fields, the same order, the same encoding
    form = dict(parse_qsl(first["body"].decode()))  # type: ignore[union-attr]
    expected = {"username": "hudoor", "to": message.msisdn, "message": message.text,
                "bulkSMSMode": "1"} | ({"from": sender_id} if sender_id else {})
    assert form == expected
    for name in SDK_HEADERS:
        assert first["headers"][name] == second["headers"][name], name  # type: ignore[index]
    assert second["headers"]["apikey"] == "secret-key"  # type: ignore[index]
    if not pooled:  # the SDK as shipped, on requests: its whole head, names and values
        for name in ("host", "connection", "content-length", "accept-encoding"):
            assert first["headers"][name] == second["headers"][name], name  # type: ignore[index]
    assert by_sdk == by_loop == SubmitResult(Outcome.ACCEPTED, "ATXid_1", "", "EGP 0.25")


@settings(max_examples=300, deadline=None)
@given(username=st.text(), msisdn=st.text(), text=st.text(), sender_id=st.text())
def test_the_form_is_urlencodes_byte_for_byte(username: str, msisdn: str, text: str,
                                             sender_id: str) -> None:
    """The body is built from per-character quotings (no urlencode a message); any
    text, any alphabet, any field it is urlencode's (what requests posts for the SDK)."""
    fields: dict[str, object] = {"username": username, "to": msisdn, "message": text,
                                 "bulkSMSMode": 1}
    if sender_id:
        fields["from"] = sender_id
    try:
        expected = urlencode(fields).encode()
    except UnicodeEncodeError:  # a lone surrogate: neither can encode it
        with pytest.raises(UnicodeEncodeError):
            AsyncAfricasTalking(username, "k", sender_id=sender_id).body(
                Submission(1, msisdn, text))
        return
    at = AsyncAfricasTalking(username, "k", sender_id=sender_id)
    assert at.body(Submission(1, msisdn, text)) == expected
    assert at.body(Submission(2, msisdn, text)) == expected  # the remembered quotings too


def test_the_sdks_urls() -> None:
    assert messaging_url("hudoor") == "https://api.africastalking.com/version1/messaging"
    assert messaging_url("sandbox") == "https://api.sandbox.africastalking.com/version1/messaging"
    assert messaging_url("x", "http://sim:8/") == "http://sim:8/version1/messaging"


@pytest.mark.parametrize(("status", "body", "kind"), [
    (201, answer(403), "application/json"),  # refused for good
    (201, answer(502), "application/json"),  # throttled
    (201, answer(405, "None"), "application/json"),  # transient, no message id
    (201, json.dumps({"SMSMessageData": {"Message": "x", "Recipients": []}}).encode(),
     "application/json"),
    (401, b"The supplied authentication is invalid", "text/plain"),  # the request refused
    (500, b"boom", "text/html"),
])
def test_answers_are_read_by_the_same_rules(status: int, body: bytes, kind: str) -> None:
    server = Capture(status, body, kind)
    try:
        message = Submission(1, "+201001234567", "x")
        by_sdk = AfricasTalkingProvider("hudoor", "k", base_url=server.url,
                                        pooled=True).submit(message)
        by_loop = via_loop(AsyncAfricasTalking("hudoor", "k", base_url=server.url), [message])
    finally:
        server.close()
    assert by_loop == [by_sdk]


def test_an_invalid_number_is_refused_before_any_request(capture: Capture) -> None:
    message = Submission(1, "01001234567", "x")
    by_sdk = AfricasTalkingProvider("hudoor", "k", base_url=capture.url).submit(message)
    by_loop = via_loop(AsyncAfricasTalking("hudoor", "k", base_url=capture.url), [message])
    assert by_loop == [by_sdk] and by_sdk.outcome is Outcome.PERMANENT
    assert capture.requests == []


def test_the_operator_cap_against_the_simulator() -> None:
    network = Network(OperatorCaps.parse("vodafone=5"), Faults(), seed=3)
    with Simulator(network, "http://127.0.0.1:9/unused").start() as sim:
        results = via_loop(AsyncAfricasTalking("hudoor", "key", base_url=sim.url),
                           [Submission(i, f"+2010{i:08d}", "حضور") for i in range(8)])
        stats = sim.network.stats()
    outcomes = [r.outcome for r in results]
    assert outcomes[:5] == [Outcome.ACCEPTED] * 5 and all(r.provider_message_id
                                                          for r in results[:5])
    assert stats["operators"]["vodafone"]["max_window"] <= 5
    assert stats["throttled"] == outcomes.count(Outcome.THROTTLED)


def test_unreachable_is_not_handed_over() -> None:
    at = AsyncAfricasTalking("hudoor", "key", base_url=f"http://127.0.0.1:{free_port()}")
    with pytest.raises(ProviderUnavailable):
        via_loop(at, [Submission(1, "+201001234567", "x")])


def test_no_answer_in_time_is_in_doubt() -> None:
    """Connected and sent, but no answer: the provider may have it; never resend blindly."""
    with socket.create_server(("127.0.0.1", 0)) as silent:  # accepts, never answers
        port = silent.getsockname()[1]
        at = AsyncAfricasTalking("hudoor", "key", base_url=f"http://127.0.0.1:{port}",
                                 timeout=(1.0, 0.3))
        with pytest.raises(ProviderInDoubt):
            via_loop(at, [Submission(1, "+201001234567", "x")])


def test_a_dropped_connection_after_sending_is_in_doubt() -> None:
    """The request went out and the connection closed without an answer."""
    with socket.create_server(("127.0.0.1", 0)) as rude:
        port = rude.getsockname()[1]

        def drop() -> None:
            conn, _ = rude.accept()
            conn.recv(65536)
            conn.close()

        threading.Thread(target=drop, daemon=True).start()
        at = AsyncAfricasTalking("hudoor", "key", base_url=f"http://127.0.0.1:{port}")
        with pytest.raises(ProviderInDoubt):
            via_loop(at, [Submission(1, "+201001234567", "x")])


def test_a_chunked_gzip_answer_on_a_kept_connection() -> None:
    """Chunked and compressed answers read right, and the connection serves the next one."""
    import gzip

    body = gzip.compress(answer(101))
    chunked = b"%x\r\n%s\r\n%x\r\n%s\r\n0\r\n\r\n" % (7, body[:7], len(body) - 7, body[7:])
    reply = (b"HTTP/1.1 201 Created\r\nContent-Type: application/json\r\n"
             b"Content-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked)
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        accepted: list[int] = []

        def serve() -> None:
            conn, _ = server.accept()
            accepted.append(1)
            with conn:
                for _ in range(2):
                    got = b""
                    while b"\r\n\r\n" not in got or not got.endswith(b"bulkSMSMode=1"):
                        got += conn.recv(65536)
                    for i in range(0, len(reply), 5):  # in dribbles
                        conn.sendall(reply[i:i + 5])

        threading.Thread(target=serve, daemon=True).start()
        results = via_loop(AsyncAfricasTalking("hudoor", "k", base_url=f"http://127.0.0.1:{port}"),
                           [Submission(1, "+201001234567", "x"), Submission(2, "+201001234568", "y")])
    assert results == [SubmitResult(Outcome.ACCEPTED, "ATXid_1", "", "EGP 0.25")] * 2
    assert accepted == [1]  # one connection for both

"""Every /at/* callback: its own token, the allow-list, a body limit, the proxy rule."""

from __future__ import annotations

import io

import pytest

from gateway.app import create_app

USSD = {"sessionId": "s1", "serviceCode": "*384*22#", "phoneNumber": "+201001234567", "text": ""}
DLR = {"id": "ATXid_none", "status": "Success", "phoneNumber": "+201001234567"}
INBOUND = {"from": "+201001234567", "text": "HELP", "id": "in-1"}
CALLS = [("/at/ussd", "test-ussd-token", USSD), ("/at/delivery-reports", "test-dlr-token", DLR),
         ("/at/inbound", "test-inbound-token", INBOUND)]


def _app(runtime, **overrides):  # type: ignore[no-untyped-def]
    runtime.config = runtime.config.with_overrides(**overrides)
    return create_app({"TESTING": True, "HUDOOR_RUNTIME": runtime}).test_client()


@pytest.mark.parametrize(("path", "token", "form"), CALLS)
def test_each_callback_answers_only_its_own_token(client, path: str, token: str, form) -> None:  # type: ignore[no-untyped-def]
    assert client.post(f"{path}?token={token}", data=form).status_code in (200, 400)
    for other in {t for _p, t, _f in CALLS} - {token}:
        assert client.post(f"{path}?token={other}", data=form).status_code == 403
    assert client.post(path, data=form).status_code == 403
    # The header keeps the token out of access logs; it is preferred when both are sent.
    assert client.post(path, data=form, headers={"X-Hudoor-Token": token}).status_code in (200, 400)


@pytest.mark.parametrize(("path", "token", "form"), CALLS)
def test_an_empty_expected_token_matches_nothing(runtime, path: str, token: str, form) -> None:  # type: ignore[no-untyped-def]
    client = _app(runtime, ussd_callback_token="", dlr_callback_token="", inbound_callback_token="")
    assert client.post(path, data=form).status_code == 403
    assert client.post(f"{path}?token=", data=form).status_code == 403
    assert client.post(path, data=form, headers={"X-Hudoor-Token": ""}).status_code == 403
    assert runtime.redis.dbsize() == 0


def test_an_unknown_callback_is_refused_by_default(client) -> None:  # type: ignore[no-untyped-def]
    for token in ("test-ussd-token", "test-dlr-token", ""):
        assert client.post(f"/at/new-thing?token={token}", data={}).status_code == 403


@pytest.mark.parametrize(("path", "token", "form"), CALLS)
def test_the_allow_list_guards_every_callback(runtime, path: str, token: str, form) -> None:  # type: ignore[no-untyped-def]
    client = _app(runtime, callback_ip_allowlist="192.0.2.0/24, 2001:db8::/32")
    url = f"{path}?token={token}"
    assert client.post(url, data=form, environ_base={"REMOTE_ADDR": "203.0.113.9"}).status_code == 403
    assert client.post(url, data=form, environ_base={"REMOTE_ADDR": "192.0.2.7"}).status_code in (200, 400)
    assert client.post(url, data=form, environ_base={"REMOTE_ADDR": "2001:db8::1"}).status_code in (200, 400)
    # Without trusted proxies a forwarded-for header is the client's own word: ignored.
    spoofed = client.post(url, data=form, headers={"X-Forwarded-For": "192.0.2.7"},
                          environ_base={"REMOTE_ADDR": "203.0.113.9"})
    assert spoofed.status_code == 403


def test_behind_a_trusted_proxy_the_forwarded_address_is_checked(runtime) -> None:  # type: ignore[no-untyped-def]
    client = _app(runtime, callback_ip_allowlist="192.0.2.0/24", trusted_proxies=1)
    url, proxy = "/at/inbound?token=test-inbound-token", {"REMOTE_ADDR": "10.0.0.2"}

    def post(forwarded: str) -> int:
        return client.post(url, data=INBOUND, headers={"X-Forwarded-For": forwarded},
                           environ_base=proxy).status_code

    assert post("192.0.2.7") == 200
    assert post("203.0.113.9") == 403
    # The proxy appends the real peer on the right; what the client wrote on the left is ignored.
    assert post("192.0.2.7, 203.0.113.9") == 403
    assert client.post(url, data=INBOUND, environ_base=proxy).status_code == 403  # the proxy itself


@pytest.mark.parametrize(("path", "token", "form"), CALLS)
def test_bodies_over_the_limit_are_refused_chunked_or_multipart(runtime, path: str, token: str, form) -> None:  # type: ignore[no-untyped-def]
    client = _app(runtime, max_body_bytes=4096)
    url = f"{path}?token={token}"
    big = {**form, "text": "1*" * 10_000}
    multipart = client.post(url, data=big, content_type="multipart/form-data")
    assert multipart.status_code == 413
    body = "&".join(f"{k}={v}" for k, v in big.items()).encode()
    chunked = client.post(url, input_stream=io.BytesIO(body),
                          content_type="application/x-www-form-urlencoded",
                          headers={"Transfer-Encoding": "chunked"},
                          environ_overrides={"wsgi.input_terminated": True})  # as gunicorn sets
    assert chunked.status_code == 413
    assert runtime.redis.dbsize() == 0

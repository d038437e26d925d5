"""USSD hops answered below Flask (decision 0036): the same answers, none of Flask's hooks."""

from __future__ import annotations

import io
from urllib.parse import parse_qsl, urlencode

from flask import abort
from hypothesis import given
from hypothesis import strategies as st

from gateway.app import create_app
from gateway.ussd_wsgi import fields
from tests.ussd.phone import Phone

URL = "/at/ussd?token=test-ussd-token"
HOP = {"sessionId": "w1", "serviceCode": "*384*22#", "phoneNumber": "+201001234567", "text": ""}


def test_a_hop_runs_none_of_flasks_request_hooks(runtime) -> None:  # type: ignore[no-untyped-def]
    app = create_app({"TESTING": True, "HUDOOR_RUNTIME": runtime})
    hooks: list[str] = []

    @app.before_request
    def _refuse_everything() -> None:
        hooks.append("ran")
        abort(503)

    client = app.test_client()
    assert Phone(client).dial().startswith("CON ")  # urlencoded: answered below Flask
    assert hooks == []
    assert client.get("/healthz").status_code == 503  # everything else still goes through Flask
    multipart = client.post(URL, data=HOP, content_type="multipart/form-data")
    assert multipart.status_code == 503 and hooks == ["ran", "ran"]  # the Flask view's path


def test_the_hop_path_answers_as_the_view_did(client) -> None:  # type: ignore[no-untyped-def]
    form = "&".join(f"{k}={v}" for k, v in HOP.items())
    # A body with no length and no end the server vouches for is read as empty, as werkzeug does.
    unterminated = client.post(URL, input_stream=io.BytesIO(form.encode()),
                               content_type="application/x-www-form-urlencoded",
                               headers={"Transfer-Encoding": "chunked"},
                               environ_overrides={"wsgi.input_terminated": False})
    assert unterminated.status_code == 400
    assert unterminated.get_data(as_text=True).startswith("missing fields: sessionId")
    terminated = client.post(URL, input_stream=io.BytesIO(form.encode()),
                             content_type="application/x-www-form-urlencoded; charset=utf-8",
                             headers={"Transfer-Encoding": "chunked"},
                             environ_overrides={"wsgi.input_terminated": True})
    assert terminated.status_code == 200 and terminated.get_data(as_text=True).startswith("CON ")
    assert terminated.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert client.get(URL).status_code == 405  # only POST is a hop; the rest is Flask's answer
    assert client.post(URL.replace("ussd?", "ussd/?"), data=HOP).status_code == 403  # no such callback


def test_behind_a_trusted_proxy_the_hop_checks_the_forwarded_address(runtime) -> None:  # type: ignore[no-untyped-def]
    runtime.config = runtime.config.with_overrides(callback_ip_allowlist="192.0.2.0/24", trusted_proxies=1)
    client = create_app({"TESTING": True, "HUDOOR_RUNTIME": runtime}).test_client()
    proxy = {"REMOTE_ADDR": "10.0.0.2"}

    def post(forwarded: str) -> int:
        return client.post(URL, data=HOP, headers={"X-Forwarded-For": forwarded},
                           environ_base=proxy).status_code

    assert post("192.0.2.7") == 200
    assert post("203.0.113.9") == 403
    assert post("192.0.2.7, 203.0.113.9") == 403
    assert client.post(URL, data=HOP, environ_base=proxy).status_code == 403  # the proxy itself


_FORMISH = st.lists(st.sampled_from(list("ab=&%+*#2AFfz \u0627\x00") + ["%2B", "%D8%A7", "%E2", "%%"]),
                    max_size=30).map("".join)


@given(_FORMISH | st.builds(urlencode, st.dictionaries(st.text(max_size=8), st.text(max_size=12), max_size=5)))
def test_the_hop_form_is_read_as_parse_qsl_reads_it(text: str) -> None:
    """The hop's own form reader skips parse_qsl's per-field calls; what it reads must not
    differ: the same pairs in order, the last of a repeated name kept in the form."""
    assert list(fields(text)) == parse_qsl(text, keep_blank_values=True)
    assert dict(fields(text)) == dict(parse_qsl(text, keep_blank_values=True))

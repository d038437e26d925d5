"""The ceiling bench's nginx stand-in answers as Africa's Talking does, by the sender's rules.

The answer template and the config are checked in pure Python (no nginx needed); one
test runs the real nginx with the sender's own clients when nginx is installed, and
skips, saying so, when it is not (the bench installs it; the tests never do).
"""

from __future__ import annotations

import asyncio
import json
import re
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bench.nginx_standin import (
    ANSWER,
    LOG_FORMAT,
    MESSAGE_ID_PREFIX,
    NGINX,
    NginxStandIn,
    answer_for,
    config_text,
    read_log,
)
from digests.providers.africastalking import AfricasTalkingProvider
from digests.providers.at_async import AsyncAfricasTalking
from digests.providers.base import Outcome, Submission
from digests.providers.codes import parse_answer
from tests.support.servers import free_port

REQUEST_ID = "0123456789abcdef0123456789abcdef"  # nginx's $request_id: 32 hex digits


def test_the_answer_is_one_accepted_recipient_with_the_request_s_own_id() -> None:
    result = parse_answer(json.loads(answer_for(REQUEST_ID)))
    assert result.outcome is Outcome.ACCEPTED
    assert result.provider_message_id == MESSAGE_ID_PREFIX + REQUEST_ID
    assert result.cost == "EGP 0.2000"


def test_the_template_names_no_variable_but_the_request_id_and_fits_a_quoted_string() -> None:
    # Any other $name would be filled in by nginx (or refused at start); a quote or a
    # backslash would end or change nginx's single-quoted string.
    assert re.findall(r"\$\w+", ANSWER) == ["$request_id"]
    assert "'" not in ANSWER and "\\" not in ANSWER


def test_the_config_answers_json_201_and_keeps_every_path_in_its_folder(tmp_path: Path) -> None:
    text = config_text(tmp_path, 8123, workers=2)
    assert "listen 127.0.0.1:8123;" in text
    assert "location = /version1/messaging {" in text
    # The sender reads the JSON only for exactly this Content-Type.
    assert "default_type application/json;" in text
    assert f"return 201 '{ANSWER}';" in text
    assert "keepalive_requests 1000000;" in text
    assert "worker_processes 2;" in text
    assert f"access_log {tmp_path}/access.log counted" in text
    assert f"log_format counted '{LOG_FORMAT}';" in text
    paths = re.findall(r"(?m)^\s*(?:pid|error_log|access_log|\w+_temp_path) (\S+?);?(?:\s|$)",
                       text)
    assert len(paths) == 8  # pid, error log, access log, five temp paths
    assert all(p.startswith(str(tmp_path)) for p in paths), paths
    assert "user " not in text  # only as root, where nginx would drop to `nobody`


def test_the_config_leaves_out_temp_paths_of_modules_the_build_lacks(tmp_path: Path) -> None:
    text = config_text(tmp_path, 8123, left_out=frozenset({"http_scgi_module",
                                                          "http_uwsgi_module"}),
                       run_as=("bench", "bench"))
    assert "scgi_temp_path" not in text and "uwsgi_temp_path" not in text
    assert "proxy_temp_path" in text and "client_body_temp_path" in text
    assert text.startswith("user bench bench;\n")


lines = st.lists(st.tuples(st.integers(1_700_000_000_000, 1_800_000_000_000),
                           st.sampled_from(["201", "404", "405"]),
                           st.sampled_from(["POST", "GET"]),
                           st.sampled_from(["a" * 32, "b" * 32, "c" * 32, "d" * 32])),
                 max_size=30)


@given(lines)
def test_the_log_count_is_what_was_answered_201_to_a_post(tmp_path_factory, rows) -> None:
    log = tmp_path_factory.mktemp("log") / "access.log"
    log.write_text("".join(f"{ms / 1000:.3f} {status} {method} {rid}\n"
                           for ms, status, method, rid in rows))
    answered = read_log(log)
    ok = [(ms, rid) for ms, status, method, rid in rows if status == "201" and method == "POST"]
    assert answered.accepted == len(ok)
    assert answered.other == len(rows) - len(ok)
    assert answered.distinct_ids == len({rid for _, rid in ok})
    assert answered.steady >= 0
    if len(ok) > 1 and max(ms for ms, _ in ok) > min(ms for ms, _ in ok):
        span = (max(ms for ms, _ in ok) - min(ms for ms, _ in ok)) / 1000
        assert answered.steady == pytest.approx((len(ok) - 1) / span, rel=1e-3)


@pytest.mark.skipif(not Path(NGINX).exists(),
                    reason=f"nginx is not installed ({NGINX}); bench/sms_bench.py installs it")
def test_real_nginx_accepts_the_sender_s_requests_once_each_with_distinct_ids() -> None:
    standin = NginxStandIn(free_port())
    messages = [Submission(i, f"+2010{i:08d}", f"حضور {i}") for i in range(20)]
    try:
        at = AsyncAfricasTalking("hudoor", "key", base_url=standin.url, connections=4)

        async def send() -> list:
            await at.start()
            try:
                return list(await asyncio.gather(*(at.submit(m) for m in messages)))
            finally:
                await at.close()

        results = asyncio.run(send())
        # The SDK as shipped (requests) reads the same answer the same way.
        results.append(AfricasTalkingProvider("hudoor", "key", base_url=standin.url)
                       .submit(messages[0]))
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(standin.url + "/version1/messaging", timeout=10)
        assert refused.value.code == 405
        cpu = standin.cpu_seconds()
    finally:
        answered = standin.stop()
    assert {r.outcome for r in results} == {Outcome.ACCEPTED}
    ids = {r.provider_message_id for r in results}
    assert len(ids) == 21 and all(i and i.startswith(MESSAGE_ID_PREFIX) for i in ids)
    assert (answered.accepted, answered.distinct_ids, answered.other) == (21, 21, 1)
    assert cpu >= 0

"""POST /at/delivery-reports: token, validation, duplicates, monotonic transitions."""

from __future__ import annotations

from core.models import utcnow
from digests import outbox
from digests.outbox import Draft, RetryPolicy
from digests.providers.base import Outcome, SubmitResult
from shaping.operators import Operator
from shaping.policy import Priority
from sms_support import DAY, states

URL = "/at/delivery-reports?token=test-dlr-token"


def one_sent(runtime) -> str:  # type: ignore[no-untyped-def]
    now = utcnow()
    with runtime.sessions() as s, s.begin():
        outbox.enqueue(s, [Draft("daily_digest", DAY, "+201001234567", "ar", "حضور")], now)
        [row] = outbox.claim(s, Operator.VODAFONE, Priority.DIGEST, 1, now)
        outbox.record_result(s, row, SubmitResult(Outcome.ACCEPTED, "ATXid_1"), RetryPolicy(), now)
    return "ATXid_1"


def test_token_is_required(client) -> None:  # type: ignore[no-untyped-def]
    form = {"id": "x", "status": "Success", "phoneNumber": "+201001234567"}
    assert client.post("/at/delivery-reports", data=form).status_code == 403
    assert client.post("/at/delivery-reports?token=wrong", data=form).status_code == 403


def test_malformed_reports_are_refused(client) -> None:  # type: ignore[no-untyped-def]
    assert client.post(URL, data={"id": "x"}).status_code == 400
    bad = {"id": "x", "status": "Teleported", "phoneNumber": "+201001234567"}
    assert client.post(URL, data=bad).status_code == 400


def test_duplicates_dropped_and_late_sent_does_not_rewind(runtime, client) -> None:  # type: ignore[no-untyped-def]
    message_id = one_sent(runtime)
    base = {"id": message_id, "phoneNumber": "+201001234567", "networkCode": "60202"}
    answers = [client.post(URL, data=dict(base, status=status)).get_json()["applied"]
               for status in ("Success", "Success", "Sent", "Buffered")]
    assert answers == ["moved", "duplicate", "no_change", "no_change"]
    assert states(runtime) == {"delivered": 1}


def test_network_code_corrects_the_operator(runtime, client) -> None:  # type: ignore[no-untyped-def]
    message_id = one_sent(runtime)
    form = {"id": message_id, "status": "Success", "phoneNumber": "+201001234567",
            "networkCode": "60201"}
    assert client.post(URL, data=form).status_code == 200
    from digests.models import OutboxMessage

    with runtime.sessions() as s:
        assert s.query(OutboxMessage).one().operator == "orange"

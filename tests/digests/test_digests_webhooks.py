"""POST /at/delivery-reports: token, validation, duplicates, monotonic transitions."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

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


def test_absurd_fields_are_refused_or_cut_and_the_status_is_kept(runtime, client) -> None:  # type: ignore[no-untyped-def]
    from digests.models import DeliveryReport

    message_id = one_sent(runtime)
    base = {"id": message_id, "phoneNumber": "+201001234567"}
    huge = client.post(URL, data=dict(base, status="Success", retryCount="9" * 20))
    assert huge.status_code == 400 and "retryCount" in huge.get_json()["error"]
    for count in ("-1", "1e3", "٣", " 1_0 "):  # not a count: refused alike, never a 5xx
        assert client.post(URL, data=dict(base, status="Success", retryCount=count)).status_code == 400
    assert states(runtime) == {"sent": 1}  # a refused report changed nothing
    odd_network = client.post(URL, data=dict(base, status="Sent", networkCode="6" * 11))
    assert odd_network.get_json() == {"applied": "no_change"}  # the code is dropped, not the report
    long_reason = client.post(URL, data=dict(base, status="Rejected", failureReason="R" * 65))
    assert long_reason.get_json() == {"applied": "moved"}
    assert states(runtime) == {"dead_lettered": 1}  # the failure counts, its reason cut to fit
    with runtime.sessions() as s:
        stored = s.query(DeliveryReport).order_by(DeliveryReport.id).all()
    assert [r.network_code for r in stored] == [None, None]
    assert stored[-1].failure_reason == "R" * 64


_field = st.one_of(
    st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=80),
    st.integers(-10**25, 10**25).map(str),
    st.sampled_from(["", "0", "60202", "Success", "Failed", "Sent", "DeliveryFailure", "ATXid_1",
                     "+201001234567", "\x00", " ", "9" * 300]),
)


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(form=st.fixed_dictionaries({}, optional={name: _field for name in (
    "id", "status", "phoneNumber", "networkCode", "failureReason", "retryCount")}))
def test_no_delivery_report_gets_a_5xx(client, form) -> None:  # type: ignore[no-untyped-def]
    resp = client.post(URL, data=form)
    assert resp.status_code in (200, 400), (resp.status_code, form)
    assert ("applied" if resp.status_code == 200 else "error") in resp.get_json()

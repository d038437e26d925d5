"""/status's SMS section: outbox by state, DLQ, per-operator rate vs cap and throttle, ratio, oldest."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import update

from digests import outbox
from digests.models import OutboxMessage
from digests.outbox import Draft
from digests.services import build_shaper
from shaping.operators import Operator
from tests.conftest import SCHOOL_MORNING

DAY = date(2026, 11, 29)


def _draft(msisdn: str) -> Draft:
    return Draft("daily_digest", DAY, msisdn, "ar", "حضور")


def test_status_shows_the_sms_pipeline(runtime, client) -> None:  # type: ignore[no-untyped-def]
    now = SCHOOL_MORNING  # the runtime's clock
    with runtime.sessions() as s, s.begin():
        outbox.enqueue(s, [_draft(f"+2010000000{i:02d}") for i in range(6)]
                       + [_draft("+201200000001")], now - timedelta(minutes=5))
        s.execute(update(OutboxMessage).where(OutboxMessage.id.in_([1, 2, 3]))
                  .values(state="delivered", submitted_at=now - timedelta(seconds=30),
                          finished_at=now - timedelta(minutes=1)))
        s.execute(update(OutboxMessage).where(OutboxMessage.id == 4)
                  .values(state="dead_lettered", submitted_at=now - timedelta(seconds=20),
                          finished_at=now - timedelta(minutes=1), failure_reason="InvalidPhoneNumber"))
        s.execute(update(OutboxMessage).where(OutboxMessage.id == 7)
                  .values(next_attempt_at=now + timedelta(hours=6)))
    build_shaper(runtime).report_throttle(Operator.ORANGE)

    sms = client.get("/status.json").get_json()["sms"]
    assert sms["outbox"] == {"queued": 3, "submitted": 0, "sent": 0, "delivered": 3, "failed": 0,
                             "dead_lettered": 1, "withdrawn": 0}
    assert sms["dlq"] == 1
    assert sms["delivery_ratio_24h"] == 0.75 and sms["finished_24h"] == 4
    assert sms["oldest_waiting_age_seconds"] == 300.0
    assert sms["next_due_at"] is None  # rows 5 and 6 are due now
    vodafone, orange = sms["operators"]["vodafone"], sms["operators"]["orange"]
    assert vodafone["sent_per_second"] == round(4 / 60, 2) and vodafone["cap_per_second"] == 200
    assert vodafone["throttle"] == "at cap"
    assert orange["throttle"] == "backed off" and orange["allowed_per_second"] < 150

    html = client.get("/status").get_data(as_text=True)
    assert "<h2>SMS</h2>" in html and "dead lettered" in html
    assert "Dead-letter queue: <span class=\"warn\">1</span>" in html
    assert "75.0 %" in html and "backed off" in html


def test_status_sms_section_with_nothing_sent(client) -> None:  # type: ignore[no-untyped-def]
    sms = client.get("/status.json").get_json()["sms"]
    assert sms["dlq"] == 0 and sms["delivery_ratio_24h"] is None
    assert sms["oldest_waiting_age_seconds"] is None
    html = client.get("/status").get_data(as_text=True)
    assert "Oldest waiting message: none." in html

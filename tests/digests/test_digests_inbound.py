"""POST /at/inbound: STOP / START / HELP in Arabic and English, once per provider id."""

from __future__ import annotations

import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from sqlalchemy import select

from core.models import AuditEntry, Contact, Person, School, utcnow
from digests.inbound import Keyword, parse
from digests.models import InboundMessage, OutboxMessage
from tests.support.consent import consent_all

URL = "/at/inbound?token=test-inbound-token"
PARENT = "+201001234567"


def test_keywords() -> None:
    assert parse("STOP") is Keyword.STOP
    assert parse("  إيقاف ") is Keyword.STOP
    assert parse("ايقاف الرسائل") is Keyword.STOP
    assert parse("start") is Keyword.START
    assert parse("مساعدة") is Keyword.HELP
    assert parse("DATA") is Keyword.DATA and parse("بياناتي من فضلك") is Keyword.DATA
    assert parse("hello") is Keyword.UNKNOWN
    assert parse("") is Keyword.UNKNOWN


def guardian(runtime) -> None:  # type: ignore[no-untyped-def]
    with runtime.sessions() as s, s.begin():
        school = School(upstream_id="S", name="م", governorate="ج")
        s.add(school)
        s.flush()
        kid = Person(upstream_id="K", school_id=school.id, role="student", display_name="مريم",
                     name_key="مريم")
        s.add(kid)
        s.flush()
        s.add(Contact(person_id=kid.id, msisdn=PARENT, kind="guardian"))
        consent_all(s)


def test_stop_then_start_then_help(runtime, client) -> None:  # type: ignore[no-untyped-def]
    guardian(runtime)
    assert client.post("/at/inbound", data={"from": PARENT, "text": "STOP"}).status_code == 403
    answer = client.post(URL, data={"from": "201001234567", "text": "إيقاف", "id": "1"})
    assert answer.get_json() == {"keyword": "stop"}
    with runtime.sessions() as s:
        assert s.scalars(select(Contact)).one().opted_out_at is not None
    client.post(URL, data={"from": PARENT, "text": "start"})
    with runtime.sessions() as s:
        assert s.scalars(select(Contact)).one().opted_out_at is None
    for _ in range(2):  # one help reply a day, however often asked
        client.post(URL, data={"from": PARENT, "text": "مساعدة"})
    with runtime.sessions() as s:
        [reply] = s.scalars(select(OutboxMessage)).all()
    assert reply.kind == "help_reply" and reply.priority == 0 and reply.segments == 1
    assert reply.text.startswith("حضور: رسالة يومية")  # the Arabic catalog entry
    assert client.post(URL, data={"from": "garbage", "text": "STOP"}).status_code == 400


def audit_actions(runtime) -> list[str]:  # type: ignore[no-untyped-def]
    with runtime.sessions() as s:
        return list(s.scalars(select(AuditEntry.action).order_by(AuditEntry.seq)))


def test_a_retried_stop_changes_nothing_and_is_not_audited_twice(runtime, client) -> None:  # type: ignore[no-untyped-def]
    guardian(runtime)
    first = client.post(URL, data={"from": PARENT, "text": "STOP", "id": "ATXin_1"})
    again = client.post(URL, data={"from": PARENT, "text": "STOP", "id": "ATXin_1"})
    assert first.get_json() == {"keyword": "stop"}
    assert (again.status_code, again.get_json()) == (200, {"keyword": "stop", "duplicate": True})
    assert audit_actions(runtime) == ["contact.opt_out"]
    with runtime.sessions() as s:
        [seen] = s.scalars(select(InboundMessage)).all()
    assert (seen.provider_message_id, seen.msisdn, seen.keyword) == ("ATXin_1", "…567", "stop")


def test_a_late_retry_of_stop_does_not_undo_a_later_start(runtime, client) -> None:  # type: ignore[no-untyped-def]
    guardian(runtime)
    client.post(URL, data={"from": PARENT, "text": "STOP", "id": "ATXin_1"})
    client.post(URL, data={"from": PARENT, "text": "START", "id": "ATXin_2"})
    client.post(URL, data={"from": PARENT, "text": "STOP", "id": "ATXin_1"})  # the operator retries
    with runtime.sessions() as s:
        assert s.scalars(select(Contact)).one().opted_out_at is None
    assert audit_actions(runtime) == ["contact.opt_out", "contact.opt_in"]


def test_a_help_retried_the_next_day_gets_no_second_reply(runtime, client) -> None:  # type: ignore[no-untyped-def]
    guardian(runtime)
    client.post(URL, data={"from": PARENT, "text": "help", "id": "ATXin_7"})
    tomorrow = runtime.clock() + timedelta(days=1)
    runtime.clock = lambda: tomorrow  # the webhook reads the runtime clock
    again = client.post(URL, data={"from": PARENT, "text": "help", "id": "ATXin_7"})
    assert again.get_json() == {"keyword": "help", "duplicate": True}
    with runtime.sessions() as s:
        [reply] = s.scalars(select(OutboxMessage)).all()
    assert reply.text == "Hudoor: a daily attendance SMS about your children. Send STOP to stop, " \
                         "START to resume."
    client.post(URL, data={"from": PARENT, "text": "help", "id": "ATXin_8"})  # a new question
    with runtime.sessions() as s:
        assert len(s.scalars(select(OutboxMessage)).all()) == 2


def test_without_an_id_every_message_is_applied_as_before(runtime, client) -> None:  # type: ignore[no-untyped-def]
    guardian(runtime)
    for form in ({"from": PARENT, "text": "STOP"}, {"from": PARENT, "text": "STOP", "id": " "}):
        assert client.post(URL, data=form).get_json() == {"keyword": "stop"}
    assert audit_actions(runtime) == ["contact.opt_out", "contact.opt_out"]
    with runtime.sessions() as s:
        assert s.scalars(select(InboundMessage)).all() == []


def test_concurrent_retries_are_applied_once(runtime, live_url) -> None:  # type: ignore[no-untyped-def]
    guardian(runtime)

    def post(_: int) -> int:
        body = urllib.parse.urlencode({"from": PARENT, "text": "STOP", "id": "ATXin_9"}).encode()
        with urllib.request.urlopen(f"{live_url}{URL}", data=body, timeout=10) as answer:
            return answer.status

    with ThreadPoolExecutor(max_workers=6) as pool:
        assert list(pool.map(post, range(6))) == [200] * 6
    assert audit_actions(runtime) == ["contact.opt_out"]


def test_ids_past_the_retry_window_are_forgotten(runtime, client) -> None:  # type: ignore[no-untyped-def]
    """A week on, a message's id (and the number beside it) goes; its effect stays audited."""
    from digests.inbound import forget_old_ids

    guardian(runtime)
    assert client.post(URL, data={"from": PARENT, "text": "STOP", "id": "old-1"}).status_code == 200
    assert client.post(URL, data={"from": PARENT, "text": "START", "id": "new-1"}).status_code == 200
    with runtime.sessions() as s, s.begin():
        s.execute(InboundMessage.__table__.update().where(
            InboundMessage.provider_message_id == "old-1")
            .values(received_at=utcnow() - timedelta(days=8)))
    with runtime.sessions() as s, s.begin():
        assert forget_old_ids(s, utcnow()) == 1
    with runtime.sessions() as s:
        assert s.scalars(select(InboundMessage.provider_message_id)).all() == ["new-1"]
        actions = s.scalars(select(AuditEntry.action).where(AuditEntry.entity_id == "…567")).all()
        assert actions == ["contact.opt_out", "contact.opt_in"]


def test_the_audit_chain_never_holds_a_full_number(runtime, client) -> None:  # type: ignore[no-untyped-def]
    """The audit log is never pruned: STOP/START are recorded by the number's last digits."""
    guardian(runtime)
    stranger = "+201229876543"  # not a guardian: still audited, still without its number
    for sender, word, msg_id in ((PARENT, "STOP", "a1"), (PARENT, "START", "a2"),
                                 (stranger, "STOP", "a3"), (stranger, "ابدأ", "a4"),
                                 (PARENT, "STOP", "a5\x00")):
        assert client.post(URL, data={"from": sender, "text": word, "id": msg_id}).status_code == 200
    with runtime.sessions() as s:
        rows = s.scalars(select(AuditEntry)).all()
    assert len(rows) == 5
    for row in rows:
        stored = " ".join((row.actor, row.entity_id, row.reason, row.data))
        for number in (PARENT, stranger):
            assert number[-10:] not in stored and number[-7:] not in stored, stored
    assert {row.entity_id for row in rows} == {"…567", "…543"}

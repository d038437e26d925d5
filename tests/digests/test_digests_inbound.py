"""POST /at/inbound: STOP / START / HELP in Arabic and English."""

from __future__ import annotations

from sqlalchemy import select

from core.models import Contact, Person, School
from digests.inbound import Keyword, parse
from digests.models import OutboxMessage

URL = "/at/inbound?token=test-callback-token"
PARENT = "+201001234567"


def test_keywords() -> None:
    assert parse("STOP") is Keyword.STOP
    assert parse("  إيقاف ") is Keyword.STOP
    assert parse("ايقاف الرسائل") is Keyword.STOP
    assert parse("start") is Keyword.START
    assert parse("مساعدة") is Keyword.HELP
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

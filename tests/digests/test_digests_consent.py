"""No parent SMS without live consent; SMS STOP/START/DATA keep the consent register; DLRs keep no number."""

from __future__ import annotations

from datetime import date

from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from core import consent, privacy
from core.gsm import segment_count
from core.models import AuditEntry, ConsentRecord, Contact, Person, PrivacyRequest, School
from core.pseudonyms import msisdn_ref
from digests.daily import enqueue_daily
from digests.models import DeliveryReport, OutboxMessage
from digests.privacy_copy import compose_copy, process
from tests.digests.test_digests_daily import PARENT, SUNDAY, family
from tests.support.consent import consent_all

URL = "/at/inbound?token=test-inbound-token"
DLR = "/at/delivery-reports?token=test-dlr-token"


def test_a_link_without_consent_on_record_gets_no_daily_sms(runtime) -> None:  # type: ignore[no-untyped-def]
    """Fails on the code before the register: it sent to every link not stopped."""
    family(runtime)  # a parent of three with consent on record, and one who stopped
    with runtime.sessions() as s, s.begin():
        kid = s.scalars(select(Person).where(Person.role == "student")).first()
        s.add(Contact(person_id=kid.id, msisdn="+201151234567", kind="guardian"))  # no consent row
    with runtime.sessions() as s, s.begin():
        enqueue_daily(s, SUNDAY, runtime.config, actor="test", now=runtime.clock())
    with runtime.sessions() as s:
        sent_to = set(s.scalars(select(OutboxMessage.msisdn)))
    assert sent_to == {PARENT}


def test_stop_over_ussd_withdraws_what_was_waiting(runtime) -> None:  # type: ignore[no-untyped-def]
    """Fails on the old code: a USSD stop set a flag, and queued digests still went out."""
    from core import contacts

    family(runtime)
    with runtime.sessions() as s, s.begin():
        kid = s.scalars(select(Person).where(Person.role == "student")).first()
        s.add(Contact(person_id=kid.id, msisdn="+201151234567", kind="guardian"))
        consent_all(s)
    with runtime.sessions() as s, s.begin():
        enqueue_daily(s, SUNDAY, runtime.config, actor="test", now=runtime.clock())
    with runtime.sessions() as s, s.begin():
        contacts.set_opt_out(s, PARENT, True, actor="ussd:test")
        assert process(s, runtime.config, runtime.clock()).withdrawn == 1
    with runtime.sessions() as s:
        states = dict(s.execute(select(OutboxMessage.msisdn, OutboxMessage.state)).all())
    assert states == {PARENT: "withdrawn", "+201151234567": "queued"}


def _guardian(runtime, msisdn: str = "+201001234567") -> None:  # type: ignore[no-untyped-def]
    with runtime.sessions() as s, s.begin():
        school = School(upstream_id="S", name="م", governorate="ج")
        s.add(school)
        s.flush()
        kid = Person(upstream_id="K", school_id=school.id, role="student", display_name="مريم",
                     name_key="مريم")
        s.add(kid)
        s.flush()
        s.add(Contact(person_id=kid.id, msisdn=msisdn, kind="guardian"))
        consent_all(s)


def test_sms_stop_and_start_add_rows_to_the_register(runtime, client) -> None:  # type: ignore[no-untyped-def]
    _guardian(runtime)
    client.post(URL, data={"from": "+201001234567", "text": "STOP", "id": "1"})
    client.post(URL, data={"from": "+201001234567", "text": "ابدأ", "id": "2"})
    with runtime.sessions() as s:
        rows = [(r.granted, r.wording_version, r.channel)
                for r in s.scalars(select(ConsentRecord).order_by(ConsentRecord.id))]
    # START shows no wording: the link re-consents to the words it agreed to before.
    assert rows == [(True, "pre-register", "migration"), (False, None, "sms"),
                    (True, "pre-register", "sms")]


def test_data_by_sms_sends_the_copy_at_once(runtime, client) -> None:  # type: ignore[no-untyped-def]
    _guardian(runtime)
    answer = client.post(URL, data={"from": "201001234567", "text": "DATA", "id": "d1"})
    assert answer.get_json() == {"keyword": "data"}
    again = client.post(URL, data={"from": "201001234567", "text": "DATA", "id": "d1"})
    assert again.get_json()["duplicate"] is True
    with runtime.sessions() as s:
        [copy] = s.scalars(select(OutboxMessage)).all()
        assert copy.kind == "data_copy" and "مريم" in copy.text and "pre-register" in copy.text
        [request] = s.scalars(select(PrivacyRequest)).all()
        actions = list(s.scalars(select(AuditEntry.action).order_by(AuditEntry.seq)))
    assert (request.kind, request.channel, request.status, request.msisdn) == (
        "access", "sms", "answered", None)
    assert actions == ["privacy.access", "privacy.answered"]


def test_a_delivery_report_keeps_the_handsets_keyed_hash_not_its_number(runtime, client) -> None:  # type: ignore[no-untyped-def]
    answer = client.post(DLR, data={"id": "ATX-1", "status": "Success",
                                    "phoneNumber": "+201001234567", "networkCode": "60202"})
    assert answer.status_code == 200
    with runtime.sessions() as s:
        [row] = s.scalars(select(DeliveryReport)).all()
    assert row.phone_ref == msisdn_ref(runtime.config.secret_key, "+201001234567")
    assert "1234567" not in " ".join(str(v) for v in row.__dict__.values())


def test_published_wordings_never_change() -> None:
    """A wording is data guardians agreed to: edit it and this fails; add a new version."""
    assert consent.WORDINGS["2026-11-a"].sha256[:12] == "0715d3fbaddc"
    assert consent.CURRENT in consent.WORDINGS


_NAMES = st.text(alphabet="مريمعبدالرحمنسيف ابنOmarLy", min_size=1, max_size=40)
_DAYS = st.lists(st.tuples(st.dates(date(2026, 9, 1), date(2026, 12, 31)),
                           st.sampled_from(["present", "absent", "late"])), max_size=5)


@settings(max_examples=150, deadline=None)
@given(children=st.lists(st.tuples(_NAMES, st.booleans(), _DAYS), max_size=6),
       lang=st.sampled_from(["ar", "en"]), segments=st.integers(1, 4))
def test_the_copy_never_exceeds_its_segments(children, lang, segments) -> None:  # type: ignore[no-untyped-def]
    held = privacy.Holdings("…567", tuple(
        privacy.ChildData(i, name, 1, lang, live, "2026-11-a", None, tuple(days))
        for i, (name, live, days) in enumerate(children)))
    text = compose_copy(held, lang, segments)
    assert text and segment_count(text).segments <= segments
    if children and segment_count(compose_copy(held, lang, 99)).segments <= segments:
        assert text == compose_copy(held, lang, 99)  # nothing dropped when it all fits

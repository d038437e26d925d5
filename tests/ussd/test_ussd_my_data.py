"""Guardian consent and menu 4 "My data" over USSD hops, with the scheduled job that answers."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from core import consent
from core import runtime as core_runtime
from core.gsm import segment_count
from core.models import (
    AttendanceMark,
    AttendanceRecord,
    AuditEntry,
    ConsentRecord,
    Contact,
    Person,
    PrivacyRequest,
    SchoolClass,
)
from core.pseudonyms import msisdn_ref
from digests import jobs as sms_jobs
from digests.models import OutboxMessage
from gateway.cli import cli
from tests.ussd.phone import Phone
from tests.ussd.test_ussd_codes import _enrol, _slips
from tests.ussd.test_ussd_http import _activate, _teacher, _to_absent_entry
from tests.support.directory import school
from ussd.machine import render
from ussd.ports import Caller
from ussd.screens import Limits
from ussd.state import State

PARENT = "+201551239876"


@pytest.fixture
def parent(synced, sandbox, client, runner, monkeypatch):  # type: ignore[no-untyped-def]
    """A guardian enrolled (in English) for a child whose class was marked today, roll 1 absent."""
    teacher = Phone(client)
    _activate(runner, teacher, _teacher(sandbox))
    _to_absent_entry(teacher)
    teacher.send("01")
    assert teacher.send("1").startswith("END Saved")
    with synced.sessions() as s:
        class_upstream = s.scalar(select(SchoolClass.upstream_id).join(
            AttendanceRecord, AttendanceRecord.class_id == SchoolClass.id))
    _output, slips = _slips(runner, class_upstream)
    number, code = slips[0]
    assert _enrol(client, PARENT, number, code).startswith("END Done")
    monkeypatch.setattr(core_runtime, "_worker_runtime", synced)  # the scheduled job's runtime
    return Phone(client, msisdn=PARENT)


def _consents(rt) -> list[tuple[bool, str | None, str]]:  # type: ignore[no-untyped-def]
    with rt.sessions() as s:
        return [(r.granted, r.wording_version, r.channel)
                for r in s.scalars(select(ConsentRecord).order_by(ConsentRecord.id))]


def test_enrolment_records_the_wording_and_stop_adds_a_row_never_overwrites(parent, synced) -> None:  # type: ignore[no-untyped-def]
    assert _consents(synced) == [(True, consent.CURRENT, "ussd")]
    parent.dial()  # in English: chosen at enrolment
    assert "Stop all daily SMS" in parent.send("2")
    assert parent.send("1").startswith("END Stopped")
    parent.dial()
    parent.send("2")
    assert parent.last.startswith("CON " + consent.current().en[:20])  # re-consent shows the words
    assert parent.send("1").startswith("END Restarted")
    assert _consents(synced) == [(True, consent.CURRENT, "ussd"), (False, None, "ussd"),
                                 (True, consent.CURRENT, "ussd")]


def test_my_data_shows_the_child_and_sends_a_full_copy_within_n_segments(parent, synced) -> None:  # type: ignore[no-untyped-def]
    synced.config = synced.config.with_overrides(privacy_copy_segments=3)
    assert "4 My data" in parent.dial()
    assert "What you hold" in parent.send("4")
    summary = parent.send("1")
    with synced.sessions() as s:
        contact = s.scalars(select(Contact).where(Contact.msisdn == PARENT)).one()
        child = s.get(Person, contact.person_id)
        absent = s.scalar(select(func.count()).select_from(AttendanceMark)
                          .where(AttendanceMark.person_id == child.id)) == 1
    assert child.display_name[:6] in summary and "Daily SMS: on" in summary
    assert parent.send("1").startswith("END A full copy comes by SMS")
    assert sms_jobs.privacy_requests()["copies"] == 1
    with synced.sessions() as s:
        [copy] = s.scalars(select(OutboxMessage).where(OutboxMessage.kind == "data_copy")).all()
        [request] = s.scalars(select(PrivacyRequest)).all()
        actions = list(s.scalars(select(AuditEntry.action).order_by(AuditEntry.seq)))
    assert copy.msisdn == PARENT and copy.priority == 0  # a reply the parent asked for: urgent
    assert segment_count(copy.text).segments <= 3
    assert child.display_name in copy.text and f"consent {consent.CURRENT}" in copy.text
    assert ("29/11 absent" if absent else "29/11 present") in copy.text
    assert (request.kind, request.channel, request.status) == ("access", "ussd", "answered")
    assert request.msisdn is None and request.subject_ref == msisdn_ref(synced.config.secret_key, PARENT)
    assert request.due_at.date() == date(2026, 12, 7)  # six working days (Sun-Thu) after Sunday
    assert actions[-2:] == ["privacy.access", "privacy.answered"]
    assert sms_jobs.privacy_requests()["copies"] == 0  # answered once


def test_a_correction_waits_for_the_school_who_closes_it(parent, synced, runner) -> None:  # type: ignore[no-untyped-def]
    parent.dial()
    parent.send("4")
    parent.send("2")
    assert parent.send("1").startswith("END Asked. Your school will call you")
    listed = runner.invoke(cli, ["privacy", "requests"])
    [line] = listed.stdout.splitlines()
    request_id, kind, _school, phone, due = line.split("\t")
    assert (kind, phone, due) == ("correction", PARENT, "2026-12-07")
    assert sms_jobs.privacy_requests()["copies"] == 0  # nothing automatic: the school calls
    refused = runner.invoke(cli, ["privacy", "close", "999", "--by", "desk:7", "--note", "x"])
    assert refused.exit_code != 0 and "no open request 999" in refused.output
    closed = runner.invoke(cli, ["privacy", "close", request_id, "--by", "desk:7",
                                 "--note", "spelling of the name sent upstream"])
    assert closed.exit_code == 0, closed.output
    with synced.sessions() as s:
        row = s.get(PrivacyRequest, int(request_id))
        assert (row.status, row.msisdn, row.answered_by) == ("closed", None, "cli:desk:7")
    assert runner.invoke(cli, ["privacy", "requests"]).stdout == ""


def test_erasure_unlinks_and_tombstones_the_number_but_keeps_attendance(parent, synced, client) -> None:  # type: ignore[no-untyped-def]
    with synced.sessions() as s:
        marks_before = s.scalar(select(func.count()).select_from(AttendanceMark))
        records_before = s.scalar(select(func.count()).select_from(AttendanceRecord))
    from tests.digests.test_digests_inbound import URL

    client.post(URL, data={"from": PARENT, "text": "HELP", "id": "h-1"})  # an SMS to the number
    parent.dial()
    parent.send("4")
    parent.send("3")
    assert parent.send("1").startswith("END ")
    done = sms_jobs.privacy_requests()
    assert done["erased"] == 1
    tomb = "#" + msisdn_ref(synced.config.secret_key, PARENT)
    with synced.sessions() as s:
        contact = s.scalars(select(Contact).where(Contact.kind == "guardian")).one()
        assert contact.msisdn == tomb and contact.revoked_at is not None
        assert s.scalar(select(func.count()).select_from(AttendanceMark)) == marks_before
        assert s.scalar(select(func.count()).select_from(AttendanceRecord)) == records_before
        outbox = s.scalars(select(OutboxMessage)).all()
        assert outbox and all(m.msisdn == tomb and PARENT not in m.idempotency_key for m in outbox)
        [request] = s.scalars(select(PrivacyRequest)).all()
        assert (request.kind, request.status, request.msisdn) == ("erasure", "answered", None)
    assert _consents(synced)[-1] == (False, None, "ussd")  # withdrawn: a new row
    assert "2 تسجيل ولي أمر" in parent.dial()  # a stranger now: the English choice went too
    answer = client.post(URL, data={"from": PARENT, "text": "بياناتي", "id": "d-1"})
    assert answer.get_json() == {"keyword": "data"}
    with synced.sessions() as s:
        reply = s.scalars(select(OutboxMessage).where(OutboxMessage.kind == "data_copy")).one()
    assert reply.msisdn == PARENT and "لا يحفظ" in reply.text  # nothing held any more


@pytest.mark.parametrize("lang", ["ar", "en"])
def test_every_my_data_and_consent_screen_fits_the_strict_limit(lang) -> None:
    directory = school()
    caller = Caller("+201001234567", guardian=True, lang=lang)
    for step in ("start", "pd_menu", "pd_summary", "pd_correct", "pd_erase", "pd_copy_sent",
                 "pd_correct_done", "pd_erased", "enr_consent", "restart_confirm"):
        screen = render(State(lang=lang, step=step), caller, directory, Limits())
        assert len(screen.text) <= (80 if lang == "ar" else 182), (step, screen.text)


def test_enrolling_again_after_stop_consents_again_and_restarts_the_link(parent, synced, runner) -> None:  # type: ignore[no-untyped-def]
    parent.dial()
    parent.send("2")
    assert parent.send("1").startswith("END Stopped")
    with synced.sessions() as s:
        class_upstream = s.scalar(select(SchoolClass.upstream_id).join(
            AttendanceRecord, AttendanceRecord.class_id == SchoolClass.id))
    _output, slips = _slips(runner, class_upstream, "--reissue")  # the school prints a new slip
    number, code = slips[0]
    parent.dial()  # a known guardian: "1 Add a child"
    parent.send("1")
    parent.send(number)
    assert "Link to this phone?" in parent.send(code)
    assert "Agree?" in parent.send("2")
    assert parent.send("1").startswith("END Done")
    assert _consents(synced) == [(True, consent.CURRENT, "ussd"), (False, None, "ussd"),
                                 (True, consent.CURRENT, "ussd")]
    with synced.sessions() as s:
        [link] = s.scalars(select(Contact).where(Contact.msisdn == PARENT)).all()
    assert link.opted_out_at is None  # one link, restarted: never a second row for it

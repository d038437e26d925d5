"""The quiz over USSD hops (R8): a dated switch, then the cohort stages; answers once; resume."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, func, select

from core import cohorts
from core.models import AssessmentAnswer, AuditEntry
from core.quiz_bank import current
from gateway.cli import cli
from gateway.health import sample
from tests.support.quiz import EVE, FEATURE, OPENS, school_uid, seed
from tests.ussd.phone import Phone

BY = ["--by", "ops:amina", "--reason", "Phase 2 rollout plan"]


@pytest.fixture
def clock(runtime):  # type: ignore[no-untyped-def]
    """The runtime's clock, moved by the test: now[0]."""
    now = [EVE]
    runtime.clock = lambda: now[0]
    return now


def _count(rt, model, *where) -> int:  # type: ignore[no-untyped-def]
    with rt.sessions() as s:
        return s.scalar(select(func.count()).select_from(model).where(*where)) or 0


def _menu(client, msisdn: str) -> str:  # type: ignore[no-untyped-def]
    return Phone(client, msisdn=msisdn).dial()


def _sees_quiz(client, msisdn: str) -> bool:  # type: ignore[no-untyped-def]
    """Whether the main menu offers 5 Quiz, checked also by typing 5 directly."""
    phone = Phone(client, msisdn=msisdn)
    screen = phone.dial()
    if "You were doing the quiz" in screen:  # seen earlier: dialling again offers to continue
        screen = phone.send("2")  # main menu
    shown = "5 Quiz" in screen
    typed = phone.send("5")
    assert shown == ("Not a choice" not in typed), typed  # key absent ⇔ direct input refused
    return shown


def _healthy_hours(runtime, now: list, hours: int) -> None:  # type: ignore[no-untyped-def,type-arg]
    """Let the scheduled health job record a sample every hour for `hours` hours.

    The figures cover the last hour, so the clock first moves past the hops the test just
    made: their answer times on a busy machine must not decide a test about the rules.
    """
    now[0] += timedelta(minutes=61)
    for _ in range(hours):
        sample(runtime)
        now[0] += timedelta(hours=1)
    sample(runtime)


def test_no_quiz_before_10_january_then_by_stage(client, runner, runtime, clock) -> None:  # type: ignore[no-untyped-def]
    early = seed(runtime, school_uid(0, 5))  # in the first 5 %
    middle = seed(runtime, school_uid(5, 25))  # joins at 25 %
    late = seed(runtime, school_uid(25, 100))  # joins at 100 %
    out = runner.invoke(cli, ["cohorts", "advance", FEATURE, *BY])  # 0 → 5 %, before the date
    assert out.exit_code == 0, out.output
    assert '"percent": 5' in out.output

    # 9 January 23:59 Cairo: the flow does not exist for anyone, not even the 5 % school.
    assert "5 Quiz" not in _menu(client, early.phones[0])
    assert not _sees_quiz(client, early.phones[0])
    assert not _sees_quiz(client, middle.phones[0])

    clock[0] = OPENS  # 10 January 00:00 Cairo
    assert _sees_quiz(client, early.phones[0])
    assert not _sees_quiz(client, middle.phones[0]) and not _sees_quiz(client, late.phones[0])

    # 25 % only after 48 h of recorded health at 5 %: refused first, with the hours so far.
    refused = runner.invoke(cli, ["cohorts", "advance", FEATURE, *BY])
    assert refused.exit_code != 0 and "healthy for 0.0 h of the 48 h" in refused.output
    _healthy_hours(runtime, clock, 48)
    out = runner.invoke(cli, ["cohorts", "advance", FEATURE, *BY])
    assert out.exit_code == 0, out.output
    assert _sees_quiz(client, early.phones[0]) and _sees_quiz(client, middle.phones[0])
    assert not _sees_quiz(client, late.phones[0])

    clock[0] += timedelta(minutes=10)
    _healthy_hours(runtime, clock, 48)
    assert runner.invoke(cli, ["cohorts", "advance", FEATURE, *BY]).exit_code == 0
    assert all(_sees_quiz(client, s.phones[0]) for s in (early, middle, late))
    assert "already at 100" in runner.invoke(cli, ["cohorts", "advance", FEATURE, *BY]).output

    status = runner.invoke(cli, ["cohorts", "status", FEATURE])
    assert status.exit_code == 0 and '"action": "advance"' in status.output
    with runtime.sessions() as s:
        actions = s.scalars(select(AuditEntry.action).where(AuditEntry.entity == "feature")).all()
    assert actions == ["cohort.advance"] * 3


def test_answers_are_saved_once_and_a_dropped_quiz_resumes(client, runner, runtime, clock) -> None:  # type: ignore[no-untyped-def]
    school = seed(runtime, school_uid(0, 5))
    assert runner.invoke(cli, ["cohorts", "advance", FEATURE, *BY]).exit_code == 0
    clock[0] = OPENS + timedelta(hours=9)
    quiz = current()
    phone = Phone(client, msisdn=school.phones[0])
    phone.dial()
    screen = phone.send("5")
    assert screen.startswith("CON 1/5 Student 0") and "3 + 4 = ?" in screen
    assert len(screen) - 4 <= 182
    assert "2/5" in phone.send("2")  # right
    assert phone.resend().startswith("CON 2/5")  # an operator retry records nothing again
    assert "Not a choice" in phone.send("7")  # only 1-3 (and 0) are choices

    again = phone.dial()  # the call dropped: a new session offers to continue
    assert "You were doing the quiz" in again
    assert "2/5" in phone.send("1")
    for answer in ("1", "3", "2"):  # right, wrong, right
        phone.send(answer)
    done = phone.send("2")  # the last question, right
    assert done.startswith("END Quiz done.") and "4 of 5 right" in done

    with runtime.sessions() as s:
        rows = s.execute(select(AssessmentAnswer.question, AssessmentAnswer.correct)
                         .order_by(AssessmentAnswer.question)).all()
        audited = s.scalar(select(func.count()).select_from(AuditEntry)
                           .where(AuditEntry.action == "assessment.answer"))
    assert [q for q, _ in rows] == [q.id for q in quiz.questions]  # each exactly once
    assert [ok for _, ok in rows] == [True, True, False, True, True] and audited == 5

    phone.dial()
    assert "All questions are answered" in phone.send("5")


def test_a_sample_out_of_bounds_holds_the_stage_and_advance_waits(client, runner, runtime, clock) -> None:  # type: ignore[no-untyped-def]
    from ussd.hop_metrics import HopRecorder

    seed(runtime, school_uid(0, 5))
    clock[0] = OPENS
    assert runner.invoke(cli, ["cohorts", "advance", FEATURE, *BY]).exit_code == 0
    _healthy_hours(runtime, clock, 30)
    hops = HopRecorder()
    for _ in range(3):  # hops answered "service busy" in the last hour: 3 of 3
        hops.record(runtime.redis, clock[0], 20.0, error=True)
    hops.flush(runtime.redis)
    out = runner.invoke(cli, ["cohorts", "sample"])
    assert out.exit_code == 0 and '"within": false' in out.output
    _healthy_hours(runtime, clock, 20)  # healthy again, but held
    refused = runner.invoke(cli, ["cohorts", "advance", FEATURE, *BY])
    assert refused.exit_code != 0 and "held" in refused.output
    with runtime.sessions() as s:
        hold = s.scalars(select(AuditEntry).where(AuditEntry.action == "cohort.hold")).one()
    assert hold.actor == cohorts.HEALTH_ACTOR and "ussd_error_rate" in hold.reason

    assert runner.invoke(cli, ["cohorts", "lift", FEATURE, *BY]).exit_code == 0
    early = runner.invoke(cli, ["cohorts", "advance", FEATURE, *BY])  # the clock restarted
    assert early.exit_code != 0 and "healthy for 0.0 h" in early.output
    _healthy_hours(runtime, clock, 48)
    assert runner.invoke(cli, ["cohorts", "advance", FEATURE, *BY]).exit_code == 0
    assert runner.invoke(cli, ["cohorts", "hold", FEATURE, "--by", "", "--reason", "x"]).exit_code != 0
    typo = runner.invoke(cli, ["cohorts", "advance", "assesments", *BY])
    assert typo.exit_code != 0 and "no such feature 'assesments'" in typo.output


def _counter(screen: str) -> int | None:
    """The question number a quiz screen shows ("CON 3/5 Student 0…"), or None."""
    head = screen[4:].split(" ", 1)[0]
    return int(head.split("/")[0]) if "/" in head and head.split("/")[0].isdigit() else None


@pytest.fixture
def quiz_phone(client, runner, runtime):  # type: ignore[no-untyped-def]
    school = seed(runtime, school_uid(0, 5))
    runtime.clock = lambda: OPENS
    assert runner.invoke(cli, ["cohorts", "advance", FEATURE, *BY]).exit_code == 0
    return Phone(client, msisdn=school.phones[0])


@settings(max_examples=20, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(ops=st.lists(st.one_of(st.sampled_from(list("01234")).map(lambda d: ("send", d)),
                              st.sampled_from([("retry", ""), ("stale", ""), ("drop", "")])),
                    max_size=30))
def test_any_hops_record_each_answer_at_most_once_and_resume_where_sql_says(
        quiz_phone, runtime, ops) -> None:  # type: ignore[no-untyped-def]
    phone = quiz_phone
    with runtime.sessions() as s, s.begin():
        s.execute(delete(AssessmentAnswer))
    for key in runtime.redis.scan_iter("hudoor:ussd:*"):
        runtime.redis.delete(key)
    audited_before = _count(runtime, AuditEntry, AuditEntry.action == "assessment.answer")
    screen = phone.dial()
    for kind, value in [("send", "5")] + ops:
        if kind == "drop" or screen.startswith("END "):
            screen = phone.dial()
            if "You were doing the quiz" in screen:
                screen = phone.send("1")
                shown = _counter(screen)
                answered = _count(runtime, AssessmentAnswer)
                assert shown is None or shown == answered + 1, (screen, answered)  # SQL decides
        elif kind == "retry":
            assert phone.resend() == screen
        elif kind == "stale" and phone.inputs:
            current_inputs = phone.inputs
            phone.inputs = current_inputs[:-1]
            phone.resend()  # a late copy of an earlier hop: shows where the session is, applies nothing
            phone.inputs = current_inputs
        else:
            screen = phone.send(value)
    with runtime.sessions() as s:
        rows = s.execute(select(AssessmentAnswer.question)).scalars().all()
    assert len(rows) == len(set(rows)) <= len(current().questions)
    assert _count(runtime, AuditEntry, AuditEntry.action == "assessment.answer") - audited_before == len(rows)

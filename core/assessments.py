"""Short quizzes over USSD from Phase 2 (R8): who may answer, recording answers, class results.

The feature "assessments" does not exist for anyone before its dated start (core/cohort_rules.toml,
10 Jan 2027 00:00 Cairo) and then reaches schools by their cohort stage (core/cohorts.py).
A guardian's phone answers for a linked child (decision 28). Each answer is stored once per
child and question; results leave only as aggregates per class, cells under 5 suppressed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core import audit, cohorts
from core.models import (AssessmentAnswer, Contact, ContactKind, Enrolment, Person, School,
                         SchoolClass)
from core.quiz_bank import QUIZZES, Quiz, current

FEATURE = "assessments"
MIN_CELL = 5  # fewer answers than this in a cell: the figure is not shown


class NotOpen(ValueError):
    """The quiz is not open for this child now (date, cohort, link or class gone)."""


@dataclass(frozen=True)
class Child:
    student_id: int
    name: str
    class_id: int


def _class_of(session: Session, student_id: int) -> int | None:
    return session.scalar(select(Enrolment.class_id).where(
        Enrolment.person_id == student_id, Enrolment.ended_at.is_(None))
        .order_by(Enrolment.id).limit(1))


def children(session: Session, msisdn: str, now: datetime) -> list[Child]:
    """Return the children this guardian SIM may take the quiz for now (date, stage, class)."""
    if not cohorts.started(FEATURE, now):
        return []  # before the date nothing is even looked up
    percent = cohorts.percent_of(session, FEATURE)
    if percent <= 0:
        return []
    rows = session.execute(
        select(Person, School.upstream_id).join(Contact, Contact.person_id == Person.id)
        .join(School, School.id == Person.school_id)
        .where(Contact.msisdn == msisdn, Contact.kind == ContactKind.GUARDIAN.value,
               Contact.revoked_at.is_(None), Person.active.is_(True))
        .order_by(Person.id)).all()
    out = []
    for person, school_uid in rows:
        if not cohorts.in_stage(FEATURE, school_uid, percent):
            continue
        class_id = _class_of(session, person.id)
        if class_id is not None:
            out.append(Child(person.id, person.display_name, class_id))
    return out


def answers(session: Session, student_id: int, quiz: Quiz | None = None) -> dict[str, bool]:
    """Return this child's answered questions of the quiz (question id → right or not)."""
    quiz = quiz or current()
    return dict(session.execute(select(AssessmentAnswer.question, AssessmentAnswer.correct).where(
        AssessmentAnswer.quiz == quiz.id, AssessmentAnswer.student_id == student_id)).all())


def record(session: Session, *, msisdn: str, student_id: int, quiz_id: str, question_id: str,
           choice: int, now: datetime, actor: str) -> bool:
    """Store one answer (audited); False when this child already answered it (nothing changes)."""
    quiz = QUIZZES.get(quiz_id)
    question = quiz.question(question_id) if quiz else None
    if quiz is None or question is None or not 1 <= choice <= len(question.choices):
        raise NotOpen("no such question or choice")
    child = next((c for c in children(session, msisdn, now) if c.student_id == student_id), None)
    if child is None:
        raise NotOpen("the quiz is not open for this child now")
    if question_id in answers(session, student_id, quiz):
        return False
    row = AssessmentAnswer(quiz=quiz.id, question=question.id, student_id=student_id,
                           class_id=child.class_id, choice=choice,
                           correct=question.correct(choice), answered_at=now)
    try:
        with session.begin_nested():  # another phone of the same family may race: one wins
            session.add(row)
            session.flush()
    except IntegrityError:
        return False
    audit.record(session, actor=actor, action="assessment.answer", entity="person",
                 entity_id=student_id, reason="quiz answered over USSD",
                 data={"quiz": quiz.id, "question": question.id, "class_id": child.class_id})
    return True


def _cell(n: int, value: Any) -> Any:
    return value if n >= MIN_CELL else None


def results(session: Session, class_uid: str, quiz_id: str | None = None,
            school_uid: str | None = None) -> dict[str, Any]:
    """Return one class's quiz results as aggregates only: no names, no per-child score.

    Every cell counting fewer than 5 children is suppressed (null, with `suppressed: true`).
    """
    quiz = QUIZZES.get(quiz_id or current().id)
    if quiz is None:
        raise LookupError(f"no such quiz {quiz_id}")
    found = session.execute(select(SchoolClass, School.upstream_id)
                            .join(School, School.id == SchoolClass.school_id)
                            .where(SchoolClass.upstream_id == class_uid)).first()
    if found is None or (school_uid is not None and found[1] != school_uid):
        raise LookupError(f"no such class {class_uid}")
    klass = found[0]
    class_id = klass.id
    rows = dict((q, (n, right)) for q, n, right in session.execute(
        select(AssessmentAnswer.question, func.count(),
               func.sum(case((AssessmentAnswer.correct.is_(True), 1), else_=0)))
        .where(AssessmentAnswer.class_id == class_id, AssessmentAnswer.quiz == quiz.id)
        .group_by(AssessmentAnswer.question)).all())
    takers = session.scalar(select(func.count(func.distinct(AssessmentAnswer.student_id))).where(
        AssessmentAnswer.class_id == class_id, AssessmentAnswer.quiz == quiz.id)) or 0
    questions = []
    for q in quiz.questions:
        n, right = rows.get(q.id, (0, 0))
        right = int(right or 0)
        questions.append({"question": q.id, "answered": _cell(n, n), "right": _cell(n, right),
                          "share_right": _cell(n, round(right / n, 2) if n else None),
                          "suppressed": n < MIN_CELL})
    return {"class": klass.upstream_id, "school": found[1], "quiz": quiz.id, "children": _cell(takers, takers),
            "suppressed": takers < MIN_CELL, "min_cell": MIN_CELL, "questions": questions}


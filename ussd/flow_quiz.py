"""The quiz over USSD (R8): a guardian's phone answers a short quiz for a linked child.

Only digits; each answer is its own effect, stored at once, so a dropped call loses at most
the question on screen: dialling again offers to continue (like attendance), and the next
question shown is always the first one this child has not answered (SQL says which). The
menu key exists only when core.assessments says the quiz is open for one of the caller's
children (the dated switch and the cohort stage).
"""

from __future__ import annotations

from core.i18n import _
from core.quiz_bank import Question, current
from ussd.common import Ctx, Outcome, Step, end, goto, home, invalid, menu, paged, pick
from ussd.ports import Found, RecordAnswer
from ussd.screens import Part, Screen

RESUMABLE = frozenset({"quiz_q"})


def _child(c: Ctx) -> Found | None:
    return next((k for k in c.directory.quiz_children(c.caller.msisdn)
                 if k.person_id == c.state.found), None)


def begin_quiz(c: Ctx) -> Outcome:
    """Main-menu key 5: absent (not a choice) unless the quiz is open for a child."""
    kids = c.directory.quiz_children(c.caller.msisdn) if c.caller.guardian else []
    if not kids:
        return invalid(c)
    if len(kids) == 1:
        return goto(c, "quiz_q", found=kids[0].person_id, extra=0, page=0)
    return goto(c, "quiz_child", page=0)


def _child_render(c: Ctx) -> Screen:
    kids = c.directory.quiz_children(c.caller.msisdn)
    shown, more = paged(kids, c.state.page)
    named = [(str(i + 1), k.name) for i, k in enumerate(shown)]
    return menu(c, [Part(c.t("Quiz: choose your child"))],
                ([("8", _("More"))] if more else []) + [("0", _("Back"))], named)


def _child_handle(c: Ctx, inp: str) -> Outcome:
    kids = c.directory.quiz_children(c.caller.msisdn)
    if inp == "0":
        return home(c)
    if inp == "8":
        _shown, more = paged(kids, c.state.page)
        return goto(c, "quiz_child", page=c.state.page + 1 if more else 0)
    kid = pick(kids, c.state.page, inp)
    if kid is None:
        return invalid(c)
    return goto(c, "quiz_q", found=kid.person_id, extra=0, page=0)


def _next(start: int, answered: dict[str, bool]) -> tuple[int, Question] | None:
    """Return the first question from `start` on that this child has not answered."""
    questions = current().questions
    for i in range(start, len(questions)):
        if questions[i].id not in answered:
            return i, questions[i]
    return None


def _question_render(c: Ctx) -> Screen:
    kid = _child(c)
    if kid is None:
        return end(c, [Part(c.t("The quiz is not open now. Nothing more was saved."))])
    found = _next(c.state.extra, c.directory.quiz_answers(kid.person_id))
    if found is None:
        return menu(c, [Part(c.t("All questions are answered."))], [("0", _("Main menu"))])
    i, q = found
    counter = f"{i + 1}/{len(current().questions)}"
    head = [Part(f"{counter} {kid.name}", cut=True, keep=len(counter) + 1), Part(c.t(q.text))]
    return menu(c, head, [(str(k + 1), choice) for k, choice in enumerate(q.choices)]
                + [("0", _("Later"))])


def _question_handle(c: Ctx, inp: str) -> Outcome:
    kid = _child(c)
    if kid is None:
        return goto(c, "quiz_closed")
    if inp == "0":
        return home(c)  # every answer so far is saved; dialling again continues
    answered = c.directory.quiz_answers(kid.person_id)
    found = _next(c.state.extra, answered)
    if found is None:
        return invalid(c)
    i, q = found
    if not inp.isdigit() or not 1 <= int(inp) <= len(q.choices):
        return invalid(c)
    effect = RecordAnswer(kid.person_id, current().id, q.id, int(inp))
    more = _next(i + 1, answered)
    step = "quiz_q" if more is not None else "quiz_done"
    return Outcome(c.state.with_(step=step, extra=i + 1), (effect,))


def _done_render(c: Ctx) -> Screen:
    """The one place a child's score shows: on the phone that answered, once (decision 28)."""
    answered = c.directory.quiz_answers(c.state.found)
    name = c.directory.person_name(c.state.found)
    score = c.t("{right} of {n} right. Thank you!", right=sum(answered.values()),
                n=len(current().questions))
    return end(c, [Part(c.t("Quiz done.")), Part(name, cut=True), Part(score)])


def _closed_render(c: Ctx) -> Screen:
    return end(c, [Part(c.t("The quiz is not open now. Nothing more was saved."))])


def _resume_render(c: Ctx) -> Screen:
    return menu(c, [Part(c.t("You were doing the quiz."))],
                [("1", _("Continue")), ("2", _("Main menu"))])


def _resume_handle(c: Ctx, inp: str) -> Outcome:
    if inp == "1":
        return goto(c, "quiz_q" if _child(c) is not None else "quiz_closed")
    if inp == "2":
        return home(c)
    return invalid(c)


STEPS: dict[str, Step] = {
    "quiz_child": Step(_child_render, _child_handle),
    "quiz_q": Step(_question_render, _question_handle),
    "quiz_done": Step(_done_render, None),
    "quiz_closed": Step(_closed_render, None),
    "quiz_resume": Step(_resume_render, _resume_handle),
}

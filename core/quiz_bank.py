"""The quizzes as data: questions, their choices and answer keys (R8).

Question and word-choice texts are Babel msgids (babel.cfg extracts this file; Arabic in
locales/ar). A question must fit a USSD screen with its counter and choices in 80
characters of Arabic (tests/ussd/test_quiz_http.py renders every one). Digits stay ASCII:
they are what the caller types. Never renumber a question id: answers are stored by it.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.i18n import _


@dataclass(frozen=True)
class Question:
    id: str
    text: str  # msgid
    choices: tuple[str, ...]  # shown as 1, 2, 3; words are msgids, numbers are shown as they are
    key: int  # the right choice, 1-based

    def correct(self, choice: int) -> bool:
        return choice == self.key


@dataclass(frozen=True)
class Quiz:
    id: str
    questions: tuple[Question, ...]

    def question(self, question_id: str) -> Question | None:
        return next((q for q in self.questions if q.id == question_id), None)


QUIZZES: dict[str, Quiz] = {q.id: q for q in (
    Quiz("p2-basics-1", (
        Question("q1", _("3 + 4 = ?"), ("6", "7", "8"), 2),
        Question("q2", _("10 - 6 = ?"), ("4", "5", "6"), 1),
        Question("q3", _("2 x 5 = ?"), ("7", "10", "25"), 2),
        Question("q4", _("Which number is biggest?"), ("19", "91", "9"), 2),
        Question("q5", _("Which word is a colour?"), (_("Table"), _("Red"), _("Run")), 2),
    )),
)}
CURRENT = "p2-basics-1"  # the quiz callers get now; results stay readable for every quiz


def current() -> Quiz:
    return QUIZZES[CURRENT]

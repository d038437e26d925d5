"""A teacher asks to correct one student-day inside the window; an approver decides (U3).

Class → student (roll number, the class list paged) → day (today and the earlier school
days still inside the 3-working-day window) → new status → reason → confirm. Confirming
asks for an adjustment through core.adjustments.request, like the CLI does; a principal or
champion of the school, never the teacher, approves it under "Approvals".

State: `class_id`, `found` (the student's person id), `extra` (the day's ordinal),
`number` (the status digit, then the reason digit), `page` (of a list).
"""

from __future__ import annotations

from datetime import date

from core.adjustments import REASON_BY_DIGIT, Reason
from core.i18n import _
from ussd.common import Ctx, Outcome, Step, end, goto, home, invalid, menu, notice_part
from ussd.flow_attendance import class_choice, class_menu
from ussd.flow_approvals import STATUS
from ussd.ports import ClassInfo, RequestCorrection
from ussd.rolls import BadRolls, parse_rolls
from ussd.screens import Kind, Part, Screen, fit

NAMES_PAGE = 3  # three names, the question and the keys fit 80 characters in Arabic
STATUS_BY_DIGIT = {"1": "present", "2": "absent", "3": "late"}
REASONS = {
    Reason.DATA_ENTRY: _("Entry error"),
    Reason.LATE_ARRIVAL: _("Came late"),
    Reason.OFFICIAL_EXCUSE: _("Official excuse"),
    Reason.MEDICAL: _("Medical"),
    Reason.SYSTEM_FAULT: _("System fault"),
}


def _classes(c: Ctx) -> list[ClassInfo]:
    if c.caller.staff_id is None:  # access ended mid-session: an END screen still renders
        return []
    return c.directory.classes_for(c.caller.staff_id)


def _short(day: date) -> str:
    return f"{day.day}/{day.month}"


def _day(c: Ctx) -> date:
    return date.fromordinal(c.state.extra)


def _name(c: Ctx) -> Part:
    return Part(c.directory.person_name(c.state.found), cut=True)


def begin_correction(c: Ctx) -> Outcome:
    classes = _classes(c)
    if not classes:
        return goto(c, "no_classes")
    if len(classes) == 1:
        return goto(c, "corr_student", class_id=classes[0].id, page=0)
    return goto(c, "corr_class", page=0)


def _class_render(c: Ctx) -> Screen:
    return class_menu(c, _classes(c))


def _class_handle(c: Ctx, inp: str) -> Outcome:
    chosen = class_choice(c, _classes(c), inp)
    if not isinstance(chosen, ClassInfo):
        return chosen
    return goto(c, "corr_student", class_id=chosen.id, page=0)


# -- the student: type a roll number; the class list pages by with 8 -------------------------

def _student_render(c: Ctx) -> Screen:
    roster = c.directory.roster(c.state.class_id)
    start = c.state.page * NAMES_PAGE
    rows = roster.students[start:start + NAMES_PAGE]
    lines = [Part(f"{start + i + 1:02d} {name}", cut=True) for i, (_pid, name) in enumerate(rows)]
    keys = ([("8", _("More"))] if start + NAMES_PAGE < roster.size else []) + [("0", _("Back"))]
    tail = "  ".join(f"{k} {c.t(v)}" for k, v in keys)
    ask = notice_part(c) or [Part(c.t("Roll no. to correct:"))]  # a notice takes its place
    return fit(Kind.CON, lines + ask + [Part(tail)], c.limits)


def _student_handle(c: Ctx, inp: str) -> Outcome:
    roster = c.directory.roster(c.state.class_id)
    if inp == "8" and (c.state.page + 1) * NAMES_PAGE < roster.size:
        return goto(c, "corr_student", page=c.state.page + 1)
    if inp == "0":
        return goto(c, "corr_class", page=0) if len(_classes(c)) > 1 else home(c)
    try:
        rolls = parse_rolls(inp, roster.size)
    except BadRolls:
        return invalid(c, "bad_rolls")
    if len(rolls) != 1:
        return invalid(c, "bad_rolls")
    if not c.directory.correctable_days():
        return goto(c, "corr_none")
    return goto(c, "corr_day", found=roster.students[rolls[0] - 1][0], page=0)


# -- the day, then what it becomes and why ---------------------------------------------------

def _day_render(c: Ctx) -> Screen:
    days = c.directory.correctable_days()
    named = [(str(i + 1), _short(d)) for i, d in enumerate(days)]
    return menu(c, [_name(c), Part(c.t("Which day?"))], [("0", _("Back"))], named)


def _day_handle(c: Ctx, inp: str) -> Outcome:
    if inp == "0":
        return goto(c, "corr_student", page=0)
    days = c.directory.correctable_days()
    if not inp.isdigit() or not 1 <= int(inp) <= len(days):
        return invalid(c)
    day = days[int(inp) - 1]
    if c.directory.day_status(c.state.found, day) is None:
        return goto(c, "corr_untaken", extra=day.toordinal())
    return goto(c, "corr_status", extra=day.toordinal(), number="")


def _none_render(c: Ctx) -> Screen:
    return end(c, [Part(c.t("No day left to correct: past the 3 school days."))])


def _untaken_render(c: Ctx) -> Screen:
    return menu(c, [Part(c.t("No attendance taken for {day}.", day=_short(_day(c))))],
                [("0", _("Back"))])


def _untaken_handle(c: Ctx, inp: str) -> Outcome:
    return goto(c, "corr_day") if inp == "0" else invalid(c)


def _status_now(c: Ctx) -> str:
    return c.directory.day_status(c.state.found, _day(c)) or "present"


def _status_render(c: Ctx) -> Screen:
    now = _status_now(c)
    options = [(k, STATUS[s]) for k, s in STATUS_BY_DIGIT.items() if s != now]
    return menu(c, [_name(c), Part(c.t("{day}: {status}. Make it:", day=_short(_day(c)),
                                        status=c.t(STATUS[now])))],
                options + [("0", _("Back"))])


def _status_handle(c: Ctx, inp: str) -> Outcome:
    if inp == "0":
        return goto(c, "corr_day")
    if STATUS_BY_DIGIT.get(inp) in (None, _status_now(c)):
        return invalid(c)
    return goto(c, "corr_reason", number=inp)


def _reason_render(c: Ctx) -> Screen:
    options = [(k, REASONS[r]) for k, r in REASON_BY_DIGIT.items()]
    return menu(c, [Part(c.t("Reason:"))], options + [("0", _("Back"))])


def _reason_handle(c: Ctx, inp: str) -> Outcome:
    if inp == "0":
        return goto(c, "corr_status", number="")
    if inp not in REASON_BY_DIGIT:
        return invalid(c)
    return goto(c, "corr_confirm", number=c.state.number[:1] + inp)


def _confirm_render(c: Ctx) -> Screen:
    to = STATUS_BY_DIGIT[c.state.number[0]]
    change = c.t("{day}: {old} to {new}", day=_short(_day(c)), old=c.t(STATUS[_status_now(c)]),
                 new=c.t(STATUS[to]))
    reason = c.t(REASONS[REASON_BY_DIGIT[c.state.number[1]]])
    return menu(c, [_name(c), Part(change), Part(reason)], [("1", _("Send")), ("0", _("Back"))])


def _confirm_handle(c: Ctx, inp: str) -> Outcome:
    if inp == "0":
        return goto(c, "corr_reason", number=c.state.number[:1])
    if inp != "1":
        return invalid(c)
    assert c.caller.staff_id is not None
    s = c.state
    return Outcome(s.with_(step="corr_sent"), (RequestCorrection(
        s.class_id, c.caller.staff_id, s.found, _day(c), STATUS_BY_DIGIT[s.number[0]],
        REASON_BY_DIGIT[s.number[1]].value),))


def _sent_render(c: Ctx) -> Screen:
    return end(c, [Part(c.t("Sent for approval. Your principal or champion decides."))])


def _locked_render(c: Ctx) -> Screen:
    return end(c, [Part(c.t("That day is locked. Nothing sent. Ask your school."))])


def _pending_render(c: Ctx) -> Screen:
    return end(c, [Part(c.t("A request for that day already waits. Nothing sent."))])


def _same_render(c: Ctx) -> Screen:
    return end(c, [Part(c.t("Already so: nothing to change."))])


STEPS: dict[str, Step] = {
    "corr_class": Step(_class_render, _class_handle),
    "corr_student": Step(_student_render, _student_handle),
    "corr_day": Step(_day_render, _day_handle),
    "corr_untaken": Step(_untaken_render, _untaken_handle),
    "corr_none": Step(_none_render, None),
    "corr_status": Step(_status_render, _status_handle),
    "corr_reason": Step(_reason_render, _reason_handle),
    "corr_confirm": Step(_confirm_render, _confirm_handle),
    "corr_sent": Step(_sent_render, None),
    "corr_locked": Step(_locked_render, None),
    "corr_pending": Step(_pending_render, None),
    "corr_same": Step(_same_render, None),
}

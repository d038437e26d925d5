"""The USSD menus as a pure state machine: (state, input) → (state, effects); state → screen.

No Flask, no Redis, no SQL here: the caller passes a read-only Directory and applies the
effects. Rendering is a pure function of the state, so a repeated request gets the same
screen without applying anything twice.
"""

from __future__ import annotations

from typing import Callable

from ussd import (flow_access, flow_approvals, flow_attendance, flow_correction, flow_privacy,
                  flow_quiz, flow_support_access)
from ussd.common import NOTICES, Ctx, Outcome, Step, invalid, menu
from core.i18n import _
from ussd.ports import Caller, Directory, SetLanguage
from ussd.paging import fits_screen, split_pages
from ussd.screens import Kind, Limits, Part, Screen, ScreenTooLong, fit
from ussd.state import State

MAX_INPUT = 40


def _main_options(c: Ctx) -> list[tuple[str, str]]:
    caller = c.caller
    if caller.staff_id:
        options = [("1", _("Attendance")), ("2", _("Late arrival")), ("3", _("Substitute")),
                   ("4", _("English"))]
        if caller.approver:
            options.append(("5", _("Approvals")))
        return options + [("6", _("Correct")), ("7", _("Support")), ("0", _("Help"))]
    if caller.guardian:
        stop = _("Restart daily SMS") if caller.opted_out else _("Stop daily SMS")
        options = [("1", _("Add a child")), ("2", stop), ("3", _("English")), ("4", _("My data"))]
        if c.directory.quiz_children(caller.msisdn):  # the dated, staged switch (R8)
            options.append(("5", _("Quiz")))
        return options + [("0", _("Help"))]
    return [("1", _("Activate teacher")), ("2", _("Register as parent")), ("3", _("English")),
            ("0", _("Help"))]


def _main_screen(c: Ctx, options: list[tuple[str, str]], last: bool, titled: bool = True) -> Screen:
    title = c.caller.staff_name if c.caller.staff_id else c.t("Hudoor attendance")
    more = [] if last else [("8", _("More"))]
    return menu(c, [Part(title, cut=True)] if titled else [], options + more, strict=True)


def _main_pages(c: Ctx, any_notice: bool = False) -> list[list[tuple[str, str]]]:
    """The main menu's choices split into screens: with the caller's name, else without.

    A long staff menu in English (its "4 العربية" makes the screen 80 characters) goes
    over two screens ("8 More") when a notice takes room; the keys mean the same on every
    screen. `any_notice`: the split under the longest notice (the most screens there are).
    """
    if any_notice:
        longest = max(NOTICES, key=lambda k: len(c.t(NOTICES[k])))
        c = Ctx(c.state.with_(notice=longest), c.caller, c.directory, c.limits)
    options = _main_options(c)
    for titled in (True, False):
        if fits_screen(lambda: _main_screen(c, options, True, titled)):
            return [options]
    return split_pages(options, lambda run, last: fits_screen(
        lambda: _main_screen(c, list(run), last, titled=False)))


def _main_render(c: Ctx) -> Screen:
    if c.state.page == 0:  # everything on one screen when it fits (with the name, else without)
        options = _main_options(c)
        for titled in (True, False):
            try:  # built once: a screen that fits is the answer
                return _main_screen(c, options, True, titled)
            except ScreenTooLong:
                pass
    # Else the pages of the split under the longest notice: the same split whatever the
    # notice now, so "8 More" always leads to the next keys and none is skipped.
    pages = _main_pages(c, any_notice=True)
    page = min(c.state.page, len(pages) - 1)
    return _main_screen(c, pages[page], page == len(pages) - 1, titled=False)


def _main_handle(c: Ctx, inp: str) -> Outcome:
    caller, state = c.caller, c.state
    lang_key = "4" if caller.staff_id else "3"
    if inp == lang_key:
        lang = "en" if state.lang == "ar" else "ar"
        return Outcome(State(lang=lang, hops=state.hops, digest=state.digest), (SetLanguage(lang),))
    if inp == "0":
        return Outcome(state.with_(step="help"))
    if inp == "8" and state.page < len(_main_pages(c, any_notice=True)) - 1:
        return Outcome(state.with_(page=state.page + 1))
    c = Ctx(state.with_(page=0), caller, c.directory, c.limits)  # a flow starts on its first page
    if caller.staff_id:
        handlers: dict[str, Callable[[Ctx], Outcome]] = {
            "1": flow_attendance.begin_attendance, "2": flow_attendance.begin_late,
            "3": flow_access.begin_substitute, "6": flow_correction.begin_correction,
            "7": flow_support_access.begin_support}
        if caller.approver:
            handlers["5"] = flow_approvals.begin_approvals
    elif caller.guardian:
        handlers = {"1": flow_access.begin_enrol, "2": flow_access.begin_stop_or_restart,
                    "4": flow_privacy.begin_my_data, "5": flow_quiz.begin_quiz}
    else:
        handlers = {"1": flow_access.begin_activation, "2": flow_access.begin_enrol}
    if inp in handlers:
        return handlers[inp](c)
    return invalid(c)


def _help_render(c: Ctx) -> Screen:
    if c.caller.staff_id:
        text = c.t("Free. Take attendance every morning; everyone starts present. Problems: your school champion.")
    else:
        text = c.t("Hudoor is free. Parents get one free SMS a day. Dial again to stop or restart. Help: your school.")
    return fit(Kind.END, [Part(text)], c.limits)


def _resume_render(c: Ctx) -> Screen:
    return menu(c, [Part(c.t("You were taking attendance."))],
                [("1", _("Continue")), ("2", _("Start again"))])


def _resume_handle(c: Ctx, inp: str) -> Outcome:
    if inp == "1":
        return Outcome(c.state.with_(step=c.state.back or "start", back=""))
    if inp == "2":
        return Outcome(State(lang=c.state.lang, hops=c.state.hops, digest=c.state.digest))
    return invalid(c)


def _conflict_render(c: Ctx) -> Screen:
    return fit(Kind.END, [Part(c.t("This class was already saved today from another phone. Use Late arrival to change it."))], c.limits)


def _refused_render(c: Ctx) -> Screen:
    return fit(Kind.END, [Part(c.t("Not saved: no longer allowed. Nothing changed. Ask your school."))], c.limits)


STEPS: dict[str, Step] = {
    "start": Step(_main_render, _main_handle),
    "att_conflict": Step(_conflict_render, None),
    "refused": Step(_refused_render, None),
    "help": Step(_help_render, None),
    "resume": Step(_resume_render, _resume_handle),
    **flow_attendance.STEPS,
    **flow_access.STEPS,
    **flow_approvals.STEPS,
    **flow_correction.STEPS,
    **flow_quiz.STEPS,
    **flow_support_access.STEPS,
    **flow_privacy.STEPS,
}


# Steps only a staff member with access may be on. A teacher revoked mid-session (the
# caller cache expired, the sync ended their access) lands on the END screen that says so.
STAFF_STEPS = (frozenset(flow_attendance.STEPS) | frozenset(flow_correction.STEPS)
               | frozenset(flow_approvals.STEPS) | frozenset(flow_support_access.STEPS)
               | {k for k in flow_access.STEPS if k.startswith("sub_")})


def _no_longer_staff(state: State, caller: Caller) -> bool:
    return state.step in STAFF_STEPS and not caller.staff_id


def first_state(caller: Caller, resume: State | None) -> State:
    """Return the state a new session starts in (offering to resume an unfinished class)."""
    if resume is not None and caller.staff_id and resume.step in flow_attendance.RESUMABLE:
        return resume.with_(step="resume", back=resume.step, hops=0, digest="", notice="")
    if resume is not None and is_quiz_resumable(caller, resume):
        return resume.with_(step="quiz_resume", hops=0, digest="", notice="")
    return State(lang=caller.lang)


def is_quiz_resumable(caller: Caller, state: State) -> bool:
    """Tell whether `state` is a quiz a guardian (not on a staff SIM) may continue later."""
    return state.step in flow_quiz.RESUMABLE and caller.guardian and not caller.staff_id


def step(state: State, inp: str, caller: Caller, directory: Directory,
         limits: Limits = Limits()) -> Outcome:
    """Apply one input. Anything not a short run of digits re-asks with a polite notice."""
    c = Ctx(state.with_(notice=""), caller, directory, limits)
    handler = STEPS.get(state.step, STEPS["start"]).handle
    if handler is None:  # an END screen: the session is over; a late input changes nothing
        return Outcome(state)
    if _no_longer_staff(state, caller):
        return Outcome(c.state.with_(step="refused"))
    if not inp or len(inp) > MAX_INPUT or not inp.isascii() or not inp.isdigit():
        return Outcome(c.state.with_(notice="digits"))
    return handler(c, inp)


def render(state: State, caller: Caller, directory: Directory, limits: Limits = Limits()) -> Screen:
    """Return the screen for `state` (pure: the same state always gives the same screen)."""
    c = Ctx(state, caller, directory, limits)
    if _no_longer_staff(state, caller) and not is_final(state):
        return STEPS["refused"].render(c)
    return STEPS.get(state.step, STEPS["start"]).render(c)


def is_final(state: State) -> bool:
    """Tell whether `state` shows an END screen."""
    return STEPS.get(state.step, STEPS["start"]).handle is None



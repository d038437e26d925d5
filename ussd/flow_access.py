"""Teacher activation, guardian enrolment, STOP/restart and substitute delegation."""

from __future__ import annotations

from ussd.common import Ctx, Outcome, Step, end, goto, home, invalid, menu, prompt
from core import consent
from core.i18n import _
from ussd.ports import (
    ActivateStaff,
    CodeRefused,
    Delegate,
    EnrolGuardian,
    Found,
    RevokeDelegation,
    SetOptOut,
)
from ussd.screens import Part, Screen

MAX_TRIES = 3
MAX_NUMBER = 20


# -- teacher activation: staff number + one-time code from the champion ------------------

def begin_activation(c: Ctx) -> Outcome:
    return goto(c, "act_num", number="", tries=0)


def _act_num_render(c: Ctx) -> Screen:
    return prompt(c, [], c.t("Your staff number:"))


def _number_handle(next_step: str) -> "object":
    def handle(c: Ctx, inp: str) -> Outcome:
        if len(inp) > MAX_NUMBER:
            return invalid(c)
        return goto(c, next_step, number=inp)
    return handle


def _refused(c: Ctx, found: "Found | CodeRefused | None", ask_again: str, burned: str) -> Outcome:
    """Say truthfully why a number/code pair was refused: wrong (ask again), burned, or rate-limited."""
    if isinstance(found, CodeRefused) and found.reason == "limited":
        return goto(c, "code_limited", extra=found.until_minute)
    if isinstance(found, CodeRefused) and found.reason == "burned":
        return goto(c, burned)
    tries = c.state.tries + 1
    if tries >= MAX_TRIES:
        return goto(c, "locked", tries=tries)
    return goto(c, ask_again, number="", tries=tries, notice="bad_code")


def _act_code_render(c: Ctx) -> Screen:
    return prompt(c, [], c.t("Code from your school champion:"))


def _act_code_handle(c: Ctx, inp: str) -> Outcome:

    found = c.directory.check_staff_code(c.caller.msisdn, c.state.number, inp)
    if not isinstance(found, Found):
        return _refused(c, found, "act_num", "act_burned")
    return Outcome(c.state.with_(step="act_done", found=found.person_id, extra=0),
                   (ActivateStaff(found.person_id, c.state.number, inp),))


def _act_done_render(c: Ctx) -> Screen:
    return end(c, [Part(c.t("Activated. Dial again to take attendance."))])


def _locked_render(c: Ctx) -> Screen:
    return end(c, [Part(c.t("Too many tries. Check the number and code, then dial again."))])


def _act_burned_render(c: Ctx) -> Screen:
    return end(c, [Part(c.t("This code was burned by wrong tries. Ask your school champion for a new one."))])


def _enr_burned_render(c: Ctx) -> Screen:
    return end(c, [Part(c.t("This slip code was burned by wrong tries. Ask the school for a new slip."))])


def _limited_render(c: Ctx) -> Screen:
    at = f"{c.state.extra // 60:02d}:{c.state.extra % 60:02d}"  # Cairo time
    return end(c, [Part(c.t("Too many tries from this phone. Try again after {time}.", time=at))])


# -- guardian enrolment: student number + slip code ---------------------------------------

def begin_enrol(c: Ctx) -> Outcome:
    return goto(c, "enr_num", number="", tries=0)


def _enr_num_render(c: Ctx) -> Screen:
    return prompt(c, [], c.t("Student number (on the slip):"))


def _enr_code_render(c: Ctx) -> Screen:
    return prompt(c, [], c.t("Code on the slip:"))


def _enr_code_handle(c: Ctx, inp: str) -> Outcome:
    found = c.directory.check_slip_code(c.caller.msisdn, c.state.number, inp)
    if not isinstance(found, Found):
        return _refused(c, found, "enr_num", "enr_burned")
    # The code is checked again when the link is written; it lives in the session until then.
    return goto(c, "enr_confirm", found=found.person_id, code=inp)


def _enr_confirm_render(c: Ctx) -> Screen:
    name = c.directory.person_name(c.state.found)
    return menu(c, [Part(name, cut=True), Part(c.t("Link to this phone?"))],
                [("1", _("Yes, Arabic SMS")), ("2", _("Yes, English SMS")), ("0", _("No"))])


def _enr_confirm_handle(c: Ctx, inp: str) -> Outcome:

    if inp == "0":
        return home(c)
    if inp not in ("1", "2"):
        return invalid(c)
    return goto(c, "enr_consent", lang="ar" if inp == "1" else "en")


def _consent_render(c: Ctx) -> Screen:
    """Show the current consent wording (versioned data, core.consent) in the chosen language."""
    return menu(c, [Part(consent.current().text(c.state.lang))], [("1", _("I agree")), ("0", _("No"))])


def _enr_consent_handle(c: Ctx, inp: str) -> Outcome:
    if inp == "0":
        return home(c)
    if inp != "1":
        return invalid(c)
    effect = EnrolGuardian(c.state.found, c.state.number, c.state.code, c.state.lang,
                           consent.CURRENT)
    return Outcome(c.state.with_(step="enr_done", code=""), (effect,))


def _enr_done_render(c: Ctx) -> Screen:
    return end(c, [Part(c.t("Done. You will get one free SMS a day. Dial again to stop."))])


# -- STOP / restart -----------------------------------------------------------------------

def begin_stop_or_restart(c: Ctx) -> Outcome:
    return goto(c, "restart_confirm" if c.caller.opted_out else "stop_confirm")


def _stop_render(c: Ctx) -> Screen:
    return menu(c, [Part(c.t("Stop all daily SMS?"))], [("1", _("Yes")), ("0", _("No"))])


def _restart_render(c: Ctx) -> Screen:
    # Restarting consents again: to the wording shown here, the current one.
    return _consent_render(c)


def _yes_no(step_done: str, opted_out: bool) -> "object":
    def handle(c: Ctx, inp: str) -> Outcome:

        if inp == "1":
            return Outcome(c.state.with_(step=step_done), (SetOptOut(opted_out),))
        if inp == "0":
            return home(c)
        return invalid(c)
    return handle


def _stopped_render(c: Ctx) -> Screen:
    return end(c, [Part(c.t("Stopped. Dial again to restart."))])


def _restarted_render(c: Ctx) -> Screen:
    return end(c, [Part(c.t("Restarted. One free SMS a day."))])


# -- substitute delegation (U4) --------------------------------------------------------------

def begin_substitute(c: Ctx) -> Outcome:
    return goto(c, "sub_menu")


def _sub_menu_render(c: Ctx) -> Screen:
    return menu(c, [Part(c.t("Substitute"))],
                [("1", _("Give a class")), ("2", _("Cancel a substitute")), ("0", _("Back"))])


def _own_classes(c: Ctx) -> list:  # type: ignore[type-arg]
    assert c.caller.staff_id is not None
    return [cls for cls in c.directory.classes_for(c.caller.staff_id) if not cls.delegated]


def _sub_menu_handle(c: Ctx, inp: str) -> Outcome:
    if inp == "1":
        own = _own_classes(c)
        if not own:
            return goto(c, "no_classes")
        if len(own) == 1:
            return goto(c, "sub_number", class_id=own[0].id)
        return goto(c, "sub_class")
    if inp == "2":
        return goto(c, "sub_list")
    if inp == "0":
        return home(c)
    return invalid(c)


def _sub_class_render(c: Ctx) -> Screen:
    from ussd.flow_attendance import class_menu

    return class_menu(c, _own_classes(c))


def _sub_class_handle(c: Ctx, inp: str) -> Outcome:
    from ussd.flow_attendance import class_choice
    from ussd.ports import ClassInfo

    chosen = class_choice(c, _own_classes(c), inp)
    if not isinstance(chosen, ClassInfo):
        return chosen
    return goto(c, "sub_number", class_id=chosen.id, page=0)


def _sub_number_render(c: Ctx) -> Screen:
    return prompt(c, [], c.t("Substitute's staff number:"))


def _sub_number_handle(c: Ctx, inp: str) -> Outcome:
    assert c.caller.staff_id is not None
    found = c.directory.staff_by_number(c.caller.staff_id, inp[:MAX_NUMBER])
    if found is None or found.person_id == c.caller.staff_id:
        return invalid(c, "not_found")
    return goto(c, "sub_days", found=found.person_id)


def _sub_days_render(c: Ctx) -> Screen:
    return prompt(c, [], c.t("For how many days? (1-9)"))


def _sub_days_handle(c: Ctx, inp: str) -> Outcome:
    if len(inp) != 1 or inp == "0":
        return invalid(c, "bad_days")
    return goto(c, "sub_review", extra=int(inp))


def _sub_review_render(c: Ctx) -> Screen:
    name = c.directory.person_name(c.state.found)
    return menu(c, [Part(name, cut=True),
                    Part(c.t.plural("Give them the class for {n} day?",
                                    "Give them the class for {n} days?", c.state.extra))],
                [("1", _("Yes")), ("0", _("No"))])


def _sub_review_handle(c: Ctx, inp: str) -> Outcome:

    if inp == "0":
        return home(c)
    if inp != "1":
        return invalid(c)
    assert c.caller.staff_id is not None
    effect = Delegate(c.state.class_id, c.caller.staff_id, c.state.found, c.state.extra)
    return Outcome(c.state.with_(step="sub_done"), (effect,))


def _sub_done_render(c: Ctx) -> Screen:
    return end(c, [Part(c.t("Done. The substitute can take this class; it ends by itself."))])


def _sub_list_render(c: Ctx) -> Screen:
    assert c.caller.staff_id is not None
    given = c.directory.delegations_given(c.caller.staff_id)[:3]
    if not given:
        return menu(c, [Part(c.t("No substitutes now."))], [("0", _("Back"))])
    named = [(str(i + 1), f"{d.grantee_name} {d.class_name}") for i, d in enumerate(given)]
    return menu(c, [Part(c.t("Cancel which?"))], [("0", _("Back"))], named)


def _sub_list_handle(c: Ctx, inp: str) -> Outcome:

    assert c.caller.staff_id is not None
    given = c.directory.delegations_given(c.caller.staff_id)[:3]
    if inp == "0":
        return home(c)
    if inp.isdigit() and 1 <= int(inp) <= len(given):
        effect = RevokeDelegation(given[int(inp) - 1].id, c.caller.staff_id)
        return Outcome(c.state.with_(step="sub_revoked"), (effect,))
    return invalid(c)


def _sub_revoked_render(c: Ctx) -> Screen:
    return end(c, [Part(c.t("Substitute cancelled."))])


STEPS: dict[str, Step] = {
    "act_num": Step(_act_num_render, _number_handle("act_code")),  # type: ignore[arg-type]
    "act_code": Step(_act_code_render, _act_code_handle),
    "act_done": Step(_act_done_render, None),
    "locked": Step(_locked_render, None),
    "act_burned": Step(_act_burned_render, None),
    "enr_burned": Step(_enr_burned_render, None),
    "code_limited": Step(_limited_render, None),
    "enr_num": Step(_enr_num_render, _number_handle("enr_code")),  # type: ignore[arg-type]
    "enr_code": Step(_enr_code_render, _enr_code_handle),
    "enr_confirm": Step(_enr_confirm_render, _enr_confirm_handle),
    "enr_consent": Step(_consent_render, _enr_consent_handle),
    "enr_done": Step(_enr_done_render, None),
    "stop_confirm": Step(_stop_render, _yes_no("stopped", True)),  # type: ignore[arg-type]
    "restart_confirm": Step(_restart_render, _yes_no("restarted", False)),  # type: ignore[arg-type]
    "stopped": Step(_stopped_render, None),
    "restarted": Step(_restarted_render, None),
    "sub_menu": Step(_sub_menu_render, _sub_menu_handle),
    "sub_class": Step(_sub_class_render, _sub_class_handle),
    "sub_number": Step(_sub_number_render, _sub_number_handle),
    "sub_days": Step(_sub_days_render, _sub_days_handle),
    "sub_review": Step(_sub_review_render, _sub_review_handle),
    "sub_done": Step(_sub_done_render, None),
    "sub_list": Step(_sub_list_render, _sub_list_handle),
    "sub_revoked": Step(_sub_revoked_render, None),
}

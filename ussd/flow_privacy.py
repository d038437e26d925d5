"""Guardian menu 4, "My data": what Hudoor holds, a full copy by SMS, a correction, erasure (PDPL)."""

from __future__ import annotations

from core.i18n import _
from ussd.common import Ctx, Outcome, Step, end, goto, home, invalid, menu
from ussd.ports import PrivacyAsk
from ussd.screens import Part, Screen


def begin_my_data(c: Ctx) -> Outcome:
    return goto(c, "pd_menu")


def _menu_render(c: Ctx) -> Screen:
    return menu(c, [Part(c.t("My data"))],
                [("1", _("What you hold")), ("2", _("Ask a correction")),
                 ("3", _("Erase my link")), ("0", _("Back"))])


def _menu_handle(c: Ctx, inp: str) -> Outcome:
    steps = {"1": "pd_summary", "2": "pd_correct", "3": "pd_erase"}
    if inp == "0":
        return home(c)
    if inp in steps:
        return goto(c, steps[inp])
    return invalid(c)


def _summary_render(c: Ctx) -> Screen:
    summary = c.directory.guardian_summary(c.caller.msisdn)
    sms = c.t("Daily SMS: on") if summary.sms_on else c.t("Daily SMS: off")
    return menu(c, [Part(", ".join(summary.children) or "-", cut=True), Part(sms)],
                [("1", _("Full copy by SMS")), ("0", _("Back"))])


def _ask(kind: str, done: str) -> "object":
    def handle(c: Ctx, inp: str) -> Outcome:
        if inp == "1":
            return Outcome(c.state.with_(step=done), (PrivacyAsk(kind),))
        if inp == "0":
            return goto(c, "pd_menu")
        return invalid(c)
    return handle


def _correct_render(c: Ctx) -> Screen:
    return menu(c, [Part(c.t("Your school will call you to correct your data. Ask them?"))],
                [("1", _("Yes")), ("0", _("No"))])


def _erase_render(c: Ctx) -> Screen:
    return menu(c, [Part(c.t("Stop all SMS and unlink this phone? Attendance stays at school."))],
                [("1", _("Yes")), ("0", _("No"))])


def _copy_sent_render(c: Ctx) -> Screen:
    return end(c, [Part(c.t("A full copy comes by SMS within minutes."))])


def _correct_done_render(c: Ctx) -> Screen:
    return end(c, [Part(c.t("Asked. Your school will call you on this phone."))])


def _erased_render(c: Ctx) -> Screen:
    return end(c, [Part(c.t("Done. This phone is unlinked. To link again, ask for a new slip."))])


STEPS: dict[str, Step] = {
    "pd_menu": Step(_menu_render, _menu_handle),
    "pd_summary": Step(_summary_render, _ask("access", "pd_copy_sent")),  # type: ignore[arg-type]
    "pd_correct": Step(_correct_render, _ask("correction", "pd_correct_done")),  # type: ignore[arg-type]
    "pd_erase": Step(_erase_render, _ask("erasure", "pd_erased")),  # type: ignore[arg-type]
    "pd_copy_sent": Step(_copy_sent_render, None),
    "pd_correct_done": Step(_correct_done_render, None),
    "pd_erased": Step(_erased_render, None),
}

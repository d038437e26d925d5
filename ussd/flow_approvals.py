"""Principals and champions decide adjustment requests over USSD, one at a time (U3)."""

from __future__ import annotations

from core.i18n import _
from ussd.common import Ctx, Outcome, Step, end, goto, home, invalid, menu
from ussd.ports import DecideAdjustment
from ussd.screens import Part, Screen

STATUS = {"present": _("present"), "absent": _("absent"), "late": _("late")}


def begin_approvals(c: Ctx) -> Outcome:
    assert c.caller.staff_id is not None
    found = c.directory.next_adjustment(c.caller.staff_id)
    if found is None:
        return goto(c, "appr_none")
    return goto(c, "appr_show", extra=found.id)


def _show_render(c: Ctx) -> Screen:
    adj = c.directory.adjustment(c.state.extra)
    if adj is None:
        return end(c, [Part(c.t("No requests waiting."))])
    change = c.t("{day}: {old} to {new}", day=f"{adj.day.day}/{adj.day.month}",
                 old=c.t(STATUS[adj.from_status]), new=c.t(STATUS[adj.to_status]))
    return menu(c, [Part(adj.name, cut=True), Part(change)],
                [("1", _("Approve")), ("2", _("Reject")), ("0", _("Back"))])


def _show_handle(c: Ctx, inp: str) -> Outcome:
    if inp == "0":
        return home(c)
    if inp not in ("1", "2"):
        return invalid(c)
    assert c.caller.staff_id is not None
    approve = inp == "1"
    return Outcome(c.state.with_(step="appr_done", page=1 if approve else 0),
                   (DecideAdjustment(c.state.extra, c.caller.staff_id, approve),))


def _done_render(c: Ctx) -> Screen:
    return end(c, [Part(c.t("Approved.") if c.state.page else c.t("Rejected."))])


def _none_render(c: Ctx) -> Screen:
    return end(c, [Part(c.t("No requests waiting."))])


STEPS: dict[str, Step] = {
    "appr_show": Step(_show_render, _show_handle),
    "appr_done": Step(_done_render, None),
    "appr_none": Step(_none_render, None),
}

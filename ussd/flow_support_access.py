"""Staff main-menu key 7: grant, refuse or end a desk agent's read-only support view (R6).

A champion answers for their school, any staff member for themself. The list shows pending
requests (agent, scope, time box) and live grants (until when) by a short number; choosing
one offers Grant/Refuse, or End now. Digits only; nothing is shared until granted.
"""

from __future__ import annotations

from core.i18n import _
from ussd.common import Ctx, Outcome, Step, end, goto, home, invalid, menu, paged, pick
from ussd.ports import AnswerSupport, EndSupport, SupportItem
from ussd.screens import Part, Screen

SCOPES = {"school": _("the school"), "you": _("what you see")}
DONE = {1: _("Granted until {until}."), 2: _("Refused. Nothing is shared."),
        3: _("Access ended. Nothing more is shared.")}


def _duration(c: Ctx, minutes: int) -> str:
    return c.t("1 day") if minutes >= 1440 else c.t("{n} h", n=minutes // 60)


def _items(c: Ctx) -> list[SupportItem]:
    if c.caller.staff_id is None:  # access ended mid-session: an END screen still renders
        return []
    return c.directory.support_items(c.caller.staff_id)


def begin_support(c: Ctx) -> Outcome:
    if not _items(c):
        return goto(c, "sup_none")
    return goto(c, "sup_list", page=0, extra=0)


def _label(c: Ctx, item: SupportItem) -> str:
    if item.live:
        return c.t("{agent}: on until {until}", agent=item.agent, until=item.until)
    return f"{item.agent}: {c.t(SCOPES[item.scope])} {_duration(c, item.minutes)}"


def _list_render(c: Ctx) -> Screen:
    items = _items(c)
    if not items:
        return end(c, [Part(c.t("No support requests."))])
    shown, more = paged(items, c.state.page)
    named = [(str(i + 1), _label(c, item)) for i, item in enumerate(shown)]
    return menu(c, [Part(c.t("Support"))],
                ([("8", _("More"))] if more else []) + [("0", _("Back"))], named)


def _list_handle(c: Ctx, inp: str) -> Outcome:
    items = _items(c)
    if inp == "0":
        return home(c)
    if inp == "8" and paged(items, c.state.page)[1]:
        return goto(c, "sup_list", page=c.state.page + 1)
    chosen = pick(items, c.state.page, inp)
    if chosen is None:
        return invalid(c)
    return goto(c, "sup_show", extra=chosen.id)


def _item(c: Ctx) -> SupportItem | None:
    if c.caller.staff_id is None:  # access ended mid-session: nothing to show or answer
        return None
    return c.directory.support_item(c.caller.staff_id, c.state.extra)


def _show_render(c: Ctx) -> Screen:
    item = _item(c)
    if item is None:
        return end(c, [Part(c.t("No support requests."))])
    if item.live:
        return menu(c, [Part(item.agent, cut=True),
                        Part(c.t("Sees {scope} until {until}.", scope=c.t(SCOPES[item.scope]),
                                 until=item.until))],
                    [("1", _("End now")), ("0", _("Back"))])
    return menu(c, [Part(item.agent, cut=True),
                    Part(c.t("Asks to see {scope} for {duration}, read-only.",
                             scope=c.t(SCOPES[item.scope]), duration=_duration(c, item.minutes)))],
                [("1", _("Grant")), ("2", _("Refuse")), ("0", _("Back"))])


def _show_handle(c: Ctx, inp: str) -> Outcome:
    item = _item(c)
    staff = c.caller.staff_id
    if inp == "0" or item is None or staff is None:
        return goto(c, "sup_list", page=0)
    if item.live and inp == "1":
        return Outcome(c.state.with_(step="sup_done", page=3), (EndSupport(item.id, staff),))
    if not item.live and inp in ("1", "2"):
        return Outcome(c.state.with_(step="sup_done", page=int(inp)),
                       (AnswerSupport(item.id, staff, grant=inp == "1"),))
    return invalid(c)


def _done_render(c: Ctx) -> Screen:
    item = _item(c)
    return end(c, [Part(c.t(DONE.get(c.state.page, DONE[2]), until=item.until if item else ""))])


def _none_render(c: Ctx) -> Screen:
    return end(c, [Part(c.t("No support requests."))])


STEPS: dict[str, Step] = {
    "sup_list": Step(_list_render, _list_handle),
    "sup_show": Step(_show_render, _show_handle),
    "sup_done": Step(_done_render, None),
    "sup_none": Step(_none_render, None),
}

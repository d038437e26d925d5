"""Teachers take attendance (everyone starts present), review, confirm; late arrivals after."""

from __future__ import annotations

from typing import Callable

from ussd.common import (NOTICES, Ctx, Outcome, Step, end, goto, home, invalid, menu, notice_part,
                         paged, pick, prompt)
from core.i18n import _
from ussd.paging import fits_screen, split_pages
from ussd.ports import ClassInfo, ConfirmAttendance, MarkLate, RequestLateAdjustment, Roll
from ussd.rolls import BadRolls, format_rolls, parse_rolls
from ussd.screens import Kind, Part, Screen, ScreenTooLong, fit
from ussd.state import State
from ussd.titles import short_class_name

RESUMABLE = frozenset({"att_absent", "att_review", "att_late", "list"})
LIST_PAGE = 4  # names per roster page: four Arabic names fit in 80 characters


def _classes(c: Ctx) -> list[ClassInfo]:
    if c.caller.staff_id is None:  # access ended mid-session: an END screen still renders
        return []
    return c.directory.classes_for(c.caller.staff_id)


def _class(c: Ctx) -> ClassInfo:
    """The class being marked, for its title and size (no taken flag: a title needs none).

    The roll (cached with the roll numbers) carries the name and is the size, so a marking
    hop reads no class list; a roll without a name takes the name from the list.
    """
    roll = c.directory.roll(c.state.class_id)
    if roll.name and c.caller.staff_id is not None:
        return ClassInfo(c.state.class_id, roll.name, roll.size)
    name = next((cls.name for cls in _classes(c) if cls.id == c.state.class_id), "?")
    return ClassInfo(c.state.class_id, name, roll.size)


def _size(c: Ctx) -> int:
    return c.directory.roll(c.state.class_id).size


def _title(c: Ctx, dated: bool = True) -> Part:
    """The class (grade abbreviated, section kept) and, unless the screen is short of room, the day."""
    day = c.directory.today()
    name = short_class_name(_class(c).name)
    return Part(f"{name} {day.day}/{day.month}" if dated else name, cut=True, middle=True)


def _titled(c: Ctx, build: Callable[[Part], Screen]) -> Screen:
    """Render with the dated title, or without the date rather than cut the class name."""
    screen = build(_title(c))
    if _title(c).text in screen.text or c.state.notice:
        return screen
    return build(_title(c, dated=False))


def _ids(roll: Roll, rolls: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(roll.ids[r - 1] for r in sorted(rolls) if r <= roll.size)


def roll_changed(state: State, fingerprint: str, size: int) -> State:
    """Where a changed roll leads: its review again, keeping the roll numbers still on it.

    Asked here when this process's roll changed under the session, and by the save when the
    database's roll is not the cached one the numbers were typed on (a sync since): either
    way no mark lands on the wrong child, and the teacher checks again.
    """
    if state.step.startswith("late_"):
        return state.with_(step="late_rolls", fp=fingerprint, late=(), notice="list_changed")
    return state.with_(step="att_review", fp=fingerprint, page=0, notice="list_changed",
                       absent=tuple(r for r in state.absent if r <= size),
                       late=tuple(r for r in state.late if r <= size))


# -- choosing a class ----------------------------------------------------------------

def begin_attendance(c: Ctx) -> Outcome:
    if not c.directory.school_day():
        return goto(c, "no_school")
    classes = _classes(c)
    if not classes:
        return goto(c, "no_classes")
    if len(classes) == 1:
        return _choose(c, classes[0])
    return goto(c, "att_class", page=0)


def _choose(c: Ctx, cls: ClassInfo) -> Outcome:
    if cls.taken:
        return goto(c, "att_taken", class_id=cls.id, page=0)
    roll = c.directory.roll(cls.id)
    return goto(c, "att_absent", class_id=cls.id, fp=roll.fingerprint, absent=(), late=(), page=0)


def class_menu(c: Ctx, classes: list[ClassInfo]) -> Screen:
    """Render a page of classes to choose from: a ✓ when taken today, then the name."""
    shown, more = paged(classes, c.state.page)
    named = [(str(i + 1), f"{'✓ ' if cls.taken else ''}{short_class_name(cls.name)}")
             for i, cls in enumerate(shown)]
    return menu(c, [Part(c.t("Choose class"))],
                ([("8", _("More"))] if more else []) + [("0", _("Back"))], named)


def class_choice(c: Ctx, classes: list[ClassInfo], inp: str) -> "ClassInfo | Outcome":
    """Return the class chosen on this page, or the outcome of paging/going back/a bad key."""
    if inp == "0":
        return home(c)
    if inp == "8" and paged(classes, c.state.page)[1]:
        return goto(c, c.state.step, page=c.state.page + 1)
    chosen = pick(classes, c.state.page, inp)
    return chosen if chosen is not None else invalid(c)


def _att_class_render(c: Ctx) -> Screen:
    return class_menu(c, _classes(c))


def _att_class_handle(c: Ctx, inp: str) -> Outcome:
    chosen = class_choice(c, _classes(c), inp)
    return _choose(c, chosen) if isinstance(chosen, ClassInfo) else chosen  # type: ignore[return-value]


def _no_school_render(c: Ctx) -> Screen:
    return end(c, [Part(c.t("No school today (weekend or holiday)."))])


def _no_classes_render(c: Ctx) -> Screen:
    return end(c, [Part(c.t("You have no classes. Ask your school champion."))])


def _taken_render(c: Ctx) -> Screen:
    return _titled(c, lambda title: menu(c, [title, Part(c.t("Already taken today."))],
                                         [("1", _("Late arrivals")), ("0", _("Back"))]))


def _taken_handle(c: Ctx, inp: str) -> Outcome:
    if inp == "1":
        if not c.directory.school_day():  # after the cut-off it becomes an adjustment request
            return goto(c, "late_closed")
        roll = c.directory.roll(c.state.class_id)
        return goto(c, "late_rolls", fp=roll.fingerprint, late=())
    if inp == "0":
        return home(c)
    return invalid(c)


# -- marking ---------------------------------------------------------------------------

def _absent_render(c: Ctx) -> Screen:
    size = _size(c)
    return _titled(c, lambda title: prompt(
        c, [title, Part(c.t.plural("{n} present (all)", "{n} present (all)", size)),
            Part(c.t("Absent: roll nos, 2 digits each"))], c.t("0 none  9 list")))


def _rolls_input(c: Ctx, inp: str, field: str, back: str) -> Outcome:
    if inp == "0":
        return goto(c, "att_review", page=0, **{field: ()})
    if inp == "9":
        return goto(c, "list", back=back, page=0)
    try:
        rolls = parse_rolls(inp, c.directory.roll(c.state.class_id).size)
    except BadRolls:
        return invalid(c, "bad_rolls")
    if field == "late":
        absent = tuple(r for r in c.state.absent if r not in rolls)
        return goto(c, "att_review", late=rolls, absent=absent, page=0)
    return goto(c, "att_review", absent=rolls, late=tuple(r for r in c.state.late if r not in rolls),
                page=0)


def _absent_handle(c: Ctx, inp: str) -> Outcome:
    return _rolls_input(c, inp, "absent", "att_absent")


def _late_entry_render(c: Ctx) -> Screen:
    return _titled(c, lambda title: prompt(
        c, [title, Part(c.t("Late: roll nos, 2 digits each"))], c.t("0 none  9 list")))


def _late_entry_handle(c: Ctx, inp: str) -> Outcome:
    return _rolls_input(c, inp, "late", "att_late")


# Every roll being confirmed is on a screen, uncut: when they do not fit one screen they are
# paged ("8 More"), and Confirm is offered only on the last page.
REVIEW_NOTICES = ("invalid", "digits", "list_changed")
TITLE_ROOM = 21  # room kept for the class title: five absentees of 50 still fit in Arabic
Rolls = list[tuple[str, int]]  # ("a" absent | "l" late, roll number)


def _roll_lines(c: Ctx, chunk: Rolls) -> list[Part]:
    s = c.state
    absent = [r for kind, r in chunk if kind == "a"]
    late = [r for kind, r in chunk if kind == "l"]
    lines = []
    if absent or not s.late:
        lines.append(Part(c.t("Absent {n}: {rolls}", n=len(s.absent), rolls=format_rolls(absent))))
    if late:
        lines.append(Part(c.t("Late {n}: {rolls}", n=len(s.late), rolls=format_rolls(late))))
    return lines


def _review_options(last: bool) -> list[tuple[str, str]]:
    if last:
        return [("1", _("Confirm")), ("2", _("Late")), ("3", _("Absent")), ("9", _("List"))]
    return [("8", _("More")), ("2", _("Late")), ("3", _("Absent"))]


def _review_screen(c: Ctx, head: Part, chunk: Rolls, last: bool) -> Screen:
    options = [Part(f"{key} {c.t(label)}") for key, label in _review_options(last)]
    return fit(Kind.CON, [head] + _roll_lines(c, chunk) + options, c.limits)


def _review_pages(c: Ctx) -> list[Rolls]:
    """Pages of rolls that fit under the title uncut, or under any notice in its place."""
    s = c.state
    title = _title(c, dated=False).text[:TITLE_ROOM]  # a longer name is cut on the screen
    widest = max([len(title)] + [len(c.t(NOTICES[k])) for k in REVIEW_NOTICES])
    head = Part(title + " " * (widest - len(title)))  # the room the longest heading takes
    items: Rolls = [("a", r) for r in sorted(s.absent)] + [("l", r) for r in sorted(s.late)]
    return split_pages(items, lambda run, last: fits_screen(
        lambda: _review_screen(c, head, list(run), last)))


def _review_render(c: Ctx) -> Screen:
    pages = _review_pages(c)
    page = min(c.state.page, len(pages) - 1)
    last = page == len(pages) - 1
    notice = notice_part(c)
    if notice:
        try:
            return _review_screen(c, notice[0], pages[page], last)
        except ScreenTooLong:  # pragma: no cover - the pages leave room for every notice
            pass
    return _review_screen(c, _title(c, dated=False), pages[page], last)


def _review_handle(c: Ctx, inp: str) -> Outcome:

    s = c.state
    pages = len(_review_pages(c))
    if inp == "8" and s.page < pages - 1:
        return goto(c, "att_review", page=s.page + 1)
    if inp == "1" and s.page < pages - 1:
        return invalid(c)  # rolls not yet shown: Confirm is on the last page
    if inp == "1":
        roll = c.directory.roll(s.class_id)
        if roll.fingerprint != s.fp:
            return Outcome(roll_changed(s, roll.fingerprint, roll.size))
        assert c.caller.staff_id is not None
        effect = ConfirmAttendance(s.class_id, c.caller.staff_id, _ids(roll, s.absent),
                                   _ids(roll, s.late), roll.fingerprint)
        return Outcome(s.with_(step="att_done"), (effect,))
    if inp == "2":
        return goto(c, "att_late")
    if inp == "3":
        return goto(c, "att_absent")
    if inp == "9":
        return goto(c, "list", back="att_review", page=0)
    return invalid(c)


def _done_render(c: Ctx) -> Screen:
    s = c.state
    size = _size(c)
    return end(c, [Part(c.t("Saved {cls}.", cls=short_class_name(_class(c).name)), cut=True,
                        middle=True),
                   Part(c.t.plural("{n} student", "{n} students", size)),
                   Part(c.t("{a} absent, {l} late.", a=len(s.absent), l=len(s.late))),
                   Part(c.t("Thank you."))])


# -- the class list, page by page -------------------------------------------------------

def _list_render(c: Ctx) -> Screen:
    roster = c.directory.roster(c.state.class_id)
    start = c.state.page * LIST_PAGE
    rows = roster.students[start:start + LIST_PAGE]
    lines = [Part(f"{start + i + 1:02d} {name}", cut=True) for i, (_pid, name) in enumerate(rows)]
    options = ([("8", _("More"))] if start + LIST_PAGE < roster.size else []) + [("0", _("Back"))]
    tail = "  ".join(f"{k} {c.t(v)}" for k, v in options)
    return fit(Kind.CON, notice_part(c) + lines + [Part(tail)], c.limits)


def _list_handle(c: Ctx, inp: str) -> Outcome:
    roster = c.directory.roster(c.state.class_id)
    if inp == "8" and (c.state.page + 1) * LIST_PAGE < roster.size:
        return goto(c, "list", page=c.state.page + 1)
    if inp == "0":
        return goto(c, c.state.back or "att_review", page=0)
    return invalid(c)


# -- late arrivals after confirming (U2) -------------------------------------------------

def begin_late(c: Ctx) -> Outcome:
    if not c.directory.school_day():  # after the cut-off it becomes an adjustment request
        return goto(c, "late_closed")
    taken = [cls for cls in _classes(c) if cls.taken]
    if not taken:
        return goto(c, "late_none")
    if len(taken) == 1:
        roll = c.directory.roll(taken[0].id)
        return goto(c, "late_rolls", class_id=taken[0].id, fp=roll.fingerprint, late=())
    return goto(c, "late_class")


def _late_class_render(c: Ctx) -> Screen:
    return class_menu(c, [cls for cls in _classes(c) if cls.taken])


def _late_class_handle(c: Ctx, inp: str) -> Outcome:
    chosen = class_choice(c, [cls for cls in _classes(c) if cls.taken], inp)
    if not isinstance(chosen, ClassInfo):
        return chosen
    roll = c.directory.roll(chosen.id)
    return goto(c, "late_rolls", class_id=chosen.id, fp=roll.fingerprint, late=(), page=0)


def _late_rolls_render(c: Ctx) -> Screen:
    return _titled(c, lambda title: prompt(
        c, [title, Part(c.t("Late arrivals: roll nos, 2 digits each"))], c.t("0 back")))


def _late_rolls_handle(c: Ctx, inp: str) -> Outcome:
    if inp == "0":
        return home(c)
    try:
        rolls = parse_rolls(inp, c.directory.roll(c.state.class_id).size)
    except BadRolls:
        return invalid(c, "bad_rolls")
    return goto(c, "late_review", late=rolls, page=0)


def _late_review_screen(c: Ctx, head: Part, chunk: list[int], last: bool) -> Screen:
    options = [("1", _("Confirm")), ("0", _("Back"))] if last else [("8", _("More")), ("0", _("Back"))]
    return fit(Kind.CON, [head, Part(c.t("Late: {rolls}", rolls=format_rolls(chunk)))]
               + [Part(f"{key} {c.t(label)}") for key, label in options], c.limits)


def _late_review_pages(c: Ctx) -> list[list[int]]:
    title = _title(c, dated=False).text[:TITLE_ROOM]  # a longer name is cut on the screen
    widest = max([len(title)] + [len(c.t(NOTICES[k])) for k in REVIEW_NOTICES])
    head = Part(title + " " * (widest - len(title)))
    return split_pages(sorted(c.state.late), lambda run, last: fits_screen(
        lambda: _late_review_screen(c, head, list(run), last)))


def _late_review_render(c: Ctx) -> Screen:
    pages = _late_review_pages(c)
    page = min(c.state.page, len(pages) - 1)
    notice = notice_part(c)
    head = notice[0] if notice else _title(c, dated=False)
    return _late_review_screen(c, head, pages[page], page == len(pages) - 1)


def _late_review_handle(c: Ctx, inp: str) -> Outcome:

    pages = len(_late_review_pages(c))
    if inp == "8" and c.state.page < pages - 1:
        return goto(c, "late_review", page=c.state.page + 1)
    if inp == "0":
        return goto(c, "late_rolls", late=())
    if inp != "1" or c.state.page < pages - 1:
        return invalid(c)
    roll = c.directory.roll(c.state.class_id)
    if roll.fingerprint != c.state.fp:
        return Outcome(roll_changed(c.state, roll.fingerprint, roll.size))
    assert c.caller.staff_id is not None
    if not c.directory.late_allowed():
        if not c.directory.school_day():
            return goto(c, "late_closed")
        # Past the digest cut-off: parents were told; the change needs an approver (U2, U3).
        return Outcome(c.state.with_(step="late_requested"), (RequestLateAdjustment(
            c.state.class_id, c.caller.staff_id, _ids(roll, c.state.late)),))
    return Outcome(c.state.with_(step="late_done"),
                   (MarkLate(c.state.class_id, c.caller.staff_id, _ids(roll, c.state.late),
                             roll.fingerprint),))


def _late_done_render(c: Ctx) -> Screen:
    return end(c, [Part(c.t.plural("{n} marked late.", "{n} marked late.", len(c.state.late))),
                   Part(c.t("Thank you."))])


def _late_requested_render(c: Ctx) -> Screen:
    return end(c, [Part(c.t("Sent for approval: {n} late. Your champion decides.",
                            n=len(c.state.late)))])


def _late_closed_render(c: Ctx) -> Screen:
    return end(c, [Part(c.t("Past today's cut-off: a change is now an adjustment. Ask your school champion."))])


def _late_none_render(c: Ctx) -> Screen:
    return end(c, [Part(c.t("No class taken today yet."))])


STEPS: dict[str, Step] = {
    "att_class": Step(_att_class_render, _att_class_handle),
    "no_classes": Step(_no_classes_render, None),
    "no_school": Step(_no_school_render, None),
    "att_taken": Step(_taken_render, _taken_handle),
    "att_absent": Step(_absent_render, _absent_handle),
    "att_late": Step(_late_entry_render, _late_entry_handle),
    "att_review": Step(_review_render, _review_handle),
    "att_done": Step(_done_render, None),
    "list": Step(_list_render, _list_handle),
    "late_class": Step(_late_class_render, _late_class_handle),
    "late_rolls": Step(_late_rolls_render, _late_rolls_handle),
    "late_review": Step(_late_review_render, _late_review_handle),
    "late_done": Step(_late_done_render, None),
    "late_closed": Step(_late_closed_render, None),
    "late_requested": Step(_late_requested_render, None),
    "late_none": Step(_late_none_render, None),
}

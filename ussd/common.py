"""Pieces every flow shares: the context, steps, menus, notices."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from core.i18n import Texts, _
from ussd.ports import Caller, Directory, Effect
from ussd.screens import Kind, Limits, Part, Screen, ScreenTooLong, fit
from ussd.state import State

NOTICES = {
    "digits": _("Digits only."),
    "invalid": _("Not a choice."),
    "bad_rolls": _("Roll numbers: 2 digits each."),
    "bad_code": _("Number or code not right."),
    "list_changed": _("Class list changed; check again."),
    "not_found": _("No such staff number."),
    "bad_days": _("Days: 1 to 9."),
    "not_saved": _("Not saved (network). Try again."),
}


_TEXTS: dict[str, Texts] = {}  # by language: a Texts holds nothing a hop changes


@dataclass(frozen=True)
class Ctx:
    state: State
    caller: Caller
    directory: Directory
    limits: Limits

    @property
    def t(self) -> Texts:
        texts = _TEXTS.get(self.state.lang)
        if texts is None:  # made once a language (a screen asks for its texts ~5 times)
            texts = _TEXTS[self.state.lang] = Texts(self.state.lang)
        return texts


@dataclass(frozen=True)
class Outcome:
    """What one input did: the next state and the effects the caller must apply."""

    state: State
    effects: tuple[Effect, ...] = field(default=())


@dataclass(frozen=True)
class Step:
    render: Callable[[Ctx], Screen]
    handle: Callable[[Ctx, str], Outcome] | None  # None: an END screen


def notice_part(c: Ctx) -> list[Part]:
    """Return the one-shot notice line for the screen, if any."""
    return [Part(c.t(NOTICES[c.state.notice]))] if c.state.notice in NOTICES else []


def menu(c: Ctx, head: list[Part], options: list[tuple[str, str]],
         named: list[tuple[str, str]] = (), *, strict: bool = False) -> Screen:  # type: ignore[assignment]
    """Render a CON screen: notice, heading, choices named by data (cuttable), fixed choices.

    The key of every choice always shows; only a name inside a choice (a class, a person)
    may be shortened. `strict`: raise ScreenTooLong rather than drop the notice (a caller
    that pages its choices, like the main menu, keeps the notice on a shorter page).
    """
    notice = notice_part(c)
    if notice:  # the notice takes the place of the heading: the choices still show
        head = []
    choices = ([Part(f"{key} {name}", cut=True, keep=len(key) + 1, middle=True) for key, name in named]
               + [Part(f"{key} {c.t(label)}") for key, label in options])
    try:
        return fit(Kind.CON, notice + head + choices, c.limits)
    except ScreenTooLong:
        if not notice or strict:
            raise
        # A long menu (every key a caller may have) and a notice do not fit together: the
        # choices matter more than the notice, so the menu shows again without it.
        return fit(Kind.CON, choices, c.limits)


PAGE = 3  # named choices per screen: three long class names still fit in 80 characters


def paged(items: list, page: int) -> tuple[list, bool]:  # type: ignore[type-arg]
    """Return the items of one page of choices, and whether more follow."""
    start = page * PAGE
    return items[start:start + PAGE], start + PAGE < len(items)


def pick(items: list, page: int, inp: str):  # type: ignore[no-untyped-def,type-arg]
    """Return the item chosen by key 1–4 on this page, or None."""
    shown, _more = paged(items, page)
    if inp.isdigit() and 1 <= int(inp) <= len(shown):
        return shown[int(inp) - 1]
    return None


def prompt(c: Ctx, head: list[Part], question: str) -> Screen:
    """Render a CON screen asking for typed digits (a notice replaces a name-only title)."""
    notice = notice_part(c)
    if notice:  # the notice takes the place of the heading; the question stays
        head = []
    return fit(Kind.CON, notice + head + [Part(question)], c.limits)


def end(c: Ctx, parts: list[Part]) -> Screen:
    return fit(Kind.END, parts, c.limits)


def invalid(c: Ctx, notice: str = "invalid") -> Outcome:
    """Stay on the same screen with a notice."""

    return Outcome(c.state.with_(notice=notice))


def goto(c: Ctx, step: str, **changes: object) -> Outcome:

    return Outcome(c.state.with_(step=step, **changes))


def home(c: Ctx) -> Outcome:
    """Back to the main menu, keeping language and hop bookkeeping."""

    s = c.state
    return Outcome(State(lang=s.lang, hops=s.hops, digest=s.digest))

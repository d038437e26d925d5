"""The daily digest's and the term summary's wording, from the Babel catalogs in locales/.

The msgids below are the English source (see docs/decisions/0007-digest-wording.md).
Each language's strings are looked up once and kept: composing a district's digests
must not go through gettext per guardian.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import lru_cache

from core.i18n import Texts, _, digits, language
from digests.compose_types import ChildStatus

# Nouns, not adjectives: Arabic adjectives agree with the child's gender, which Hudoor
# does not store.
STATUS = {
    ChildStatus.PRESENT: _("present"),
    ChildStatus.ABSENT: _("absent"),
    ChildStatus.LATE: _("late"),
    ChildStatus.UNRECORDED: _("not recorded"),
}
DAILY = _("Hudoor {day}: {children}")
DAILY_CHILD = _("{name} {status}")
# List patterns: the separator is what the translation puts between {first} and {second}.
DAILY_LIST = _("{first}, {second}")
TERM = _("Hudoor {start}-{end}: {children}")
TERM_CHILD = _("{name} {absent}, {late}")
TERM_LIST = _("{first}; {second}")

# Compound given names whose first word alone would be wrong ("عبد" of "عبد الله").
_NAME_PREFIXES = frozenset({"عبد", "أبو", "ابو", "أم"})
_NAME_SUFFIXES = frozenset({"الله", "الدين", "الرحمن", "الرحيم"})


@dataclass(frozen=True)
class Wording:
    """One language's digest strings, translated once."""

    texts: Texts
    status: dict[ChildStatus, str]
    daily: str
    daily_child: str
    daily_separator: str
    term: str
    term_child: str
    term_separator: str


def _separator(texts: Texts, pattern: str) -> str:
    return texts(pattern).format(first="", second="")


@lru_cache(maxsize=None)
def wording(lang: str) -> Wording:
    """Return the digest strings of a language Hudoor speaks (Arabic otherwise)."""
    texts = Texts(lang, eastern_digits=True)
    return Wording(texts, {status: texts(msgid) for status, msgid in STATUS.items()},
                   texts(DAILY), texts(DAILY_CHILD), _separator(texts, DAILY_LIST),
                   texts(TERM), texts(TERM_CHILD), _separator(texts, TERM_LIST))


# The term summary's counts stay small (school days in a term): a few hundred entries.
@lru_cache(maxsize=4096)
def absent_days(lang: str, n: int) -> str:
    """Return "absent 2 days" in lang, in the plural form for n."""
    return wording(lang).texts.plural("absent {n} day", "absent {n} days", n)


@lru_cache(maxsize=4096)
def late_days(lang: str, n: int) -> str:
    """Return "late 1 day" in lang, in the plural form for n."""
    return wording(lang).texts.plural("late {n} day", "late {n} days", n)


def given_name(display_name: str) -> str:
    """Return the given name (first word, two for compounds like "عبد الله")."""
    words = display_name.split()
    if not words:
        return "?"
    if len(words) > 1 and (words[0] in _NAME_PREFIXES or words[1] in _NAME_SUFFIXES):
        return " ".join(words[:2])
    return words[0]


def day_label(day: date, lang: str) -> str:
    """Return the short date a digest opens with: 28/11."""
    return digits(f"{day.day}/{day.month}", lang)


def render(lang: str, day: date, children: list[tuple[str, ChildStatus]]) -> str:
    """Return the digest text: header, then each child's given name and status."""
    lang = language(lang)
    w = wording(lang)
    listed = w.daily_separator.join(w.daily_child.format(name=name, status=w.status[status])
                                    for name, status in children)
    return w.daily.format(day=day_label(day, lang), children=listed)


def render_term(lang: str, start: date, end: date, children: list[tuple[str, int, int]]) -> str:
    """Return a term summary: each child's given name with days absent and days late."""
    lang = language(lang)
    w = wording(lang)
    listed = w.term_separator.join(
        w.term_child.format(name=name, absent=absent_days(lang, absent),
                            late=late_days(lang, late))
        for name, absent, late in children)
    return w.term.format(start=day_label(start, lang), end=day_label(end, lang), children=listed)

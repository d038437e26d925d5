"""The daily digest's wording in Arabic and English, sized for one SMS segment.

TODO(issue 4): move these strings into the Babel catalogs under locales/ once the
shared translation helper leaves ussd/ (see docs/decisions/0007-digest-wording.md).
"""

from __future__ import annotations

from datetime import date

from digests.compose_types import ChildStatus

# Eastern Arabic digits in Arabic texts: they cost nothing extra (the text is
# UCS-2 anyway) and are what a parent reads on an Arabic handset.
_EASTERN = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")

STATUS_WORDS: dict[str, dict[ChildStatus, str]] = {
    # Nouns, not adjectives: Arabic adjectives agree with the child's gender,
    # which Hudoor does not store.
    "ar": {ChildStatus.PRESENT: "حضور", ChildStatus.ABSENT: "غياب",
           ChildStatus.LATE: "تأخير", ChildStatus.UNRECORDED: "لم يسجل"},
    "en": {ChildStatus.PRESENT: "present", ChildStatus.ABSENT: "absent",
           ChildStatus.LATE: "late", ChildStatus.UNRECORDED: "not recorded"},
}

HEADER = {"ar": "حضور {day}: ", "en": "Hudoor {day}: "}
SEPARATOR = {"ar": "، ", "en": ", "}
STATUS_JOIN = {"ar": " ", "en": " "}

# Compound given names whose first word alone would be wrong ("عبد" of "عبد الله").
_NAME_PREFIXES = frozenset({"عبد", "أبو", "ابو", "أم"})
_NAME_SUFFIXES = frozenset({"الله", "الدين", "الرحمن", "الرحيم"})


def digits(text: str, language: str) -> str:
    """Return text with Eastern Arabic digits when the language is Arabic."""
    return text.translate(_EASTERN) if language == "ar" else text


def given_name(display_name: str) -> str:
    """Return the given name (first word, two for compounds like "عبد الله")."""
    words = display_name.split()
    if not words:
        return "?"
    if len(words) > 1 and (words[0] in _NAME_PREFIXES or words[1] in _NAME_SUFFIXES):
        return " ".join(words[:2])
    return words[0]


def day_label(day: date, language: str) -> str:
    """Return the short date a digest opens with: 28/11."""
    return digits(f"{day.day}/{day.month}", language)


def render(language: str, day: date, children: list[tuple[str, ChildStatus]]) -> str:
    """Return the digest text: header, then each child's given name and status."""
    lang = language if language in STATUS_WORDS else "ar"
    words = STATUS_WORDS[lang]
    parts = [f"{name}{STATUS_JOIN[lang]}{words[status]}" for name, status in children]
    return HEADER[lang].format(day=day_label(day, lang)) + SEPARATOR[lang].join(parts)


TERM_HEADER = {"ar": "حضور {start}-{end}: ", "en": "Hudoor {start}-{end}: "}
TERM_COUNTS = {"ar": "غياب {absent} تأخير {late}", "en": "absent {absent} late {late}"}


def render_term(language: str, start: date, end: date, children: list[tuple[str, int, int]]) -> str:
    """Return a term summary: each child's given name with days absent and days late."""
    lang = language if language in TERM_COUNTS else "ar"
    parts = [f"{name} " + digits(TERM_COUNTS[lang].format(absent=a, late=late), lang)
             for name, a, late in children]
    head = TERM_HEADER[lang].format(start=day_label(start, lang), end=day_label(end, lang))
    return head + SEPARATOR[lang].join(parts)

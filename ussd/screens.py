"""Screens that fit the operator's USSD limit: names are cut, menu choices never are."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from core.gsm import is_gsm7

# A USSD string is 160 octets: 182 GSM-7 characters, or 80 when any character is not GSM-7.
GSM7_LIMIT = 182
UCS2_LIMIT = 80
MIN_CUT = 8  # a name cut shorter than this is no longer recognisable: the template is too long


class Kind(str, Enum):
    CON = "CON"  # the session continues: the phone shows an input box
    END = "END"  # the session ends


@dataclass(frozen=True)
class Part:
    """One line of a screen; `cut` lines may be shortened to fit (names), others never.

    `keep` characters at the start are never cut (a choice's key); `middle` cuts out of
    the middle, keeping the end, where class names differ ("…(3/أ)").
    """

    text: str
    cut: bool = False
    keep: int = 0
    middle: bool = False


@dataclass(frozen=True)
class Limits:
    gsm7: int = GSM7_LIMIT
    ucs2: int = UCS2_LIMIT

    def for_text(self, text: str) -> int:
        """Return the character budget for `text`."""
        return self.gsm7 if is_gsm7(text) else self.ucs2


class ScreenTooLong(ValueError):
    """The fixed (uncuttable) lines alone exceed the limit: a template bug."""


@dataclass(frozen=True)
class Screen:
    kind: Kind
    text: str

    def body(self) -> str:
        """Return what Africa's Talking expects: 'CON …' or 'END …'."""
        return f"{self.kind.value} {self.text}"


def _shorten(part: Part, width: int, ellipsis: str) -> str:
    text = part.text
    if len(text) <= width:
        return text
    if width <= len(ellipsis) + part.keep:
        return text[:max(width, 0)]
    if part.middle:
        room = width - len(ellipsis) - part.keep
        tail = room // 2
        head = room - tail
        return text[: part.keep + head] + ellipsis + text[len(text) - tail:]
    return text[: width - len(ellipsis)].rstrip() + ellipsis


def fit(kind: Kind, parts: list[Part], limits: Limits = Limits()) -> Screen:
    """Join the parts into a screen within the limit, shortening only `cut` parts."""
    texts = [p.text for p in parts]
    joined = "\n".join(texts)
    limit = limits.for_text(joined)
    if len(joined) <= limit:
        return Screen(kind, joined)
    ellipsis = "…" if not is_gsm7(joined) else ".."
    if ellipsis == "…":
        limit = limits.ucs2
    cuttable = [i for i, p in enumerate(parts) if p.cut]
    fixed = sum(len(texts[i]) for i in range(len(parts)) if i not in cuttable) + len(parts) - 1
    room = limit - fixed
    if room < 0 or (not cuttable and len(joined) > limit):
        raise ScreenTooLong(f"fixed text is {fixed} characters, limit {limit}: {joined!r}")
    # Share the room fairly: short cuttable parts keep their length, long ones split the rest.
    widths = {i: len(texts[i]) for i in cuttable}
    while sum(widths.values()) > room:
        longest = max(widths, key=lambda i: widths[i])
        widths[longest] -= 1
        if widths[longest] < min(MIN_CUT, len(texts[longest])):
            raise ScreenTooLong(f"no room left for {texts[longest]!r} in {joined!r}")
    for i in cuttable:
        texts[i] = _shorten(parts[i], widths[i], ellipsis)
    text = "\n".join(t for t in texts)
    if len(text) > limits.for_text(text):  # shortening never makes it longer; belt and braces
        raise ScreenTooLong(text)
    return Screen(kind, text)

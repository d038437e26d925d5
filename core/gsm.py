"""Encode SMS text as GSM 03.38 7-bit or UCS-2 and count the segments it costs.

Segment limits come from the 140-octet user data of one SMS:

* GSM-7 single: 140 * 8 / 7 = 160 septets.
* GSM-7 concatenated: a 6-octet UDH leaves 134 octets; after the fill bit that
  re-aligns the text to a septet boundary, 153 septets remain.
* UCS-2 single: 140 / 2 = 70 code units; concatenated: 134 / 2 = 67.

An extension character (``€``, ``{`` ...) is sent as ESC + code and a non-BMP
character as a UTF-16 surrogate pair; handsets garble either when the two
halves land in different segments, so segments are cut on character
boundaries only.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

GSM7_SINGLE = 160
GSM7_MULTI = 153
UCS2_SINGLE = 70
UCS2_MULTI = 67

ESC = 0x1B

# 3GPP TS 23.038 §6.2.1 default alphabet, indexed by septet. Index 0x1B is the
# escape to the extension table, so it maps to no character (None below).
# 0x09 is "Ç" (capital C cedilla) in 3GPP TS 23.038, the standard handsets and
# SMSCs implement; the lower-case "ç" is in neither table, so it forces UCS-2.
# (Unicode's old GSM0338.TXT maps 0x09 to "ç"; we follow 3GPP, which decides
# what an operator bills.) Mapping both to 0x09 would make decode(encode(x)) lossy.
_DEFAULT = (
    "@£$¥èéùìòÇ\nØø\rÅå"
    "Δ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ"
    " !\"#¤%&'()*+,-./"
    "0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNO"
    "PQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmno"
    "pqrstuvwxyzäöñüà"
)
assert len(_DEFAULT) == 128

# Basic extension table (TS 23.038 §6.2.1.1): each costs ESC + this code.
_EXTENSION: dict[str, int] = {
    "\f": 0x0A,
    "^": 0x14,
    "{": 0x28,
    "}": 0x29,
    "\\": 0x2F,
    "[": 0x3C,
    "~": 0x3D,
    "]": 0x3E,
    "|": 0x40,
    "€": 0x65,
}

_TO_DEFAULT: dict[str, int] = {ch: i for i, ch in enumerate(_DEFAULT) if i != ESC}
_FROM_EXTENSION: dict[int, str] = {code: ch for ch, code in _EXTENSION.items()}


class Encoding(enum.Enum):
    """Name the data coding scheme chosen for a text."""

    GSM7 = "GSM-7"
    UCS2 = "UCS-2"


class EncodingError(ValueError):
    """Signal text or data that cannot be encoded or decoded."""


class NotGsm7(EncodingError):
    """Signal a character outside the GSM 03.38 default and extension tables."""

    def __init__(self, char: str, index: int) -> None:
        super().__init__(f"character {char!r} (U+{ord(char):04X}) at {index} is not GSM-7")
        self.char = char
        self.index = index


class NotUcs2(EncodingError):
    """Signal text that has no UTF-16 form (a lone surrogate)."""


class InvalidSeptets(EncodingError):
    """Signal septet or octet data that is malformed."""


@dataclass(frozen=True)
class SegmentInfo:
    """Describe the cost of one text: its encoding, segments and total units."""

    encoding: Encoding
    segments: int
    units: int  # septets for GSM-7, UTF-16 code units for UCS-2


def gsm7_cost(char: str) -> int | None:
    """Return the septets one character costs in GSM-7, or None if it has no GSM-7 form."""
    if char in _TO_DEFAULT:
        return 1
    if char in _EXTENSION:
        return 2
    return None


def is_gsm7(text: str) -> bool:
    """Return whether every character of text is in the default or extension table."""
    return all(gsm7_cost(ch) is not None for ch in text)


def encode_gsm7(text: str) -> list[int]:
    """Encode text as unpacked GSM-7 septets, escaping extension characters."""
    septets: list[int] = []
    for index, ch in enumerate(text):
        code = _TO_DEFAULT.get(ch)
        if code is not None:
            septets.append(code)
        elif ch in _EXTENSION:
            septets.extend((ESC, _EXTENSION[ch]))
        else:
            raise NotGsm7(ch, index)
    return septets


def decode_gsm7(septets: Iterable[int]) -> str:
    """Decode unpacked GSM-7 septets, resolving escapes as TS 23.038 prescribes."""
    out: list[str] = []
    escaped = False
    for septet in septets:
        if not 0 <= septet <= 0x7F:
            raise InvalidSeptets(f"septet {septet} is outside 0..127")
        if escaped:
            escaped = False
            if septet in _FROM_EXTENSION:
                out.append(_FROM_EXTENSION[septet])
            elif septet == ESC:
                # ESC ESC is reserved for a future table; the spec says show a space.
                out.append(" ")
            else:
                # Unknown extension code: the spec says show the default character.
                out.append(_DEFAULT[septet])
        elif septet == ESC:
            escaped = True
        else:
            out.append(_DEFAULT[septet])
    if escaped:
        # A dangling ESC carries no character; a space keeps the text visibly intact.
        out.append(" ")
    return "".join(out)


def pack_septets(septets: Sequence[int]) -> bytes:
    """Pack septets into octets, least significant bit first, as sent on the air."""
    packed = bytearray()
    acc = 0
    bits = 0
    for septet in septets:
        if not 0 <= septet <= 0x7F:
            raise InvalidSeptets(f"septet {septet} is outside 0..127")
        acc |= septet << bits
        bits += 7
        while bits >= 8:
            packed.append(acc & 0xFF)
            acc >>= 8
            bits -= 8
    if bits:
        packed.append(acc & 0xFF)
    return bytes(packed)


def unpack_septets(octets: bytes, count: int) -> list[int]:
    """Unpack count septets from packed octets.

    The count is required because 8k-1 septets leave 7 spare zero bits that
    would otherwise read back as a trailing "@" (on the air the UDL says it).
    """
    if count < 0 or count * 7 > len(octets) * 8:
        raise InvalidSeptets(f"{len(octets)} octets cannot hold {count} septets")
    value = int.from_bytes(octets, "little")
    return [(value >> (7 * i)) & 0x7F for i in range(count)]


def encode_ucs2(text: str) -> bytes:
    """Encode text as UTF-16-BE; non-BMP characters become surrogate pairs."""
    try:
        return text.encode("utf-16-be")
    except UnicodeEncodeError as exc:
        raise NotUcs2(f"text has no UTF-16 form: {exc.reason} at {exc.start}") from exc


def _ucs2_cost(char: str) -> int:
    if 0xD800 <= ord(char) <= 0xDFFF:
        raise NotUcs2(f"lone surrogate U+{ord(char):04X} has no UTF-16 form")
    return 2 if ord(char) > 0xFFFF else 1


def _plan(text: str) -> tuple[Encoding, list[int], int, int]:
    """Return the encoding, per-character costs and the single/multi segment limits."""
    gsm_costs = [gsm7_cost(ch) for ch in text]
    if all(cost is not None for cost in gsm_costs):
        return Encoding.GSM7, [c for c in gsm_costs if c is not None], GSM7_SINGLE, GSM7_MULTI
    return Encoding.UCS2, [_ucs2_cost(ch) for ch in text], UCS2_SINGLE, UCS2_MULTI


def _cut(costs: Sequence[int], single: int, multi: int) -> list[tuple[int, int]]:
    """Return [start, end) character ranges of each segment.

    Greedy filling is optimal here: segments are contiguous and every
    character must go somewhere, so deferring one never saves a segment.
    """
    if sum(costs) <= single:
        return [(0, len(costs))]
    ranges: list[tuple[int, int]] = []
    start = 0
    used = 0
    for index, cost in enumerate(costs):
        if used + cost > multi:
            ranges.append((start, index))
            start, used = index, 0
        used += cost
    ranges.append((start, len(costs)))
    return ranges


_ARABIC = re.compile("[\u0600-\u06ff]")  # never GSM-7: such a text is UCS-2
_NOT_ONE_UNIT = re.compile("[\ud800-\udfff\U00010000-\U0010ffff]")


def segment_count(text: str) -> SegmentInfo:
    """Return the encoding, segment count and total units text costs as SMS."""
    if _ARABIC.search(text) and not _NOT_ONE_UNIT.search(text):
        # The common Arabic digest, counted without a cost per character: one unit each.
        n = len(text)
        return SegmentInfo(Encoding.UCS2, 1 if n <= UCS2_SINGLE else -(-n // UCS2_MULTI), n)
    encoding, costs, single, multi = _plan(text)
    return SegmentInfo(encoding, len(_cut(costs, single, multi)), sum(costs))


def split_segments(text: str) -> list[str]:
    """Split text into the per-segment texts that segment_count counts."""
    _, costs, single, multi = _plan(text)
    return [text[start:end] for start, end in _cut(costs, single, multi)]


def units(text: str, encoding: Encoding) -> int:
    """Return the septets or UTF-16 code units text costs in the given encoding."""
    if encoding is Encoding.GSM7:
        return len(encode_gsm7(text))
    return len(encode_ucs2(text)) // 2

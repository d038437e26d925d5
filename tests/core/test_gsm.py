"""Check GSM 03.38 / UCS-2 encoding and segment counting against hand-worked cases."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.gsm import (
    GSM7_MULTI,
    GSM7_SINGLE,
    UCS2_MULTI,
    UCS2_SINGLE,
    Encoding,
    InvalidSeptets,
    NotGsm7,
    NotUcs2,
    SegmentInfo,
    decode_gsm7,
    encode_gsm7,
    encode_ucs2,
    gsm7_cost,
    is_gsm7,
    pack_septets,
    segment_count,
    split_segments,
    unpack_septets,
    units,
)

G, U = Encoding.GSM7, Encoding.UCS2
ALIF_MEEM = "م"  # one BMP Arabic letter: one UCS-2 code unit
EMOJI = "\U0001F600"  # outside the BMP: a surrogate pair, two code units

# (text, encoding, segments, units), each worked out by hand from the limits
# 160/153 septets and 70/67 code units.
TABLE = [
    ("", G, 1, 0),
    ("a" * 160, G, 1, 160),
    ("a" * 161, G, 2, 161),
    ("a" * 306, G, 2, 306),
    ("a" * 307, G, 3, 307),
    # 306 septets would fit 2 x 153, but the € (ESC+e) at septets 153-154 may
    # not straddle: segment 1 stops at 152, pushing one "a" into a third.
    ("a" * 152 + "€" + "a" * 152, G, 3, 306),
    ("a" * 153 + "€" + "a" * 151, G, 2, 306),
    ("€" * 80, G, 1, 160),
    ("€" * 81, G, 2, 162),  # 76 per segment (152 septets), 81 > 76
    ("{" * 80, G, 1, 160),
    ("a" * 159 + "{", G, 2, 161),
    ("^}\\[~]|\f", G, 1, 16),
    ("\n@£", G, 1, 3),
    ("Ç" * 160, G, 1, 160),  # 3GPP TS 23.038: Ç is 0x09 of the default alphabet
    ("$¤¥èéùìòØøÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ¡ÄÖÑÜ§¿äöñüà", G, 1, 39),
    (ALIF_MEEM * 70, U, 1, 70),
    (ALIF_MEEM * 71, U, 2, 71),
    (ALIF_MEEM * 134, U, 2, 134),
    (ALIF_MEEM * 135, U, 3, 135),
    ("a" * 69 + ALIF_MEEM, U, 1, 70),  # one Arabic letter turns Latin text into UCS-2
    ("a" * 100 + ALIF_MEEM, U, 2, 101),
    (EMOJI * 35, U, 1, 70),
    # 134 units would fit 2 x 67, but the pair at units 67-68 may not straddle.
    (ALIF_MEEM * 66 + EMOJI + ALIF_MEEM * 66, U, 3, 134),
    (ALIF_MEEM * 65 + EMOJI + ALIF_MEEM * 67, U, 2, 134),
    # Ç-lookalikes: none is in either GSM table.
    ("ç", U, 1, 1),  # lower-case ç is not in 3GPP's table (Unicode's GSM0338.TXT put it at 0x09)
    ("ć", U, 1, 1),
    ("č", U, 1, 1),
    ("c\u0327", U, 1, 2),  # decomposed ç: c + COMBINING CEDILLA
    ("`", U, 1, 1),  # backtick is a classic trap: not GSM-7
    ("\t", U, 1, 1),
    ("٣", U, 1, 1),  # Arabic-Indic digit three
]


@pytest.mark.parametrize(("text", "encoding", "segments", "cost"), TABLE)
def test_hand_checked_table(text: str, encoding: Encoding, segments: int, cost: int) -> None:
    assert segment_count(text) == SegmentInfo(encoding, segments, cost)
    parts = split_segments(text)
    assert len(parts) == segments
    assert "".join(parts) == text


def test_escape_boundary_split_keeps_pair_together() -> None:
    parts = split_segments("a" * 152 + "€" + "a" * 152)
    assert parts == ["a" * 152, "€" + "a" * 151, "a"]


def test_surrogate_boundary_split_keeps_pair_together() -> None:
    parts = split_segments(ALIF_MEEM * 66 + EMOJI + ALIF_MEEM * 66)
    assert parts == [ALIF_MEEM * 66, EMOJI + ALIF_MEEM * 65, ALIF_MEEM]


def test_extension_characters_cost_two_septets() -> None:
    for ch in "^{}\\[~]|€\f":
        assert len(encode_gsm7(ch)) == 2
        assert encode_gsm7(ch)[0] == 0x1B


def test_known_septets_and_packing() -> None:
    assert encode_gsm7("@£\n€") == [0x00, 0x01, 0x0A, 0x1B, 0x65]
    # 3GPP TS 23.038 §6.2.1: 0x09 is capital C cedilla; lower-case ç has no septet.
    assert encode_gsm7("Ç") == [0x09] and decode_gsm7([0x09]) == "Ç"
    assert gsm7_cost("ç") is None
    # The classic TS 23.040 example: "hellohello" packs to these nine octets.
    assert pack_septets(encode_gsm7("hellohello")).hex().upper() == "E8329BFD4697D9EC37"


def test_not_gsm7_names_the_character() -> None:
    with pytest.raises(NotGsm7) as info:
        encode_gsm7("ok مرحبا")
    assert info.value.index == 3
    assert info.value.char == "م"


def test_decode_follows_spec_fallbacks() -> None:
    assert decode_gsm7([0x1B, 0x41]) == "A"  # unknown extension code: default character
    assert decode_gsm7([0x1B, 0x1B]) == " "  # reserved ESC ESC: a space
    assert decode_gsm7([0x41, 0x1B]) == "A "  # dangling ESC
    with pytest.raises(InvalidSeptets):
        decode_gsm7([0x80])


def test_unpack_rejects_impossible_count() -> None:
    with pytest.raises(InvalidSeptets):
        unpack_septets(b"\x00", 2)
    with pytest.raises(InvalidSeptets):
        pack_septets([128])


def test_eight_k_minus_one_septets_do_not_grow_a_trailing_at() -> None:
    septets = encode_gsm7("abcdefg")
    packed = pack_septets(septets)
    assert len(packed) == 7
    assert unpack_septets(packed, 7) == septets


def test_ucs2_is_utf16_big_endian_with_surrogates() -> None:
    assert encode_ucs2("م") == b"\x06\x45"
    assert encode_ucs2(EMOJI) == b"\xd8\x3d\xde\x00"
    with pytest.raises(NotUcs2):
        encode_ucs2("\ud800")
    with pytest.raises(NotUcs2):
        segment_count("\ud800")


# --- properties -------------------------------------------------------------

GSM_CHARS = sorted(
    {chr(c) for c in range(0x2500) if is_gsm7(chr(c))}  # every GSM char is below U+2500
    | {"€"}
)
gsm_char = st.sampled_from(GSM_CHARS)
rare_char = st.sampled_from([ALIF_MEEM, EMOJI, "ç", "ح", "\U0001F44D"])
# Short texts find edge cases; long ones (up to ~3 segments) reach the
# concatenated limits, where escape and surrogate boundaries matter.
gsm_text = st.one_of(
    st.text(alphabet=gsm_char, max_size=40),
    st.text(alphabet=gsm_char, min_size=140, max_size=480),
)
any_text = st.one_of(
    gsm_text,
    # Mostly GSM with the odd foreign character, which switches the whole text to UCS-2.
    st.text(alphabet=st.one_of(gsm_char, gsm_char, gsm_char, rare_char), min_size=50, max_size=250),
    # Arabic-heavy texts with emoji surrogate pairs, around the 70/67 limits.
    st.text(alphabet=st.sampled_from("مرحباً ولي الأمر" + EMOJI), min_size=60, max_size=220),
    st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=200),
)


def test_gsm_alphabet_has_all_tables() -> None:
    assert len(GSM_CHARS) == 127 + 10  # 128 default minus ESC, plus 10 extensions


@given(gsm_text)
def test_gsm7_round_trip(text: str) -> None:
    assert decode_gsm7(encode_gsm7(text)) == text


@given(gsm_text)
def test_gsm7_round_trip_through_packing(text: str) -> None:
    septets = encode_gsm7(text)
    assert decode_gsm7(unpack_septets(pack_septets(septets), len(septets))) == text


@given(st.lists(st.integers(min_value=0, max_value=0x7F), max_size=300))
def test_pack_unpack_round_trip(septets: list[int]) -> None:
    packed = pack_septets(septets)
    assert len(packed) == (7 * len(septets) + 7) // 8
    assert unpack_septets(packed, len(septets)) == septets


@given(any_text)
def test_split_agrees_with_count_and_limits(text: str) -> None:
    info = segment_count(text)
    parts = split_segments(text)
    assert len(parts) == info.segments
    assert "".join(parts) == text
    assert sum(units(part, info.encoding) for part in parts) == info.units
    assert info.units == units(text, info.encoding)
    single, multi = (
        (GSM7_SINGLE, GSM7_MULTI) if info.encoding is Encoding.GSM7 else (UCS2_SINGLE, UCS2_MULTI)
    )
    limit = single if len(parts) == 1 else multi
    assert all(units(part, info.encoding) <= limit for part in parts)
    assert (info.encoding is Encoding.GSM7) == is_gsm7(text)


@given(any_text)
def test_segments_never_split_a_character(text: str) -> None:
    info = segment_count(text)
    parts = split_segments(text)
    if info.encoding is Encoding.GSM7:
        # Each part decodes alone, so no ESC was separated from its character.
        assert all(decode_gsm7(encode_gsm7(part)) == part for part in parts)
    else:
        assert all(encode_ucs2(part).decode("utf-16-be") == part for part in parts)


@given(any_text)
def test_segment_count_is_minimal(text: str) -> None:
    info = segment_count(text)
    multi = GSM7_MULTI if info.encoding is Encoding.GSM7 else UCS2_MULTI
    single = GSM7_SINGLE if info.encoding is Encoding.GSM7 else UCS2_SINGLE
    if info.units <= single:
        assert info.segments == 1
    else:
        # Losing at most one unit per segment to an unsplittable pair.
        assert -(-info.units // multi) <= info.segments <= -(-info.units // (multi - 1))

"""Map Egyptian numbers and delivery-report network codes to operators."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shaping.operators import (
    InvalidMsisdn,
    InvalidNetworkCode,
    Operator,
    operator_for,
    operator_for_network_code,
    parse_network_code,
    to_e164,
)

PREFIXES = {
    "10": Operator.VODAFONE,
    "11": Operator.ETISALAT,
    "12": Operator.ORANGE,
    "15": Operator.WE,
}
ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")


def _layouts(nsn: str) -> list[str]:
    """Return the ways parents, staff and gateways write the same mobile number."""
    spaced = f"{nsn[:2]} {nsn[2:6]} {nsn[6:]}"
    return [
        "0" + nsn,
        "+20" + nsn,
        "0020" + nsn,
        "20" + nsn,
        "+20 " + spaced,
        "0" + spaced.replace(" ", "-"),
        "(0" + nsn[:2] + ") " + nsn[2:],
        " +20" + nsn + " ",
        ("0" + nsn).translate(ARABIC_INDIC),
        ("+20" + nsn).translate(ARABIC_INDIC),
    ]


@given(
    prefix=st.sampled_from(sorted(PREFIXES)),
    rest=st.text(alphabet="0123456789", min_size=8, max_size=8),
    layout=st.integers(min_value=0, max_value=9),
)
def test_every_layout_of_a_valid_mobile_maps_by_prefix(prefix: str, rest: str, layout: int) -> None:
    nsn = prefix + rest
    text = _layouts(nsn)[layout]
    assert to_e164(text) == "+20" + nsn
    assert operator_for(text) is PREFIXES[prefix]


@settings(deadline=None)  # a busy core must not fail a pure property
@given(nsn=st.text(alphabet="0123456789", min_size=10, max_size=10).map(lambda t: "1" + t))
def test_the_e164_shortcut_agrees_with_the_full_parse(nsn: str) -> None:
    """operator_for skips the parse for "+201X" + 8 digits: it must say what the parse says."""
    e164 = "+20" + nsn[:10]
    try:
        parsed = PREFIXES.get(to_e164(e164)[3:5], Operator.UNKNOWN)
    except InvalidMsisdn:
        parsed = Operator.UNKNOWN
    assert operator_for(e164) is parsed


@pytest.mark.parametrize(
    "text",
    [
        "",
        "hello",
        "+20 2 2345 6789",  # Cairo landline
        "0131234567",  # 13x is not allocated
        "01012345",  # too short
        "010123456789",  # too long
        "+447700900123",  # a UK mobile
        "+2010",
    ],
)
def test_anything_else_is_unknown(text: str) -> None:
    assert operator_for(text) is Operator.UNKNOWN
    with pytest.raises(InvalidMsisdn):
        to_e164(text)


@pytest.mark.parametrize(
    ("code", "operator"),
    [
        ("60201", Operator.ORANGE),
        ("602-01", Operator.ORANGE),
        ("60202", Operator.VODAFONE),
        ("602-02", Operator.VODAFONE),
        ("60203", Operator.ETISALAT),
        ("602-03", Operator.ETISALAT),
        ("60204", Operator.WE),
        ("602-04", Operator.WE),
        (" 602 04 ", Operator.WE),
        ("60205", Operator.UNKNOWN),  # Egyptian MCC, unassigned MNC
        ("63902", Operator.UNKNOWN),  # Safaricom, Kenya
        ("602", Operator.UNKNOWN),
        ("", Operator.UNKNOWN),
        ("vodafone", Operator.UNKNOWN),
    ],
)
def test_network_codes(code: str, operator: Operator) -> None:
    assert operator_for_network_code(code) is operator


def test_network_code_parsing() -> None:
    assert parse_network_code("602-01") == ("602", "01")
    assert parse_network_code("60201") == ("602", "01")
    with pytest.raises(InvalidNetworkCode):
        parse_network_code("6020")


def test_delivery_report_corrects_a_ported_number() -> None:
    # A Vodafone-prefixed number ported to Orange: the prefix guess is wrong
    # and the delivery report's network code is the authority.
    assert operator_for("01012345678") is Operator.VODAFONE
    assert operator_for_network_code("602-01") is Operator.ORANGE

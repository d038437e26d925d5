"""Map Egyptian mobile numbers and network codes to the operator that carries them."""

from __future__ import annotations

import enum
import re


EGYPT_COUNTRY_CODE = 20
EGYPT_MCC = "602"


class Operator(enum.Enum):
    """Name an Egyptian mobile operator; UNKNOWN covers everything else."""

    VODAFONE = "vodafone"
    ORANGE = "orange"
    ETISALAT = "etisalat"  # trades as e& since 2023; the key keeps the old name
    WE = "we"
    UNKNOWN = "unknown"


class InvalidMsisdn(ValueError):
    """Signal text that is not a valid Egyptian mobile number."""


class InvalidNetworkCode(ValueError):
    """Signal text that is not an MCC-MNC network code."""


# Keyed by the first two digits of the national significant number (1X...):
# the original allocation. Numbers are portable, so this is only a first
# guess; a delivery report's network code is the authority.
_PREFIXES: dict[str, Operator] = {
    "10": Operator.VODAFONE,
    "11": Operator.ETISALAT,
    "12": Operator.ORANGE,
    "15": Operator.WE,
}

_MNCS: dict[str, Operator] = {
    "01": Operator.ORANGE,
    "02": Operator.VODAFONE,
    "03": Operator.ETISALAT,
    "04": Operator.WE,
}

_NETWORK_CODE = re.compile(r"\s*(\d{3})[-\s]?(\d{2,3})\s*")


def to_e164(msisdn: str) -> str:
    """Return msisdn as E.164 (+201XXXXXXXXX), or raise InvalidMsisdn."""
    # Imported here: phonenumbers' metadata is a fifth of an SMS sender's start-up, and a
    # sender's numbers are E.164 already (operator_for's shortcut below).
    import phonenumbers

    text = msisdn.strip()
    digits = phonenumbers.normalize_digits_only(text)  # also folds Arabic-Indic digits
    # Gateways often hand over "2010..." without the "+"; phonenumbers would
    # read that as a national number, so restore the international form.
    if not text.startswith(("+", "00")) and digits.startswith("20") and len(digits) == 12:
        text = "+" + text
    try:
        number = phonenumbers.parse(text, "EG")
    except phonenumbers.NumberParseException as exc:
        raise InvalidMsisdn(f"cannot parse {msisdn!r}: {exc}") from exc
    if number.country_code != EGYPT_COUNTRY_CODE or not phonenumbers.is_valid_number(number):
        raise InvalidMsisdn(f"{msisdn!r} is not a valid Egyptian number")
    if phonenumbers.number_type(number) != phonenumbers.PhoneNumberType.MOBILE:
        raise InvalidMsisdn(f"{msisdn!r} is not an Egyptian mobile number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


# A stored or submitted number is already E.164 nearly always: every "+201[0125]" and 8
# digits is a valid Egyptian mobile (tests/shaping/test_shaping_operators.py), so its
# operator is its prefix, without the full parse (a quarter of the simulator's CPU).
_E164_MOBILE = re.compile(r"\+20(1[0125])\d{8}")


def operator_for(msisdn: str) -> Operator:
    """Guess the operator of msisdn from its prefix; UNKNOWN if not an Egyptian mobile."""
    match = _E164_MOBILE.fullmatch(msisdn)
    if match is not None:
        return _PREFIXES[match.group(1)]
    try:
        e164 = to_e164(msisdn)
    except InvalidMsisdn:
        # Shaping must never crash a worker on bad data: UNKNOWN has its own
        # (usually small or zero) cap, so the message is held, not dropped.
        return Operator.UNKNOWN
    national = e164[len("+20") :]
    return _PREFIXES.get(national[:2], Operator.UNKNOWN)


def parse_network_code(code: str) -> tuple[str, str]:
    """Return (MCC, MNC) from "60201", "602-01" or "602 01", or raise InvalidNetworkCode."""
    match = _NETWORK_CODE.fullmatch(code)
    if match is None:
        raise InvalidNetworkCode(f"{code!r} is not an MCC-MNC network code")
    return match.group(1), match.group(2)


def operator_for_network_code(code: str) -> Operator:
    """Return the Egyptian operator a delivery report's network code names, else UNKNOWN."""
    try:
        mcc, mnc = parse_network_code(code)
    except InvalidNetworkCode:
        return Operator.UNKNOWN
    if mcc != EGYPT_MCC:
        return Operator.UNKNOWN
    return _MNCS.get(mnc, Operator.UNKNOWN)

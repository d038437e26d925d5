"""Realistic extra upstream fields (national ID, birth date, address, phones) for one person."""

import random
from datetime import date, timedelta
from typing import Any

from sandbox import names
from sandbox.generate import CLASS_ID

SCHOOL_YEAR = 2025  # the school year 2025/26: grade 1 children turn six by 1 October 2025
NID_WEIGHTS = (2, 7, 6, 5, 4, 3, 2, 7, 6, 5, 4, 3, 2)
MOBILE_PREFIXES = ("10", "11", "12", "15")


def _birth_date(rng: random.Random, person: dict[str, Any]) -> date:
    """Return a birth date that fits the person's grade, or an adult's age for staff."""
    grade = None
    if person.get("role") == "student" and isinstance(person.get("class_ids"), list):
        match = CLASS_ID.match(person["class_ids"][0]) if person["class_ids"] else None
        grade = int(match.group(2)) if match else None
    if grade is None:
        start = date(SCHOOL_YEAR - rng.randint(24, 60), 1, 1)
    else:
        start = date(SCHOOL_YEAR - grade - 6, 10, 2)
    return start + timedelta(days=rng.randrange(365))


def _national_id(rng: random.Random, born: date, female: bool, governorate: str) -> str:
    """Return a 14-digit Egyptian national ID: century, birth date, governorate, serial, check."""
    century = "2" if born.year < 2000 else "3"
    gov = names.GOVERNORATE_CODES.get(governorate, "01")
    if rng.random() < 0.1:
        gov = rng.choice(names.GOVERNORATES)[1]
    gender_digit = rng.choice((0, 2, 4, 6, 8) if female else (1, 3, 5, 7, 9))
    body = f"{century}{born:%y%m%d}{gov}{rng.randint(0, 999):03d}{gender_digit}"
    check = (11 - sum(int(d) * w for d, w in zip(body, NID_WEIGHTS, strict=True)) % 11) % 10
    return f"{body}{check}"


def _mobile(rng: random.Random) -> str:
    """Return an Egyptian mobile number in one of the formats school registers use."""
    prefix = rng.choice(MOBILE_PREFIXES)
    digits = f"{rng.randrange(10**8):08d}"
    style = rng.random()
    if style < 0.6:
        return f"+20{prefix}{digits}"
    if style < 0.9:
        return f"0{prefix}{digits}"
    return f"0{prefix} {digits[:4]} {digits[4:]}"


def extra_fields(person: dict[str, Any], governorate: str) -> dict[str, str]:
    """Return the personal fields a real SIS sends and Hudoor must drop, stable per person."""
    rng = random.Random(f"extra:{person.get('id')}")
    name = person.get("display_name")
    first = name.split()[0] if isinstance(name, str) and name.split() else ""
    female = first in names.FEMALE_FIRST_WORDS
    born = _birth_date(rng, person)
    address = f"{rng.randint(1, 180)} {rng.choice(names.STREETS)}، {governorate}"
    fields = {
        "national_id": _national_id(rng, born, female, governorate),
        "birth_date": born.isoformat(),
        "gender": "أنثى" if female else "ذكر",
        "address": address,
    }
    if person.get("role") == "student":
        fields["guardian_phone"] = _mobile(rng)
    else:
        fields["mobile"] = _mobile(rng)
    return fields

"""Validation of person records entering the sandbox overlay."""

import re
import unicodedata
from collections.abc import Collection
from typing import Any

ROLES = ("student", "teacher", "champion", "principal")
STATUSES = ("active", "suspended", "terminated")
PERSON_FIELDS = ("id", "display_name", "role", "class_ids", "status")
ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
MAX_NAME = 200


def check_name(name: object) -> str:
    """Return name if it is a usable display name, else raise ValueError."""
    if not isinstance(name, str) or not name.strip() or len(name) > MAX_NAME:
        raise ValueError("display_name must be a non-blank string of at most 200 characters")
    if any(unicodedata.category(ch) in ("Cc", "Cs") for ch in name):
        raise ValueError("display_name must not contain control characters or lone surrogates")
    return name


def check_status(status: object) -> str:
    """Return status if it is a contract identity status, else raise ValueError."""
    if status not in STATUSES:
        raise ValueError(f"status must be one of {', '.join(STATUSES)}")
    return str(status)


def clean_person(person: Any, known_classes: Collection[str], school_id: str) -> dict[str, Any]:
    """Return a validated copy of a person record holding only the contract's fields."""
    if not isinstance(person, dict):
        raise ValueError("person must be an object")
    unknown = set(person) - set(PERSON_FIELDS)
    if unknown:
        raise ValueError(f"unexpected person fields: {', '.join(sorted(map(str, unknown)))}")
    pid, role, class_ids = person.get("id"), person.get("role"), person.get("class_ids")
    if not isinstance(pid, str) or not ID_PATTERN.match(pid):
        raise ValueError("id must match ^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    if not isinstance(class_ids, list) or len(class_ids) > 64:
        raise ValueError("class_ids must be a list of at most 64 class ids")
    if any(not isinstance(c, str) or c not in known_classes for c in class_ids):
        raise ValueError(f"class_ids must be classes of {school_id}")
    if role == "student" and len(class_ids) != 1:
        raise ValueError("a student has exactly one class id")
    rec: dict[str, Any] = {
        "id": pid, "display_name": check_name(person.get("display_name")),
        "role": role, "class_ids": list(class_ids),
    }
    if "status" in person:
        rec["status"] = check_status(person["status"])
    return rec

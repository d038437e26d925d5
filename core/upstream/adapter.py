"""The boundary: keep only the four permitted person fields, validate, count what was dropped."""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from dataclasses import dataclass
from typing import Any

from core.models import IdentityStatus, Role

# The only keys of an upstream person that may cross into Hudoor. `status` is the
# identity lifecycle (active/suspended/terminated) that access revocation needs.
ALLOWED_FIELDS = frozenset({"id", "display_name", "role", "class_ids", "status"})
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
_ROLES = frozenset(r.value for r in Role)
_STATUSES = frozenset(s.value for s in IdentityStatus)
_CONTROL = dict.fromkeys(c for c in range(0x20) if c not in (0x09,))
_ARABIC_FOLD = str.maketrans({"أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا", "ة": "ه", "ى": "ي", "ـ": None})


@dataclass(frozen=True)
class PersonRecord:
    """A validated, minimised upstream person."""

    upstream_id: str
    display_name: str
    role: str
    class_ids: tuple[str, ...]
    status: str = IdentityStatus.ACTIVE.value


@dataclass(frozen=True)
class Rejected:
    """An upstream record that cannot be applied, and why (kept for the quarantine).

    `record` holds the values of conforming permitted fields and only the shape
    (type, length) of anything else; `reason` names fields, never their values.
    """

    upstream_id: str | None
    reason: str
    record: dict[str, Any]


class DropCounter(Counter[str]):
    """Counts dropped upstream field names (never their values)."""

    def total_dropped(self) -> int:
        return sum(self.values())


_KINDS = ((bool, "boolean"), (int, "number"), (float, "number"), (str, "string"),
          (list, "array"), (dict, "object"))  # bool before int: True is an int too


def shape(value: Any) -> dict[str, Any]:
    """Describe a value by its JSON type and length only: what quarantine may keep of it."""
    kind = next((name for typ, name in _KINDS if isinstance(value, typ)), "null")
    out: dict[str, Any] = {"type": kind}
    if isinstance(value, (str, list, dict)):
        out["len"] = len(value)
    return out


def is_id(value: Any) -> bool:
    """Tell whether `value` has the form of an upstream id (person, school or class)."""
    return isinstance(value, str) and bool(_ID.match(value))


def _conforms(key: str, value: Any) -> bool:
    """Tell whether a permitted field's value has the form the contract allows."""
    if key == "id":
        return is_id(value)
    if key == "display_name":
        return isinstance(value, str) and 1 <= len(clean_name(value)) <= 200
    if key == "role":
        return isinstance(value, str) and value in _ROLES
    if key == "status":
        return isinstance(value, str) and value in _STATUSES
    if key == "class_ids":
        return (isinstance(value, list) and len(value) <= 64
                and all(is_id(c) for c in value))
    return False


def quarantine_view(kept: dict[str, Any]) -> dict[str, Any]:
    """Return what quarantine keeps of a minimised record: conforming values, else shapes."""
    return {k: (clean_name(v) if k == "display_name" else v) if _conforms(k, v) else shape(v)
            for k, v in sorted(kept.items()) if k in ALLOWED_FIELDS}


def minimise(raw: Any, dropped: DropCounter) -> dict[str, Any] | None:
    """Return only the permitted keys of `raw`, counting every other key by name."""
    if not isinstance(raw, dict):
        return None
    kept: dict[str, Any] = {}
    for key, value in raw.items():
        if key in ALLOWED_FIELDS:
            kept[key] = value
        else:
            # Only the field's name is counted, cut short: a name is not data, a value is.
            dropped[str(key)[:40]] += 1
    return kept


def clean_name(value: str) -> str:
    """Normalise a display name for storage: NFC, no control characters, single spaces."""
    value = unicodedata.normalize("NFC", value).translate(_CONTROL)
    return " ".join(value.split())


def name_key(display_name: str) -> str:
    """Return a comparison key for spotting duplicates (Arabic letter variants folded)."""
    folded = unicodedata.normalize("NFKD", display_name.casefold())
    folded = "".join(c for c in folded if not unicodedata.combining(c))
    return " ".join(folded.translate(_ARABIC_FOLD).split())[:200]


def _reject(kept: dict[str, Any], reason: str) -> Rejected:
    upstream_id = kept.get("id") if _conforms("id", kept.get("id")) else None
    return Rejected(upstream_id=upstream_id, reason=reason, record=quarantine_view(kept))


def validate(kept: dict[str, Any] | None) -> PersonRecord | Rejected:
    """Turn a minimised record into a PersonRecord, or say exactly what is wrong."""
    if kept is None:
        return Rejected(None, "record is not a JSON object", {})
    pid = kept.get("id")
    if not isinstance(pid, str) or not _ID.match(pid):
        return _reject(kept, "id missing or malformed")
    name = kept.get("display_name")
    if not isinstance(name, str):
        return _reject(kept, "display_name missing or not a string")
    name = clean_name(name)
    if not 1 <= len(name) <= 200:
        return _reject(kept, "display_name empty or longer than 200 characters")
    role = kept.get("role")
    if not isinstance(role, str) or role not in _ROLES:
        return _reject(kept, "role missing or unknown")
    class_ids = kept.get("class_ids")
    if not isinstance(class_ids, list) or len(class_ids) > 64:
        return _reject(kept, "class_ids missing or not a list")
    if not all(isinstance(c, str) and _ID.match(c) for c in class_ids):
        return _reject(kept, "class_ids holds a malformed class id")
    if role == Role.STUDENT.value and len(set(class_ids)) != 1:
        return _reject(kept, "a student must be in exactly one class")
    status = kept.get("status", IdentityStatus.ACTIVE.value)
    if not isinstance(status, str) or status not in _STATUSES:  # an object is not hashable
        return _reject(kept, "status unknown")
    return PersonRecord(pid, name, role, tuple(dict.fromkeys(class_ids)), status)

"""Misbehaviour switches for the sandbox SIS, and the transformations they apply."""

import dataclasses
import hashlib
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sandbox.extras import extra_fields

SHARES = ("missing_fields", "wrong_types", "object_fields", "duplicates", "error_rate")
# Where `object_fields` puts a nested object: a permitted field, filled with personal data.
OBJECT_TARGETS = ("display_name", "role", "class_ids", "status")
ROLE_CODES = {"student": 1, "teacher": 2, "champion": 3, "principal": 4}


def unit(seed: int, kind: str, key: object) -> float:
    """Return a deterministic number in [0, 1) for (seed, kind, key)."""
    digest = hashlib.blake2b(f"{seed}:{kind}:{key}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


@dataclass(frozen=True)
class Faults:
    """One immutable set of misbehaviours; shares are fractions of records or requests."""

    extra_fields: bool = False
    missing_fields: float = 0.0
    wrong_types: float = 0.0
    object_fields: float = 0.0
    duplicates: float = 0.0
    slow_pages: int = 0
    error_rate: float = 0.0
    schema_version: str = "1"
    seed: int = 0

    def __post_init__(self) -> None:
        """Reject values outside their ranges."""
        for name in SHARES:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
                raise ValueError(f"{name} must be a number between 0 and 1")
        if not isinstance(self.extra_fields, bool):
            raise ValueError("extra_fields must be true or false")
        slow = self.slow_pages
        if isinstance(slow, bool) or not isinstance(slow, int) or not 0 <= slow <= 60_000:
            raise ValueError("slow_pages must be milliseconds between 0 and 60000")
        if not isinstance(self.schema_version, str) or not 0 < len(self.schema_version) <= 20:
            raise ValueError("schema_version must be a short non-empty string")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int):
            raise ValueError("seed must be an integer")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Faults":
        """Build faults from a JSON object; missing keys take their defaults."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown faults: {', '.join(sorted(map(str, unknown)))}")
        return cls(**data)

    def to_dict(self) -> dict[str, Any]:
        """Return the faults as a JSON-ready object."""
        return dataclasses.asdict(self)

    @property
    def alters_people(self) -> bool:
        """Return whether person records or their order are changed."""
        return bool(self.extra_fields or self.missing_fields or self.wrong_types
                    or self.object_fields or self.duplicates)


class FaultSwitch:
    """Hold the current faults, replaceable at runtime, and draw injected errors."""

    def __init__(self, faults: Faults | None = None) -> None:
        """Start with faults, or none."""
        self._faults = faults or Faults()
        self._lock = threading.Lock()
        self._draws = 0

    @property
    def current(self) -> Faults:
        """Return the faults in force."""
        return self._faults

    def set(self, faults: Faults) -> Faults:
        """Replace the faults in force and restart the error sequence."""
        with self._lock:
            self._faults, self._draws = faults, 0
        return faults

    def update(self, **changes: Any) -> Faults:
        """Change some fault settings, keeping the others."""
        return self.set(dataclasses.replace(self._faults, **changes))

    def clear(self) -> Faults:
        """Switch every fault off."""
        return self.set(Faults())

    def draw_error(self) -> int | None:
        """Return 500 or 503 for a request that must fail, else None."""
        with self._lock:
            faults, n = self._faults, self._draws
            self._draws += 1
        if faults.error_rate <= 0 or unit(faults.seed, "error", n) >= faults.error_rate:
            return None
        return 503 if unit(faults.seed, "code", n) < 0.5 else 500


def mutate_person(person: dict[str, Any], faults: Faults, governorate: str) -> dict[str, Any]:
    """Return the person as a misbehaving upstream would send it (a copy when changed)."""
    pid, seed = person.get("id"), faults.seed
    out = person
    if faults.extra_fields:
        out = {**out, **extra_fields(person, governorate)}
    if faults.missing_fields and unit(seed, "missing", pid) < faults.missing_fields:
        out = dict(out)
        out.pop("display_name" if unit(seed, "missing-which", pid) < 0.5 else "role", None)
    if faults.wrong_types and unit(seed, "wrong", pid) < faults.wrong_types:
        out = dict(out)
        which = unit(seed, "wrong-which", pid)
        if which < 0.4:
            out["class_ids"] = ",".join(person.get("class_ids") or [])
        elif which < 0.8:
            out["role"] = ROLE_CODES.get(str(person.get("role")), 0)
        else:
            digits = "".join(ch for ch in str(pid) if ch.isdigit())
            out["id"] = int(digits or 0)
    if faults.object_fields and unit(seed, "object", pid) < faults.object_fields:
        out = {**out, **_nested_object(person, seed, governorate)}
    return out


def _nested_object(person: dict[str, Any], seed: int, governorate: str) -> dict[str, Any]:
    """Return one permitted field replaced by an object that carries the person's extras."""
    pid = person.get("id")
    which = OBJECT_TARGETS[int(unit(seed, "object-which", pid) * len(OBJECT_TARGETS))]
    nested = {"value": person.get(which, "active"), **extra_fields(person, governorate)}
    if which == "class_ids":  # a list of objects where a list of ids belongs
        return {which: [{"id": c, **nested} for c in person.get("class_ids") or []] or [nested]}
    return {which: nested}


def roster_faults(people: list[dict[str, Any]], faults: Faults, governorate: str,
                  previous: dict[str, Any] | None) -> list[dict[str, Any]]:
    """Return a roster page with duplicates and per-record faults applied."""
    out = list(people)
    if faults.duplicates:
        repeats = [p for p in people if unit(faults.seed, "dup", p["id"]) < faults.duplicates]
        out = ([previous] if previous is not None else []) + out + repeats
    if faults.extra_fields or faults.missing_fields or faults.wrong_types or faults.object_fields:
        out = [mutate_person(p, faults, governorate) for p in out]
    return out


def change_faults(changes: list[dict[str, Any]], faults: Faults,
                  governorate_of: Mapping[str, str]) -> list[dict[str, Any]]:
    """Return a change page with repeated deliveries and per-person faults applied."""
    out: list[dict[str, Any]] = []
    for change in changes:
        if "person" in change:
            gov = governorate_of.get(change.get("school_id", ""), "القاهرة")
            change = {**change, "person": mutate_person(change["person"], faults, gov)}
        out.append(change)
        if faults.duplicates and unit(faults.seed, "dup-change", change["seq"]) < faults.duplicates:
            out.append(change)
    return out

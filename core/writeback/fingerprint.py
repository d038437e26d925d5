"""A school-day's fingerprint: what one side holds, reduced to a hash and counts (C3).

Pure functions over plain values, so Hudoor's side and upstream's side are fingerprinted
by the same code and anyone can recompute either (decision 0019).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

STATUSES = ("present", "absent", "late")


@dataclass(frozen=True)
class ClassDay:
    """One class's attendance on one day as the contract carries it.

    `marks` holds only the exceptions (absent, late) by upstream student id; everyone
    else of the class's `size` was present.
    """

    class_id: str
    revision: int
    size: int
    marks: tuple[tuple[str, str], ...]

    def lines(self) -> list[str]:
        """Return the canonical lines this class-day contributes to a fingerprint."""
        out = [f"C|{self.class_id}|{self.revision}|{self.size}"]
        out += [f"S|{self.class_id}|{student}|{status}|{self.revision}"
                for student, status in self.marks]
        return out

    def digest(self) -> str:
        """Return a content hash of this class-day alone (the write's `digest`)."""
        return _hash(set(self.lines()))


@dataclass(frozen=True)
class Fingerprint:
    """A hash over the distinct sorted lines, with counts a human can read."""

    digest: str
    classes: int
    marks: int
    by_status: tuple[tuple[str, int], ...]

    def as_dict(self) -> dict[str, object]:
        """Return the fingerprint as JSON-ready data."""
        return {"digest": self.digest, "classes": self.classes, "marks": self.marks,
                "by_status": dict(self.by_status)}


def _hash(lines: set[str]) -> str:
    h = hashlib.sha256()
    for line in sorted(lines):
        h.update(line.encode())
        h.update(b"\n")
    return h.hexdigest()


def fingerprint(class_days: Iterable[ClassDay]) -> Fingerprint:
    """Fingerprint a school-day: insensitive to order and repeats, sensitive to any status.

    Each class contributes `C|class|revision|size` and each mark
    `S|class|student|status|revision` (a student moved mid-day counts in both classes);
    the digest is SHA-256 over the distinct lines, sorted.
    """
    lines: set[str] = set()
    for cd in class_days:
        lines.update(cd.lines())
    counts = {s: 0 for s in STATUSES[1:]}
    classes = marks = 0
    for line in lines:
        if line.startswith("C|"):
            classes += 1
        else:
            marks += 1
            status = line.split("|")[3]
            counts[status] = counts.get(status, 0) + 1
    return Fingerprint(_hash(lines), classes, marks, tuple(sorted(counts.items())))

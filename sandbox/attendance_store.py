"""What the sandbox SIS holds of Hudoor's attendance writes: one record per class-day."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from core.writeback.fingerprint import ClassDay

CORRUPT_FLIP = {"absent": "late", "late": "absent"}


@dataclass
class WriteCounts:
    """Counters of write outcomes (shown on /sandbox/stats)."""

    received: int = 0
    applied: int = 0
    duplicate: int = 0
    stale: int = 0
    repaired: int = 0
    dropped: int = 0
    corrupted: int = 0
    parked: int = 0

    def as_dict(self) -> dict[str, int]:
        """Return the counters as a JSON-ready object."""
        return dict(self.__dict__)


@dataclass
class AttendanceStore:
    """Class-day records keyed by (school, day, class): a repeat can never be stored twice.

    A write at a lower revision than the stored one is stale and ignored; at the same
    revision with the same content it is a duplicate; at the same revision with different
    content it repairs the stored record (a corrupted copy is replaced, decision 0018).
    """

    records: dict[tuple[str, str], dict[str, ClassDay]] = field(default_factory=dict)
    counts: WriteCounts = field(default_factory=WriteCounts)
    parked: list[tuple[str, str, ClassDay]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def apply(self, school: str, day: str, cd: ClassDay) -> str:
        """Store one class-day write; return applied, duplicate, stale or repaired."""
        with self.lock:
            return self._apply(school, day, cd)

    def _apply(self, school: str, day: str, cd: ClassDay) -> str:
        held = self.records.setdefault((school, day), {})
        old = held.get(cd.class_id)
        if old is not None and old.revision > cd.revision:
            self.counts.stale += 1
            return "stale"
        if old is not None and old.revision == cd.revision:
            if old.digest() == cd.digest():
                self.counts.duplicate += 1
                return "duplicate"
            held[cd.class_id] = cd
            self.counts.repaired += 1
            return "repaired"
        held[cd.class_id] = cd
        self.counts.applied += 1
        return "applied"

    def park(self, school: str, day: str, cd: ClassDay) -> None:
        """Hold a write back, to be applied after the next one (reordering)."""
        with self.lock:
            self.parked.append((school, day, cd))
            self.counts.parked += 1

    def release_parked(self) -> None:
        """Apply every parked write (called after the next write is applied)."""
        with self.lock:
            parked, self.parked = self.parked, []
            for school, day, cd in parked:
                self._apply(school, day, cd)

    def corrupt(self, school: str, day: str, class_id: str | None = None) -> bool:
        """Silently change one stored record of a school-day; return whether one was."""
        with self.lock:
            held = self.records.get((school, day), {})
            ids = sorted(held) if class_id is None else [class_id]
            for cid in ids:
                if cid in held:
                    held[cid] = corrupted(held[cid])
                    self.counts.corrupted += 1
                    return True
            return False

    def read(self, school: str, day: str) -> list[ClassDay]:
        """Return what is held for a school-day, by class id."""
        with self.lock:
            held = self.records.get((school, day), {})
            return [held[cid] for cid in sorted(held)]


def corrupted(cd: ClassDay) -> ClassDay:
    """Return the class-day with one status flipped (or its size off by one if all present)."""
    if cd.marks:
        student, status = cd.marks[0]
        marks = ((student, CORRUPT_FLIP.get(status, "absent")),) + cd.marks[1:]
        return ClassDay(cd.class_id, cd.revision, cd.size, marks)
    return ClassDay(cd.class_id, cd.revision, cd.size + 1, cd.marks)


def class_day_json(cd: ClassDay) -> dict[str, Any]:
    """Return a class-day as the contract's `class_day` object."""
    return {"class_id": cd.class_id, "revision": cd.revision, "size": cd.size,
            "marks": [{"student_id": s, "status": st} for s, st in cd.marks]}

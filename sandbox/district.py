"""A deterministic, lazily generated district of Egyptian schools with a mutable overlay."""

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sandbox import generate
from sandbox.generate import CLASS_ID, PERSON_ID, Person, SchoolData, SchoolInfo
from sandbox.overlay import Change, Overlay, utc_now
from sandbox.records import check_name, check_status, clean_person


class District:
    """Serve generated schools and people, plus an overlay of changes with a change log."""

    def __init__(
        self,
        seed: int = 1,
        schools: int = 5,
        students_per_school: int = 300,
        teachers_per_school: int = 12,
        *,
        cache_size: int = 8,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        """Describe a district; nothing about its people is generated until asked for."""
        if schools < 1 or students_per_school < 1 or teachers_per_school < 1:
            raise ValueError("a district needs at least one school, student and teacher per school")
        self.seed = seed
        self.students_per_school = students_per_school
        self.teachers_per_school = teachers_per_school
        self.infos: tuple[SchoolInfo, ...] = generate.make_school_infos(seed, schools)
        self._by_id = {info.id: info for info in self.infos}
        self._cache: OrderedDict[str, SchoolData] = OrderedDict()
        self._cache_size = max(1, cache_size)
        self._pinned: dict[str, SchoolData] = {}
        self._classes: dict[str, tuple[dict[str, Any], ...]] = {}
        self._next_new: dict[str, int] = {}
        self._overlay = Overlay(clock)
        self._lock = threading.RLock()
        self.generated = 0

    @classmethod
    def demo(cls, seed: int = 1) -> "District":
        """Return the small demo district: 5 schools of 300 students and 12 staff."""
        return cls(seed, schools=5, students_per_school=300, teachers_per_school=12)

    @classmethod
    def national(cls, seed: int = 1) -> "District":
        """Return the national district: 1000 schools of 800 students and 20 staff."""
        return cls(seed, schools=1000, students_per_school=800, teachers_per_school=20)

    @property
    def base_population(self) -> int:
        """Return how many people the generated base holds."""
        return len(self.infos) * (self.students_per_school + self.teachers_per_school)

    @property
    def last_seq(self) -> int:
        """Return the seq of the newest change (0 when there is none)."""
        return len(self._overlay.log)

    # -- reading -------------------------------------------------------------

    def schools(self) -> list[dict[str, str]]:
        """Return every school as the contract's school object."""
        return [info.as_dict() for info in self.infos]

    def has_school(self, school_id: str) -> bool:
        """Return whether school_id exists."""
        return school_id in self._by_id

    def school_info(self, school_id: str) -> SchoolInfo:
        """Return a school's static facts, raising KeyError for an unknown school."""
        try:
            return self._by_id[school_id]
        except KeyError:
            raise KeyError(f"unknown school {school_id}") from None

    def classes(self, school_id: str) -> list[dict[str, Any]]:
        """Return a school's classes, raising KeyError for an unknown school."""
        info = self.school_info(school_id)
        with self._lock:
            if school_id not in self._classes:
                self._classes[school_id] = generate.school_classes(
                    self.seed, info, self.students_per_school)
            return list(self._classes[school_id])

    def class_school(self, class_id: str) -> str:
        """Return the school a class belongs to, raising KeyError for an unknown class."""
        match = CLASS_ID.match(class_id)
        if match is None or not self.has_school(match.group(1)):
            raise KeyError(f"unknown class {class_id}")
        if not any(cls["id"] == class_id for cls in self.classes(match.group(1))):
            raise KeyError(f"unknown class {class_id}")
        return match.group(1)

    def roster_page(self, school_id: str, start: int = 0,
                    size: int = 1000) -> tuple[list[Person], int | None]:
        """Return the people from roster position start on, and the next position or None."""
        self.school_info(school_id)
        if start < 0 or size < 1:
            raise ValueError("start must be >= 0 and size >= 1")
        with self._lock:
            data = self._school(school_id)
            base = data.people
            extra = self._overlay.extra_ids(school_id)
            total = len(base) + len(extra)
            if start > total:
                raise ValueError(f"page position {start} is past the end of the roster")
            if school_id not in self._overlay.touched:
                end = min(start + size, total)
                return list(base[start:end]), (end if end < total else None)
            resolve, nbase = self._overlay.resolve, len(base)
            out: list[Person] = []
            i = start
            while i < total and len(out) < size:
                if i < nbase:
                    rec = resolve(base[i]["id"], school_id, base[i])
                else:
                    rec = resolve(extra[i - nbase], school_id, None)
                if rec is not None:
                    out.append(rec)
                i += 1
            return out, (i if i < total else None)

    def roster(self, school_id: str) -> list[Person]:
        """Return a school's whole current roster."""
        people, start = [], 0
        while True:
            page, nxt = self.roster_page(school_id, start, 5000)
            people.extend(page)
            if nxt is None:
                return people
            start = nxt

    def person(self, person_id: str) -> Person | None:
        """Return a person's current record, or None if unknown or left."""
        with self._lock:
            found = self._current(person_id)
            return None if found is None else found[0]

    def school_of(self, person_id: str) -> str | None:
        """Return a person's current school, or None if unknown or left."""
        with self._lock:
            found = self._current(person_id)
            return None if found is None else found[1]

    def changes_after(self, seq: int, limit: int = 500) -> list[Change]:
        """Return up to limit changes after seq, raising ValueError for a cursor past the head."""
        with self._lock:
            return self._overlay.after(seq, limit)

    # -- overlay operations ----------------------------------------------------

    def upsert(self, person: dict[str, Any], school_id: str) -> Change:
        """Add or replace a person in school_id, transferring them if they were elsewhere."""
        self.school_info(school_id)
        with self._lock:
            known = {cls["id"] for cls in self.classes(school_id)}
            rec = clean_person(person, known, school_id)
            pid = rec["id"]
            self._overlay.left.discard(pid)
            self._overlay.records[pid] = rec
            self._overlay.place(pid, school_id, self._base_school(pid))
            return self._overlay.append("upsert", school_id, person=rec)

    def leave(self, person_id: str) -> Change:
        """Record that a person left the school system."""
        with self._lock:
            _, school_id = self._require(person_id)
            self._overlay.left.add(person_id)
            self._overlay.touched.add(school_id)
            return self._overlay.append("leave", school_id, person_id=person_id)

    def set_status(self, person_id: str, status: str) -> Change:
        """Change a person's identity status (active, suspended, terminated)."""
        check_status(status)
        with self._lock:
            rec, school_id = self._require(person_id)
            self._overlay.records[person_id] = {**rec, "status": status}
            self._overlay.touched.add(school_id)
            return self._overlay.append("status", school_id, person_id=person_id, status=status)

    def move(self, person_id: str, class_id: str) -> Change:
        """Put a person in class_id only, transferring schools if the class is elsewhere."""
        with self._lock:
            rec, _ = self._require(person_id)
            target = self.class_school(class_id)
            new = {**rec, "class_ids": [class_id]}
            self._overlay.records[person_id] = new
            self._overlay.place(person_id, target, self._base_school(person_id))
            return self._overlay.append("upsert", target, person=new)

    def rename(self, person_id: str, name: str) -> Change:
        """Change a person's display name."""
        check_name(name)
        with self._lock:
            rec, school_id = self._require(person_id)
            new = {**rec, "display_name": name}
            self._overlay.records[person_id] = new
            self._overlay.touched.add(school_id)
            return self._overlay.append("upsert", school_id, person=new)

    def next_student_id(self, school_id: str) -> str:
        """Return an unused student id for a newly enrolled student of school_id."""
        info = self.school_info(school_id)
        with self._lock:
            k = self._next_new.get(school_id, self.students_per_school + 1)
            while True:
                pid = f"STU-{info.number}-{k:06d}"
                k += 1
                if pid not in self._overlay.records and self._base_school(pid) is None:
                    self._next_new[school_id] = k
                    return pid

    @contextmanager
    def pinned(self, school_ids: list[str]) -> Iterator[None]:
        """Keep the given schools generated for the duration of the block."""
        with self._lock:
            for sid in school_ids:
                self._pinned[sid] = self._school(sid)
            try:
                yield
            finally:
                self._pinned.clear()

    # -- internals -------------------------------------------------------------

    def _school(self, school_id: str) -> SchoolData:
        """Return a generated school from the pin set or the LRU, generating it if needed."""
        data = self._pinned.get(school_id) or self._cache.get(school_id)
        if data is not None:
            if school_id in self._cache:
                self._cache.move_to_end(school_id)
            return data
        data = generate.make_school(
            self.seed, self.school_info(school_id), self.students_per_school,
            self.teachers_per_school)
        self.generated += 1
        self._classes.setdefault(school_id, data.classes)
        self._cache[school_id] = data
        while len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return data

    def _base_school(self, person_id: str) -> str | None:
        """Return the school a generated person belongs to, without generating it."""
        match = PERSON_ID.match(person_id)
        if match is None:
            return None
        kind, number, k = match.group(1), match.group(2), int(match.group(3))
        sid = f"SCH-{number}"
        info = self._by_id.get(sid)
        if info is None or info.number != number:
            return None
        limit, width = (self.teachers_per_school, 4) if kind == "STF" else (
            self.students_per_school, 6)
        if not 1 <= k <= limit or match.group(3) != f"{k:0{width}d}":
            return None
        return sid

    def _current(self, person_id: str) -> tuple[Person, str] | None:
        """Return (record, school id) for a present person, or None."""
        ov = self._overlay
        if person_id in ov.left:
            return None
        base_school = self._base_school(person_id)
        school_id = ov.home.get(person_id, base_school)
        if school_id is None:
            return None
        rec = ov.records.get(person_id)
        if rec is None:
            data = self._school(school_id)
            rec = data.people[data.base_index(person_id)]  # type: ignore[index]
        return rec, school_id

    def _require(self, person_id: str) -> tuple[Person, str]:
        """Return (record, school id) for a present person, raising KeyError otherwise."""
        found = self._current(person_id)
        if found is None:
            raise KeyError(f"unknown or departed person {person_id}")
        return found

"""Deterministic generation of schools, classes and people for the sandbox SIS."""

import random
import re
from dataclasses import dataclass
from typing import Any

from sandbox import names

Person = dict[str, Any]
ClassSizes = list[tuple[dict[str, Any], int]]

LEVEL_GRADES: dict[str, tuple[int, ...]] = {
    "primary": (1, 2, 3, 4, 5, 6),
    "preparatory": (7, 8, 9),
    "secondary": (10, 11, 12),
}
LEVELS = ("primary", "preparatory", "secondary")
MIN_CLASS, MAX_CLASS = 30, 60
PERSON_ID = re.compile(r"^(STU|STF)-(\d+)-(\d+)$")
CLASS_ID = re.compile(r"^(SCH-\d+)-G(\d+)-[A-Z0-9]+$")


@dataclass(frozen=True, slots=True)
class SchoolInfo:
    """Static facts about one school: id, number, name, governorate, level."""

    id: str
    number: str
    name: str
    governorate: str
    level: str

    def as_dict(self) -> dict[str, str]:
        """Return the contract's school object."""
        return {"id": self.id, "name": self.name, "governorate": self.governorate}


@dataclass(frozen=True, slots=True)
class SchoolData:
    """One generated school: its classes and its base people in roster order."""

    info: SchoolInfo
    classes: tuple[dict[str, Any], ...]
    people: tuple[Person, ...]
    staff_count: int

    def base_index(self, person_id: str) -> int | None:
        """Return the roster position of a base person id, or None."""
        match = PERSON_ID.match(person_id)
        if match is None or match.group(2) != self.info.number:
            return None
        k = int(match.group(3))
        index = k - 1 if match.group(1) == "STF" else self.staff_count + k - 1
        if k < 1 or index >= len(self.people) or self.people[index]["id"] != person_id:
            return None
        return index


def make_school_infos(seed: int, count: int) -> tuple[SchoolInfo, ...]:
    """Return the district's schools, deterministic for the seed."""
    rng = random.Random(f"{seed}:schools")
    width = max(4, len(str(count)))
    levels = rng.choices(LEVELS, weights=(55, 28, 17), k=count)
    levels[: min(3, count)] = LEVELS[: min(3, count)]
    govs = rng.choices(names.GOVERNORATE_NAMES, weights=names.GOVERNORATE_WEIGHTS, k=count)
    infos = []
    for i in range(count):
        number = f"{i + 1:0{width}d}"
        name = names.school_name(rng, levels[i])
        infos.append(SchoolInfo(f"SCH-{number}", number, name, govs[i], levels[i]))
    return tuple(infos)


def _class_sizes(rng: random.Random, n: int) -> list[int]:
    """Split n students into classes of 30 to 60 (a single class when n < 30)."""
    if n < MIN_CLASS:
        return [n]
    kmin, kmax = -(-n // MAX_CLASS), n // MIN_CLASS
    k = min(kmax, max(kmin, round(n / rng.uniform(38, 50))))
    sizes = [n // k + (1 if i < n % k else 0) for i in range(k)]
    for _ in range(k):
        i, j = rng.randrange(k), rng.randrange(k)
        room = min(sizes[i] - MIN_CLASS, MAX_CLASS - sizes[j])
        if i != j and room > 1:
            shift = rng.randint(0, room // 2)
            sizes[i] -= shift
            sizes[j] += shift
    return sizes


def make_classes(rng: random.Random, info: SchoolInfo, n_students: int) -> ClassSizes:
    """Return (class object, student count) pairs for a school, lowest grade first."""
    sizes = _class_sizes(rng, n_students)
    grades = LEVEL_GRADES[info.level]
    sections: dict[int, int] = {}
    out = []
    for c, size in enumerate(sizes):
        grade = grades[c * len(grades) // len(sizes)]
        section = sections.get(grade, 0)
        sections[grade] = section + 1
        label = chr(65 + section) if section < 26 else f"S{section + 1}"
        cls = {
            "id": f"{info.id}-G{grade}-{label}",
            "name": names.class_name(grade, info.level, section),
            "grade": grade,
        }
        out.append((cls, size))
    return out


def _staff(rng: random.Random, info: SchoolInfo, class_ids: list[str],
           n_staff: int) -> list[Person]:
    """Return the principal, the champion and the teachers of a school."""
    roles = ["teacher"] * n_staff
    if n_staff >= 3:
        roles[0], roles[1] = "principal", "champion"
    elif n_staff >= 1:
        roles[0] = "champion"
    people, taught = [], 0
    for k, role in enumerate(roles, start=1):
        female = rng.random() < 0.55
        if rng.random() < 0.03:
            name = names.long_name(rng, female)
        else:
            name = names.person_name(rng, female)
        if role == "teacher" and class_ids:
            first = class_ids[taught % len(class_ids)]
            taught += 1
            others = [c for c in class_ids if c != first]
            extra = rng.sample(others, min(len(others), rng.choice((0, 1, 1, 2))))
            classes = [first, *extra]
        elif role == "champion" and class_ids and rng.random() < 0.5:
            classes = [rng.choice(class_ids)]
        else:
            classes = []
        people.append({
            "id": f"STF-{info.number}-{k:04d}", "display_name": name,
            "role": role, "class_ids": classes,
        })
    return people


def _students(rng: random.Random, info: SchoolInfo, classes: ClassSizes) -> list[Person]:
    """Return a school's students, class by class, with mostly three-part names."""
    class_of = [cls["id"] for cls, size in classes for _ in range(size)]
    n = len(class_of)
    bits = [rng.getrandbits(16) for _ in range(n)]
    males = rng.choices(names.MALE_FIRST, k=n)
    females = rng.choices(names.FEMALE_FIRST, k=n)
    fathers = rng.choices(names.FATHER, k=n)
    families = rng.choices(names.FAMILY, k=n)
    prefix = f"STU-{info.number}-"
    people = []
    for i in range(n):
        b = bits[i]
        female = bool(b & 1)
        roll = (b >> 1) % 1000
        if roll < 15:
            name = names.long_name(rng, female)
        elif roll < 115:
            name = names.coptic_name(rng, female)
        else:
            name = f"{females[i] if female else males[i]} {fathers[i]} {families[i]}"
        people.append({
            "id": f"{prefix}{i + 1:06d}", "display_name": name,
            "role": "student", "class_ids": [class_of[i]],
        })
    return people


def school_classes(seed: int, info: SchoolInfo, n_students: int) -> tuple[dict[str, Any], ...]:
    """Return a school's classes without generating its people."""
    rng = random.Random(f"{seed}:{info.id}")
    return tuple(cls for cls, _ in make_classes(rng, info, n_students))


def make_school(seed: int, info: SchoolInfo, n_students: int, n_staff: int) -> SchoolData:
    """Generate one school's classes and people from random.Random(f'{seed}:{school_id}')."""
    rng = random.Random(f"{seed}:{info.id}")
    classes = make_classes(rng, info, n_students)
    class_ids = [cls["id"] for cls, _ in classes]
    staff = _staff(rng, info, class_ids, n_staff)
    students = _students(rng, info, classes)
    return SchoolData(
        info=info,
        classes=tuple(cls for cls, _ in classes),
        people=tuple(staff + students),
        staff_count=len(staff),
    )


def new_student_name(rng: random.Random) -> str:
    """Return a display name for a newly enrolled student."""
    female = rng.random() < 0.5
    if rng.random() < 0.02:
        return names.long_name(rng, female)
    return names.person_name(rng, female)

"""Realistic random churn for a sandbox district: moves, renames, enrolments, leavers."""

import random
from typing import TYPE_CHECKING

from sandbox import names
from sandbox.generate import CLASS_ID, new_student_name
from sandbox.overlay import Change

if TYPE_CHECKING:
    from sandbox.district import District


def apply_random_changes(district: "District", n: int, rng_seed: int) -> list[Change]:
    """Apply n mixed changes to a few schools of the district and return them in order."""
    if n < 0:
        raise ValueError("n must be >= 0")
    rng = random.Random(f"churn:{district.seed}:{rng_seed}")
    infos = district.infos
    pool = [info.id for info in rng.sample(infos, min(len(infos), n // 250 + 1))]
    with district.pinned(pool):
        return [_one_change(district, rng, pool) for _ in range(n)]


def _one_change(district: "District", rng: random.Random, pool: list[str]) -> Change:
    """Apply one change: mostly moves and renames, some enrolments and leavers."""
    school_id = rng.choice(pool)
    roll = rng.random()
    change: Change | None = None
    if roll < 0.42:
        change = _move(district, rng, school_id, pool)
    elif roll < 0.72:
        change = _rename(district, rng, school_id)
    elif roll >= 0.94:
        change = _teacher_status(district, rng, school_id)
    elif roll >= 0.84:
        change = _leave(district, rng, school_id)
    return change or _enrol(district, rng, school_id)


def _student_id(district: "District", rng: random.Random, school_id: str) -> str:
    """Return the id of a random generated student of school_id."""
    number = district.school_info(school_id).number
    return f"STU-{number}-{rng.randint(1, district.students_per_school):06d}"


def _staff_id(district: "District", rng: random.Random, school_id: str) -> str:
    """Return the id of a random generated staff member of school_id."""
    number = district.school_info(school_id).number
    return f"STF-{number}-{rng.randint(1, district.teachers_per_school):04d}"


def _move(district: "District", rng: random.Random, school_id: str,
          pool: list[str]) -> Change | None:
    """Move a student to another section of the same grade, rarely to another school."""
    pid = _student_id(district, rng, school_id)
    rec, current = district.person(pid), district.school_of(pid)
    if rec is None or current is None:
        return None
    old = rec["class_ids"][0] if rec["class_ids"] else ""
    match = CLASS_ID.match(old)
    grade = int(match.group(2)) if match else None
    target = current
    if len(pool) > 1 and rng.random() < 0.05:
        target = rng.choice([sid for sid in pool if sid != current])
    classes = [c["id"] for c in district.classes(target) if c["id"] != old]
    same_grade = [c["id"] for c in district.classes(target)
                  if c["grade"] == grade and c["id"] != old]
    choices = same_grade or classes
    if not choices:
        return None
    return district.move(pid, rng.choice(choices))


def _rename(district: "District", rng: random.Random, school_id: str) -> Change | None:
    """Correct a person's name: a spelling fix, a new family name or an added part."""
    if rng.random() < 0.9:
        pid = _student_id(district, rng, school_id)
    else:
        pid = _staff_id(district, rng, school_id)
    rec = district.person(pid)
    if rec is None:
        return None
    name = rec["display_name"]
    new = names.spelling_variant(name)
    if new == name or rng.random() < 0.4:
        parts = name.split()
        new = " ".join(parts[:-1] + [rng.choice(names.FAMILY)])
        if new == name:
            new = " ".join(parts[:-1] + [rng.choice(names.FATHER), parts[-1]])
    return district.rename(pid, new[:200])


def _leave(district: "District", rng: random.Random, school_id: str) -> Change | None:
    """Let a student, or occasionally a teacher, leave the school system."""
    if rng.random() < 0.9:
        pid = _student_id(district, rng, school_id)
    else:
        pid = _staff_id(district, rng, school_id)
    rec = district.person(pid)
    if rec is None or rec["role"] not in ("student", "teacher"):
        return None
    return district.leave(pid)


def _teacher_status(district: "District", rng: random.Random, school_id: str) -> Change | None:
    """Suspend or terminate a teacher, or reinstate a suspended one."""
    for _ in range(3):
        pid = _staff_id(district, rng, school_id)
        rec = district.person(pid)
        if rec is None or rec["role"] != "teacher":
            continue
        status = rec.get("status", "active")
        if status == "terminated":
            return None
        if status == "suspended":
            new = "active" if rng.random() < 0.6 else "terminated"
        else:
            new = "suspended" if rng.random() < 0.75 else "terminated"
        return district.set_status(pid, new)
    return None


def _enrol(district: "District", rng: random.Random, school_id: str) -> Change:
    """Enrol a new student in a random class of school_id."""
    person = {
        "id": district.next_student_id(school_id),
        "display_name": new_student_name(rng),
        "role": "student",
        "class_ids": [rng.choice(district.classes(school_id))["id"]],
    }
    return district.upsert(person, school_id)

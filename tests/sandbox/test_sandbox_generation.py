"""The generated district: determinism, shapes, sizes, names and laziness."""

import re
from collections import Counter

from sandbox import names
from sandbox.district import District

ARABIC = re.compile(r"[\u0621-\u064A]")
STUDENT_ID = re.compile(r"^STU-\d{4}-\d{6}$")
STAFF_ID = re.compile(r"^STF-\d{4}-\d{4}$")
CLASS_ID = re.compile(r"^SCH-\d{4}-G(\d{1,2})-[A-Z]$")


def everyone(district: District) -> dict[str, list[dict]]:
    """Return each school's whole roster."""
    return {info.id: district.roster(info.id) for info in district.infos}


def test_same_seed_same_people_and_different_seed_different_people() -> None:
    a, b, c = District.demo(seed=3), District.demo(seed=3), District.demo(seed=4)
    assert a.schools() == b.schools()
    assert everyone(a) == everyone(b)
    assert [a.classes(s.id) for s in a.infos] == [b.classes(s.id) for s in b.infos]
    assert everyone(a) != everyone(c)


def test_school_generation_does_not_depend_on_cache_or_order() -> None:
    cold = District(seed=5, schools=6, students_per_school=120, teachers_per_school=6, cache_size=1)
    warm = District(seed=5, schools=6, students_per_school=120, teachers_per_school=6)
    for info in reversed(cold.infos):
        assert cold.roster(info.id) == warm.roster(info.id)
        assert cold.classes(info.id) == warm.classes(info.id)


def test_ids_roles_and_class_membership(district: District) -> None:
    class_ids_seen: set[str] = set()
    for info in district.infos:
        assert re.fullmatch(r"SCH-\d{4}", info.id)
        classes = district.classes(info.id)
        own = {c["id"] for c in classes}
        assert not own & class_ids_seen, "class ids must be unique nationally"
        class_ids_seen |= own
        for cls in classes:
            match = CLASS_ID.match(cls["id"])
            assert match and cls["id"].startswith(info.id + "-")
            assert 1 <= cls["grade"] <= 12 and int(match.group(1)) == cls["grade"]
            assert ARABIC.search(cls["name"])
        people = district.roster(info.id)
        roles = Counter(p["role"] for p in people)
        assert roles["champion"] == 1 and roles["principal"] == 1
        assert roles["student"] == district.students_per_school
        assert len(people) == district.students_per_school + district.teachers_per_school
        for person in people:
            if person["role"] == "student":
                assert STUDENT_ID.match(person["id"]) and len(person["class_ids"]) == 1
            else:
                assert STAFF_ID.match(person["id"])
            if person["role"] == "teacher":
                assert 1 <= len(person["class_ids"]) <= 3
            assert set(person["class_ids"]) <= own
            assert ARABIC.search(person["display_name"])


def test_class_sizes_between_30_and_60() -> None:
    for students in (30, 61, 300, 800, 1999):
        district = District(seed=students, schools=4, students_per_school=students,
                            teachers_per_school=5)
        for info in district.infos:
            sizes = Counter(p["class_ids"][0] for p in district.roster(info.id)
                            if p["role"] == "student")
            assert set(sizes) == {c["id"] for c in district.classes(info.id)}
            assert all(30 <= n <= 60 for n in sizes.values()), sizes


def test_grades_follow_school_level() -> None:
    district = District(seed=9, schools=30, students_per_school=400, teachers_per_school=8)
    bands = {"primary": range(1, 7), "preparatory": range(7, 10), "secondary": range(10, 13)}
    levels = set()
    for info in district.infos:
        levels.add(info.level)
        assert {c["grade"] for c in district.classes(info.id)} <= set(bands[info.level])
        assert names.LEVEL_SCHOOL_ADJ[info.level] in info.name
        assert info.governorate in names.GOVERNORATE_NAMES
    assert levels == set(bands)


def test_name_material() -> None:
    for pool in (names.MALE_FIRST, names.FEMALE_FIRST, names.FATHER, names.FAMILY):
        assert len(set(pool)) >= 60 and all(ARABIC.search(n) for n in pool)
    assert len(set(names.GOVERNORATE_NAMES)) == 27
    assert all(len(n) >= 40 for n in names.LONG_NAMES)


def test_some_display_names_are_long_enough_to_need_truncation(district: District) -> None:
    lengths = [len(p["display_name"]) for r in everyone(district).values() for p in r]
    assert sum(1 for n in lengths if n >= 40) >= 3
    assert max(lengths) <= 200


def test_national_district_is_lazy() -> None:
    national = District.national()
    assert len(national.infos) == 1000 and national.base_population == 820_000
    assert national.generated == 0
    people, token = national.roster_page("SCH-0500", 0, 500)
    assert len(people) == 500 and token == 500
    national.roster_page("SCH-0500", 500, 500)
    national.classes("SCH-0999")
    assert national.generated == 1
    assert people[0]["id"] == "STF-0500-0001"
    assert national.person("STU-0777-000800") is not None
    assert national.person("STU-0777-000801") is None
    assert national.person("STU-1001-000001") is None

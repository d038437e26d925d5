"""Daily digest composition: one message per guardian per school day, sized for one segment."""

from __future__ import annotations

from datetime import date, datetime, timezone

from core import calendar
from digests.compose import compose, final_status, group_guardians
from digests.compose_types import Child, ChildStatus, GuardianDay
from core.gsm import Encoding, segment_count
from digests.templates import given_name

SUNDAY = date(2026, 11, 29)
FRIDAY = date(2026, 11, 27)
HOLIDAY = date(2026, 10, 6)  # a Tuesday, Armed Forces Day


def kids(*statuses: ChildStatus) -> tuple[Child, ...]:
    names = ("عبد الرحمن محمد علي", "منة الله محمد علي", "مريم محمد علي")
    return tuple(Child(i + 1, names[i], s) for i, s in enumerate(statuses))


def test_late_supersedes_absent() -> None:
    assert final_status(["absent", "late"], True) is ChildStatus.LATE
    assert final_status(["absent"], True) is ChildStatus.ABSENT
    assert final_status([], True) is ChildStatus.PRESENT
    assert final_status([], False) is ChildStatus.UNRECORDED


def test_nothing_on_weekends_holidays_or_when_nothing_was_recorded() -> None:
    three = kids(ChildStatus.ABSENT, ChildStatus.PRESENT, ChildStatus.LATE)
    assert compose(GuardianDay("+201001234567", "ar", FRIDAY, three)) is None
    assert compose(GuardianDay("+201001234567", "ar", HOLIDAY, three)) is None
    unrecorded = kids(ChildStatus.UNRECORDED, ChildStatus.UNRECORDED)
    assert compose(GuardianDay("+201001234567", "ar", SUNDAY, unrecorded)) is None


def test_three_children_one_arabic_segment_with_eastern_digits() -> None:
    three = kids(ChildStatus.ABSENT, ChildStatus.LATE, ChildStatus.PRESENT)
    draft = compose(GuardianDay("+201001234567", "ar", SUNDAY, three))
    assert draft is not None
    assert draft.text == "حضور ٢٩/١١: عبد الرحمن غياب، منة الله تأخير، مريم حضور"
    assert segment_count(draft.text).segments == 1
    assert draft.key == "daily_digest:2026-11-29:+201001234567"


def test_english_is_gsm7_when_names_are_latin() -> None:
    children = (Child(1, "Omar Hassan", ChildStatus.ABSENT),
                Child(2, "Laila Hassan", ChildStatus.PRESENT))
    draft = compose(GuardianDay("+201001234567", "en", SUNDAY, children))
    assert draft is not None
    assert draft.text == "Hudoor 29/11: Omar absent, Laila present"
    assert segment_count(draft.text).encoding is Encoding.GSM7


def test_a_guardian_of_three_children_is_one_guardian() -> None:
    children = {i: Child(i, f"child{i}", ChildStatus.PRESENT) for i in (1, 2, 3, 4)}
    links = [("+201001234567", "ar", 1), ("+201001234567", "ar", 2), ("+201001234567", "en", 3),
             ("+201201234567", "ar", 4)]
    guardians = list(group_guardians(SUNDAY, links, children))
    assert len(guardians) == 2
    first = guardians[0]
    assert first.language == "en" and len(first.children) == 3


def test_compound_given_names() -> None:
    assert given_name("عبد الله أحمد") == "عبد الله"
    assert given_name("منة الله سيد") == "منة الله"
    assert given_name("مريم سيد") == "مريم"


def test_quiet_hours_push_to_the_morning() -> None:
    night = datetime(2026, 11, 29, 20, 30, tzinfo=timezone.utc)  # 22:30 Cairo
    morning = calendar.quiet_hours_end(night)
    assert calendar.to_cairo(morning).hour == 7
    assert calendar.to_cairo(morning).day == 30
    noon = datetime(2026, 11, 29, 10, 0, tzinfo=timezone.utc)
    assert calendar.quiet_hours_end(noon) == noon
    assert not calendar.in_quiet_hours(night, 0, 0)  # equal hours: no quiet hours

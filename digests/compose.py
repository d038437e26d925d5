"""Compose daily digests: pure functions from a guardian's day to one outbox draft."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from datetime import date

from core import calendar
from digests.compose_types import Child, ChildStatus, GuardianDay
from digests.models import MessageKind
from digests.outbox import Draft
from digests.templates import given_name, render

DAILY = MessageKind.DAILY_DIGEST.value


def final_status(marks: Iterable[str], recorded: bool) -> ChildStatus:
    """Return a child's status from its marks of the day; a late mark beats an absence."""
    seen = set(marks)
    if "late" in seen:
        return ChildStatus.LATE
    if "absent" in seen:
        return ChildStatus.ABSENT
    return ChildStatus.PRESENT if recorded else ChildStatus.UNRECORDED


def compose(guardian: GuardianDay, school_day: bool | None = None) -> Draft | None:
    """Return the day's one digest for a guardian, or None when there is nothing to say.

    Nothing goes out on weekends and holidays, nor when no child's class took
    attendance that day (a digest of "not recorded" only would alarm for nothing).
    `school_day` is the calendar's answer (SchoolCalendar); without it, the national default.
    """
    if school_day is None:
        school_day = calendar.is_school_day(guardian.day)
    if not school_day or not guardian.children:
        return None
    if all(c.status is ChildStatus.UNRECORDED for c in guardian.children):
        return None
    ordered = sorted(guardian.children, key=lambda c: c.person_id)
    text = render(guardian.language, guardian.day,
                  [(given_name(c.display_name), c.status) for c in ordered])
    return Draft(kind=DAILY, day=guardian.day, msisdn=guardian.msisdn,
                 language=guardian.language, text=text)


def group_guardians(day: date, links: Iterable[tuple[str, str, int]],
                    children: Mapping[int, Child]) -> Iterator[GuardianDay]:
    """Group (msisdn, language, student id) links into one GuardianDay per MSISDN.

    A parent enrolled for three children has three contact rows with one MSISDN:
    they get one message. The language of the last link wins (the newest choice).
    """
    by_msisdn: dict[str, tuple[str, dict[int, Child]]] = {}
    for msisdn, language, person_id in links:
        child = children.get(person_id)
        _, kids = by_msisdn.get(msisdn, (language, {}))
        if child is not None:
            kids[person_id] = child
        by_msisdn[msisdn] = (language, kids)
    for msisdn, (language, kids) in by_msisdn.items():
        yield GuardianDay(msisdn, language, day, tuple(kids.values()))

"""Values the digest composer reads and writes."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date


class ChildStatus(enum.Enum):
    PRESENT = "present"
    ABSENT = "absent"
    LATE = "late"  # supersedes an absence: the child did come
    UNRECORDED = "unrecorded"  # the class's attendance was not taken


@dataclass(frozen=True)
class Child:
    """One child of a guardian and what the day's final attendance says."""

    person_id: int
    display_name: str
    status: ChildStatus


@dataclass(frozen=True)
class GuardianDay:
    """Everything one guardian MSISDN's digest for one day depends on."""

    msisdn: str
    language: str
    day: date
    children: tuple[Child, ...]

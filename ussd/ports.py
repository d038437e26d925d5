"""What the USSD state machine may read (Directory) and the writes it asks for (effects)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Protocol


@dataclass(frozen=True)
class Caller:
    """Who is dialling, as far as Hudoor knows from the SIM's MSISDN."""

    msisdn: str
    staff_id: int | None = None  # a teacher/champion whose SIM is bound and who has access
    staff_name: str = ""
    guardian: bool = False  # the SIM is linked to at least one student
    opted_out: bool = False
    lang: str = "ar"
    approver: bool = False  # a principal or champion: decides adjustments (U3)


@dataclass(frozen=True)
class ClassInfo:
    id: int
    name: str
    size: int | None = None  # students on the roll; a class list leaves it out (the roster counts)
    taken: bool = False  # attendance already confirmed today
    delegated: bool = False  # held through a substitute delegation


@dataclass(frozen=True)
class Roster:
    """A class's students in roll order (roll number = position + 1)."""

    class_id: int
    students: tuple[tuple[int, str], ...]  # (person id, display name)
    fingerprint: str  # changes when the list changes, so roll numbers never silently shift
    name: str = ""  # the class's name, for screen titles ("" when not known)

    @property
    def size(self) -> int:
        return len(self.students)

    @property
    def roll(self) -> Roll:
        """The same roll without the names (what marking needs, and a cache may hold)."""
        return Roll(self.class_id, tuple(pid for pid, _ in self.students), self.fingerprint,
                    self.name)


@dataclass(frozen=True)
class Roll:
    """What marking needs of a class: its students' ids in roll order, no name of theirs.

    Roll number = position + 1; the fingerprint is the roster's (they change together).
    A cache may keep a roll where names may not go (Redis).
    """

    class_id: int
    ids: tuple[int, ...]
    fingerprint: str
    name: str = ""  # the class's name, for screen titles ("" when not known)

    @property
    def size(self) -> int:
        return len(self.ids)


@dataclass(frozen=True)
class Found:
    """A person found by number + code (or by number alone, for a substitute)."""

    person_id: int
    name: str


@dataclass(frozen=True)
class CodeRefused:
    """Why a number + code was not accepted, told truthfully to the caller."""

    reason: str  # "wrong", "burned" (ask for a new code) or "limited" (this SIM, until a time)
    until_minute: int = 0  # when "limited": the Cairo minute of the day the SIM may try again


@dataclass(frozen=True)
class GuardianSummary:
    """What Hudoor holds about a guardian's phone, short enough for one screen."""

    children: tuple[str, ...]  # display names of the children linked to this phone
    sms_on: bool  # at least one link has live consent and is not stopped


@dataclass(frozen=True)
class DelegationInfo:
    id: int
    class_name: str
    grantee_name: str
    until: date


@dataclass(frozen=True)
class SupportItem:
    """A desk agent's request for a view (pending), or a live grant this caller may end (R6)."""

    id: int
    agent: str  # the agent's name as the register has it
    scope: str  # "school" or "you"
    minutes: int
    live: bool = False
    until: str = ""  # when live: "d/m HH:MM", Cairo


class Directory(Protocol):
    """Read-only questions the menus ask; the gateway answers them from the database."""

    def today(self) -> date: ...
    def school_day(self) -> bool: ...
    def late_allowed(self) -> bool: ...
    def classes_for(self, staff_id: int) -> list[ClassInfo]: ...
    def roster(self, class_id: int) -> Roster: ...
    def roll(self, class_id: int) -> Roll: ...
    def check_staff_code(self, msisdn: str, number: str, code: str) -> Found | CodeRefused | None: ...
    def check_slip_code(self, msisdn: str, number: str, code: str) -> Found | CodeRefused | None: ...
    def staff_by_number(self, staff_id: int, number: str) -> Found | None: ...
    def delegations_given(self, staff_id: int) -> list[DelegationInfo]: ...
    def person_name(self, person_id: int) -> str: ...
    def guardian_summary(self, msisdn: str) -> GuardianSummary: ...
    def next_adjustment(self, staff_id: int) -> PendingAdjustment | None: ...
    def adjustment(self, adjustment_id: int) -> PendingAdjustment | None: ...
    def correctable_days(self) -> list[date]: ...
    def day_status(self, person_id: int, day: date) -> str | None: ...
    def quiz_children(self, msisdn: str) -> list[Found]: ...
    def quiz_answers(self, student_id: int) -> dict[str, bool]: ...
    def support_items(self, staff_id: int) -> list[SupportItem]: ...
    def support_item(self, staff_id: int, grant_id: int) -> SupportItem | None: ...


# Effects: the writes a finished step asks for. The gateway applies them in one transaction.
@dataclass(frozen=True)
class ConfirmAttendance:
    class_id: int
    staff_id: int
    absent: tuple[int, ...]  # person ids
    late: tuple[int, ...]
    fingerprint: str


@dataclass(frozen=True)
class MarkLate:
    class_id: int
    staff_id: int
    late: tuple[int, ...]
    fingerprint: str | None = None  # the roll the numbers were typed on (checked at the save)


@dataclass(frozen=True)
class PendingAdjustment:
    """An adjustment waiting for this approver: who, which day, from what to what."""

    id: int
    name: str
    day: date
    from_status: str
    to_status: str


@dataclass(frozen=True)
class DecideAdjustment:
    adjustment_id: int
    staff_id: int
    approve: bool


@dataclass(frozen=True)
class RequestLateAdjustment:
    """Late arrivals after the digest cut-off: adjustment requests a champion decides (U2)."""

    class_id: int
    staff_id: int
    late: tuple[int, ...]


@dataclass(frozen=True)
class RequestCorrection:
    """A teacher's correction of one student-day: an adjustment request an approver decides."""

    class_id: int
    staff_id: int
    person_id: int
    day: date
    to_status: str
    reason: str  # a core.adjustments.Reason value


@dataclass(frozen=True)
class ActivateStaff:
    person_id: int
    number: str
    code: str


@dataclass(frozen=True)
class EnrolGuardian:
    student_id: int
    number: str
    code: str
    lang: str
    wording: str  # the consent wording's version the guardian agreed to (core.consent)


@dataclass(frozen=True)
class Delegate:
    class_id: int
    grantor_id: int
    grantee_id: int
    days: int


@dataclass(frozen=True)
class RevokeDelegation:
    delegation_id: int
    staff_id: int


@dataclass(frozen=True)
class AnswerSupport:
    """Grant (for the asked time box) or refuse a desk agent's request for a view."""

    grant_id: int
    staff_id: int
    grant: bool


@dataclass(frozen=True)
class EndSupport:
    grant_id: int
    staff_id: int


@dataclass(frozen=True)
class SetOptOut:
    opted_out: bool


@dataclass(frozen=True)
class RecordAnswer:
    """One quiz answer for one child (R8); stored once, a repeat changes nothing."""

    student_id: int
    quiz: str
    question: str
    choice: int


@dataclass(frozen=True)
class SetLanguage:
    lang: str


@dataclass(frozen=True)
class PrivacyAsk:
    """A data-subject request from the caller's phone: "access", "correction" or "erasure"."""

    kind: str


Effect = (ConfirmAttendance | MarkLate | RequestLateAdjustment | DecideAdjustment | ActivateStaff
          | EnrolGuardian | Delegate | RevokeDelegation | AnswerSupport | EndSupport | SetOptOut
          | SetLanguage | RequestCorrection | RecordAnswer | PrivacyAsk)

"""An in-memory Directory for driving the pure USSD machine (the database one is tested apart)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from ussd.ports import (ClassInfo, CodeRefused, DelegationInfo, Found, GuardianSummary,
                        PendingAdjustment, Roll, Roster, SupportItem)

# Codes the in-memory directory refuses the way the database one can: burned, rate-limited.
REFUSALS = {"999999": CodeRefused("burned"), "888888": CodeRefused("limited", 23 * 60 + 59)}

LONG = "عبد الرحمن محمد عبد الفتاح السيد الشرقاوي الإسكندراني"


@dataclass
class MemoryDirectory:
    day: date = date(2026, 11, 29)
    late_open: bool = True
    classes: dict[int, list[ClassInfo]] = field(default_factory=dict)
    rosters: dict[int, Roster] = field(default_factory=dict)
    staff_codes: dict[tuple[str, str], Found] = field(default_factory=dict)
    slip_codes: dict[tuple[str, str], Found] = field(default_factory=dict)
    staff_numbers: dict[str, Found] = field(default_factory=dict)
    given: dict[int, list[DelegationInfo]] = field(default_factory=dict)
    names: dict[int, str] = field(default_factory=dict)
    quiz_kids: list[Found] = field(default_factory=list)  # children the quiz is open for now
    answers: dict[int, dict[str, bool]] = field(default_factory=dict)  # what was recorded
    support: dict[int, list[SupportItem]] = field(default_factory=dict)

    def today(self) -> date:
        return self.day

    def school_day(self) -> bool:
        return self.day.weekday() not in (4, 5)

    def late_allowed(self) -> bool:
        return self.late_open

    def classes_for(self, staff_id: int) -> list[ClassInfo]:
        return self.classes.get(staff_id, [])

    def roster(self, class_id: int) -> Roster:
        return self.rosters.get(class_id, Roster(class_id, (), "empty"))

    def roll(self, class_id: int) -> Roll:
        return self.roster(class_id).roll

    def check_staff_code(self, msisdn: str, number: str, code: str) -> Found | CodeRefused | None:
        return REFUSALS.get(code) or self.staff_codes.get((number, code))

    def check_slip_code(self, msisdn: str, number: str, code: str) -> Found | CodeRefused | None:
        return REFUSALS.get(code) or self.slip_codes.get((number, code))

    def staff_by_number(self, staff_id: int, number: str) -> Found | None:
        return self.staff_numbers.get(number)

    def delegations_given(self, staff_id: int) -> list[DelegationInfo]:
        return self.given.get(staff_id, [])

    def quiz_children(self, msisdn: str) -> list[Found]:
        return list(self.quiz_kids)

    def quiz_answers(self, student_id: int) -> dict[str, bool]:
        return dict(self.answers.get(student_id, {}))

    def person_name(self, person_id: int) -> str:
        return self.names.get(person_id, LONG)

    def correctable_days(self) -> list[date]:
        """Sunday, then Thursday (not taken), Wednesday and Tuesday, as the calendar would."""
        return [self.day - timedelta(days=n) for n in (0, 3, 4, 5)]

    def day_status(self, person_id: int, day: date) -> str | None:
        if day == self.day - timedelta(days=3):
            return None
        return ("present", "absent", "late")[person_id % 3]

    def next_adjustment(self, staff_id: int) -> PendingAdjustment | None:
        return self.adjustment(1)

    def adjustment(self, adjustment_id: int) -> PendingAdjustment | None:
        return PendingAdjustment(adjustment_id, LONG, self.day, "absent", "late")

    def support_items(self, staff_id: int) -> list[SupportItem]:
        return self.support.get(staff_id, [])

    def support_item(self, staff_id: int, grant_id: int) -> SupportItem | None:
        return next((i for i in self.support.get(staff_id, []) if i.id == grant_id), None)

    def guardian_summary(self, msisdn: str) -> GuardianSummary:
        return GuardianSummary((LONG, f"{LONG} 2"), sms_on=True)


def school(size: int = 50, classes: int = 3) -> MemoryDirectory:
    """A teacher (id 1) with `classes` classes of `size` students with long Arabic names."""
    d = MemoryDirectory()
    d.classes[1] = []
    for k in range(classes):
        cid = 100 + k
        students = tuple((1000 * cid + i, f"{LONG} {i}") for i in range(size))
        d.rosters[cid] = Roster(cid, students, f"fp{cid}")
        d.classes[1].append(ClassInfo(cid, f"الصف الرابع الابتدائي ({k + 3}/أ)", size))
    d.staff_codes[("00010012", "123456")] = Found(1, "أ. محمد")
    d.slip_codes[("0001000123", "87654321")] = Found(5000, LONG)
    d.staff_numbers["00010013"] = Found(2, "أ. سامي")
    d.names.update({1: "أ. محمد", 2: "أ. سامي", 5000: LONG})
    d.support[1] = [SupportItem(7, LONG, "school", 240), SupportItem(8, "Mona Adel", "you", 1440),
                    SupportItem(9, LONG, "school", 60, live=True, until="30/11 10:30"),
                    SupportItem(10, "Karim Desk", "you", 60)]
    return d

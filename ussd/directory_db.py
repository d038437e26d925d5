"""The Directory the menus read, answered from the database (memoised for one request)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from core import (adjustments, assessments, attendance, calendar, calendar_store, codes, contacts,
                  delegation, privacy, support_access)
from core.config import Config
from core.driver_sql import DriverStatement
from core.models import (AttendanceAdjustment, CentralStaff, CodeKind, Contact, ContactKind, Person,
                         SchoolClass, SupportGrant)
from core.pseudonyms import msisdn_ref
from ussd.ports import (Caller, ClassInfo, CodeRefused, DelegationInfo, Found, GuardianSummary,
                        PendingAdjustment, Roll, Roster, SupportItem)
from ussd import cache as hop_caches
from ussd.cache import HopCache, Staff
from ussd.cache import roster as roster_cache
from ussd.store import SessionStore

MAX_CODE_FAILURES = 10  # per SIM per hour, across sessions: guessing a code stays hopeless
PRELOAD_ROSTERS = 4  # classes whose rosters a staff session loads with its first read


# Built once: a fresh teacher's first hop asks it (a statement object keeps its cache key).
_NAME_AND_SCHOOL = DriverStatement(
    select(Person.display_name, Person.school_id).where(Person.id == bindparam("id")))
# The staff book (ussd.cache._StaffBook): everyone who may dial as staff, a SIM bound.
_STAFF_BOOK = DriverStatement(
    select(Person.id, Person.display_name, Person.school_id)
    .join(Contact, Contact.person_id == Person.id)
    .where(Contact.kind == ContactKind.STAFF.value, Contact.revoked_at.is_(None)))


def _staff_book(session: Session) -> dict[int, Staff]:
    return {pid: (name, school) for pid, name, school in _STAFF_BOOK.all(session, {})}


def _one_staff(session: Session, staff_id: int) -> Staff:
    row = _NAME_AND_SCHOOL.first(session, {"id": staff_id})
    return (row[0], row[1]) if row else ("", None)


def caller_for(session: Session, msisdn: str) -> Caller:
    """Return who is dialling."""
    rec = contacts.lookup(session, msisdn)
    if rec.staff:  # name and school are on the row just read: the next hop needs them
        hop_caches.remember_staff(rec.staff.id, rec.staff.display_name, rec.staff.school_id)
    return Caller(msisdn=msisdn, staff_id=rec.staff.id if rec.staff else None,
                  staff_name=rec.staff.display_name if rec.staff else "",
                  guardian=bool(rec.guardian_of), opted_out=rec.opted_out, lang=rec.lang,
                  approver=bool(rec.staff and rec.staff.role in ("champion", "principal")))


class DbDirectory:
    """Answers the menus' questions for one request."""

    def __init__(self, session: Session, cfg: Config, store: SessionStore, now: datetime,
                 hop_cache: HopCache, staff_id: int | None = None) -> None:
        self.session, self.cfg, self.store = session, cfg, store
        self.now, self.hop_cache, self.staff_id = now, hop_cache, staff_id
        # Memoised for this request: plain dicts (a functools.cache wrapper built per hop
        # cost two update_wrapper calls a hop for lookups most hops never make).
        self._classes: dict[int, list[ClassInfo]] = {}
        self._rosters: dict[int, Roster] = {}
        self._rolls: dict[int, Roll] = {}

    def today(self) -> date:
        """The request's day in Cairo (asked a few times a hop; `now` is fixed for it)."""
        if "_today" not in self.__dict__:
            self.__dict__["_today"] = calendar.to_cairo(self.now).date()
        return self.__dict__["_today"]  # type: ignore[no-any-return]

    @property
    def _school(self) -> int | None:
        """The caller's school (its week, governorate and hours decide the day)."""
        if "_school_id" not in self.__dict__:
            self.__dict__["_school_id"] = self._staff(self.staff_id)[1] if self.staff_id else None
        return self.__dict__["_school_id"]  # type: ignore[no-any-return]

    def _staff(self, staff_id: int) -> Staff:
        return hop_caches.staff(staff_id, lambda: _staff_book(self.session),
                                lambda sid: _one_staff(self.session, sid))

    def staff_name(self, staff_id: int) -> str:
        """A cached staff caller's name, from this process's staff book."""
        return self._staff(staff_id)[0]

    def open_staff_session(self) -> None:
        """Read what a staff session's next hops need, in the connection this hop already took.

        Run on a session's first hop. When this process knew the teacher, nothing was read
        and nothing is loaded (the next hops answer from the caches); when it did not (the
        morning spike: each teacher dials once), the school, the calendar if due, the class
        list and the rosters of its first few classes (own ones first; marking and late
        arrivals both need them) come now, so the next hops take no connection before the
        save. Each lands in its usual cache under its usual TTL and invalidation.
        """
        if not self.staff_id or not self.session.in_transaction():
            return
        _ = self._school
        calendar_store.current(self.session, self.cfg)  # once a minute a process: now, if due
        mine = self._load_classes(self.staff_id)  # read, not asked of Redis: a round trip saved
        self.hop_cache.remember_classes(self.staff_id, mine, self.today(),  # sent with the save
                                        lambda: attendance.taken_on(self.session, self.today()))
        names = {c.id: c.name for c in mine[:PRELOAD_ROSTERS] if not hop_caches.has_roster(c.id)}
        for cid, (students, fingerprint) in attendance.rosters(self.session, list(names)).items():
            roster = Roster(cid, students, fingerprint, names[cid])
            hop_caches.remember_roster(roster)
            self.hop_cache.remember_roll(roster.roll)  # Redis too: the roll has no names

    def school_day(self) -> bool:
        cal = calendar_store.current(self.session, self.cfg)
        return cal.is_school_day(self.today(), self._school)

    def late_allowed(self) -> bool:
        return attendance.late_allowed(self.now, calendar_store.current(self.session, self.cfg),
                                       self._school)

    def _load_classes(self, staff_id: int) -> list[ClassInfo]:
        return [ClassInfo(r.id, r.name, r.size, r.taken, r.delegated)
                for r in attendance.classes_for(self.session, staff_id, self.today(), self.now,
                                                  with_taken=False, with_sizes=False)]

    def classes_for(self, staff_id: int) -> list[ClassInfo]:
        """The staff member's classes with today's taken flags (asked once a request)."""
        if staff_id not in self._classes:
            self._classes[staff_id] = self.hop_cache.classes(
                staff_id, self.today(), lambda: self._load_classes(staff_id),
                lambda: attendance.taken_on(self.session, self.today()))
        return self._classes[staff_id]

    def forget_classes(self) -> None:
        """Ask the class lists again (a write this request made changed a taken flag)."""
        self._classes.clear()

    def _load_roster(self, class_id: int) -> Roster:
        students, fingerprint = attendance.roster(self.session, class_id)
        cls = self.session.get(SchoolClass, class_id)
        return Roster(class_id, students, fingerprint, cls.name if cls else "")

    def roster(self, class_id: int) -> Roster:
        """A class's roster with names, for the lists (asked once a request; a process cache)."""
        if class_id not in self._rosters:
            self._rosters[class_id] = roster_cache(class_id, lambda: self._load_roster(class_id))
        return self._rosters[class_id]

    def roll(self, class_id: int) -> Roll:
        """A class's roll, for marking: this process's, Redis's (warmed before the spike), SQL's."""
        if class_id not in self._rolls:
            self._rolls[class_id] = self.hop_cache.roll(class_id,
                                                        lambda: self.roster(class_id).roll)
        return self._rolls[class_id]

    def forget_roll(self, class_id: int) -> None:
        """The save found the class's roll changed: read it afresh (SQL) at its next ask."""
        self._rolls.pop(class_id, None)
        self._rosters.pop(class_id, None)
        hop_caches.forget_roster(class_id)
        self.hop_cache.forget_roll(class_id)

    def _check(self, kind: CodeKind, msisdn: str, number: str, code: str) -> Found | CodeRefused:
        """Check a code; wrong tries count per SIM (Redis, an hour) and per code (SQL, for good)."""
        sim = msisdn_ref(self.cfg.secret_key, msisdn)
        failures, ttl = self.store.failures(sim)
        if failures >= MAX_CODE_FAILURES:  # not even looked at: the right code would fail too
            again = calendar.to_cairo(self.now + timedelta(seconds=ttl + 59))
            return CodeRefused("limited", again.hour * 60 + again.minute)
        checked = codes.check(self.session, self.cfg.secret_key, kind, number, code)
        self.session.commit()  # the wrong try counts even if the rest of the hop fails
        if checked.verdict is codes.Verdict.RIGHT and checked.person is not None:
            return Found(checked.person.id, checked.person.display_name)
        self.store.count_failure(sim)
        return CodeRefused(checked.verdict.value)

    def check_staff_code(self, msisdn: str, number: str, code: str) -> Found | CodeRefused:
        return self._check(CodeKind.STAFF_ACTIVATION, msisdn, number, code)

    def check_slip_code(self, msisdn: str, number: str, code: str) -> Found | CodeRefused:
        return self._check(CodeKind.GUARDIAN_SLIP, msisdn, number, code)

    def staff_by_number(self, staff_id: int, number: str) -> Found | None:
        grantor = self.session.get(Person, staff_id)
        found = delegation.find_substitute(self.session, grantor, number) if grantor else None
        return Found(found.id, found.display_name) if found else None

    def delegations_given(self, staff_id: int) -> list[DelegationInfo]:
        return [DelegationInfo(d.id, d.class_name, d.grantee_name, d.until)
                for d in delegation.given(self.session, staff_id)]

    def guardian_summary(self, msisdn: str) -> GuardianSummary:
        held = privacy.holdings(self.session, msisdn, self.today())
        stopped = contacts.lookup(self.session, msisdn).opted_out
        return GuardianSummary(tuple(c.name for c in held.children),
                               not stopped and any(c.consent_live for c in held.children))

    def next_adjustment(self, staff_id: int) -> PendingAdjustment | None:
        found = adjustments.next_pending(self.session, staff_id)
        return self.adjustment(found.id) if found is not None else None

    def adjustment(self, adjustment_id: int) -> PendingAdjustment | None:
        row = self.session.get(AttendanceAdjustment, adjustment_id)
        if row is None:
            return None
        return PendingAdjustment(row.id, self.person_name(row.person_id), row.day,
                                 row.from_status, row.to_status)

    def correctable_days(self) -> list[date]:
        """Today and the earlier school days still inside the caller's school's window."""
        return adjustments.correctable_days(self.session, self.cfg, self._school, self.now)

    def day_status(self, person_id: int, day: date) -> str | None:
        """A student-day's effective status, or None when the class was not taken that day."""
        try:
            return adjustments.student_day(self.session, person_id, day).status
        except adjustments.NothingToChange:
            return None

    def quiz_children(self, msisdn: str) -> list[Found]:
        """Children this SIM may take the quiz for now (the runtime's clock decides the date)."""
        if "_quiz_children" not in self.__dict__:  # asked by the menu and the flow in one hop
            self.__dict__["_quiz_children"] = [
                Found(k.student_id, k.name) for k in assessments.children(self.session, msisdn, self.now)]
        return self.__dict__["_quiz_children"]  # type: ignore[no-any-return]

    def quiz_answers(self, student_id: int) -> dict[str, bool]:
        return assessments.answers(self.session, student_id)  # never memoised: answers land mid-hop

    def person_name(self, person_id: int) -> str:
        person = self.session.get(Person, person_id)
        return person.display_name if person else ""

    def _support(self, row: SupportGrant, staff_id: int) -> SupportItem:
        agent = self.session.get(CentralStaff, row.agent_id)
        live = row.state == "granted" and row.expires_at is not None
        until = ""
        if live and row.expires_at is not None:
            at = calendar.to_cairo(row.expires_at)
            until = f"{at.day}/{at.month} {at:%H:%M}"
        return SupportItem(row.id, agent.display_name if agent else "?",
                           "you" if row.person_id == staff_id else "school", row.minutes, live, until)

    def support_items(self, staff_id: int) -> list[SupportItem]:
        rows = (support_access.pending_for(self.session, staff_id, self.now)
                + support_access.live_for(self.session, staff_id, self.now))
        return [self._support(r, staff_id) for r in rows]

    def support_item(self, staff_id: int, grant_id: int) -> SupportItem | None:
        row = self.session.get(SupportGrant, grant_id)
        if row is None:
            return None
        return self._support(row, staff_id)

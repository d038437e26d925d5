"""The thin core's tables: schools, classes, people, enrolments, contacts, sync, audit."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

# Shared with every floor's tables; defined in core/model_base.py.
from core.model_base import NAMING, Base, Id, UTCDateTime, utcnow  # noqa: E402,F401


class Role(str, enum.Enum):
    STUDENT = "student"
    TEACHER = "teacher"
    CHAMPION = "champion"
    PRINCIPAL = "principal"


class IdentityStatus(str, enum.Enum):
    ACTIVE = "active"
    SUSPENDED = "suspended"
    TERMINATED = "terminated"


class School(Base):
    __tablename__ = "schools"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    upstream_id: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    governorate: Mapped[str] = mapped_column(String(100))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SchoolClass(Base):
    __tablename__ = "classes"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    upstream_id: Mapped[str] = mapped_column(String(64), unique=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    grade: Mapped[int] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Person(Base):
    """A student or staff member; never deleted, merged by pointing at a canonical person."""

    __tablename__ = "people"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    upstream_id: Mapped[str] = mapped_column(String(64), unique=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id"))
    role: Mapped[str] = mapped_column(String(16))
    display_name: Mapped[str] = mapped_column(String(200))
    name_key: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default=IdentityStatus.ACTIVE.value)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    canonical_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"), nullable=True)
    last_seen_run: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    left_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    __table_args__ = (
        Index("ix_people_school_active", "school_id", "active"),
        Index("ix_people_school_name", "school_id", "name_key"),
    )


class Enrolment(Base):
    """A person's membership of a class (student) or teaching of it (staff), with history."""

    __tablename__ = "enrolments"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    class_id: Mapped[int] = mapped_column(ForeignKey("classes.id"))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    __table_args__ = (
        Index("ix_enrolments_person_open", "person_id", "ended_at"),
        Index(
            "uq_enrolments_open",
            "person_id",
            "class_id",
            unique=True,
            postgresql_where=text("ended_at IS NULL"),
            sqlite_where=text("ended_at IS NULL"),
        ),
        Index("ix_enrolments_class_open", "class_id", "ended_at"),
    )


class ContactKind(str, enum.Enum):
    GUARDIAN = "guardian"  # a parent's SIM linked to a student by slip code
    STAFF = "staff"  # a teacher's SIM bound by activation code


MAX_GUARDIANS = 3  # guardian numbers one child may hold at once (linking and restoring both ask)


class Contact(Base):
    """An MSISDN given by its SIM holder, by consent; never from upstream."""

    __tablename__ = "contacts"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    msisdn: Mapped[str] = mapped_column(String(20), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    language: Mapped[str] = mapped_column(String(8), default="ar")
    consented_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    opted_out_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    revoked_reason: Mapped[str | None] = mapped_column(String(200), nullable=True)


class ConsentRecord(Base):
    """One consent event of a guardian link: given (with the wording's version) or withdrawn.

    Append-only: withdrawing or re-consenting adds a row; the newest row of a link decides
    (core.consent). Survives the link's erasure: the register is the proof of consent.
    """

    __tablename__ = "consent_records"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id"))
    granted: Mapped[bool] = mapped_column(Boolean)
    wording_version: Mapped[str | None] = mapped_column(String(32), nullable=True)
    channel: Mapped[str] = mapped_column(String(12))  # ussd | sms | migration
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor: Mapped[str] = mapped_column(String(100))
    note: Mapped[str] = mapped_column(String(200), default="")

    __table_args__ = (Index("ix_consent_records_contact", "contact_id", "id"),)


class PrivacyRequest(Base):
    """A data subject's request (access, correction, erasure) with its legal deadline.

    The phone number is held only while the request is open (the school calls back about
    a correction); `subject_ref` (keyed hash) names the phone for good.
    """

    __tablename__ = "privacy_requests"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # access | correction | erasure
    channel: Mapped[str] = mapped_column(String(12))  # ussd | sms
    subject_ref: Mapped[str] = mapped_column(String(20), index=True)
    msisdn: Mapped[str | None] = mapped_column(String(20), nullable=True)
    school_id: Mapped[int | None] = mapped_column(ForeignKey("schools.id"), nullable=True)
    status: Mapped[str] = mapped_column(String(12), default="open")  # open | answered | closed
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    answered_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    note: Mapped[str] = mapped_column(String(200), default="")
    ticket_ref: Mapped[str | None] = mapped_column(String(40), nullable=True)  # support ticket, later

    __table_args__ = (Index("ix_privacy_requests_status_due", "status", "due_at"),)


class Delegation(Base):
    """A substitute's scoped, time-boxed right to one class."""

    __tablename__ = "delegations"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    class_id: Mapped[int] = mapped_column(ForeignKey("classes.id"))
    grantor_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    grantee_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    revoked_reason: Mapped[str | None] = mapped_column(String(200), nullable=True)


class DuplicateFlag(Base):
    """Two people who look like one; flagged for a human merge, never merged silently."""

    __tablename__ = "duplicate_flags"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    other_person_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    reason: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default="open")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class QuarantinedRecord(Base):
    """An upstream record that failed validation, kept (minimised) with its reason."""

    __tablename__ = "quarantine"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("sync_runs.id"), index=True)
    upstream_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    school_upstream_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    reason: Mapped[str] = mapped_column(String(300))
    record: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class SyncRun(Base):
    """One full or delta sync and its report; the cursor commits with each page."""

    __tablename__ = "sync_runs"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    kind: Mapped[str] = mapped_column(String(8))
    scope: Mapped[str] = mapped_column(String(64), default="all")
    status: Mapped[str] = mapped_column(String(16), default="running")
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    cursor: Mapped[str] = mapped_column(Text, default="{}")
    counts: Mapped[str] = mapped_column(Text, default="{}")
    dropped_fields: Mapped[str] = mapped_column(Text, default="{}")
    error: Mapped[str | None] = mapped_column(Text, nullable=True)


class SyncCursor(Base):
    __tablename__ = "sync_cursors"
    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ContractVersion(Base):
    """An upstream schema version announced with notice; accepted from its effective date."""

    __tablename__ = "contract_versions"
    version: Mapped[str] = mapped_column(String(16), primary_key=True)
    notice_date: Mapped[date] = mapped_column(Date)
    effective_date: Mapped[date] = mapped_column(Date)
    registered_by: Mapped[str] = mapped_column(String(100))
    registered_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Revocation(Base):
    """When upstream said a person lost access, and when Hudoor removed it."""

    __tablename__ = "revocations"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    status: Mapped[str] = mapped_column(String(16))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    applied_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    lag_seconds: Mapped[float] = mapped_column()
    contacts_revoked: Mapped[int] = mapped_column(Integer, default=0)
    delegations_revoked: Mapped[int] = mapped_column(Integer, default=0)
    tokens_revoked: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    sessions_revoked: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  # desk


class CentralStaff(Base):
    """Central staff holding an admin-API role who are not in the upstream roster (decision 11)."""

    __tablename__ = "central_staff"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    staff_ref: Mapped[str] = mapped_column(String(64), unique=True)  # the ministry's staff id
    display_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    added_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    added_by: Mapped[str] = mapped_column(String(100))
    deactivated_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # The SIM the desk console's sign-in codes go to, given by its holder with consent
    # (core.staff_register.bind_phone); kept like a teacher's bound SIM in `contacts`.
    msisdn: Mapped[str | None] = mapped_column(String(20), nullable=True)
    msisdn_consented_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class ApiToken(Base):
    """An admin-API bearer token, bound to a person or a central staff entry; revocable.

    The signed token carries only `jti`; role, holder and school are read from here on
    every request, so revoking the row or the holder's access ends the token at once.
    """

    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    jti: Mapped[str] = mapped_column(String(40), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"), nullable=True, index=True)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("central_staff.id"), nullable=True,
                                                 index=True)
    school_upstream_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    issued_by: Mapped[str] = mapped_column(String(100))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    revoked_reason: Mapped[str | None] = mapped_column(String(200), nullable=True)


class AuditEntry(Base):
    """One link of the append-only, hash-chained audit log."""

    __tablename__ = "audit_log"
    seq: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=False)
    at: Mapped[str] = mapped_column(String(40))
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(64))
    entity: Mapped[str] = mapped_column(String(64))
    entity_id: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(String(300))
    data: Mapped[str] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    # 1: plain SHA-256, rows written before migration 0008; 2: HMAC-SHA256 (core.audit).
    hash_scheme: Mapped[int] = mapped_column(SmallInteger, server_default=text("1"))


APPEND_ONLY_TRIGGERS = {
    "postgresql": [
        """CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger AS $$
        BEGIN RAISE EXCEPTION 'audit_log is append-only'; END; $$ LANGUAGE plpgsql""",
        """CREATE TRIGGER audit_log_no_update BEFORE UPDATE OR DELETE ON audit_log
        FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()""",
    ],
    "sqlite": [
        """CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
        BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END""",
        """CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
        BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END""",
    ],
}


class MarkStatus(str, enum.Enum):
    ABSENT = "absent"
    LATE = "late"


class AttendanceRecord(Base):
    """One class's attendance for one school day: stored exactly once, however often confirmed."""

    __tablename__ = "attendance_records"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    class_id: Mapped[int] = mapped_column(ForeignKey("classes.id"))
    day: Mapped[date] = mapped_column(Date)
    taken_by: Mapped[int] = mapped_column(ForeignKey("people.id"))
    class_size: Mapped[int] = mapped_column(Integer)
    confirmed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    session_id: Mapped[str] = mapped_column(String(100))
    msisdn: Mapped[str] = mapped_column(String(20))  # the capturing SIM's keyed hash, not its number
    # Bumped by every change of the class-day's content (late arrival, adjustment): the
    # write-back key is class + day + revision, so upstream keeps the newest (decision 0018).
    revision: Mapped[int] = mapped_column(Integer, default=1, server_default=text("1"))

    __table_args__ = (Index("uq_attendance_class_day", "class_id", "day", unique=True),
                      Index("ix_attendance_records_day_class", "day", "class_id"))


class AttendanceMark(Base):
    """A student marked absent or late (everyone else was present), with capture telemetry."""

    __tablename__ = "attendance_marks"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("attendance_records.id"))
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    status: Mapped[str] = mapped_column(String(8))
    captured_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    session_id: Mapped[str] = mapped_column(String(100))
    marked_by: Mapped[int] = mapped_column(ForeignKey("people.id"))

    __table_args__ = (Index("uq_attendance_mark", "record_id", "person_id", unique=True),)


class CodeKind(str, enum.Enum):
    STAFF_ACTIVATION = "staff_activation"  # a champion gives a teacher this to bind a SIM
    GUARDIAN_SLIP = "guardian_slip"  # printed on a slip sent home with the student


class OneTimeCode(Base):
    """A one-time code, stored only as a keyed hash; used at most once, expires, burns.

    The hash is unique over every code ever issued, so a code value never comes back.
    """

    __tablename__ = "one_time_codes"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    number: Mapped[str | None] = mapped_column(String(20), nullable=True)  # the person's keypad number
    failures: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  # wrong tries at it
    burned_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    issued_by: Mapped[str] = mapped_column(String(100))
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    used_by: Mapped[str | None] = mapped_column(String(20), nullable=True)  # the SIM's keyed hash

    __table_args__ = (Index("ix_one_time_codes_kind_number", "kind", "number"),)


# --- Calendar (G2): seeded from the `holidays` package, edited centrally, never per school ---


class CalendarHoliday(Base):
    """A day without school; Islamic feasts arrive as estimates an operator confirms."""

    __tablename__ = "calendar_holidays"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    day: Mapped[date] = mapped_column(Date, index=True)
    name: Mapped[str] = mapped_column(String(100))
    source: Mapped[str] = mapped_column(String(32))  # "holidays-package" | "freeze" | "operator"
    estimated: Mapped[bool] = mapped_column(Boolean, default=False)
    confirmed_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    __table_args__ = (Index("uq_calendar_holiday_day_name", "day", "name", unique=True),)


class CalendarTerm(Base):
    """A term: school days fall inside one."""

    __tablename__ = "calendar_terms"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)


class CalendarExceptionRow(Base):
    """A central decision (national or one governorate) closing or opening a day; reversible."""

    __tablename__ = "calendar_exceptions"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    scope: Mapped[str] = mapped_column(String(16))
    governorate: Mapped[str | None] = mapped_column(String(100), nullable=True)
    day: Mapped[date] = mapped_column(Date, index=True)
    open: Mapped[bool] = mapped_column(Boolean, default=False)
    reference: Mapped[str] = mapped_column(String(100))
    created_by: Mapped[str] = mapped_column(String(100))
    reason: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    reversed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    reversed_by: Mapped[str | None] = mapped_column(String(100), nullable=True)


class RamadanRuleRow(Base):
    """Shortened-day hours for a governorate ("*": the national default) over Ramadan."""

    __tablename__ = "calendar_ramadan_rules"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    governorate: Mapped[str] = mapped_column(String(100))
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    school_start: Mapped[str] = mapped_column(String(5))  # "HH:MM", Cairo
    cutoff: Mapped[str] = mapped_column(String(5))
    digest_at: Mapped[str] = mapped_column(String(5))

    __table_args__ = (Index("uq_ramadan_rule", "governorate", "starts_on", unique=True),)


class SchoolCalendarRow(Base):
    """A school's week pattern and (R9) the day it joined; set centrally, audited."""

    __tablename__ = "school_calendars"
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id"), primary_key=True)
    week: Mapped[str] = mapped_column(String(8), default="sun-thu")
    joined_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    set_by: Mapped[str] = mapped_column(String(100))
    set_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


# --- Parity gate (G1, R9) ---


class PaperUpload(Base):
    """One accepted upload of paper-register marks (all rows applied, or none)."""

    __tablename__ = "paper_uploads"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id"), index=True)
    uploaded_by: Mapped[str] = mapped_column(String(100))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    rows: Mapped[int] = mapped_column(Integer)


class PaperMark(Base):
    """A student's paper-register status for one class-day (the legal record in the pilot)."""

    __tablename__ = "paper_marks"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    upload_id: Mapped[int] = mapped_column(ForeignKey("paper_uploads.id"))
    class_id: Mapped[int] = mapped_column(ForeignKey("classes.id"))
    day: Mapped[date] = mapped_column(Date)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    status: Mapped[str] = mapped_column(String(8))  # present | absent | late
    first_uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        Index("uq_paper_mark", "class_id", "day", "person_id", unique=True),
        Index("ix_paper_marks_day", "day"),
    )


class GateRule(Base):
    """A threshold of the gate or of an anomaly rule; the same for every school."""

    __tablename__ = "gate_rules"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[float] = mapped_column(Float)
    description: Mapped[str] = mapped_column(String(300))


class GateDirective(Base):
    """The pre-signed directive a firing executes: its text and hash, stored in advance."""

    __tablename__ = "gate_directives"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    text: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    registered_by: Mapped[str] = mapped_column(String(100))
    registered_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class GateFiring(Base):
    """A school's legal record switched to digital: which directive, which weeks, which figures."""

    __tablename__ = "gate_firings"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id"), index=True)
    directive_id: Mapped[int] = mapped_column(ForeignKey("gate_directives.id"))
    directive_sha256: Mapped[str] = mapped_column(String(64))
    fired_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    weeks: Mapped[str] = mapped_column(Text)  # JSON: the week starts that counted
    figures: Mapped[str] = mapped_column(Text)  # JSON: each week's parity and counts
    reversed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    reversed_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    reversal_reference: Mapped[str | None] = mapped_column(String(100), nullable=True)


class WritebackState(str, enum.Enum):
    PENDING = "pending"  # waiting for (another) attempt
    ACKED = "acked"  # upstream answered 200, or reconciliation found it held
    SUPERSEDED = "superseded"  # a newer revision of the class-day replaced it before sending
    DEAD = "dead"  # out of attempts or refused for good: the DLQ


class WritebackItem(Base):
    """One class-day revision owed to upstream (the write-back outbox, C2)."""

    __tablename__ = "writeback_outbox"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    class_id: Mapped[int] = mapped_column(ForeignKey("classes.id"))
    day: Mapped[date] = mapped_column(Date)
    revision: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(12), default=WritebackState.PENDING.value)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_error: Mapped[str | None] = mapped_column(String(300), nullable=True)

    __table_args__ = (
        Index("uq_writeback_class_day_revision", "class_id", "day", "revision", unique=True),
        Index("ix_writeback_state_due", "state", "next_attempt_at"),
    )


class ReconciliationReport(Base):
    """One school-day compared with upstream: both fingerprints and the outcome (C3)."""

    __tablename__ = "reconciliations"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id"))
    day: Mapped[date] = mapped_column(Date)
    run_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    outcome: Mapped[str] = mapped_column(String(16))  # agreed | repaired | differing
    local_fingerprint: Mapped[str] = mapped_column(String(64))
    remote_fingerprint: Mapped[str | None] = mapped_column(String(64), nullable=True)
    local_count: Mapped[int] = mapped_column(Integer)
    remote_count: Mapped[int] = mapped_column(Integer, default=0)
    resent: Mapped[int] = mapped_column(Integer, default=0)
    reasons: Mapped[str] = mapped_column(Text, default="[]")
    actor: Mapped[str] = mapped_column(String(100))

    __table_args__ = (Index("ix_reconciliations_school_day", "school_id", "day"),)


class AdjustmentState(str, enum.Enum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    EXPIRED = "expired"  # not decided within the window; the school-day is locked


class AttendanceAdjustment(Base):
    """A retroactive correction of one student-day; the original mark is never overwritten (U3)."""

    __tablename__ = "attendance_adjustments"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id"))
    class_id: Mapped[int] = mapped_column(ForeignKey("classes.id"))
    day: Mapped[date] = mapped_column(Date)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    from_status: Mapped[str] = mapped_column(String(8))  # present | absent | late
    to_status: Mapped[str] = mapped_column(String(8))
    reason_code: Mapped[str] = mapped_column(String(24))
    requested_by: Mapped[str] = mapped_column(String(100))  # "staff:12", "ops:alice"
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    state: Mapped[str] = mapped_column(String(12), default=AdjustmentState.PENDING.value)
    decided_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    exception_ref: Mapped[str | None] = mapped_column(String(100), nullable=True)

    __table_args__ = (
        Index("ix_adjustments_school_day", "school_id", "day"),
        Index("ix_adjustments_class_day", "class_id", "day"),
        Index("ix_adjustments_state", "state"),
    )


class IncidentBanner(Base):
    """A plain-language notice ops put on the public status page (audited; cleared, never deleted)."""

    __tablename__ = "incident_banners"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    severity: Mapped[str] = mapped_column(String(12))  # info | degraded | outage
    message_ar: Mapped[str] = mapped_column(String(300))
    message_en: Mapped[str] = mapped_column(String(300))
    set_by: Mapped[str] = mapped_column(String(100))
    set_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    cleared_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    cleared_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class ProbeResult(Base):
    """One synthetic probe of one operator's zero-rated flow (USSD session or SMS round trip)."""

    __tablename__ = "probe_results"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    operator: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(8))  # ussd | sms
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    ok: Mapped[bool | None] = mapped_column(Boolean, nullable=True)  # None: still waiting
    latency_ms: Mapped[int | None] = mapped_column(Integer, nullable=True)
    detail: Mapped[str] = mapped_column(String(200), default="")
    ref: Mapped[int | None] = mapped_column(BigInteger, nullable=True)  # the SMS probe's outbox id
    alert: Mapped[bool] = mapped_column(Boolean, default=False)  # the second failure in a row

    __table_args__ = (Index("ix_probe_results_operator_kind", "operator", "kind", "id"),)


class DataImport(Base):
    """An open export loaded into this (then empty) instance: who, when, why, what (R5).

    Kept beside the audit chain, not in it: the chain is loaded exactly as exported, so a
    re-export is byte-identical; this row is the instance's own record of the load.
    """

    __tablename__ = "data_imports"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    imported_by: Mapped[str] = mapped_column(String(100))
    reason: Mapped[str] = mapped_column(String(300))
    package_sha256: Mapped[str] = mapped_column(String(64))  # of its datapackage.json
    counts: Mapped[str] = mapped_column(Text)  # rows per resource, JSON
    audit_head: Mapped[str] = mapped_column(String(64))  # the chain's head hash as loaded


class FeatureStage(Base):
    """Which share of schools a feature is switched on for (G3): 0 → 5 → 25 → 100 %."""

    __tablename__ = "feature_stages"
    feature: Mapped[str] = mapped_column(String(40), primary_key=True)
    percent: Mapped[int] = mapped_column(SmallInteger, default=0)
    since: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    by: Mapped[str] = mapped_column(String(100))
    reason: Mapped[str] = mapped_column(String(300))
    held: Mapped[bool] = mapped_column(Boolean, default=False)  # no advance while held
    held_since: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    lifted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class FeatureStageChange(Base):
    """Every advance, hold and lift of a feature's stage, in order (never edited)."""

    __tablename__ = "feature_stage_history"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    feature: Mapped[str] = mapped_column(String(40), index=True)
    action: Mapped[str] = mapped_column(String(16))  # advance | hold | lift
    from_percent: Mapped[int] = mapped_column(SmallInteger)
    to_percent: Mapped[int] = mapped_column(SmallInteger)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    by: Mapped[str] = mapped_column(String(100))
    reason: Mapped[str] = mapped_column(String(300))


class HealthSample(Base):
    """One recorded look at the health figures while a feature is at a stage."""

    __tablename__ = "cohort_health_samples"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    feature: Mapped[str] = mapped_column(String(40))
    percent: Mapped[int] = mapped_column(SmallInteger)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    within: Mapped[bool] = mapped_column(Boolean)
    figures: Mapped[str] = mapped_column(Text)  # JSON: the figures and any breaches

    __table_args__ = (Index("ix_cohort_health_samples_feature_at", "feature", "at"),)


class AssessmentAnswer(Base):
    """One answer to one quiz question for one student; never two for the same question (R8)."""

    __tablename__ = "assessment_answers"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    quiz: Mapped[str] = mapped_column(String(40))
    question: Mapped[str] = mapped_column(String(40))
    student_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    class_id: Mapped[int] = mapped_column(ForeignKey("classes.id"))
    choice: Mapped[int] = mapped_column(SmallInteger)
    correct: Mapped[bool] = mapped_column(Boolean)
    answered_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        Index("uq_assessment_answers_once", "quiz", "student_id", "question", unique=True),
        Index("ix_assessment_answers_class", "class_id", "quiz"),
    )


class TicketStatus(str, enum.Enum):
    OPEN = "open"
    CLOSED = "closed"


class SupportTicket(Base):
    """A support ticket on the ladder (Tier 0 champion … Tier 3 vendor), or with security (G4)."""

    __tablename__ = "support_tickets"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    school_upstream_id: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    people: Mapped[str] = mapped_column(Text, default="[]")  # JSON list of upstream person ids
    category: Mapped[str] = mapped_column(String(24))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)  # refused if it holds phones, ids or codes
    tier: Mapped[int] = mapped_column(SmallInteger)  # 0..3; where it returns if not a breach
    security: Mapped[bool] = mapped_column(Boolean, default=False)  # with the security role now
    owner: Mapped[str | None] = mapped_column(String(100), nullable=True)
    status: Mapped[str] = mapped_column(String(8), default=TicketStatus.OPEN.value)
    opened_by: Mapped[str] = mapped_column(String(100))
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sla_due_at: Mapped[datetime] = mapped_column(UTCDateTime)  # restarts with each tier
    # The deadline the SLA-overdue job already escalated (core/ticket_sla.py): once per deadline.
    sla_overdue_for: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    __table_args__ = (Index("ix_support_tickets_status_due", "status", "sla_due_at"),)


class TicketEvent(Base):
    """One change of a ticket: who, what, when, why (and the audit row that vouches for it)."""

    __tablename__ = "ticket_history"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("support_tickets.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(24))
    from_value: Mapped[str | None] = mapped_column(String(100), nullable=True)
    to_value: Mapped[str | None] = mapped_column(String(100), nullable=True)
    reason: Mapped[str] = mapped_column(String(300))
    audit_seq: Mapped[int] = mapped_column(BigInteger)


class BreachCase(Base):
    """A suspected personal-data breach: its PDPL clocks, decision and notices (Law 151/2020)."""

    __tablename__ = "breach_cases"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("support_tickets.id"), unique=True)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime)
    flagged_by: Mapped[str] = mapped_column(String(100))
    trigger: Mapped[str] = mapped_column(String(200))  # "flag" or the keywords that matched
    centre_due_at: Mapped[datetime] = mapped_column(UTCDateTime)  # 72 hours
    persons_due_at: Mapped[datetime] = mapped_column(UTCDateTime)  # 3 working days
    decision: Mapped[str | None] = mapped_column(String(16), nullable=True)  # latest decision
    decided_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    centre_notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    persons_notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class BreachDecision(Base):
    """Every decision on a case, kept (the latest is copied onto the case)."""

    __tablename__ = "breach_decisions"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("breach_cases.id"), index=True)
    decision: Mapped[str] = mapped_column(String(16))  # breach | not-a-breach
    decided_by: Mapped[str] = mapped_column(String(100))
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime)
    reason: Mapped[str] = mapped_column(String(300))
    audit_seq: Mapped[int] = mapped_column(BigInteger)


class EvidenceSnapshot(Base):
    """Evidence sealed when a case opens: canonical JSON and its SHA-256; write-once."""

    __tablename__ = "evidence_snapshots"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("breach_cases.id"), index=True)
    taken_at: Mapped[datetime] = mapped_column(UTCDateTime)
    taken_by: Mapped[str] = mapped_column(String(100))
    audit_head_seq: Mapped[int] = mapped_column(BigInteger)
    audit_head_hash: Mapped[str] = mapped_column(String(64))
    content: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))


WRITE_ONCE_TRIGGERS = {
    "postgresql": [
        """CREATE OR REPLACE FUNCTION evidence_write_once() RETURNS trigger AS $$
        BEGIN RAISE EXCEPTION 'evidence_snapshots is write-once'; END; $$ LANGUAGE plpgsql""",
        """CREATE TRIGGER evidence_no_change BEFORE UPDATE OR DELETE ON evidence_snapshots
        FOR EACH ROW EXECUTE FUNCTION evidence_write_once()""",
    ],
    "sqlite": [
        """CREATE TRIGGER evidence_no_update BEFORE UPDATE ON evidence_snapshots
        BEGIN SELECT RAISE(ABORT, 'evidence_snapshots is write-once'); END""",
        """CREATE TRIGGER evidence_no_delete BEFORE DELETE ON evidence_snapshots
        BEGIN SELECT RAISE(ABORT, 'evidence_snapshots is write-once'); END""",
    ],
}
WRITE_ONCE_DROP = {
    "postgresql": ["DROP TRIGGER IF EXISTS evidence_no_change ON evidence_snapshots",
                   "DROP FUNCTION IF EXISTS evidence_write_once()"],
    "sqlite": ["DROP TRIGGER IF EXISTS evidence_no_update", "DROP TRIGGER IF EXISTS evidence_no_delete"],
}

# --- Merge, never delete; reversible bulk operations (C4) ---


class BulkOperation(Base):
    """One bulk change (merge, unlink, code reissue) with the before-images to undo it (C4)."""

    __tablename__ = "bulk_operations"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))  # merge | unlink_guardians | unlink_sims | codes_reissue
    actor: Mapped[str] = mapped_column(String(100))
    reason: Mapped[str] = mapped_column(String(300))
    summary: Mapped[str] = mapped_column(Text, default="{}")  # JSON: what it was about (ids, counts)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    final_at: Mapped[datetime] = mapped_column(UTCDateTime)  # after this, no revert
    reverted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    reverted_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    revert_reason: Mapped[str | None] = mapped_column(String(300), nullable=True)

    __table_args__ = (Index("ix_bulk_operations_created", "created_at"),)


class BulkRowImage(Base):
    """One row a bulk operation changed or created: its columns before and after (JSON)."""

    __tablename__ = "bulk_row_images"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    operation_id: Mapped[int] = mapped_column(ForeignKey("bulk_operations.id"), index=True)
    table_name: Mapped[str] = mapped_column(String(64))
    row_id: Mapped[int] = mapped_column(BigInteger)
    before: Mapped[str | None] = mapped_column(Text, nullable=True)  # None: the operation created it
    after: Mapped[str] = mapped_column(Text)


class PersonAlias(Base):
    """A merged person id pointing at its canonical id; kept (undone_at set) when reverted."""

    __tablename__ = "person_aliases"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    merged_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    canonical_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    operation_id: Mapped[int] = mapped_column(ForeignKey("bulk_operations.id"))
    merged_by: Mapped[str] = mapped_column(String(100))
    reason: Mapped[str] = mapped_column(String(300))
    merged_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    undone_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


# --- Delegated-access support views (R6) ---


class SupportGrantState(str, enum.Enum):
    PENDING = "pending"  # asked by a desk agent, not yet answered
    GRANTED = "granted"  # live until expires_at unless revoked
    REFUSED = "refused"
    WITHDRAWN = "withdrawn"  # never answered and no longer askable (grantor or agent gone)


class SupportGrant(Base):
    """A desk agent's request for a read-only view, and the grantor's answer over USSD."""

    __tablename__ = "support_grants"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("central_staff.id"), index=True)
    scope: Mapped[str] = mapped_column(String(8))  # school | person
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id"), index=True)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"), nullable=True)
    minutes: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(300))
    state: Mapped[str] = mapped_column(String(12), default=SupportGrantState.PENDING.value)
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"), nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    revoked_reason: Mapped[str | None] = mapped_column(String(200), nullable=True)

    __table_args__ = (Index("ix_support_grants_state", "state"),)

# --- Desk console (issue 11): sign-in codes by SMS, server-side sessions ---


class ConsoleCode(Base):
    """A desk-console sign-in code sent by SMS; stored only as a keyed hash, single use."""

    __tablename__ = "console_codes"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    holder: Mapped[str] = mapped_column(String(80))  # "staff:<staff_ref>" | "person:<upstream id>"
    code_hash: Mapped[str] = mapped_column(String(64))
    failures: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    burned_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    ip_ref: Mapped[str] = mapped_column(String(20))  # keyed hash of the requesting address

    __table_args__ = (Index("ix_console_codes_holder", "holder", "issued_at"),)


class ConsoleAttempt(Base):
    """One sign-in step (code asked, code typed wrong) by staff number and address: rate limits."""

    __tablename__ = "console_attempts"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    kind: Mapped[str] = mapped_column(String(12))  # "request" | "wrong"
    number_ref: Mapped[str] = mapped_column(String(20))  # keyed hash of the typed staff number
    ip_ref: Mapped[str] = mapped_column(String(20))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (Index("ix_console_attempts_number", "number_ref", "at"),
                      Index("ix_console_attempts_ip", "ip_ref", "at"))


class ConsoleSession(Base):
    """A signed-in desk-console session; the cookie holds a token, this row its hash."""

    __tablename__ = "console_sessions"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    csrf: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(16))
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("central_staff.id"), nullable=True,
                                                 index=True)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"), nullable=True, index=True)
    school_upstream_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)  # the absolute end
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    revoked_reason: Mapped[str | None] = mapped_column(String(200), nullable=True)

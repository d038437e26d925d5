"""Build a large school day on PostgreSQL in a few set-based statements (tests and benches).

One school, classes of 40, one guardian SIM per student except every fourth student,
who shares the previous one's (siblings), four operators' prefixes in turn; every class
confirmed before the cut-off, 5 % of students absent and 2 % late.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine

CLASS_SIZE = 40
CONFIRMED = "06:00:00+00"  # 08:00 Cairo: before the 15:30 cut-off

# The school, its teacher ('B-T') and its classes ('B-C1' …): what a day is built on.
_SCHOOL = [
    """INSERT INTO schools (upstream_id, name, governorate, active, created_at, updated_at)
       VALUES ('B-SCH', 'مدرسة', 'القاهرة', true, now(), now())""",
    """INSERT INTO people (upstream_id, school_id, role, display_name, name_key, status, active,
                           created_at, updated_at)
       SELECT 'B-T', id, 'teacher', 'معلم', 'معلم', 'active', true, now(), now()
       FROM schools WHERE upstream_id = 'B-SCH'""",
    """INSERT INTO classes (upstream_id, school_id, name, grade, active, created_at, updated_at)
       SELECT 'B-C' || g, s.id, 'C' || g, 1, true, now(), now()
       FROM schools s, generate_series(1, :classes) g WHERE s.upstream_id = 'B-SCH'""",
]
_STATEMENTS = [
    *_SCHOOL,
    """INSERT INTO people (upstream_id, school_id, role, display_name, name_key, status, active,
                           created_at, updated_at)
       SELECT 'B-S' || g, s.id, 'student',
              (ARRAY['عمر محمد', 'مريم أحمد', 'عبد الله علي', 'منة الله حسن'])[1 + g % 4],
              'k' || g, 'active', true, now(), now()
       FROM schools s, generate_series(1, :students) g WHERE s.upstream_id = 'B-SCH'""",
    """INSERT INTO enrolments (person_id, class_id, started_at)
       SELECT p.id, c.id, now() FROM people p
       JOIN classes c ON c.upstream_id = 'B-C' || ((substr(p.upstream_id, 4)::int - 1) / 40 + 1)
       WHERE p.upstream_id LIKE 'B-S%'""",
    """INSERT INTO contacts (person_id, msisdn, kind, language, consented_at)
       SELECT p.id, '+20' || (ARRAY['10', '11', '12', '15'])[1 + (n - (n % 4 = 0)::int) % 4]
                     || (10000000 + n - (n % 4 = 0)::int),
              'guardian', 'ar', now()
       FROM (SELECT id, substr(upstream_id, 4)::int AS n FROM people
             WHERE upstream_id LIKE 'B-S%') p""",
    # What enrolment writes with each link: its consent (the digests send to no one without).
    """INSERT INTO consent_records (contact_id, granted, wording_version, channel, at, actor, note)
       SELECT id, true, 'pre-register', 'migration', consented_at, 'bench', ''
       FROM contacts WHERE kind = 'guardian'""",
    """INSERT INTO attendance_records (class_id, day, taken_by, class_size, confirmed_at,
                                       session_id, msisdn)
       SELECT c.id, CAST(:day AS date), t.id, 40, CAST(:day || ' ' || :at AS timestamptz),
              'bench', '+201000000000'
       FROM classes c, people t WHERE c.upstream_id LIKE 'B-C%' AND t.upstream_id = 'B-T'""",
    """INSERT INTO attendance_marks (record_id, person_id, status, captured_at, session_id,
                                     marked_by)
       SELECT r.id, e.person_id, CASE WHEN p.n % 20 = 0 THEN 'absent' ELSE 'late' END,
              r.confirmed_at, 'bench', r.taken_by
       FROM (SELECT id, substr(upstream_id, 4)::int AS n FROM people
             WHERE upstream_id LIKE 'B-S%') p
       JOIN enrolments e ON e.person_id = p.id
       JOIN attendance_records r ON r.class_id = e.class_id AND r.day = CAST(:day AS date)
       WHERE p.n % 20 = 0 OR p.n % 50 = 1""",
]


def build_school(conn: Connection, classes: int) -> None:
    """Insert the school, its teacher 'B-T' and `classes` classes 'B-C1' … (no students)."""
    for statement in _SCHOOL:
        conn.execute(text(statement), {"classes": classes})


def build(engine: Engine, students: int, day: date) -> int:
    """Insert a school day of `students` students; return the number of guardian SIMs."""
    params = {"students": students, "classes": (students + CLASS_SIZE - 1) // CLASS_SIZE,
              "day": day.isoformat(), "at": CONFIRMED}
    with engine.begin() as conn:
        for statement in _STATEMENTS:
            conn.execute(text(statement), params)
        conn.execute(text("ANALYZE"))
    return students - students // 4

"""The confirm's lookup reads one class-day's record however many the day holds (decision 0043).

On PostgreSQL, on a table not analyzed since the day's records came (the case here: never
analyzed), the lookup was planned on the day-only index and filtered every record of the
day by class: 399 rows read for one here. The plan is checked as PostgreSQL runs it
(EXPLAIN ANALYZE, custom and generic plans), so what is asserted is the rows read, not
which index was picked.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timezone
from typing import Any, Iterator

import pytest
from sqlalchemy import text

from core import attendance
from core.db import make_engine
from tests.support.school_day import build_school

DAY = date(2026, 11, 29)
CLASSES = 400

# The teacher may take every class of the school (tests/support/school_day).
_TEACHES_ALL = """INSERT INTO enrolments (person_id, class_id, started_at)
                  SELECT t.id, c.id, now() FROM people t, classes c WHERE t.upstream_id = 'B-T'"""
# Every class but the last taken today: the lookup asks for the one that is not.
_TAKEN = """INSERT INTO attendance_records (class_id, day, taken_by, class_size, confirmed_at,
                                            session_id, msisdn)
            SELECT c.id, :day, t.id, 30, now(), 'taken-' || c.id, 'ref'
            FROM classes c, people t WHERE t.upstream_id = 'B-T' AND c.upstream_id <> :last"""


def _nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", []):
        yield from _nodes(child)


@pytest.mark.postgres
@pytest.mark.parametrize("lookup", ["_LOOKUP", "_LOOKUP_ROLL"])  # alone, and with the roll
def test_the_lookup_reads_one_record_of_a_full_day(db_url: str, lookup: str) -> None:
    if not db_url.startswith("postgresql"):
        pytest.skip("a PostgreSQL plan")
    engine = make_engine(db_url)
    try:
        with engine.begin() as conn:
            build_school(conn, CLASSES)
            conn.execute(text(_TEACHES_ALL))
            conn.execute(text(_TAKEN), {"day": DAY, "last": f"B-C{CLASSES}"})
            staff, cls = conn.execute(text(
                "SELECT t.id, c.id FROM people t, classes c WHERE t.upstream_id = 'B-T' "
                "AND c.upstream_id = :last"), {"last": f"B-C{CLASSES}"}).one()
        compiled = getattr(attendance, lookup).compiled(engine.dialect)
        sql, params = compiled.statement_and_parameters(
            {"staff": staff, "cls": cls, "day": DAY,
             "now": datetime(2026, 11, 29, 7, 30, tzinfo=timezone.utc)})
        with engine.connect() as conn:
            cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
            for mode in ("force_custom_plan", "force_generic_plan"):
                cursor.execute(f"SET plan_cache_mode = {mode}")
                cursor.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + sql, params)
                raw = cursor.fetchone()[0]
                plan = (raw if isinstance(raw, list) else json.loads(raw))[0]["Plan"]
                reads = [n for n in _nodes(plan) if n.get("Relation Name") == "attendance_records"]
                assert reads, plan
                for node in reads:
                    assert node.get("Rows Removed by Filter", 0) == 0, (mode, node)
                    assert node["Actual Rows"] <= 1, (mode, node)
            cursor.execute(sql, params)
            allowed, record_id = cursor.fetchone()[:2]
            assert allowed == 1 and record_id is None  # the teacher's class, not taken yet
    finally:
        engine.dispose()

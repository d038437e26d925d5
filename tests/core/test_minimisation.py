"""Data minimisation: no value of an extra upstream field reaches the database or the logs."""

from __future__ import annotations

import logging
import uuid

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, text

from core.models import Base, SyncRun
from core.sync.full import run_full
from core.upstream.adapter import ALLOWED_FIELDS
from core.upstream.client import UpstreamClient
from tests.support.upstream import one_school

MARK = "XTRA"


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


def _sentinel_values(tag: str) -> st.SearchStrategy[object]:
    leaf = st.text(max_size=12).map(lambda t: f"{MARK}{tag}{t}")
    return st.recursive(leaf, lambda inner: st.lists(inner, max_size=3)
                        | st.dictionaries(st.text(max_size=5), inner, max_size=3), max_leaves=5)


extra_keys = st.text(min_size=1, max_size=20).filter(lambda k: k not in ALLOWED_FIELDS)


def _dump(runtime) -> str:  # type: ignore[no-untyped-def]
    """Every stored value of every table, as one string."""
    parts: list[str] = []
    with runtime.engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            for row in conn.execute(select(table)):
                parts.extend(str(v) for v in row)
    return "\n".join(parts)


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_no_extra_field_value_is_stored_or_logged(runtime, data) -> None:  # type: ignore[no-untyped-def]
    tag = uuid.uuid4().hex[:8]
    up = one_school()
    n = data.draw(st.integers(1, 6))
    people = []
    for i in range(n):
        person = {"id": f"STU-{tag}-{i}", "display_name": f"طالب {i}", "role": "student",
                  "class_ids": [f"SCH-T-C{i % 2}"]}
        if data.draw(st.booleans()):  # some records are broken too, and get quarantined
            person["role"] = data.draw(st.sampled_from([7, "pupil", None]))
        extras = data.draw(st.dictionaries(extra_keys, _sentinel_values(tag), min_size=1, max_size=4))
        person.update(extras)
        people.append(person)
    up.people["SCH-T"] = people
    capture = _Capture()
    root, sql = logging.getLogger(), logging.getLogger("sqlalchemy.engine")
    old = root.level, sql.level
    root.addHandler(capture)
    root.setLevel(logging.DEBUG)
    sql.setLevel(logging.INFO)  # statements *and* their parameters
    try:
        report = run_full(runtime.sessions, UpstreamClient(up, page_size=4))
    finally:
        root.removeHandler(capture)
        root.setLevel(old[0])
        sql.setLevel(old[1])
    stored = _dump(runtime)
    logged = "\n".join(capture.lines)
    assert capture.lines, "the SQL log was captured"
    assert f"{MARK}{tag}" not in stored
    assert f"{MARK}{tag}" not in logged
    assert report.counts.dropped_fields == sum(
        len([k for k in p if k not in ALLOWED_FIELDS]) for p in people)
    with runtime.sessions() as s:
        assert s.get(SyncRun, report.run_id) is not None
        assert s.execute(text("SELECT 1")).scalar() == 1

"""Every value the open export writes reads back as itself; anything else is refused."""

from __future__ import annotations

from datetime import timezone

from hypothesis import given
from hypothesis import strategies as st

from core.portability.tables import BY_NAME, read, write

RECORDS, ADJ, AUDIT, PEOPLE = (BY_NAME[n] for n in ("records", "adjustments", "audit", "people"))


def _field(resource, name):  # type: ignore[no-untyped-def]
    return next(f for f in resource.fields if f.name == name)


@given(st.integers(-(10 ** 18) + 1, 10 ** 18 - 1), st.dates(),
       st.datetimes(timezones=st.just(timezone.utc)), st.booleans(),
       st.text(min_size=0, max_size=300).filter(lambda t: "\x00" not in t))
def test_values_round_trip_through_their_one_spelling(n, day, moment, flag, text) -> None:  # type: ignore[no-untyped-def]
    assert read(RECORDS, _field(RECORDS, "class_size"), write(_field(RECORDS, "class_size"), n)) == n
    assert read(RECORDS, _field(RECORDS, "day"), write(_field(RECORDS, "day"), day)) == day
    confirmed = _field(RECORDS, "confirmed_at")
    assert read(RECORDS, confirmed, write(confirmed, moment)) == moment
    assert write(confirmed, moment).endswith("Z") and len(write(confirmed, moment)) == 27
    active = _field(PEOPLE, "active")
    assert read(PEOPLE, active, write(active, flag)) is flag
    data = _field(AUDIT, "data")  # Text: no length limit; required: "" stays ""
    assert read(AUDIT, data, write(data, text)) == text
    ref = _field(ADJ, "exception_ref")  # nullable: null and "" are both written empty
    assert read(ADJ, ref, write(ref, None)) is None


@given(st.text(max_size=30))
def test_a_cell_is_its_type_or_a_clear_error(raw: str) -> None:
    for resource, name in ((RECORDS, "class_size"), (RECORDS, "day"), (RECORDS, "confirmed_at"),
                           (PEOPLE, "active"), (PEOPLE, "role")):
        f = _field(resource, name)
        try:
            value = read(resource, f, raw)
        except ValueError as exc:
            assert str(exc)  # says what is wrong
            continue
        assert write(f, value) == raw  # whatever is accepted is exactly its one spelling

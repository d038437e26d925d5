"""The school-day fingerprint: insensitive to order and repeats, sensitive to any one status."""

from __future__ import annotations

from hypothesis import given, settings, strategies as st

from core.writeback.fingerprint import ClassDay, fingerprint

ids = st.from_regex(r"[A-Z]{3}-[0-9]{1,4}", fullmatch=True)


@st.composite
def school_days(draw):  # type: ignore[no-untyped-def]
    classes = draw(st.lists(ids, min_size=1, max_size=4, unique=True))
    out = []
    for cid in classes:
        students = draw(st.lists(ids, max_size=8, unique=True))
        marks = tuple((s, draw(st.sampled_from(["absent", "late"]))) for s in students)
        out.append(ClassDay(cid, draw(st.integers(1, 5)), draw(st.integers(len(marks), 60)), marks))
    return out


def _shuffled(cds: list[ClassDay], rnd) -> list[ClassDay]:  # type: ignore[no-untyped-def]
    out = [ClassDay(cd.class_id, cd.revision, cd.size, tuple(rnd.sample(cd.marks, len(cd.marks))))
           for cd in cds]
    rnd.shuffle(out)
    return out


@settings(max_examples=60, deadline=None)
@given(school_days(), st.randoms())
def test_order_and_repeats_do_not_change_it(cds, rnd) -> None:  # type: ignore[no-untyped-def]
    base = fingerprint(cds)
    assert fingerprint(_shuffled(cds, rnd)) == base
    repeated = cds + [rnd.choice(cds)]
    assert fingerprint(repeated) == base
    assert base.classes == len(cds) and base.marks == sum(len(cd.marks) for cd in cds)


@settings(max_examples=60, deadline=None)
@given(school_days(), st.data())
def test_any_single_changed_status_changes_it(cds, data) -> None:  # type: ignore[no-untyped-def]
    with_marks = [i for i, cd in enumerate(cds) if cd.marks]
    if not with_marks:
        return
    i = data.draw(st.sampled_from(with_marks))
    j = data.draw(st.integers(0, len(cds[i].marks) - 1))
    student, status = cds[i].marks[j]
    new = data.draw(st.sampled_from([s for s in ("absent", "late", "present") if s != status]))
    marks = list(cds[i].marks)
    if new == "present":
        del marks[j]
    else:
        marks[j] = (student, new)
    changed = list(cds)
    changed[i] = ClassDay(cds[i].class_id, cds[i].revision, cds[i].size, tuple(marks))
    assert fingerprint(changed).digest != fingerprint(cds).digest


@settings(max_examples=60, deadline=None)
@given(school_days(), st.data())
def test_a_changed_revision_or_size_changes_it(cds, data) -> None:  # type: ignore[no-untyped-def]
    i = data.draw(st.integers(0, len(cds) - 1))
    cd = cds[i]
    for other in (ClassDay(cd.class_id, cd.revision + 1, cd.size, cd.marks),
                  ClassDay(cd.class_id, cd.revision, cd.size + 1, cd.marks)):
        assert fingerprint(cds[:i] + [other] + cds[i + 1:]).digest != fingerprint(cds).digest

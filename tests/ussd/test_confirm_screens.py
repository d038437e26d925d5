"""Screens that tell the truth: every roll being confirmed is shown, class titles keep the section."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from core.gsm import is_gsm7
from tests.support.directory import school
from ussd.machine import first_state, render, step
from ussd.ports import Caller, ConfirmAttendance
from ussd.screens import GSM7_LIMIT, UCS2_LIMIT
from ussd.titles import short_class_name

TEACHER_AR = Caller("+201001234567", staff_id=1, staff_name="أ. محمد", lang="ar")
TEACHER_EN = Caller("+201001234567", staff_id=1, staff_name="Mr Mohamed", lang="en")


def _walk(caller: Caller, inputs: list[str], size: int = 50, classes: int = 3):  # type: ignore[no-untyped-def]
    directory = school(size=size, classes=classes)
    state = first_state(caller, None)
    screens, effects = [render(state, caller, directory).text], []
    for inp in inputs:
        out = step(state, inp, caller, directory)
        state, effects = out.state, effects + list(out.effects)
        screens.append(render(state, caller, directory).text)
    return state, screens, effects, directory


def _rolls(*rolls: int) -> str:
    return "".join(f"{r:02d}" for r in rolls)


def test_five_absentees_of_fifty_are_all_on_the_confirm_screen_in_arabic() -> None:
    state, screens, _, _ = _walk(TEACHER_AR, ["1", "1", _rolls(1, 12, 25, 33, 47)])
    review = screens[-1]
    assert state.step == "att_review"
    assert "غياب 5: 1 12 25 33 47" in review and "…" not in review
    assert "(3/أ)" in review and "رابعة ابتدائي" in review  # grade abbreviated, section kept
    assert "1 تأكيد" in review and len(review) <= UCS2_LIMIT


def test_absentees_and_late_arrivals_that_overflow_go_on_a_second_page() -> None:
    _, screens, effects, _ = _walk(
        TEACHER_EN, ["1", "1", _rolls(1, 12, 25, 33, 47), "2", _rolls(2, 40), "8", "1"])
    first, second = screens[-3], screens[-2]
    assert "Absent 5: 1 12 25 33 47" in first and "8 More" in first and "1 Confirm" not in first
    assert "Late 2: 2 40" in second and "1 Confirm" in second
    assert len(effects) == 1 and len(effects[0].absent) == 5 and len(effects[0].late) == 2


def test_many_absentees_are_paged_and_confirm_waits_for_the_last_page() -> None:
    absent = list(range(1, 21))  # 40 digits: the longest input
    state, screens, effects, directory = _walk(TEACHER_AR, ["1", "1", _rolls(*absent), "1"])
    assert effects == [] and state.step == "att_review"  # Confirm before all rolls were shown
    shown: list[int] = []
    pages = 0
    caller = TEACHER_AR
    while True:
        text = render(state, caller, directory).text
        assert len(text) <= UCS2_LIMIT and "…" not in text
        match = re.search(r"غياب 20: ([\d ]+)", text)
        assert match, text
        shown += [int(r) for r in match.group(1).split()]
        pages += 1
        if "8 المزيد" not in text:
            break
        state = step(state, "8", caller, directory).state
    assert shown == absent and pages > 1
    out = step(state, "1", caller, directory)
    assert state.step == "att_review" and len(out.effects) == 1
    confirm = out.effects[0]
    assert isinstance(confirm, ConfirmAttendance) and len(confirm.absent) == 20


@settings(max_examples=150, deadline=None)
@given(size=st.integers(1, 60), lang=st.sampled_from(["ar", "en"]),
       marks=st.lists(st.tuples(st.integers(1, 60), st.booleans()), max_size=60))
def test_every_roll_is_shown_exactly_once_across_the_pages(size: int, lang: str, marks) -> None:  # type: ignore[no-untyped-def]
    caller = TEACHER_AR if lang == "ar" else TEACHER_EN
    absent = sorted({r for r, late in marks if r <= size and not late})
    late = sorted({r for r, is_late in marks if r <= size and is_late} - set(absent))
    directory = school(size=size, classes=1)
    state = first_state(caller, None).with_(step="att_review", class_id=100, absent=tuple(absent),
                                            late=tuple(late), fp="fp100")
    seen_absent: list[int] = []
    seen_late: list[int] = []
    for _ in range(60):
        text = render(state, caller, directory).text
        assert len(text) <= (GSM7_LIMIT if is_gsm7(text) else UCS2_LIMIT)
        for line in text.split("\n"):
            head, _sep, rolls = line.partition(": ")
            numbers = [int(r) for r in rolls.split() if r.isdigit()]
            if head.startswith(("Absent ", "غياب ")):
                seen_absent += numbers
            elif head.startswith(("Late ", "تأخير ")):
                seen_late += numbers
        more = step(state, "8", caller, directory).state
        if more.page == state.page:
            break
        state = more
    assert seen_absent == absent and seen_late == late
    assert any(isinstance(e, ConfirmAttendance) for e in step(state, "1", caller, directory).effects)


def test_short_class_names_keep_the_section() -> None:
    assert short_class_name("الصف الأول الابتدائي (أ)") == "أولى ابتدائي (أ)"
    assert short_class_name("الصف الثالث الإعدادي (هـ)") == "ثالثة إعدادي (هـ)"
    assert short_class_name("Grade 2 (B)") == "Grade 2 (B)"  # unknown shapes are left alone
    _, screens, _, _ = _walk(TEACHER_AR, ["1"])
    assert all(f"{k} رابعة" in screens[-1] and f"({k + 2}/أ)" in screens[-1]
               for k in (1, 2, 3))  # the class menu: key, grade, section
    _, screens, _, _ = _walk(TEACHER_AR, ["1", "2", "0", "1"])
    assert "(4/أ)" in screens[-1]  # the saved screen names the section too
    assert "(4/أ)" in screens[2]  # absentee entry: cut, if at all, before the section
    _, screens, _, _ = _walk(TEACHER_AR, ["1", "2", "01"])
    assert "رابعة ابتدائي (4/أ)\n" in screens[-1]  # review: the whole short name
    short = school(size=45, classes=1)  # a real class name: "(أ)", not "(3/أ)"
    short.classes[1] = [type(c)(c.id, "الصف الأول الابتدائي (أ)", c.size) for c in short.classes[1]]
    state = step(first_state(TEACHER_AR, None), "1", TEACHER_AR, short).state
    assert render(state, TEACHER_AR, short).text.startswith("أولى ابتدائي (أ)\n")  # date dropped


def test_an_unrecognised_long_class_name_is_cut_and_every_roll_still_shows() -> None:
    directory = school(size=50, classes=1)
    long_name = "فصل المتفوقين في العلوم والرياضيات والحاسب الآلي - المبنى الجديد (أ)"
    directory.classes[1] = [type(c)(c.id, long_name, c.size) for c in directory.classes[1]]
    state = first_state(TEACHER_AR, None)
    for inp in ["1", _rolls(1, 12, 25, 33, 47)]:
        state = step(state, inp, TEACHER_AR, directory).state
    review = render(state, TEACHER_AR, directory).text
    assert "غياب 5: 1 12 25 33 47" in review and "(أ)" in review and len(review) <= UCS2_LIMIT


def test_split_pages_always_ends() -> None:
    from ussd.paging import split_pages

    assert split_pages([], lambda run, last: False) == [[]]
    assert split_pages([1, 2, 3], lambda run, last: len(run) <= 1) == [[1], [2], [3]]
    assert split_pages([1, 2, 3], lambda run, last: False) == [[1], [2], [3]]

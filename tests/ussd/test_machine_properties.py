"""The pure menu machine under hypothesis: any inputs, drops and retries; screens always fit."""

from __future__ import annotations

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from core.gsm import is_gsm7
from tests.support.directory import MemoryDirectory, school
from ussd.flow_attendance import RESUMABLE
from ussd.machine import first_state, is_final, render, step
from ussd.ports import Caller, ConfirmAttendance, MarkLate, RequestCorrection
from ussd.screens import GSM7_LIMIT, UCS2_LIMIT
from ussd.state import MAX_BYTES, State

inputs = st.one_of(
    st.sampled_from(list("0123456789")),
    st.sampled_from(["0103", "0102030405", "99", "00", "010", "0160", "00010012", "123456",
                     "0001000123", "87654321", "00010013", "2", "999999", "888888"]),
    st.text(alphabet="0123456789", min_size=1, max_size=45),
    st.text(max_size=6),  # junk: letters, symbols, empty
)

callers = st.sampled_from([
    Caller("+201001234567", staff_id=1, staff_name="عبد الرحمن محمد عبد الفتاح السيد الشرقاوي", lang="ar"),
    Caller("+201001234567", staff_id=1, staff_name="Abdelrahman Mohamed Abdelfattah El Sayed", lang="en"),
    Caller("+201001234567", staff_id=1, staff_name="عبد الرحمن محمد عبد الفتاح السيد الشرقاوي",
           lang="ar", approver=True),
    Caller("+201001234567", staff_id=1, staff_name="Abdelrahman Mohamed Abdelfattah El Sayed",
           lang="en", approver=True),
    Caller("+201001234567", guardian=True, lang="ar"),
    Caller("+201001234567", guardian=True, opted_out=True, lang="en"),
    Caller("+201001234567", lang="ar"),
    Caller("+201001234567", lang="en"),
])


def _check_screen(text: str) -> None:
    limit = GSM7_LIMIT if is_gsm7(text) else UCS2_LIMIT
    assert len(text) <= limit, (len(text), text)


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(caller=callers, size=st.integers(1, 60), n_classes=st.integers(0, 6),
       late_open=st.booleans(), actions=st.lists(st.one_of(
           inputs.map(lambda v: ("input", v)), st.just(("drop", "")), st.just(("retry", "")),
           st.just(("revoke", ""))),
           max_size=40))
# Found by this property: access ended on the support-access "done" screen (7, 1, 2).
@example(caller=Caller("+201001234567", staff_id=1, staff_name="أ. محمد", lang="ar"), size=1,
         n_classes=0, late_open=False,
         actions=[("input", "7"), ("input", "1"), ("input", "2"), ("revoke", "")])
@example(caller=Caller("+201001234567", staff_id=1, staff_name="أ. محمد", lang="ar"), size=1,
         n_classes=0, late_open=False,
         actions=[("input", "7"), ("input", "1"), ("revoke", ""), ("input", "1")])
def test_any_session_keeps_screens_within_limits_and_confirms_sanely(
        caller: Caller, size: int, n_classes: int, late_open: bool, actions: list) -> None:  # type: ignore[type-arg]
    directory: MemoryDirectory = school(size=size, classes=n_classes)
    directory.late_open = late_open
    state = first_state(caller, None)
    screen = render(state, caller, directory)
    confirmed: dict[int, ConfirmAttendance] = {}
    for kind, value in actions:
        if kind == "retry":
            assert render(state, caller, directory) == screen  # a replay shows the same screen
            continue
        if kind == "revoke":  # access ends mid-session: every later screen still renders, no crash
            caller = Caller(caller.msisdn, lang=caller.lang)
            screen = render(state, caller, directory)
            _check_screen(screen.text)
            continue
        if kind == "drop":
            resume = state if (state.step in RESUMABLE and caller.staff_id) else None
            state = first_state(caller, resume)
        elif not is_final(state):
            out = step(state, value, caller, directory)
            for effect in out.effects:
                if isinstance(effect, ConfirmAttendance):
                    assert effect.class_id not in confirmed, "a class confirmed twice in one flow"
                    confirmed[effect.class_id] = effect
                    ids = {pid for pid, _ in directory.roster(effect.class_id).students}
                    assert set(effect.absent) <= ids and set(effect.late) <= ids
                    assert not set(effect.absent) & set(effect.late)
                    # The store would now say the class is taken.
                    directory.classes[1] = [c if c.id != effect.class_id else
                                            type(c)(c.id, c.name, c.size, True, c.delegated)
                                            for c in directory.classes.get(1, [])]
                if isinstance(effect, MarkLate):
                    assert late_open
                if isinstance(effect, RequestCorrection):  # a taken day, in the window, a change
                    assert effect.day in directory.correctable_days()
                    assert effect.person_id in {p for p, _ in directory.roster(effect.class_id).students}
                    assert directory.day_status(effect.person_id, effect.day) not in (
                        None, effect.to_status)
            state = out.state
        else:
            assert step(state, value, caller, directory).state == state  # END: nothing changes
        screen = render(state, caller, directory)
        _check_screen(screen.text)
        assert len(state.encode()) <= MAX_BYTES
        assert State.decode(state.encode()) == state


def _screens_to_mark(absentees: int, size: int, classes: int) -> int:
    directory = school(size=size, classes=classes)
    caller = Caller("+201001234567", staff_id=1, staff_name="أ. محمد")
    state, shown = first_state(caller, None), 1
    rolls = "".join(f"{r:02d}" for r in range(1, absentees + 1))
    for inp in ["1"] + (["1"] if classes > 1 else []) + [rolls or "0", "1"]:
        state = step(state, inp, caller, directory).state
        shown += 1
    assert state.step == "att_done"
    return shown


def test_five_absentees_in_a_class_of_fifty_take_at_most_six_screens() -> None:
    assert _screens_to_mark(5, 50, classes=3) <= 6  # menu, class, absentees, review, saved = 5
    assert _screens_to_mark(5, 50, classes=1) <= 6
    assert _screens_to_mark(0, 50, classes=1) == 4


@given(st.integers(1, 60), st.lists(st.integers(1, 60), max_size=30))
def test_roll_numbers_round_trip(size: int, rolls: list[int]) -> None:
    from ussd.rolls import BadRolls, parse_rolls

    text = "".join(f"{r:02d}" for r in rolls)
    if not rolls:
        return
    if all(r <= size for r in rolls):
        assert parse_rolls(text, size) == tuple(dict.fromkeys(rolls))
    else:
        try:
            parse_rolls(text, size)
        except BadRolls:
            return
        raise AssertionError("out-of-range roll accepted")


def test_every_code_refusal_screen_fits_in_both_languages() -> None:
    """The screens that say why a code was refused (and the revoked-staff END) fit the limit."""
    directory = school()
    for lang in ("ar", "en"):
        for caller in (Caller("+201001234567", lang=lang),
                       Caller("+201001234567", staff_id=1, staff_name="أ. محمد", lang=lang)):
            for step_name in ("locked", "act_burned", "enr_burned", "code_limited", "refused"):
                state = State(step=step_name, lang=lang, extra=23 * 60 + 59)
                screen = render(state, caller, directory)
                assert screen.kind.value == "END" and screen.text
                _check_screen(screen.text)
            limited = render(State(step="code_limited", lang=lang, extra=10 * 60 + 40), caller, directory)
            assert "10:40" in limited.text

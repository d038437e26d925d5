"""Main-menu key 7 on the pure machine: list, grant, refuse, end; the key always works."""

from __future__ import annotations

import pytest

from tests.support.directory import LONG, school
from ussd.machine import render, step
from ussd.ports import AnswerSupport, Caller, EndSupport
from ussd.screens import UCS2_LIMIT
from ussd.state import State

NAME = "عبد الرحمن محمد عبد الفتاح السيد الشرقاوي"


def _walk(caller: Caller, inputs: list[str]):  # type: ignore[no-untyped-def]
    d = school()
    state, effects = State(lang=caller.lang), []
    for inp in inputs:
        out = step(state, inp, caller, d)
        state, effects = out.state, effects + list(out.effects)
    return render(state, caller, d), effects


@pytest.mark.parametrize("lang", ["ar", "en"])
@pytest.mark.parametrize("approver", [True, False])
def test_key_seven_lists_requests_within_the_limit(lang: str, approver: bool) -> None:
    caller = Caller("+201001234567", staff_id=1, staff_name=NAME, lang=lang, approver=approver)
    screen, effects = _walk(caller, ["7"])
    assert screen.kind.value == "CON" and not effects
    assert len(screen.text) <= UCS2_LIMIT
    assert screen.text.splitlines()[1].startswith("1 ") and "8 " in screen.text  # paged: 4 items
    more, _ = _walk(caller, ["7", "8"])
    assert "1 Karim Desk" in more.text


def test_grant_refuse_and_end_ask_for_the_right_writes() -> None:
    caller = Caller("+201001234567", staff_id=1, staff_name=NAME, lang="en")
    shown, _ = _walk(caller, ["7", "2"])
    assert "Mona Adel" in shown.text and "what you see for 1 day, read-only" in shown.text
    assert "1 Grant" in shown.text and "2 Refuse" in shown.text
    done, effects = _walk(caller, ["7", "2", "1"])
    assert effects == [AnswerSupport(8, 1, grant=True)] and done.kind.value == "END"
    _, effects = _walk(caller, ["7", "1", "2"])
    assert effects == [AnswerSupport(7, 1, grant=False)]
    live, _ = _walk(caller, ["7", "3"])
    assert "until 30/11 10:30" in live.text and "1 End now" in live.text
    ended, effects = _walk(caller, ["7", "3", "1"])
    assert effects == [EndSupport(9, 1)] and "Access ended" in ended.text
    assert LONG[:6] in _walk(caller, ["7", "1"])[0].text  # a long agent name is cut, not dropped


def test_nobody_but_staff_reaches_the_support_flow() -> None:
    for caller in (Caller("+201001234567", guardian=True, lang="en"), Caller("+201001234567", lang="en")):
        screen, effects = _walk(caller, ["7"])
        assert "Not a choice" in screen.text and not effects
    # A SIM whose staff access ended mid-flow gets the END screen, and no write.
    d, staff = school(), Caller("+201001234567", staff_id=1, staff_name=NAME, lang="en")
    state = step(step(State(lang="en"), "7", staff, d).state, "2", staff, d).state
    out = step(state, "1", Caller("+201001234567", lang="en"), d)
    assert not out.effects and out.state.step == "refused"

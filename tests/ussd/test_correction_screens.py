"""The correction flow's screens fit in both languages; the long staff menu pages, keys stay."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.gsm import is_gsm7
from tests.support.directory import LONG, school
from ussd.machine import first_state, render, step
from ussd.ports import Caller, RequestCorrection
from ussd.screens import GSM7_LIMIT, UCS2_LIMIT

ENGLISH_NAME = "Abdelrahman Mohamed Abdelfattah El Sayed"


def _fits(text: str) -> bool:
    return len(text) <= (GSM7_LIMIT if is_gsm7(text) else UCS2_LIMIT)


def _caller(lang: str, approver: bool) -> Caller:
    return Caller("+201001234567", staff_id=1, staff_name=LONG if lang == "ar" else ENGLISH_NAME,
                  lang=lang, approver=approver)


@settings(max_examples=300, deadline=None)
@given(lang=st.sampled_from(["ar", "en"]), approver=st.booleans(), size=st.integers(1, 60),
       classes=st.integers(1, 6), roll=st.integers(1, 60), day=st.sampled_from("1234"),
       to=st.sampled_from("123"), reason=st.sampled_from("12345"),
       noise=st.lists(st.sampled_from(["9", "7", "00", "999", "8"]), max_size=3))
def test_every_correction_screen_fits_and_asks_only_for_a_real_change(
        lang: str, approver: bool, size: int, classes: int, roll: int, day: str, to: str,
        reason: str, noise: list[str]) -> None:
    directory, caller = school(size=size, classes=classes), _caller(lang, approver)
    state = first_state(caller, None)
    effects = []
    walk = ["6"] + (["1"] if classes > 1 else []) + noise + [f"{min(roll, size):02d}", day, to,
                                                             reason, "1"]
    for inp in walk:
        out = step(state, inp, caller, directory)
        state, effects = out.state, effects + list(out.effects)
        screen = render(state, caller, directory)
        assert _fits(screen.text), screen.text
    for effect in effects:
        assert isinstance(effect, RequestCorrection)
        assert directory.day_status(effect.person_id, effect.day) not in (None, effect.to_status)


@pytest.mark.parametrize("approver", [False, True])
def test_the_english_staff_menu_pages_and_every_key_still_works(approver: bool) -> None:
    """"4 العربية" makes the English menu an 80-character screen: with a notice it pages."""
    directory, caller = school(), _caller("en", approver)
    state = step(first_state(caller, None), "9", caller, directory).state  # "Not a choice."
    screens = [render(state, caller, directory).text]
    while "8 More" in screens[-1] and len(screens) < 5:
        state = step(state, "8", caller, directory).state
        screens.append(render(state, caller, directory).text)
    assert screens[0].startswith("Not a choice.") and "8 More" in screens[0]
    assert all(_fits(text) for text in screens) and len(screens) <= 3
    shown = {line for text in screens for line in text.split("\n")}
    assert {"1 Attendance", "2 Late arrival", "3 Substitute", "4 العربية", "6 Correct",
            "7 Support", "0 Help"} <= shown
    assert ("5 Approvals" in shown) == approver
    # Keys mean the same on either screen: 6 starts a correction from the first one too.
    assert step(first_state(caller, None), "6", caller, directory).state.step == "corr_class"
    assert step(state, "1", caller, directory).state.step == "att_class"

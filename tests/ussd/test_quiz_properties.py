"""The quiz state machine under hypothesis: any digits, drops, retries and a closing switch."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.gsm import is_gsm7
from core.quiz_bank import current
from tests.support.directory import LONG, MemoryDirectory
from ussd.machine import first_state, is_final, is_quiz_resumable, render, step
from ussd.ports import Caller, Found, RecordAnswer
from ussd.screens import GSM7_LIMIT, UCS2_LIMIT
from ussd.state import MAX_BYTES, State

QUIZ = current()

actions = st.lists(st.one_of(
    st.sampled_from(list("0123456789")).map(lambda v: ("input", v)),
    st.text(alphabet="0123456789", min_size=1, max_size=45).map(lambda v: ("input", v)),
    st.text(max_size=4).map(lambda v: ("input", v)),  # junk
    st.just(("drop", "")), st.just(("retry", "")), st.just(("close", "")),
    st.just(("elsewhere", "")),  # another guardian's phone answers the next question meanwhile
), max_size=50)


def _fits(text: str) -> None:
    assert len(text) <= (GSM7_LIMIT if is_gsm7(text) else UCS2_LIMIT), (len(text), text)


def _first_open(directory: MemoryDirectory, kid: int, start: int = 0) -> int | None:
    done = directory.answers.get(kid, {})
    return next((i for i in range(start, len(QUIZ.questions)) if QUIZ.questions[i].id not in done), None)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lang=st.sampled_from(["ar", "en"]), kids=st.integers(1, 5), script=actions)
def test_any_digits_never_crash_never_answer_twice_and_resume_at_the_first_open_question(
        lang: str, kids: int, script: list) -> None:  # type: ignore[type-arg]
    caller = Caller("+201001234567", guardian=True, lang=lang)
    directory = MemoryDirectory()
    directory.quiz_kids = [Found(5000 + k, f"{LONG} {k}") for k in range(kids)]
    directory.names.update({k.person_id: k.name for k in directory.quiz_kids})
    resume: State | None = None
    state = first_state(caller, resume)
    screen = render(state, caller, directory)
    for kind, value in [("input", "5")] + script:
        if kind == "retry":
            assert render(state, caller, directory) == screen  # a replay shows the same screen
            continue
        if kind == "close":  # the switch closes (e.g. the feature held back): nothing crashes
            directory.quiz_kids = []
        elif kind == "elsewhere" and state.found:
            i = _first_open(directory, state.found)
            if i is not None:
                directory.answers.setdefault(state.found, {})[QUIZ.questions[i].id] = False
        elif kind == "drop":
            if is_quiz_resumable(caller, state):
                resume = state
            elif is_final(state):
                resume = None
            state = first_state(caller, resume)
            if state.step == "quiz_resume":
                # Continuing shows the first question this child has not answered (SQL's view).
                after = step(state, "1", caller, directory).state
                if after.step == "quiz_q" and directory.quiz_kids:
                    want = _first_open(directory, after.found, after.extra)
                    shown = render(after, caller, directory).text
                    if want is not None:
                        assert shown.startswith(f"{want + 1}/{len(QUIZ.questions)} ") or \
                            shown.splitlines()[0].startswith(f"{want + 1}/"), shown
        elif not is_final(state):
            out = step(state, value, caller, directory)
            for effect in out.effects:
                if not isinstance(effect, RecordAnswer):
                    continue  # a language switch
                done = directory.answers.setdefault(effect.student_id, {})
                assert effect.question not in done, "an answer recorded twice"
                q = QUIZ.question(effect.question)
                assert q is not None and 1 <= effect.choice <= len(q.choices)
                assert effect.student_id in {k.person_id for k in directory.quiz_kids}
                done[effect.question] = q.correct(effect.choice)  # the commit
            state = out.state
        else:
            assert step(state, value, caller, directory).state == state  # END: nothing changes
        screen = render(state, caller, directory)
        _fits(screen.text)
        assert len(state.encode()) <= MAX_BYTES and State.decode(state.encode()) == state


def test_no_quiz_key_and_no_flow_while_the_switch_is_off() -> None:
    directory = MemoryDirectory()  # quiz_kids empty: before the date, or the school not in stage
    for lang in ("ar", "en"):
        caller = Caller("+201001234567", guardian=True, lang=lang)
        state = first_state(caller, None)
        assert "5 " not in render(state, caller, directory).text
        out = step(state, "5", caller, directory)
        assert out.state.step == "start" and out.state.notice == "invalid" and not out.effects
        # Even a stored resume point does not reopen it.
        back = first_state(caller, State(step="quiz_q", lang=lang, found=5000))
        assert step(back, "1", caller, directory).state.step == "quiz_closed"


def test_every_question_fits_the_strict_limit_in_both_languages() -> None:
    directory = MemoryDirectory()
    kid = Found(5000, LONG)
    directory.quiz_kids = [kid]
    for lang in ("ar", "en"):
        caller = Caller("+201001234567", guardian=True, lang=lang)
        for i, _q in enumerate(QUIZ.questions):
            directory.answers = {5000: {q.id: True for q in QUIZ.questions[:i]}}
            text = render(State(step="quiz_q", lang=lang, found=5000), caller, directory).text
            _fits(text)
            assert text.startswith(f"{i + 1}/{len(QUIZ.questions)} ")
        for name in ("quiz_done", "quiz_closed", "quiz_resume", "quiz_child"):
            _fits(render(State(step=name, lang=lang, found=5000), caller, directory).text)


def test_a_full_guardian_menu_with_a_notice_still_renders_its_choices() -> None:
    """Key 5 makes the guardian menu long; with a notice it may not fit the strict limit.

    The hop must not fail: the main menu keeps the notice and pages its choices ("8 More"),
    so every key, the quiz's included, is still on a screen and still works.
    """
    from ussd.screens import Limits

    directory = MemoryDirectory()
    directory.quiz_kids = [Found(5000, LONG)]
    caller = Caller("+201001234567", guardian=True, lang="ar")
    tight = Limits(ucs2=70)  # as if one more key (or a longer label) joined the menu
    state = step(first_state(caller, None), "7", caller, directory, tight).state
    assert state.notice == "invalid"
    screens = [render(state, caller, directory, tight).text]
    while "\n8 " in screens[-1] and len(screens) < 4:
        state = step(state, "8", caller, directory, tight).state
        screens.append(render(state, caller, directory, tight).text)
    assert all(len(text) <= 70 for text in screens)
    keys = {line.split(" ", 1)[0] for text in screens for line in text.splitlines()}
    assert {"1", "2", "3", "5", "0"} <= keys
    assert step(state, "5", caller, directory, tight).state.step.startswith("quiz")

"""Activation and slip codes over real USSD hops: guessing burns codes, messages tell the truth."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from core.codes import CODE_DIGITS, person_number
from core.models import CodeKind, Contact, OneTimeCode
from gateway.cli import cli
from tests.ussd.phone import Phone


def _count(rt, model, *where) -> int:  # type: ignore[no-untyped-def]
    with rt.sessions() as s:
        return s.scalar(select(func.count()).select_from(model).where(*where)) or 0


def _teacher(sandbox) -> dict:  # type: ignore[type-arg]
    school = sandbox.district.schools()[0]["id"]
    return next(p for p in sandbox.district.roster(school) if p["role"] == "teacher")


def _issue(runner, staff_id: str) -> str:  # type: ignore[no-untyped-def]
    out = runner.invoke(cli, ["codes", "issue", "--staff", staff_id])
    assert out.exit_code == 0, out.output
    return re.search(r"code (\d+)", out.output).group(1)  # type: ignore[union-attr]


def _try_activation(phone: Phone, number: str, code: str) -> str:
    """One session: English, Activate teacher, number, code."""
    phone.dial()
    phone.send("3")
    phone.send("1")
    phone.send(number)
    return phone.send(code)


def test_codes_are_long_enough_for_the_guessing_bound(synced, sandbox, runner) -> None:  # type: ignore[no-untyped-def]
    assert len(_issue(runner, _teacher(sandbox)["id"])) == CODE_DIGITS[CodeKind.STAFF_ACTIVATION] >= 9
    school = sandbox.district.schools()[0]["id"]
    out = runner.invoke(cli, ["codes", "slips", "--class", sandbox.district.classes(school)[0]["id"]])
    codes = re.findall(r"code (\d+)", out.output)
    assert codes and all(len(c) == CODE_DIGITS[CodeKind.GUARDIAN_SLIP] >= 10 for c in codes)


def test_guesses_at_one_staff_number_from_many_sims_burn_its_code(synced, sandbox, client, runner) -> None:  # type: ignore[no-untyped-def]
    teacher = _teacher(sandbox)
    code = _issue(runner, teacher["id"])
    number = person_number(teacher["id"])
    # Five SIMs, each under its own hourly limit, guess at the same staff number.
    for i in range(5):
        screen = _try_activation(Phone(client, msisdn=f"+20100111000{i}"), number,
                                 str(i).zfill(len(code)))
        assert ("not right" in screen) if i < 2 else ("burned" in screen)
    # The code took three wrong tries: it is burned, and says so, even typed right.
    thief = _try_activation(Phone(client, msisdn="+201001110006"), number, code)
    assert thief.startswith("END ") and "burned" in thief and "champion" in thief
    assert _count(synced, Contact) == 0
    with synced.sessions() as s:
        row = s.scalars(select(OneTimeCode)).one()
        assert row.burned_at is not None and row.failures == 3 and row.used_at is None
    # The champion issues a new code; the teacher activates with it.
    fresh = _issue(runner, teacher["id"])
    assert _try_activation(Phone(client, msisdn="+201001234567"), number, fresh).startswith("END Activated")


def test_a_code_tried_with_wrong_numbers_burns_too(synced, sandbox, client, runner) -> None:  # type: ignore[no-untyped-def]
    teacher = _teacher(sandbox)
    code = _issue(runner, teacher["id"])
    number = person_number(teacher["id"])
    # Someone holding the code hunts for its number, from several SIMs.
    for i, sim in enumerate(["+201001110011", "+201001110012", "+201001110013"]):
        _try_activation(Phone(client, msisdn=sim), f"9999{i:04d}", code)
    screen = _try_activation(Phone(client, msisdn="+201001110014"), number, code)
    assert "burned" in screen and _count(synced, Contact) == 0


def test_three_wrong_tries_in_a_session_say_dial_again_and_the_code_still_works(synced, sandbox, client, runner) -> None:  # type: ignore[no-untyped-def]
    teacher = _teacher(sandbox)
    code = _issue(runner, teacher["id"])
    phone = Phone(client, msisdn="+201001110021")
    phone.dial()
    phone.send("3")
    phone.send("1")
    for _ in range(2):
        phone.send("12345678")  # no such staff number: no live code is at risk
        assert "not right" in phone.send("1" * len(code))
    phone.send("12345678")
    locked = phone.send("1" * len(code))
    assert locked.startswith("END Too many tries") and "dial again" in locked
    assert "new code" not in locked  # it is not true: the code was never at risk
    assert _try_activation(phone, person_number(teacher["id"]), code).startswith("END Activated")


def test_a_rate_limited_sim_is_told_until_when_not_that_the_code_is_wrong(synced, sandbox, client, runner) -> None:  # type: ignore[no-untyped-def]
    teacher = _teacher(sandbox)
    code = _issue(runner, teacher["id"])
    phone = Phone(client, msisdn="+201001110031")
    for tries in (3, 3, 3, 1):  # ten wrong pairs from this SIM within the hour
        phone.dial()
        phone.send("3")
        phone.send("1")
        for _ in range(tries):
            phone.send("12345678")  # no such staff number: no code is at risk
            phone.send("1" * len(code))
    screen = _try_activation(phone, person_number(teacher["id"]), code)
    # The clock is 09:30 in Cairo; the SIM's count lasts an hour from its last wrong try.
    assert screen.startswith("END Too many tries from this phone") and "after 10:30" in screen
    assert "not right" not in screen
    assert _count(synced, Contact) == 0
    with synced.sessions() as s:  # the right code was not even looked at: nothing burned
        assert s.scalars(select(OneTimeCode)).one().burned_at is None
    arabic = Phone(client, msisdn=phone.msisdn)
    arabic.dial()
    arabic.send("1")
    arabic.send(person_number(teacher["id"]))
    assert "10:30" in arabic.send(code) and "محاولات كثيرة" in arabic.last


def _slips(runner, class_id: str, *extra: str):  # type: ignore[no-untyped-def]
    out = runner.invoke(cli, ["codes", "slips", "--class", class_id, *extra])
    assert out.exit_code == 0, out.output
    rows = [line.split("\t") for line in out.output.splitlines() if "\tcode " in line]
    return out.output, [(r[2].split()[-1], r[3].split()[-1]) for r in rows]


def _enrol(client, msisdn: str, number: str, code: str) -> str:  # type: ignore[no-untyped-def]
    """One session in English: Register as parent, student number, slip code, yes, I agree."""
    parent = Phone(client, msisdn=msisdn)
    parent.dial()
    parent.send("3")
    parent.send("2")
    parent.send(number)
    screen = parent.send(code)
    if "Link to this phone?" not in screen:
        return screen
    assert "Agree?" in parent.send("2")  # the consent wording, in the language chosen
    return parent.send("1")


def test_a_slip_links_exactly_one_guardian(synced, sandbox, client, runner) -> None:  # type: ignore[no-untyped-def]
    school = sandbox.district.schools()[0]["id"]
    _output, slips = _slips(runner, sandbox.district.classes(school)[0]["id"])
    number, code = slips[0]
    assert _enrol(client, "+201551230001", number, code).startswith("END Done")
    assert _count(synced, Contact) == 1
    for sim in ("+201551230002", "+201551230003"):  # the same slip, passed around
        assert "not right" in _enrol(client, sim, number, code)
    assert _count(synced, Contact) == 1
    with synced.sessions() as s:
        used = s.scalars(select(OneTimeCode).where(OneTimeCode.used_at.is_not(None))).one()
        assert used.used_by and "1230001" not in used.used_by  # a keyed hash, not the number


def test_reprinting_slips_keeps_handed_out_codes_unless_told_and_then_says_so(synced, sandbox, client, runner) -> None:  # type: ignore[no-untyped-def]
    school = sandbox.district.schools()[0]["id"]
    class_id = sandbox.district.classes(school)[0]["id"]
    _output, first = _slips(runner, class_id)
    output, again = _slips(runner, class_id)
    assert again == [] and f"{len(first)} students still hold an unused slip" in output
    number, code = first[1]
    assert _enrol(client, "+201551230011", number, code).startswith("END Done")  # still works
    output, reissued = _slips(runner, class_id, "--reissue")
    # The used slip's student needs no reissue warning; every other one is cancelled, loudly.
    assert f"WARNING: {len(first) - 1} unused slips handed out earlier are CANCELLED" in output
    assert len(reissued) == len(first)
    number, code = first[2]
    assert "not right" in _enrol(client, "+201551230012", number, code)  # cancelled, as it said
    assert _count(synced, Contact) == 1


@pytest.mark.parametrize("kind", [CodeKind.STAFF_ACTIVATION, CodeKind.GUARDIAN_SLIP])
def test_every_code_ever_issued_stays_unique(synced, kind) -> None:  # type: ignore[no-untyped-def]
    """The unique index covers used and expired codes too: a code value never comes back."""
    from sqlalchemy.exc import IntegrityError

    from core.models import Person, utcnow

    with synced.sessions() as s, s.begin():
        person = s.scalars(select(Person)).first()
        s.add(OneTimeCode(kind=kind.value, person_id=person.id, code_hash="h" * 64, issued_by="t",
                          expires_at=utcnow(), used_at=utcnow()))
    with pytest.raises(IntegrityError), synced.sessions() as s, s.begin():
        s.add(OneTimeCode(kind=kind.value, person_id=person.id, code_hash="h" * 64, issued_by="t",
                          expires_at=utcnow()))

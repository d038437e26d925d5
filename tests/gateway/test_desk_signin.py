"""Desk-console sign-in rules through the pages: single use, expiry, guessing, limits, audit,
short sessions, and revocation when the holder loses access."""

from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import select

from core import access, console_signin
from core.models import AuditEntry, ConsoleSession, Contact, Person, Revocation
from digests.models import OutboxMessage
from gateway.cli import cli
from tests.conftest import SCHOOL_MORNING
from tests.support.desk import ask_code, csrf, make_champion, make_staff, read_code, sign_in


def _at(runtime, **delta: float) -> None:  # type: ignore[no-untyped-def]
    moment = SCHOOL_MORNING + timedelta(**delta)
    runtime.clock = lambda: moment


def _submit(client, page, number: str, code: str):  # type: ignore[no-untyped-def]
    return client.post("/desk/sign-in/code", data={
        "number": number, "code": code, "csrf_token": csrf(page.get_data(as_text=True))})


def _audit(runtime, action: str) -> list[dict]:  # type: ignore[no-untyped-def]
    with runtime.sessions() as s:
        return [json.loads(e.data) for e in s.scalars(
            select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.seq))]


def test_an_unknown_number_gets_the_same_page_and_no_sms(runtime, client) -> None:  # type: ignore[no-untyped-def]
    make_staff(runtime, "DESK-1", "desk")
    known = ask_code(client, "DESK-1").get_data(as_text=True)
    unknown = ask_code(client, "NOBODY-9").get_data(as_text=True)
    assert 'id="sent"' in known and 'id="sent"' in unknown
    with runtime.sessions() as s:
        assert len(s.scalars(select(OutboxMessage)).all()) == 1
    outcomes = [d["outcome"] for d in _audit(runtime, "desk.sign_in.request")]
    assert outcomes == ["sent", "unknown"]


def test_a_code_works_once_and_is_then_blanked_in_the_outbox(runtime, client, app) -> None:  # type: ignore[no-untyped-def]
    msisdn = make_staff(runtime, "DESK-2", "desk")
    page = ask_code(client, "DESK-2")
    code = read_code(runtime, msisdn)
    assert _submit(client, page, "DESK-2", code).status_code == 303
    other = app.test_client()
    again = _submit(other, other.get("/desk/sign-in"), "DESK-2", code)
    assert again.status_code == 400 and 'id="problem"' in again.get_data(as_text=True)
    with runtime.sessions() as s:
        text = s.scalars(select(OutboxMessage.text)).one()
    assert code not in text
    success = _audit(runtime, "desk.sign_in.success")
    failure = _audit(runtime, "desk.sign_in.failure")
    assert len(success) == 1 and [f["outcome"] for f in failure] == ["wrong"]
    assert msisdn not in json.dumps(success + failure + _audit(runtime, "desk.sign_in.request"))


def test_a_code_expires_after_five_minutes(runtime, client) -> None:  # type: ignore[no-untyped-def]
    msisdn = make_staff(runtime, "DESK-3", "desk")
    page = ask_code(client, "DESK-3")
    code = read_code(runtime, msisdn)
    _at(runtime, minutes=5)
    assert _submit(client, page, "DESK-3", code).status_code == 400


def test_three_wrong_tries_burn_the_code(runtime, client) -> None:  # type: ignore[no-untyped-def]
    msisdn = make_staff(runtime, "DESK-4", "desk")
    page = ask_code(client, "DESK-4")
    code = read_code(runtime, msisdn)
    wrong = f"{(int(code) + 1) % 10**8:08d}"
    answers = [_submit(client, page, "DESK-4", wrong) for _ in range(3)]
    assert [a.status_code for a in answers] == [400, 400, 400]
    assert "لم يعد يعمل" in answers[-1].get_data(as_text=True)  # burned: ask for a new one
    assert _submit(client, page, "DESK-4", code).status_code == 400  # even the right code now


def test_codes_per_staff_number_are_limited(runtime, client) -> None:  # type: ignore[no-untyped-def]
    make_staff(runtime, "DESK-5", "desk")
    answers = [ask_code(client, "DESK-5").status_code for _ in range(4)]
    assert answers == [200, 200, 200, 429]
    with runtime.sessions() as s:
        assert len(s.scalars(select(OutboxMessage)).all()) == 3
    _at(runtime, minutes=15, seconds=1)
    assert ask_code(client, "DESK-5").status_code == 200
    _at(runtime, minutes=30, seconds=1)
    assert [ask_code(client, "DESK-5").status_code for _ in range(3)] == [200, 200, 200]
    _at(runtime, minutes=45, seconds=1)  # every ask counts, refused ones too: 10 a day at most
    assert [ask_code(client, "DESK-5").status_code for _ in range(3)] == [200, 200, 429]
    _at(runtime, hours=23)
    assert ask_code(client, "DESK-5").status_code == 429
    _at(runtime, hours=24, seconds=1)
    assert ask_code(client, "DESK-5").status_code == 200


def test_codes_per_address_are_limited_across_numbers(runtime, app) -> None:  # type: ignore[no-untyped-def]
    one, two = app.test_client(), app.test_client()
    one.environ_base["REMOTE_ADDR"] = "10.0.0.1"
    two.environ_base["REMOTE_ADDR"] = "10.0.0.2"
    answers = [ask_code(one, f"GUESS-{i}").status_code for i in range(console_signin.REQUESTS_PER_ADDRESS + 1)]
    assert answers[-1] == 429 and set(answers[:-1]) == {200}
    assert ask_code(two, "GUESS-1").status_code == 200  # another address is not held up


def test_wrong_codes_per_address_are_limited(runtime, client) -> None:  # type: ignore[no-untyped-def]
    msisdn = make_staff(runtime, "DESK-6", "desk")
    page = ask_code(client, "DESK-6")
    code = read_code(runtime, msisdn)
    for i in range(console_signin.WRONG_PER_ADDRESS):  # guessing other numbers' codes
        assert _submit(client, page, f"OTHER-{i}", "12345678").status_code == 400
    limited = _submit(client, page, "DESK-6", code)
    assert limited.status_code == 429  # even the right code waits: the address is guessing


def test_a_session_ends_after_30_idle_minutes(runtime, client) -> None:  # type: ignore[no-untyped-def]
    make_staff(runtime, "DESK-7", "desk")
    sign_in(client, runtime, "DESK-7")
    _at(runtime, minutes=29)
    assert client.get("/desk/").status_code == 200  # use keeps it alive
    _at(runtime, minutes=58)
    assert client.get("/desk/").status_code == 200
    _at(runtime, minutes=88)
    assert client.get("/desk/").status_code == 302


def test_a_session_ends_8_hours_after_sign_in_however_busy(runtime, client) -> None:  # type: ignore[no-untyped-def]
    make_staff(runtime, "DESK-8", "desk")
    sign_in(client, runtime, "DESK-8")
    for minutes in range(20, 8 * 60, 20):
        _at(runtime, minutes=minutes)
        assert client.get("/desk/").status_code == 200
    _at(runtime, hours=8)
    assert client.get("/desk/").status_code == 302


def test_a_champion_who_leaves_loses_the_session_and_status_counts_it(runtime, client) -> None:  # type: ignore[no-untyped-def]
    make_champion(runtime, "STF-0007-0001", "SCH-0007")
    sign_in(client, runtime, "STF-0007-0001")
    with runtime.sessions() as s, s.begin():
        pid = s.scalars(select(Person.id).where(Person.upstream_id == "STF-0007-0001")).one()
        access.deactivate(s, [pid], SCHOOL_MORNING, actor="sync:test", reason="left upstream")
    with runtime.sessions() as s:
        row = s.scalars(select(ConsoleSession)).one()
        assert row.revoked_at is not None
        assert s.scalars(select(Revocation.sessions_revoked)).one() == 1
    assert client.get("/desk/").status_code == 302
    lag = client.get("/status.json").get_json()["revocation_lag_24h"]
    assert lag["sessions_revoked"] == 1
    assert "1 desk-console sessions" in client.get("/status").get_data(as_text=True)


def test_a_champion_whose_sim_binding_ends_is_signed_out(runtime, client) -> None:  # type: ignore[no-untyped-def]
    make_champion(runtime, "STF-0007-0002", "SCH-0007")
    sign_in(client, runtime, "STF-0007-0002")
    with runtime.sessions() as s, s.begin():
        for contact in s.scalars(select(Contact)):
            contact.revoked_at = SCHOOL_MORNING
    assert client.get("/desk/").status_code == 302


def test_a_teacher_cannot_sign_in(runtime, client) -> None:  # type: ignore[no-untyped-def]
    make_champion(runtime, "STF-0007-0003", "SCH-0007", role="teacher")
    ask_code(client, "STF-0007-0003")
    with runtime.sessions() as s:
        assert s.scalars(select(OutboxMessage)).all() == []


def test_the_cookie_is_secure_in_production(runtime, client) -> None:  # type: ignore[no-untyped-def]
    msisdn = make_staff(runtime, "DESK-9", "desk")
    page = ask_code(client, "DESK-9")
    runtime.config = runtime.config.with_overrides(env="production")
    done = _submit(client, page, "DESK-9", read_code(runtime, msisdn))
    cookie = next(v for v in done.headers.getlist("Set-Cookie") if v.startswith("hudoor_desk="))
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Strict" in cookie


def test_binding_a_staff_phone_needs_consent_and_keeps_the_number_out_of_the_audit(  # type: ignore[no-untyped-def]
        runtime, runner) -> None:
    assert runner.invoke(cli, ["staff", "add", "--staff-id", "OPS-7", "--name", "Ops seven",
                               "--role", "ops", "--by", "t", "--reason", "hired"]).exit_code == 0
    base = ["staff", "bind-phone", "OPS-7", "--by", "t", "--reason", "in person, form 12"]
    assert runner.invoke(cli, [*base, "--msisdn", "01001234567"]).exit_code != 0  # no --consent
    bad = runner.invoke(cli, [*base, "--msisdn", "12345", "--consent"])
    assert bad.exit_code != 0 and "not a valid Egyptian mobile" in bad.output
    ok = runner.invoke(cli, [*base, "--msisdn", "01001234567", "--consent"])
    assert ok.exit_code == 0 and "…567" in ok.output
    with runtime.sessions() as s:
        holder = console_signin.find_holder(s, "OPS-7")
    assert holder is not None and holder.msisdn == "+201001234567"
    assert "1001234567" not in json.dumps(_audit(runtime, "central_staff.bind_phone"))
    assert runner.invoke(cli, ["staff", "add", "--staff-id", "OPS-8", "--name", "Ops eight",
                               "--role", "ops", "--by", "t", "--reason", "hired"]).exit_code == 0
    taken = runner.invoke(cli, ["staff", "bind-phone", "OPS-8", "--msisdn", "+201001234567",
                                "--consent", "--by", "t", "--reason", "form 13"])
    assert taken.exit_code != 0 and "bound to another entry (OPS-7)" in taken.output


def test_the_delta_sync_that_sees_a_champion_leave_ends_their_session(synced, sandbox, client) -> None:  # type: ignore[no-untyped-def]
    from core.sync.delta import run_delta

    school = sandbox.district.schools()[0]["id"]
    champion = next(p["id"] for p in sandbox.district.roster(school) if p["role"] == "champion")
    make_champion(synced, champion, school)  # the roster's champion, SIM bound as by activation
    sign_in(client, synced, champion)
    assert client.get("/desk/").status_code == 200
    sandbox.district.leave(champion)
    report = run_delta(synced.sessions, synced.upstream())
    assert report.counts.revoked == 1
    with synced.sessions() as s:
        assert s.scalars(select(Revocation.sessions_revoked)).one() == 1
    assert client.get("/desk/").status_code == 302


def test_a_redis_outage_still_answers_and_the_outbox_keeps_the_code(runtime, client) -> None:  # type: ignore[no-untyped-def]
    """The code is in SQL; the scheduler's requeue (every minute) sends it once Redis is back."""
    import redis

    make_staff(runtime, "DESK-10", "desk")
    runtime._redis = redis.Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2)
    asked = ask_code(client, "DESK-10")
    assert asked.status_code == 200 and 'id="sent"' in asked.get_data(as_text=True)
    with runtime.sessions() as s:
        assert s.scalars(select(OutboxMessage.state)).one() == "queued"


def test_a_champion_activated_over_ussd_signs_in_with_the_keypad_number(  # type: ignore[no-untyped-def]
        synced, sandbox, client, runner, app) -> None:
    import re

    from core.codes import person_number
    from tests.ussd.phone import Phone

    school = sandbox.district.schools()[0]["id"]
    champion = next(p["id"] for p in sandbox.district.roster(school) if p["role"] == "champion")
    out = runner.invoke(cli, ["codes", "issue", "--staff", champion])
    code = re.search(r"code (\d+)", out.output).group(1)  # type: ignore[union-attr]
    phone = Phone(client)
    phone.dial()
    phone.send("1")
    phone.send(person_number(champion))
    assert phone.send(code).startswith("END ")
    desk = app.test_client()
    sign_in(desk, synced, person_number(champion))  # the digits they typed on the phone
    assert champion in desk.get("/desk/").get_data(as_text=True)

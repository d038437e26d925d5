"""Delegated-access support views (R6): asked over the API, granted over USSD key 7, read-only,
watermarked, audited, and over when the time box ends, the grantor ends it, or someone leaves."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select

from core.codes import person_number
from core.models import AuditEntry, SupportGrant
from core.sync.delta import run_delta
from gateway.cli import cli
from tests.conftest import SCHOOL_MORNING
from tests.support.desk_tokens import bearer, staff_token
from tests.ussd.phone import Phone


def _activate(runner, client, person: dict, msisdn: str) -> Phone:  # type: ignore[no-untyped-def,type-arg]
    out = runner.invoke(cli, ["codes", "issue", "--staff", person["id"]])
    assert out.exit_code == 0, out.output
    code = re.search(r"code (\d+)", out.output).group(1)  # type: ignore[union-attr]
    phone = Phone(client, msisdn=msisdn)
    phone.dial()
    phone.send("3")  # English
    phone.send("1")
    phone.send(person_number(person["id"]))
    assert phone.send(code).startswith("END Activated")
    if "English" in phone.dial():
        phone.send("4")  # the staff SIM now prefers English
    return phone


def _ask(client, token: str, scope: str, target: str, minutes: int = 60):  # type: ignore[no-untyped-def]
    return client.post("/api/v1/support/requests", headers=bearer(token),
                       json={"scope": scope, "target": target, "minutes": minutes,
                             "reason": "ticket 4411: cannot see class 3/B"})


def _view(client, token: str, grant: int):  # type: ignore[no-untyped-def]
    return client.get(f"/api/v1/support/grants/{grant}/view", headers=bearer(token))


def _roster(sandbox, role: str) -> dict:  # type: ignore[type-arg]
    school = sandbox.district.schools()[0]["id"]
    return next(p for p in sandbox.district.roster(school) if p["role"] == role)


def test_a_champion_grants_a_school_view_over_ussd_until_it_expires(synced, sandbox, client, runner) -> None:  # type: ignore[no-untyped-def]
    school = sandbox.district.schools()[0]["id"]
    desk = staff_token(runner, "desk", "D-mona", "Mona Adel")
    other_desk, ops = staff_token(runner, "desk", "D-karim"), staff_token(runner, "ops", "C-ops")
    champion = _activate(runner, client, _roster(sandbox, "champion"), "+201001110001")
    assert _ask(client, ops, "school", school).status_code == 403  # ops do not ask: deny by default
    assert _ask(client, desk, "school", "SCH-none").status_code == 422
    assert _ask(client, desk, "school", school, minutes=7).status_code == 422
    asked = _ask(client, desk, "school", school, minutes=240)
    assert asked.status_code == 201 and asked.get_json()["state"] == "pending"
    grant = asked.get_json()["id"]
    refused = _view(client, desk, grant)
    assert refused.status_code == 409 and "not granted yet" in refused.get_json()["error"]

    champion.dial()
    listed = champion.send("7")
    assert "1 Mona Adel: the school 4 h" in listed
    shown = champion.send("1")
    assert "Mona Adel" in shown and "the school for 4 h, read-only" in shown
    assert champion.send("1") == "END Granted until 29/11 13:30."

    seen = _view(client, desk, grant)
    assert seen.status_code == 200
    body = seen.get_json()
    mark = body["watermark"]
    assert mark["agent"] == "Mona Adel" and mark["grant"] == grant
    assert mark["expires_at"].startswith("2026-11-29T11:30")
    assert "Mona Adel" in mark["text"] and f"grant {grant}" in mark["text"]
    assert body["school"] == school and body["classes"]
    assert all(set(c) <= {"class", "name", "taken", "size", "absent", "late"} for c in body["classes"])
    assert [c["class"] for c in body["classes"]] == sorted(c["class"] for c in body["classes"])
    # Only the agent who asked; only desk agents; nothing written through it (GET only).
    assert _view(client, other_desk, grant).status_code == 404  # not theirs
    assert _view(client, ops, grant).status_code == 403
    assert client.post(f"/api/v1/support/grants/{grant}/view", headers=bearer(desk)).status_code == 405
    with synced.sessions() as s:
        actions = [e.action for e in s.scalars(select(AuditEntry).where(
            AuditEntry.entity == "support_grant"))]
    assert actions == ["support.request", "support.grant", "support.view"]

    synced.clock = lambda: SCHOOL_MORNING + timedelta(hours=4)
    late = _view(client, desk, grant)
    assert late.status_code == 409 and "expired at 2026-11-29 13:30 Cairo" in late.get_json()["error"]


def test_a_teacher_refuses_grants_and_ends_a_view_of_themself(synced, sandbox, client, runner) -> None:  # type: ignore[no-untyped-def]
    desk = staff_token(runner, "desk", "D-mona", "Mona Adel")
    teacher = _roster(sandbox, "teacher")
    phone = _activate(runner, client, teacher, "+201001110002")
    first = _ask(client, desk, "person", teacher["id"]).get_json()["id"]
    second = _ask(client, desk, "person", teacher["id"], minutes=1440).get_json()["id"]
    phone.dial()
    assert "1 Mona Adel: what you see 1 h" in phone.send("7")
    phone.send("1")
    assert phone.send("2") == "END Refused. Nothing is shared."
    assert "not granted" not in _view(client, desk, first).get_json()["error"]
    assert "refused" in _view(client, desk, first).get_json()["error"]
    phone.dial()
    phone.send("7")
    phone.send("1")  # the refused one is gone: the 1-day request is first now
    assert phone.send("1").startswith("END Granted until 30/11 09:30")
    seen = _view(client, desk, second).get_json()
    assert seen["scope"] == "person" and seen["person"] == teacher["id"]
    assert seen["classes"] and all("taken" in c for c in seen["classes"])
    phone.dial()
    assert "Mona Adel: on until 30/11 09:30" in phone.send("7")
    assert "1 End now" in phone.send("1")
    assert phone.send("1").startswith("END Access ended")
    ended = _view(client, desk, second)
    assert ended.status_code == 409 and "ended at" in ended.get_json()["error"]
    phone.dial()
    assert phone.send("7") == "END No support requests."
    # Nobody can ask for a view of a student or of a guardian: only staff grant a view of themself.
    student = _roster(sandbox, "student")
    assert _ask(client, desk, "person", student["id"]).status_code == 422


def test_a_grant_ends_when_the_grantor_or_the_agent_leaves(synced, sandbox, client, runner) -> None:  # type: ignore[no-untyped-def]
    school = sandbox.district.schools()[0]["id"]
    desk = staff_token(runner, "desk", "D-mona", "Mona Adel")
    champion = _roster(sandbox, "champion")
    phone = _activate(runner, client, champion, "+201001110003")
    grants = [_ask(client, desk, "school", school).get_json()["id"] for _ in range(2)]
    phone.dial()
    phone.send("7")
    phone.send("1")
    phone.send("1")
    assert _view(client, desk, grants[0]).status_code == 200
    # The champion leaves upstream: the delta sync ends their access and the grant with it.
    sandbox.district.leave(champion["id"])
    run_delta(synced.sessions, synced.upstream())
    gone = _view(client, desk, grants[0])
    assert gone.status_code == 409
    with synced.sessions() as s:
        rows = {g.id: g for g in s.scalars(select(SupportGrant))}
    assert rows[grants[0]].revoked_at is not None
    # A desk agent leaving the register ends their pending requests too.
    out = runner.invoke(cli, ["staff", "deactivate", "D-mona", "--by", "test", "--reason", "left the desk"])
    assert out.exit_code == 0, out.output
    with synced.sessions() as s:
        assert s.get(SupportGrant, grants[1]).state == "withdrawn"  # type: ignore[union-attr]

"""The tickets API: champions work their own school's tickets, the desk and ops the ladder,
security the breach path alone; refusals are clear 4xx answers."""

from __future__ import annotations

from datetime import timedelta

from gateway.cli import cli
from tests.conftest import SCHOOL_MORNING
from tests.gateway.test_api import _token, champion_of
from tests.gateway.test_breach_drill import Clock, _get, _post


def test_champions_see_and_change_only_their_own_schools_tickets(synced, sandbox, client, runner) -> None:  # type: ignore[no-untyped-def]
    one, two = (s["id"] for s in sandbox.district.schools()[:2])
    mine = _token(runner, "champion", one, champion_of(sandbox, one))
    theirs = _token(runner, "champion", two, champion_of(sandbox, two))
    desk = _token(runner, "desk", subject="D-1")
    body = {"category": "ussd", "title": "menu", "description": "menu 1 shows no classes",
            "school": two}  # a champion's own school wins over what the body says
    resp = _post(client, "/api/v1/tickets", mine, body)
    assert resp.status_code == 201 and resp.get_json()["queue"] == "Tier 0 champion"
    tid = resp.get_json()["id"]
    assert _get(client, f"/api/v1/tickets/{tid}", mine).get_json()["school"] == one
    assert _get(client, f"/api/v1/tickets/{tid}", theirs).status_code == 404
    assert _get(client, "/api/v1/tickets", theirs).get_json() == []
    assert _post(client, f"/api/v1/tickets/{tid}/escalate", theirs, {"reason": "r"}).status_code == 404
    resp = _post(client, f"/api/v1/tickets/{tid}/escalate", mine, {"reason": "needs the desk"})
    assert resp.get_json()["queue"] == "Tier 1 desk"
    assert _post(client, f"/api/v1/tickets/{tid}/assign", desk,
                 {"to": "D-1", "reason": "mine"}).get_json()["owner"] == "D-1"
    shown = _get(client, f"/api/v1/tickets/{tid}", desk).get_json()
    assert [(h["action"], h["actor"]) for h in shown["history"]] == [
        ("open", f"champion:{champion_of(sandbox, one)}"),
        ("escalate", f"champion:{champion_of(sandbox, one)}"), ("assign", "desk:D-1")]
    assert shown["breach_case"] is None


def test_refusals_are_clear_4xx(synced, sandbox, client, runner) -> None:  # type: ignore[no-untyped-def]
    desk = _token(runner, "desk", subject="D-1")
    auditor = _token(runner, "auditor", subject="A-1")
    resp = _post(client, "/api/v1/tickets", desk, {"category": "sms", "title": "t",
                                                   "description": "call me on 01012345678"})
    assert resp.status_code == 422 and "phone number ending …78" in resp.get_json()["error"]
    resp = _post(client, "/api/v1/tickets", desk, {"category": "nope", "title": "t", "description": "d"})
    assert resp.status_code == 422 and "category must be one of" in resp.get_json()["error"]
    assert _post(client, "/api/v1/tickets", desk, {"category": "sms", "title": "t",
                                                   "description": "d", "people": "STU"}).status_code == 400
    tid = _post(client, "/api/v1/tickets", desk, {"category": "sms", "title": "t",
                                                  "description": "d"}).get_json()["id"]
    resp = _post(client, f"/api/v1/tickets/{tid}/escalate", desk, {})
    assert resp.status_code == 422 and "--reason is required" in resp.get_json()["error"]
    assert _post(client, f"/api/v1/tickets/{tid}/close", auditor, {"reason": "r"}).status_code == 403
    assert _get(client, "/api/v1/tickets", auditor).status_code == 403
    assert _get(client, "/api/v1/breaches", desk).status_code == 403
    assert _post(client, f"/api/v1/tickets/{tid}/reopen", desk, {}).status_code == 404


def test_the_desk_flags_security_and_loses_sight_of_the_ticket(synced, client, runner) -> None:  # type: ignore[no-untyped-def]
    desk = _token(runner, "desk", subject="D-1")
    security = _token(runner, "security", subject="S-1")
    tid = _post(client, "/api/v1/tickets", desk, {"category": "access", "title": "odd logins",
                                                  "description": "a token was used at night"}
                ).get_json()["id"]
    resp = _post(client, f"/api/v1/tickets/{tid}/security", desk, {"reason": "bug or breach?"})
    assert resp.get_json()["queue"] == "security"
    assert _get(client, f"/api/v1/tickets/{tid}", desk).status_code == 404
    case = _get(client, f"/api/v1/tickets/{tid}", security).get_json()["breach_case"]
    shown = _get(client, f"/api/v1/breaches/{case}", security).get_json()
    assert shown["evidence"][0]["ok"] and shown["decision"] is None
    assert _post(client, f"/api/v1/tickets/{tid}/assign", security,
                 {"to": "D-1", "reason": "r"}).status_code == 422  # owners of security are security
    assert _post(client, f"/api/v1/tickets/{tid}/assign", security,
                 {"to": "S-1", "reason": "on call"}).get_json()["owner"] == "S-1"
    assert runner.invoke(cli, ["breach", "verify", str(case)]).exit_code == 0
    # An hour on, security finds a bug, not a breach: the ticket goes back to platform ops.
    synced.clock = Clock(SCHOOL_MORNING + timedelta(hours=1))
    resp = _post(client, f"/api/v1/breaches/{case}/decision", security,
                 {"decision": "not-a-breach", "reason": "the night job's own token"})
    assert resp.get_json() == {"case": case, "decision": "not-a-breach"}
    back = _get(client, f"/api/v1/tickets/{tid}", desk).get_json()
    assert back["queue"] == "Tier 2 platform ops" and back["owner"] is None
    assert back["history"][-1]["action"] == "returned"
    assert _get(client, "/api/v1/breaches", security).get_json() == []  # no clock runs
    assert "there is nobody to notify" in _post(client, f"/api/v1/breaches/{case}/notices", security,
                                                {"to": "centre", "reason": "r"}).get_json()["error"]

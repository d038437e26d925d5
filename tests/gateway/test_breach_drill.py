"""The breach drill through the real interfaces: a champion's ticket with a security word goes
past every tier to security, evidence sealed at creation verifies, the PDPL clocks fall right
across a weekend and a feast, a decision is recorded and the audit chain still verifies."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from core import calendar
from core.models import WRITE_ONCE_DROP, WRITE_ONCE_TRIGGERS, EvidenceSnapshot, SupportTicket
from gateway.cli import cli
from tests.gateway.test_api import _token, champion_of
from tests.gateway.test_tickets_cli import ok, refused

# Thursday 13 May 2027, 14:00 Cairo (summer time, +03:00). Friday and Saturday are the weekend;
# Eid al-Adha closes Sunday 16 to Tuesday 18 May.
OPENED = datetime(2027, 5, 13, 14, 0, tzinfo=calendar.CAIRO)


class Clock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now


def _post(client, path: str, token: str, body: dict):  # type: ignore[no-untyped-def]
    return client.post(path, json=body, headers={"Authorization": f"Bearer {token}"})


def _get(client, path: str, token: str):  # type: ignore[no-untyped-def]
    return client.get(path, headers={"Authorization": f"Bearer {token}"})


def test_breach_drill(synced, sandbox, client, runner) -> None:  # type: ignore[no-untyped-def]
    clock = Clock(OPENED)
    synced.clock = clock
    school = sandbox.district.schools()[0]["id"]
    student = next(p["id"] for p in sandbox.district.roster(school) if p["role"] == "student")
    champion = _token(runner, "champion", school, champion_of(sandbox, school))
    desk = _token(runner, "desk", subject="D-1")
    security = _token(runner, "security", subject="S-1")
    auditor = _token(runner, "auditor", subject="A-1")
    ok(runner, "audit", "anchor")
    logs = synced.config.var_dir / "log"
    logs.mkdir(parents=True, exist_ok=True)
    (logs / "worker.log").write_text(f"12:01 digest for {student} to +201012345678 failed\n"
                                     "12:02 unrelated line\n", encoding="utf-8")

    # 1. A champion reports, in Arabic, what sounds like a leak: no tier sees it.
    resp = _post(client, "/api/v1/tickets", champion, {
        "category": "access", "title": "بيانات الطلاب",
        "description": "ولي أمر بيقول إن في تسريب لأسماء الفصل على جروب واتساب",
        "people": [student]})
    assert resp.status_code == 201, resp.get_json()
    opened = resp.get_json()
    tid, case = opened["id"], opened["breach_case"]
    assert opened["queue"] == "security" and case
    assert _get(client, f"/api/v1/tickets/{tid}", desk).status_code == 404
    assert _get(client, f"/api/v1/tickets/{tid}", champion).status_code == 404
    assert tid not in [t["id"] for t in _get(client, "/api/v1/tickets", desk).get_json()]
    seen = _get(client, f"/api/v1/tickets/{tid}", security).get_json()
    assert seen["queue"] == "security" and seen["breach_case"] == case
    assert [h["action"] for h in seen["history"]] == ["open", "security"]
    assert "تسريب" in seen["history"][1]["reason"]
    assert _post(client, f"/api/v1/tickets/{tid}/escalate", security,
                 {"reason": "r"}).status_code == 422  # no tier applies to a security ticket

    # 2. The evidence was sealed in the same transaction, and verifies.
    out = ok(runner, "breach", "verify", str(case))
    assert out.startswith("snapshot ") and out.rstrip().endswith("ok")
    with synced.sessions() as s:
        snap = s.scalars(select(EvidenceSnapshot).where(EvidenceSnapshot.case_id == case)).one()
        content = json.loads(snap.content)
        ticket = s.get(SupportTicket, tid)
        assert snap.taken_at == ticket.opened_at
    assert content["anchor"] is not None and content["subjects"]["people"] == [student]
    assert [p["upstream_id"] for p in content["db_rows"]["people"]] == [student]
    assert any(r["action"] == "ticket.open" for r in content["audit_rows"])
    assert content["audit_head"]["seq"] == max(r["seq"] for r in content["audit_rows"])
    assert content["log_lines"] == [{"file": "worker.log", "offset": 0, "text":
                                     f"12:01 digest for {student} to [removed: phone number] failed"}]

    # 3. The clocks: 72 hours for the Centre; 3 working days for the persons, which skip the
    #    weekend and the three days of Eid: Wed 19, Thu 20, Sun 23 May.
    clocks = ok(runner, "breach", "list").splitlines()
    assert clocks == [
        f"{case}\tticket {tid}\tcentre\tdue 2027-05-16T14:00+03:00\t3d 00h 00m left"
        "\tundecided (treated as a breach)",
        f"{case}\tticket {tid}\tpersons\tdue 2027-05-23T23:59+03:00\t10d 09h 59m left"
        "\tundecided (treated as a breach)"]
    assert [c["clock"] for c in _get(client, "/api/v1/breaches", auditor).get_json()] == [
        "centre", "persons"]

    # 4. Bug or breach? A breach, for the first hour: not-a-breach is refused until 15:00.
    clock.now = OPENED + timedelta(minutes=30)
    assert "is undecided" in refused(runner, "tickets", "close", str(tid), "--by", "S-1",
                                     "--reason", "r")
    assert "treated as a breach for its first hour" in refused(
        runner, "breach", "decide", str(case), "--decision", "not-a-breach", "--by", "S-1",
        "--reason", "looks like a screenshot of our own page")
    assert "only security decides" in refused(runner, "breach", "decide", str(case), "--decision",
                                              "breach", "--by", "D-1", "--reason", "r")
    assert _post(client, f"/api/v1/breaches/{case}/decision", desk,
                 {"decision": "breach", "reason": "r"}).status_code == 403
    assert _post(client, f"/api/v1/breaches/{case}/decision", auditor,
                 {"decision": "breach", "reason": "r"}).status_code == 403
    resp = _post(client, f"/api/v1/breaches/{case}/decision", security,
                 {"decision": "breach", "reason": "class names were posted outside the school"})
    assert resp.get_json() == {"case": case, "decision": "breach"}
    assert "both notices" in refused(runner, "tickets", "close", str(tid), "--by", "S-1",
                                     "--reason", "done")

    # 5. Notices stop their clocks; then the ticket may close.
    clock.now = OPENED + timedelta(hours=20)
    ok(runner, "breach", "notified", str(case), "--to", "centre", "--by", "S-1", "--reason",
       "PDPC form filed, reference 2027/118")
    assert [line.split("\t")[2] for line in ok(runner, "breach", "list").splitlines()] == ["persons"]
    ok(runner, "breach", "notified", str(case), "--to", "persons", "--by", "S-1", "--reason",
       "SMS and letter to the guardians of the class")
    assert runner.invoke(cli, ["breach", "list"]).stdout == ""
    ok(runner, "tickets", "close", str(tid), "--by", "S-1", "--reason", "notified; pages fixed")
    shown = ok(runner, "breach", "show", str(case))
    assert "S-1\tbreach\tclass names were posted outside the school" in shown

    # 6. Evidence and chain both still verify.
    assert ok(runner, "breach", "verify", str(case)).rstrip().endswith("ok")
    assert runner.invoke(cli, ["audit", "verify"]).exit_code == 0


def test_evidence_is_write_once_and_tampering_shows(synced, sandbox, runner) -> None:  # type: ignore[no-untyped-def]
    school = sandbox.district.schools()[0]["id"]
    out = ok(runner, "tickets", "open", "--category", "access", "--title", "phone stolen",
             "--description", "a teacher's phone was stolen with the USSD session open",
             "--school", school, "--by", "desk:D-1")
    case = int(out.splitlines()[1].split()[2].rstrip(":"))
    engine = synced.engine
    for statement in ("UPDATE evidence_snapshots SET content = '{}'",
                      "DELETE FROM evidence_snapshots"):
        with pytest.raises(DBAPIError, match="write-once"), engine.begin() as conn:
            conn.execute(text(statement))
    # A superuser who drops the guard and rewrites the snapshot is caught by the re-hash and
    # by the hash recorded in the audit chain.
    dialect = engine.dialect.name
    try:
        with engine.begin() as conn:
            for statement in WRITE_ONCE_DROP[dialect]:
                conn.execute(text(statement))
            conn.execute(text("UPDATE evidence_snapshots SET content = replace(content, "
                              "'phone stolen', 'nothing')"))
    finally:
        with engine.begin() as conn:
            for statement in WRITE_ONCE_DROP[dialect]:
                conn.execute(text(statement))
            for statement in WRITE_ONCE_TRIGGERS[dialect]:
                conn.execute(text(statement))
    result = runner.invoke(cli, ["breach", "verify", str(case)])
    assert result.exit_code == 1 and "BROKEN" in result.stdout
    assert "snapshot changed" in result.output
    assert "the audit chain recorded another hash" in result.output


def test_the_persons_clock_follows_a_central_closure_from_the_calendar_tables(synced, runner) -> None:  # type: ignore[no-untyped-def]
    synced.clock = Clock(OPENED)
    ok(runner, "calendar", "exception", "add", "--scope", "national", "--day", "2027-05-19",
       "--reference", "PM-DECREE-7", "--by", "ministry", "--reason", "heat wave")
    out = ok(runner, "tickets", "open", "--category", "other", "--title", "hacked?",
             "--description", "someone says our account was hacked", "--by", "desk:D-1")
    assert "the persons by 2027-05-24T23:59+03:00" in out  # Thu 20, Sun 23, Mon 24
    assert "notify the Centre by 2027-05-16T14:00+03:00" in out

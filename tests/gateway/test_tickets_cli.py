"""The support ladder through `hudoor tickets`: one tier at a time, owners of the tier, history."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from core import audit, calendar
from core.models import AuditEntry, SupportTicket, TicketEvent
from gateway.cli import cli
from tests.gateway.test_api import champion_of


def ok(runner, *args: str) -> str:  # type: ignore[no-untyped-def]
    out = runner.invoke(cli, list(args))
    assert out.exit_code == 0, out.output
    return out.stdout


def refused(runner, *args: str) -> str:  # type: ignore[no-untyped-def]
    out = runner.invoke(cli, list(args))
    assert out.exit_code == 1, out.output
    return out.output


def staff(runner, ref: str, role: str) -> None:  # type: ignore[no-untyped-def]
    ok(runner, "staff", "add", "--staff-id", ref, "--name", f"Test {role}", "--role", role,
       "--by", "test", "--reason", "fixture")


def open_ticket(runner, school: str, *extra: str, text: str = "the class list is empty") -> int:  # type: ignore[no-untyped-def]
    out = ok(runner, "tickets", "open", "--category", "ussd", "--title", "No classes on USSD",
             "--description", text, "--school", school, "--by", "champion:c1", *extra)
    return int(out.split()[1].rstrip(":"))


def test_a_ticket_climbs_one_tier_at_a_time_with_reasons_and_owners_of_each_tier(synced, sandbox, runner) -> None:  # type: ignore[no-untyped-def]
    school = sandbox.district.schools()[0]["id"]
    champion = champion_of(sandbox, school)
    staff(runner, "D-1", "desk")
    staff(runner, "O-1", "ops")
    tid = open_ticket(runner, school)
    assert "Tier 0 champion" in ok(runner, "tickets", "show", str(tid))
    ok(runner, "tickets", "assign", str(tid), "--to", champion, "--by", "champion:c1",
       "--reason", "mine")
    assert "not an active champion" in refused(runner, "tickets", "assign", str(tid), "--to",
                                               "D-1", "--by", "x", "--reason", "y")
    assert "--reason is required" in refused(runner, "tickets", "escalate", str(tid), "--by", "c1",
                                             "--reason", " ")
    assert "Tier 1 desk" in ok(runner, "tickets", "escalate", str(tid), "--by", "champion:c1",
                               "--reason", "beyond the school")
    assert "not an active desk" in refused(runner, "tickets", "assign", str(tid), "--to", "O-1",
                                           "--by", "desk:D-1", "--reason", "take it")
    ok(runner, "tickets", "assign", str(tid), "--to", "D-1", "--by", "desk:D-1", "--reason", "take it")
    assert "Tier 2 platform ops" in ok(runner, "tickets", "escalate", str(tid), "--by", "desk:D-1",
                                       "--reason", "a platform fault")
    assert "Tier 3 vendor" in ok(runner, "tickets", "escalate", str(tid), "--by", "ops:O-1",
                                 "--reason", "operator side")
    assert "nothing above" in refused(runner, "tickets", "escalate", str(tid), "--by", "ops:O-1",
                                      "--reason", "again")
    assert "vendor:NAME" in refused(runner, "tickets", "assign", str(tid), "--to", "D-1",
                                    "--by", "ops:O-1", "--reason", "r")
    ok(runner, "tickets", "assign", str(tid), "--to", "vendor:africastalking", "--by", "ops:O-1",
       "--reason", "their gateway")
    assert "Tier 2 platform ops" in ok(runner, "tickets", "deescalate", str(tid), "--by", "ops:O-1",
                                       "--reason", "vendor fixed it; we verify")
    ok(runner, "tickets", "close", str(tid), "--by", "ops:O-1", "--reason", "verified on a phone")
    assert "is closed" in refused(runner, "tickets", "escalate", str(tid), "--by", "ops:O-1",
                                  "--reason", "r")
    with synced.sessions() as s:
        events = s.scalars(select(TicketEvent).where(TicketEvent.ticket_id == tid)
                           .order_by(TicketEvent.id)).all()
        assert [e.action for e in events] == ["open", "assign", "escalate", "assign", "escalate",
                                              "escalate", "assign", "deescalate", "close"]
        assert all(e.reason.strip() and e.actor for e in events)
        audited = {r.seq: r for r in s.scalars(select(AuditEntry).where(
            AuditEntry.entity == "support_ticket", AuditEntry.entity_id == str(tid)))}
        assert set(audited) == {e.audit_seq for e in events}  # one audit row per history row
        assert all(audited[e.audit_seq].reason == e.reason for e in events)
        assert audit.verify(s, trust_unkeyed=True).ok
        # The ticket's text is not copied into the audit chain.
        assert not any("the class list is empty" in r.data for r in audited.values())


def test_tier_0_needs_a_school_and_an_owner_who_is_its_champion(synced, sandbox, runner) -> None:  # type: ignore[no-untyped-def]
    school, other = (s["id"] for s in sandbox.district.schools()[:2])
    tid = open_ticket(runner, school)
    assert "not an active champion or principal of school" in refused(
        runner, "tickets", "assign", str(tid), "--to", champion_of(sandbox, other), "--by", "x",
        "--reason", "r")
    assert "nothing below" in refused(runner, "tickets", "deescalate", str(tid), "--by", "x",
                                      "--reason", "r")
    out = ok(runner, "tickets", "open", "--category", "sms", "--title", "digest late",
             "--description", "digests came at 22:00", "--by", "desk:D-1")
    central = int(out.split()[1].rstrip(":"))
    assert "Tier 1 desk" in out
    assert "names no school" in refused(runner, "tickets", "deescalate", str(central), "--by", "x",
                                        "--reason", "r")
    assert "no school NOPE" in refused(runner, "tickets", "open", "--category", "sms", "--title",
                                       "t", "--description", "d", "--school", "NOPE", "--by", "x")
    assert "no person STU-NOPE" in refused(runner, "tickets", "open", "--category", "sms",
                                           "--title", "t", "--description", "d", "--person",
                                           "STU-NOPE", "--by", "x")


def test_phone_numbers_ids_and_codes_are_refused_and_saying_so_or_stripped_on_request(synced, sandbox, runner) -> None:  # type: ignore[no-untyped-def]
    school = sandbox.district.schools()[0]["id"]
    student = next(p["id"] for p in sandbox.district.roster(school) if p["role"] == "student")
    out = refused(runner, "tickets", "open", "--category", "roster", "--title", "wrong name",
                  "--description", "parent on ٠١٠١٢٣٤٥٦٧٨ says the name is wrong", "--school",
                  school, "--by", "x")
    assert "phone number ending …78" in out and "student or staff id" in out
    out = refused(runner, "tickets", "open", "--category", "access", "--title", "cannot log in",
                  "--description", "his code is 123456789, please check", "--school", school,
                  "--by", "x")
    assert "never asks for or stores a password, one-time code or token" in out
    assert "national id" in refused(runner, "tickets", "open", "--category", "roster", "--title",
                                    "t", "--description", "ID 29001011234567", "--by", "x")
    out = ok(runner, "tickets", "open", "--category", "roster", "--title", "wrong name",
             "--description", "parent on 0101 234 5678 says the name is wrong", "--person",
             student, "--school", school, "--by", "x", "--strip")
    tid = int(out.split()[1].rstrip(":"))
    with synced.sessions() as s:
        stored = s.get(SupportTicket, tid)
        assert stored.description == "parent on [removed: phone number] says the name is wrong"
        assert s.scalar(select(SupportTicket.id).where(SupportTicket.description.like("%5678%"))) is None
    assert student in ok(runner, "tickets", "show", str(tid))  # ids are fine


def test_flag_security_skips_the_ladder_and_reasons_hold_no_phone_number(synced, sandbox, runner) -> None:  # type: ignore[no-untyped-def]
    school = sandbox.district.schools()[0]["id"]
    tid = open_ticket(runner, school)
    out = refused(runner, "tickets", "escalate", str(tid), "--by", "x", "--reason",
                  "parent on 01012345678 insists")
    assert "the reason was refused: it holds phone number ending …78" in out
    assert "--strip" not in out  # a reason is never stripped, only refused
    out = ok(runner, "tickets", "flag-security", str(tid), "--by", "desk:D-1", "--reason",
             "the champion's SIM may be cloned")
    assert f"ticket {tid}: security; breach case 1, evidence sealed" in out
    assert "is with security" in refused(runner, "tickets", "escalate", str(tid), "--by", "x",
                                         "--reason", "r")
    assert "already has breach case 1" in refused(runner, "tickets", "flag-security", str(tid),
                                                  "--by", "x", "--reason", "r")
    assert ok(runner, "breach", "verify", "1").rstrip().endswith("ok")
    assert "no breach case 9" in refused(runner, "breach", "verify", "9")


def test_the_worklist_is_oldest_sla_first_on_working_hours(synced, sandbox, runner) -> None:  # type: ignore[no-untyped-def]
    school = sandbox.district.schools()[0]["id"]
    # Sunday 09:30 Cairo. The desk's 8 working hours run to the cut-off (15:30), then on
    # Monday from 07:30; the champion's 4 end the same afternoon.
    desk = ok(runner, "tickets", "open", "--category", "sms", "--title", "t", "--description",
              "d", "--by", "desk:D-1")
    champion = open_ticket(runner, school)
    lines = ok(runner, "tickets", "list").splitlines()
    assert [int(x.split("\t")[0]) for x in lines] == [champion, int(desk.split()[1].rstrip(":"))]
    assert "due 2026-11-29T13:30+02:00\t4h 00m left" in lines[0]
    assert "due 2026-11-30T09:30+02:00\t1d 00h 00m left" in lines[1]
    ok(runner, "tickets", "close", str(champion), "--by", "x", "--reason", "solved")
    assert len(ok(runner, "tickets", "list").splitlines()) == 1
    assert len(ok(runner, "tickets", "list", "--all").splitlines()) == 2

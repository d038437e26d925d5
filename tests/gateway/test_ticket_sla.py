"""Tickets past their SLA: an audited escalation once per deadline (the scheduled job's work,
on an injected clock), and the count on the wall (/status, /status.json, /metrics)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from core import calendar, ticket_sla
from core.models import AuditEntry, SupportTicket, TicketEvent
from gateway.cli import cli

SUNDAY_9 = datetime(2026, 11, 29, 9, 0, tzinfo=calendar.CAIRO)  # a school day, working hours


def _open(runner, title: str, *extra: str) -> int:  # type: ignore[no-untyped-def]
    out = runner.invoke(cli, ["tickets", "open", "--category", "ussd", "--title", title,
                              "--description", "the class list is empty", "--by", "ops:amal",
                              "--tier", "1", *extra])
    assert out.exit_code == 0, out.output
    return int(out.stdout.split()[1].rstrip(":"))


def _tile(client) -> dict:  # type: ignore[no-untyped-def,type-arg]
    return next(t for t in client.get("/status.json").get_json()["wall"]
                if t["key"] == "tickets_sla_overdue")


def test_a_ticket_past_its_sla_is_escalated_once_and_counted_on_the_wall(  # type: ignore[no-untyped-def]
        runtime, client, runner) -> None:
    runtime.clock = lambda: SUNDAY_9
    tid = _open(runner, "No classes on USSD")
    with runtime.sessions() as s:
        due = s.get(SupportTicket, tid).sla_due_at
    assert due > SUNDAY_9

    with runtime.sessions() as s, s.begin():  # a minute before: nothing is overdue
        assert ticket_sla.escalate_overdue(s, due - timedelta(minutes=1)) == []
    runtime.clock = lambda: due - timedelta(minutes=1)
    assert _tile(client)["value"] == 0 and _tile(client)["grade"] == "green"

    later = due + timedelta(minutes=5)
    runtime.clock = lambda: later
    with runtime.sessions() as s, s.begin():
        assert ticket_sla.escalate_overdue(s, later) == [tid]
    with runtime.sessions() as s, s.begin():  # the next run, and one after: nothing new
        assert ticket_sla.escalate_overdue(s, later + timedelta(minutes=5)) == []
        assert ticket_sla.escalate_overdue(s, later + timedelta(hours=3)) == []
    with runtime.sessions() as s:
        events = s.scalars(select(TicketEvent).where(TicketEvent.ticket_id == tid,
                                                     TicketEvent.action == "sla_overdue")).all()
        audits = s.scalars(select(AuditEntry).where(AuditEntry.action == "ticket.sla_overdue",
                                                    AuditEntry.entity_id == str(tid))).all()
    assert len(events) == 1 and len(audits) == 1
    assert events[0].actor == ticket_sla.ACTOR and "passed" in events[0].reason

    tile = _tile(client)
    assert tile["value"] == 1 and tile["grade"] == "amber"
    assert "support tickets past their SLA" in client.get("/status").get_data(as_text=True)
    assert "hudoor_tickets_sla_overdue 1" in client.get("/metrics").get_data(as_text=True)
    assert 'hudoor_wall_grade{tile="tickets_sla_overdue"} 1' in client.get("/metrics").get_data(as_text=True)

    # Escalated, its SLA restarts: missing the new deadline is a new alert; closed, it leaves the wall.
    out = runner.invoke(cli, ["staff", "add", "--staff-id", "O-1", "--name", "Test ops", "--role",
                              "ops", "--by", "test", "--reason", "fixture"])
    assert out.exit_code == 0, out.output
    assert runner.invoke(cli, ["tickets", "escalate", str(tid), "--by", "desk:d", "--reason",
                               "needs ops"]).exit_code == 0
    with runtime.sessions() as s:
        new_due = s.get(SupportTicket, tid).sla_due_at
    assert new_due > later
    with runtime.sessions() as s, s.begin():
        assert ticket_sla.escalate_overdue(s, new_due + timedelta(minutes=1)) == [tid]
        assert ticket_sla.escalate_overdue(s, new_due + timedelta(minutes=2)) == []
    assert runner.invoke(cli, ["tickets", "close", str(tid), "--by", "ops:o", "--reason",
                               "fixed"]).exit_code == 0
    runtime.clock = lambda: new_due + timedelta(days=30)
    assert _tile(client)["value"] == 0


def test_the_job_is_scheduled_in_cairo_time() -> None:
    from gateway import schedule

    assert schedule.SLA_OVERDUE_CRON == "*/5 * * * *"
    after = datetime(2026, 11, 29, 9, 2, tzinfo=calendar.CAIRO)
    assert schedule.next_cairo(schedule.SLA_OVERDUE_CRON, after) == \
        datetime(2026, 11, 29, 9, 5, tzinfo=calendar.CAIRO)

"""`hudoor tickets`: the support ladder from the command line (every change audited)."""

from __future__ import annotations

import json
from contextlib import contextmanager
from typing import Any, Iterator

import click
from flask.cli import AppGroup

from gateway.cli_common import rt

group = AppGroup("tickets", help="Support tickets: Tier 0 champion → 1 desk → 2 ops → 3 vendor.")


@contextmanager
def _change() -> Iterator[tuple[Any, Any]]:
    """Yield (session, runtime) in one transaction; refusals become clear CLI errors."""
    from core import ticket_text
    from core.ticket_history import TicketRefused

    runtime = rt()
    try:
        with runtime.sessions() as session, session.begin():
            yield session, runtime
    except (TicketRefused, ticket_text.TextRefused) as exc:
        raise click.ClickException(str(exc)) from exc


def _cal(session: Any, runtime: Any) -> Any:
    from core import calendar_store

    return calendar_store.current(session, runtime.config)


def _line(t: Any, now: Any) -> str:
    from core import calendar, support_clock
    from core.ticket_history import queue

    due = calendar.to_cairo(t.sla_due_at).isoformat(timespec="minutes")
    left = support_clock.time_left(t.sla_due_at, now) if t.status == "open" else "closed"
    return "\t".join([str(t.id), queue(t), t.owner or "unassigned", t.status, f"due {due}",
                      left, t.category, t.school_upstream_id or "-", t.title])


@group.command("open")
@click.option("--category", required=True, help="ussd, sms, roster, attendance, access, calendar, other")
@click.option("--title", required=True)
@click.option("--description", required=True,
              help="What happened; no phone numbers, national ids, passwords or codes.")
@click.option("--school", default=None, help="Upstream school id (needed for Tier 0).")
@click.option("--person", "people", multiple=True, help="Student or staff id concerned (repeat).")
@click.option("--tier", type=click.IntRange(0, 3), default=None,
              help="Starting tier (default: 0 with --school, else 1).")
@click.option("--security", is_flag=True, help="Security-flavoured: skip every tier.")
@click.option("--strip", is_flag=True, help="Remove phone numbers, ids and codes instead of refusing.")
@click.option("--by", "actor", required=True, help="Who opens it (audited).")
def open_(category: str, title: str, description: str, school: str | None, people: tuple[str, ...],
          tier: int | None, security: bool, strip: bool, actor: str) -> None:
    """Open a ticket; security words (Arabic or English) send it straight to security."""
    from core import calendar, tickets
    from core.evidence import sources_of

    with _change() as (session, runtime):
        now = runtime.clock()
        opened = tickets.open_ticket(
            session, by=actor, category=category, title=title, description=description,
            school=school, people=list(people), tier=tier, security=security, strip=strip,
            now=now, cal=_cal(session, runtime), sources=sources_of(runtime.config))
        t = opened.ticket
        click.echo(f"ticket {t.id}: {tickets.queue(t)}, due "
                   f"{calendar.to_cairo(t.sla_due_at).isoformat(timespec='minutes')}")
        if opened.removed:
            click.echo(f"removed from the text: {', '.join(opened.removed)}", err=True)
        if opened.case is not None:
            c = opened.case
            click.echo(f"breach case {c.id}: evidence sealed; notify the Centre by "
                       f"{calendar.to_cairo(c.centre_due_at).isoformat(timespec='minutes')}, "
                       f"the persons by {calendar.to_cairo(c.persons_due_at).isoformat(timespec='minutes')}")


@group.command("list")
@click.option("--school", default=None)
@click.option("--all", "include_closed", is_flag=True, help="Closed tickets too.")
def list_(school: str | None, include_closed: bool) -> None:
    """The worklist, oldest SLA first (never a ranking of people or schools)."""
    from core import tickets

    runtime = rt()
    with runtime.sessions() as session:
        rows = tickets.worklist(session, school=school, include_closed=include_closed)
        now = runtime.clock()
        if not rows:
            click.echo("no tickets" if include_closed else "no open tickets", err=True)
        for t in rows:
            click.echo(_line(t, now))


@group.command("show")
@click.argument("ticket_id", type=int)
def show(ticket_id: int) -> None:
    """A ticket, its history (who, what, when, why) and its breach case."""
    from core import breach, calendar, tickets

    with _change() as (session, runtime):
        t = tickets.get(session, ticket_id)
        click.echo(_line(t, runtime.clock()))
        click.echo(f"people: {', '.join(json.loads(t.people)) or '-'}")
        click.echo(f"description: {t.description}")
        for e in tickets.history(session, ticket_id):
            click.echo(f"  {calendar.to_cairo(e.at).isoformat(timespec='seconds')}\t{e.actor}\t"
                       f"{e.action}\t{e.from_value or '-'} → {e.to_value or '-'}\t{e.reason}")
        case = breach.case_of_ticket(session, ticket_id)
        if case is not None:
            click.echo(f"breach case {case.id}: {case.decision or 'undecided (treated as a breach)'}")


def _simple(name: str, fn_name: str, doc: str) -> None:
    @group.command(name, help=doc)
    @click.argument("ticket_id", type=int)
    @click.option("--by", "actor", required=True, help="Who (audited).")
    @click.option("--reason", required=True, help="Why (audited).")
    def command(ticket_id: int, actor: str, reason: str) -> None:
        from core import tickets

        with _change() as (session, runtime):
            t = getattr(tickets, fn_name)(session, ticket_id, by=actor, reason=reason,
                                          now=runtime.clock(), cal=_cal(session, runtime))
            click.echo(f"ticket {t.id}: {tickets.queue(t)}")


_simple("escalate", "escalate", "Move a ticket one tier up, with a reason.")
_simple("deescalate", "deescalate", "Move a ticket one tier down, with a reason.")


@group.command("assign")
@click.argument("ticket_id", type=int)
@click.option("--to", "owner", required=True,
              help="A champion (Tier 0), desk/ops/security staff id, or vendor:NAME (Tier 3).")
@click.option("--by", "actor", required=True)
@click.option("--reason", required=True)
def assign(ticket_id: int, owner: str, actor: str, reason: str) -> None:
    """Give a ticket an owner who belongs to its tier."""
    from core import tickets

    with _change() as (session, runtime):
        t = tickets.assign(session, ticket_id, owner=owner, by=actor, reason=reason,
                           now=runtime.clock())
        click.echo(f"ticket {t.id}: {tickets.queue(t)}, owner {t.owner}")


@group.command("close")
@click.argument("ticket_id", type=int)
@click.option("--by", "actor", required=True)
@click.option("--reason", required=True)
def close(ticket_id: int, actor: str, reason: str) -> None:
    """Close a ticket (a security one once its breach case is decided and done)."""
    from core import tickets

    with _change() as (session, runtime):
        t = tickets.close(session, ticket_id, by=actor, reason=reason, now=runtime.clock())
        click.echo(f"ticket {t.id}: closed")


@group.command("flag-security")
@click.argument("ticket_id", type=int)
@click.option("--by", "actor", required=True)
@click.option("--reason", required=True)
def flag_security(ticket_id: int, actor: str, reason: str) -> None:
    """Send a ticket to security past every tier: breach clock started, evidence sealed."""
    from core import tickets
    from core.evidence import sources_of

    with _change() as (session, runtime):
        case = tickets.flag_security(session, ticket_id, by=actor, reason=reason,
                                     now=runtime.clock(), cal=_cal(session, runtime),
                                     sources=sources_of(runtime.config))
        click.echo(f"ticket {ticket_id}: security; breach case {case.id}, evidence sealed")

"""Console pages of the support ladder and the breach path (rules in core.tickets, core.breach).

A worklist ordered by SLA due time (oldest first, never a ranking), a ticket's page with its
history and CSRF-protected action forms, and security's page of open breach clocks.
"""

from __future__ import annotations

import json
from typing import Any

from flask import abort, current_app, g, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from core import breach, calendar, calendar_store, support_clock, ticket_text, tickets
from core.evidence import sources_of
from core.i18n import _
from core.rbac import Permission, Role
from core.runtime import runtime_of
from core.models import SupportTicket
from core.ticket_history import TicketRefused
from gateway.console import analytics, console_bp, nav
from gateway.console.auth import refusal, requires

ACTIONS = ("escalate", "deescalate", "assign", "close", "security")
START_TIER = {Role.CHAMPION: 0, Role.DESK: 1, Role.OPS: 2, Role.SECURITY: 1}


# Words the domain uses, as message ids for the catalogs (core/ is not extracted).
LABELS = {
    "Tier 0 champion": _("Tier 0 champion"), "Tier 1 desk": _("Tier 1 desk"),
    "Tier 2 platform ops": _("Tier 2 platform ops"), "Tier 3 vendor": _("Tier 3 vendor"),
    "security": _("security"), "closed": _("closed"), "open": _("open"),
    "did:open": _("opened"), "did:escalate": _("escalated"), "did:deescalate": _("de-escalated"),
    "did:assign": _("assigned"), "did:close": _("closed it"), "did:security": _("sent to security"),
    "did:returned": _("returned to the ladder"), "did:sla_overdue": _("went past its SLA"), "centre": _("the Centre (72 hours)"),
    "persons": _("the persons concerned (3 working days)"), "breach": _("breach"),
    "not-a-breach": _("not a breach"),
}


def _actor() -> str:
    return f"{g.principal.role.value}:{g.principal.subject}"


def _local(moment: Any) -> str:
    return calendar.to_cairo(moment).strftime("%Y-%m-%d %H:%M")


def _worklist_page(problem: str | None = None, status: int = 200,
                   form: dict[str, str] | None = None) -> tuple[str, int]:
    rt = runtime_of(current_app)
    with rt.sessions() as s:
        rows = tickets.worklist_for(s, g.principal)
        now = rt.clock()
        items = [{"t": t, "queue": tickets.queue(t), "due": _local(t.sla_due_at),
                  "left": support_clock.time_left(t.sla_due_at, now)} for t in rows]
    return render_template("desk/tickets.html", labels=LABELS, items=items, problem=problem, form=form or {},
                           categories=tickets.CATEGORIES, sent=request.args.get("sent")), status


@console_bp.get("/tickets")
@requires(Permission.TICKETS_READ)
def ticket_list() -> tuple[str, int]:
    """The worklist: oldest SLA first; a form to open a ticket."""
    return _worklist_page()


@console_bp.post("/tickets")
@requires(Permission.TICKETS_WRITE)
def ticket_open() -> Response | tuple[str, int]:
    """Open a ticket from the form; a refusal shows the form again with the reason."""
    p, f = g.principal, request.form
    rt = runtime_of(current_app)
    people = [x for x in f.get("people", "").replace(",", " ").split() if x]
    try:
        with rt.sessions() as s, s.begin():
            opened = tickets.open_ticket(
                s, by=_actor(), category=f.get("category", ""), title=f.get("title", ""),
                description=f.get("description", ""),
                school=p.school if p.role is Role.CHAMPION else (f.get("school") or None),
                people=people, tier=START_TIER.get(p.role, 1), security=bool(f.get("security")),
                strip=False, now=rt.clock(), cal=calendar_store.current(s, rt.config),
                sources=sources_of(rt.config))
            ticket = opened.ticket
            seen = tickets.may_see(p, ticket)
    except (TicketRefused, ticket_text.TextRefused) as exc:
        return _worklist_page(refusal(exc), 422, dict(f))
    if not seen:  # handed to security: its opener is told so, and sees no more of it
        return redirect(url_for("console.ticket_list", sent=ticket.id), code=303)
    return redirect(url_for("console.ticket_page", ticket_id=ticket.id), code=303)


def _ticket_page(ticket_id: int, problem: str | None = None, status: int = 200) -> tuple[str, int]:
    rt = runtime_of(current_app)
    p = g.principal
    with rt.sessions() as s:
        t = s.get(SupportTicket, ticket_id)
        if t is None or not tickets.may_see(p, t):
            abort(404)
        now = rt.clock()
        case = breach.case_of_ticket(s, ticket_id) if p.can(Permission.BREACH_READ) else None
        view: dict[str, Any] = {
            "t": t, "queue": tickets.queue(t), "people": json.loads(t.people),
            "due": _local(t.sla_due_at), "left": support_clock.time_left(t.sla_due_at, now),
            "history": [{"at": _local(e.at), "e": e} for e in tickets.history(s, ticket_id)],
            "case": None}
        if case is not None:
            checks = breach.verify(s, case.id)
            view["case"] = {
                "c": case, "evidence_ok": all(c.ok for c in checks),
                "sha256": [c.sha256 for c in checks],
                "clocks": [{"name": name, "due": _local(due),
                            "state": _local(done) if done else support_clock.time_left(due, now),
                            "done": done is not None}
                           for name, due, done in (
                               ("centre", case.centre_due_at, case.centre_notified_at),
                               ("persons", case.persons_due_at, case.persons_notified_at))],
                "decisions": [{"at": _local(d.decided_at), "d": d}
                              for d in breach.decisions(s, case.id)]}
    return render_template("desk/ticket.html", labels=LABELS, v=view, problem=problem,
                           can_write=p.can(Permission.TICKETS_WRITE),
                           can_decide=p.can(Permission.BREACH_DECIDE)), status


@console_bp.get("/tickets/<int:ticket_id>")
@requires(Permission.TICKETS_READ)
def ticket_page(ticket_id: int) -> tuple[str, int]:
    """A ticket: its queue, owner, SLA, history (who, what, when, why) and actions."""
    return _ticket_page(ticket_id)


@requires(Permission.TICKETS_WRITE)
def ticket_action(ticket_id: int, action: str) -> Response | tuple[str, int]:
    """Apply one action from its form (reason required); refusals show on the ticket's page."""
    f = request.form
    reason = f.get("reason", "")
    rt = runtime_of(current_app)
    try:
        with rt.sessions() as s, s.begin():
            t = s.get(SupportTicket, ticket_id)
            if t is None or not tickets.may_see(g.principal, t):
                abort(404)
            now, by = rt.clock(), _actor()
            cal = calendar_store.current(s, rt.config)
            if action in ("escalate", "deescalate"):
                getattr(tickets, action)(s, ticket_id, by=by, reason=reason, now=now, cal=cal)
            elif action == "assign":
                tickets.assign(s, ticket_id, owner=f.get("to", ""), by=by, reason=reason, now=now)
            elif action == "close":
                tickets.close(s, ticket_id, by=by, reason=reason, now=now)
            else:
                tickets.flag_security(s, ticket_id, by=by, reason=reason, now=now, cal=cal,
                                      sources=sources_of(rt.config))
            seen = tickets.may_see(g.principal, t)
    except TicketRefused as exc:
        return _ticket_page(ticket_id, refusal(exc), 422)
    if not seen:
        return redirect(url_for("console.ticket_list", sent=ticket_id), code=303)
    return redirect(url_for("console.ticket_page", ticket_id=ticket_id), code=303)


@requires(Permission.BREACH_DECIDE)
def breach_action(case_id: int, what: str) -> Response | tuple[str, int]:
    """Record security's decision or a notice, then show the ticket again."""
    f = request.form
    rt = runtime_of(current_app)
    try:
        with rt.sessions() as s, s.begin():
            case = breach.get(s, case_id)
            ticket_id = case.ticket_id
            if what == "decision":
                breach.decide(s, case_id, decision=f.get("decision", ""), by=g.principal.subject,
                              reason=f.get("reason", ""), now=rt.clock(),
                              cal=calendar_store.current(s, rt.config))
            else:
                breach.notified(s, case_id, to=f.get("to", ""), by=g.principal.subject,
                                reason=f.get("reason", ""), now=rt.clock())
    except breach.BreachRefused as exc:
        if "no breach case" in str(exc):
            abort(404)
        return _ticket_page(ticket_id, refusal(exc), 422)
    return redirect(url_for("console.ticket_page", ticket_id=ticket_id), code=303)


@console_bp.get("/breaches")
@requires(Permission.BREACH_READ)
def breach_clocks() -> str:
    """Open PDPL clocks, soonest first, with the time left."""
    rt = runtime_of(current_app)
    with rt.sessions() as s:
        clocks = breach.open_clocks(s, rt.clock())
    return render_template("desk/breaches.html", labels=LABELS, clocks=[{"k": k, "due": _local(k.due)} for k in clocks])


# One rule per form, so the role matrix names (and its test calls) each path a page posts to.
for _action in ACTIONS:
    console_bp.add_url_rule(f"/tickets/<int:ticket_id>/{_action}", view_func=ticket_action,
                            methods=["POST"], defaults={"action": _action})
for _what in ("decision", "notices"):
    console_bp.add_url_rule(f"/breaches/<int:case_id>/{_what}", view_func=breach_action,
                            methods=["POST"], defaults={"what": _what})

nav.add("console.ticket_list", _("Tickets"), Permission.TICKETS_READ)
nav.add("console.breach_clocks", _("Breach clocks"), Permission.BREACH_READ)


def _ticket_counts(session, now):  # type: ignore[no-untyped-def]
    """Open tickets by category and tier on the analytics page (aggregates, small cells hidden)."""
    from core.disclosure import cell
    from core.support_analytics import Category

    return [Category(key, cell(n)) for key, n in tickets.open_counts(session).items()]


analytics.add_categories(_ticket_counts, {
    "tickets_ussd": _("Open tickets: USSD"), "tickets_sms": _("Open tickets: SMS"),
    "tickets_roster": _("Open tickets: roster"), "tickets_attendance": _("Open tickets: attendance"),
    "tickets_access": _("Open tickets: access"), "tickets_calendar": _("Open tickets: calendar"),
    "tickets_other": _("Open tickets: other"),
    "tickets_tier_0": _("Open tickets at Tier 0 (champion)"),
    "tickets_tier_1": _("Open tickets at Tier 1 (desk)"),
    "tickets_tier_2": _("Open tickets at Tier 2 (ops)"),
    "tickets_tier_3": _("Open tickets at Tier 3 (vendor)")})

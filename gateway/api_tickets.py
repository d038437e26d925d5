"""Admin API of the support ladder and the breach path (rules in core.tickets, core.breach).

Champions see and change only their own school's tickets; security tickets and breach cases
are seen by security (and auditors, read-only) alone — to anyone else they do not exist.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Response, current_app, g, jsonify, request

from core import breach, calendar, calendar_store, support_clock, ticket_text, tickets
from core.evidence import sources_of
from core.models import SupportTicket
from core.rbac import Permission, Principal, Role
from core.runtime import runtime_of
from core.ticket_history import TicketRefused
from gateway.api import _error, bp, requires

ACTIONS = ("escalate", "deescalate", "assign", "close", "security")
START_TIER = {Role.CHAMPION: 0, Role.DESK: 1, Role.OPS: 2, Role.SECURITY: 1}


def _actor() -> str:
    return f"{g.principal.role.value}:{g.principal.subject}"


def ticket_json(t: SupportTicket, now: Any) -> dict[str, Any]:
    return {"id": t.id, "queue": tickets.queue(t), "tier": t.tier, "security": t.security,
            "owner": t.owner, "status": t.status, "category": t.category, "title": t.title,
            "school": t.school_upstream_id, "people": json.loads(t.people),
            "opened_at": t.opened_at.isoformat(), "sla_due_at": t.sla_due_at.isoformat(),
            "sla_left": support_clock.time_left(t.sla_due_at, now) if t.status == "open" else None}


def _body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    return body if isinstance(body, dict) else {}


def _refused(exc: Exception) -> Response:
    return _error(422, str(exc))


@bp.get("/tickets")
@requires(Permission.TICKETS_READ)
def ticket_list() -> Response:
    """The worklist, oldest SLA first (not a ranking); champions: their school's only."""
    rt = runtime_of(current_app)
    with rt.sessions() as s:
        rows = tickets.worklist_for(s, g.principal, include_closed=request.args.get("all") == "1")
        now = rt.clock()
        return jsonify([ticket_json(t, now) for t in rows])


@bp.post("/tickets")
@requires(Permission.TICKETS_WRITE)
def ticket_open() -> Response:
    """Open a ticket: {category, title, description, school?, people?, security?, strip?}."""
    p: Principal = g.principal
    body = _body()
    school = p.school if p.role is Role.CHAMPION else body.get("school")
    people = body.get("people") or []
    if not isinstance(people, list) or not all(isinstance(x, str) for x in people):
        return _error(400, "people must be a list of student or staff ids")
    rt = runtime_of(current_app)
    try:
        with rt.sessions() as s, s.begin():
            opened = tickets.open_ticket(
                s, by=_actor(), category=str(body.get("category", "")),
                title=str(body.get("title", "")), description=str(body.get("description", "")),
                school=school, people=people, tier=START_TIER.get(p.role, 1),
                security=bool(body.get("security")), strip=bool(body.get("strip")),
                now=rt.clock(), cal=calendar_store.current(s, rt.config),
                sources=sources_of(rt.config))
            t = opened.ticket
            # Whoever opened it is told where it went, even when they cannot see it from now on.
            resp = jsonify(id=t.id, queue=tickets.queue(t), sla_due_at=t.sla_due_at.isoformat(),
                           breach_case=opened.case.id if opened.case else None,
                           removed=list(opened.removed))
    except (TicketRefused, ticket_text.TextRefused) as exc:
        return _refused(exc)
    resp.status_code = 201
    return resp


@bp.get("/tickets/<int:ticket_id>")
@requires(Permission.TICKETS_READ)
def ticket_show(ticket_id: int) -> Response:
    """A ticket with its description and history (who, what, when, why)."""
    rt = runtime_of(current_app)
    with rt.sessions() as s:
        t = s.get(SupportTicket, ticket_id)
        if t is None or not tickets.may_see(g.principal, t):
            return _error(404, "no such ticket")
        out = ticket_json(t, rt.clock())
        out["description"] = t.description
        out["history"] = [{"at": e.at.isoformat(), "actor": e.actor, "action": e.action,
                           "from": e.from_value, "to": e.to_value, "reason": e.reason}
                          for e in tickets.history(s, ticket_id)]
        case = breach.case_of_ticket(s, ticket_id)
        out["breach_case"] = case.id if case and g.principal.can(Permission.BREACH_READ) else None
    return jsonify(out)


@requires(Permission.TICKETS_WRITE)
def ticket_action(ticket_id: int, action: str) -> Response:
    """Change a ticket: {reason} (and {to} for assign); one tier at a time."""
    body = _body()
    reason = str(body.get("reason", ""))
    rt = runtime_of(current_app)
    try:
        with rt.sessions() as s, s.begin():
            t = s.get(SupportTicket, ticket_id)
            if t is None or not tickets.may_see(g.principal, t):
                return _error(404, "no such ticket")
            now, by = rt.clock(), _actor()
            cal = calendar_store.current(s, rt.config)
            if action == "escalate":
                tickets.escalate(s, ticket_id, by=by, reason=reason, now=now, cal=cal)
            elif action == "deescalate":
                tickets.deescalate(s, ticket_id, by=by, reason=reason, now=now, cal=cal)
            elif action == "assign":
                tickets.assign(s, ticket_id, owner=str(body.get("to", "")), by=by, reason=reason,
                               now=now)
            elif action == "close":
                tickets.close(s, ticket_id, by=by, reason=reason, now=now)
            else:
                tickets.flag_security(s, ticket_id, by=by, reason=reason, now=now, cal=cal,
                                      sources=sources_of(rt.config))
            return jsonify(id=t.id, queue=tickets.queue(t), owner=t.owner, status=t.status,
                           sla_due_at=t.sla_due_at.isoformat())
    except TicketRefused as exc:
        return _refused(exc)


@bp.get("/breaches")
@requires(Permission.BREACH_READ)
def breach_clocks() -> Response:
    """Open PDPL clocks, soonest first, with the time left."""
    rt = runtime_of(current_app)
    with rt.sessions() as s:
        clocks = breach.open_clocks(s, rt.clock())
    return jsonify([{"case": k.case_id, "ticket": k.ticket_id, "clock": k.name,
                     "due": k.due.isoformat(), "due_cairo": calendar.to_cairo(k.due).isoformat(),
                     "left": k.left, "decision": k.decision} for k in clocks])


@bp.get("/breaches/<int:case_id>")
@requires(Permission.BREACH_READ)
def breach_show(case_id: int) -> Response:
    """A case: clocks, notices, decisions, and its sealed evidence re-hashed now."""
    rt = runtime_of(current_app)
    try:
        with rt.sessions() as s:
            c = breach.get(s, case_id)
            checks = breach.verify(s, case_id)
            out = {"case": c.id, "ticket": c.ticket_id, "opened_at": c.opened_at.isoformat(),
                   "trigger": c.trigger, "centre_due_at": c.centre_due_at.isoformat(),
                   "persons_due_at": c.persons_due_at.isoformat(), "decision": c.decision,
                   "centre_notified_at": c.centre_notified_at.isoformat() if c.centre_notified_at else None,
                   "persons_notified_at": c.persons_notified_at.isoformat() if c.persons_notified_at else None,
                   "decisions": [{"decision": d.decision, "by": d.decided_by, "reason": d.reason,
                                  "at": d.decided_at.isoformat()} for d in breach.decisions(s, case_id)],
                   "evidence": [{"snapshot": e.snapshot_id, "sha256": e.sha256, "ok": e.ok,
                                 "problems": e.problems} for e in checks]}
    except TicketRefused as exc:
        return _error(404, str(exc))
    return jsonify(out)


@requires(Permission.BREACH_DECIDE)
def breach_decide(case_id: int, what: str) -> Response:
    """Record {decision: breach|not-a-breach, reason} or a notice {to: centre|persons, reason}."""
    body = _body()
    rt = runtime_of(current_app)
    try:
        with rt.sessions() as s, s.begin():
            if what == "decision":
                c = breach.decide(s, case_id, decision=str(body.get("decision", "")),
                                  by=g.principal.subject, reason=str(body.get("reason", "")),
                                  now=rt.clock(), cal=calendar_store.current(s, rt.config))
            else:
                c = breach.notified(s, case_id, to=str(body.get("to", "")),
                                    by=g.principal.subject, reason=str(body.get("reason", "")),
                                    now=rt.clock())
            return jsonify(case=c.id, decision=c.decision)
    except TicketRefused as exc:
        return _refused(exc)


# One rule per action, so the role matrix (and its test) names each path a caller uses.
for _action in ACTIONS:
    bp.add_url_rule(f"/tickets/<int:ticket_id>/{_action}", view_func=ticket_action,
                    methods=["POST"], defaults={"action": _action})
for _what in ("decision", "notices"):
    bp.add_url_rule(f"/breaches/<int:case_id>/{_what}", view_func=breach_decide,
                    methods=["POST"], defaults={"what": _what})

"""Console pages for delegated support views (R6): ask for a view, then read what was granted."""

from __future__ import annotations

from typing import Any

from flask import current_app, g, redirect, render_template, request, url_for
from sqlalchemy import select

from core import support_access as support
from core.i18n import _
from core.models import CentralStaff, SupportGrant
from core.rbac import Permission
from core.runtime import runtime_of
from gateway.console import console_bp, nav
from gateway.console.auth import requires


LABELS = {"school": _("school"), "person": _("person"), "pending": _("waiting for an answer"),
          "granted": _("granted"), "refused": _("refused"), "withdrawn": _("withdrawn")}


def _mine(session: Any) -> list[dict[str, Any]]:
    rows = session.scalars(select(SupportGrant).join(CentralStaff, CentralStaff.id == SupportGrant.agent_id)
                           .where(CentralStaff.staff_ref == g.principal.subject)
                           .order_by(SupportGrant.id.desc()).limit(50)).all()
    return [support.as_dict(r) for r in rows]


@console_bp.get("/support")
@requires(Permission.SUPPORT_REQUEST)
def support_requests(problem: str = "", status: int = 200) -> Any:
    """The request-a-view form and this agent's requests, with a link to each live view."""
    with runtime_of(current_app).sessions() as session:
        rows = _mine(session)
    return render_template("desk/support.html", rows=rows, problem=problem, labels=LABELS,
                           durations=support.DURATIONS), status


@console_bp.post("/support")
@requires(Permission.SUPPORT_REQUEST)
def support_ask() -> Any:
    """Ask the school's champion (or the person) for a view; they answer over USSD key 7."""
    rt = runtime_of(current_app)
    form = request.form
    try:
        minutes = int(form.get("minutes", ""))
    except ValueError:
        return support_requests(_("Choose how long."), 422)
    try:
        with rt.sessions() as session, session.begin():
            support.request(session, agent_ref=g.principal.subject, scope=form.get("scope", ""),
                            target=form.get("target", "").strip(), minutes=minutes,
                            reason=form.get("reason", ""), now=rt.clock())
    except support.SupportRefused as exc:
        return support_requests(str(exc), 422)
    return redirect(url_for("console.support_requests"), 303)


@console_bp.get("/support/<int:grant_id>")
@requires(Permission.SUPPORT_VIEW)
def support_view(grant_id: int) -> Any:
    """What the champion or the person sees, read-only, watermarked; every opening audited."""
    rt = runtime_of(current_app)
    now = rt.clock()
    with rt.sessions() as session, session.begin():
        try:
            live = support.check_live(session, grant_id, g.principal.subject, now)
        except support.NoSuchGrant as exc:
            return render_template("desk/refused.html", problem=str(exc)), 404
        except support.NotLive as exc:
            return render_template("desk/refused.html", problem=str(exc)), 409
        support.record_view(session, live, "desk")
        if live.grant.scope == "school":
            view = support.school_view(session, live, rt.today())
        else:
            view = support.person_view(session, live, rt.today(), now)
    return render_template("desk/support_view.html", view=view, mark=live.watermark)


nav.add("console.support_requests", _("Support views"), Permission.SUPPORT_REQUEST)

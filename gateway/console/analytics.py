"""G5 support analytics: worklists of schools needing help and counts by category, aggregates only."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Callable

from flask import current_app, render_template
from sqlalchemy.orm import Session

from core.i18n import _
from core.rbac import Permission
from core.runtime import runtime_of
from core.support_analytics import Category, support_view
from gateway.console import console_bp, nav
from gateway.console.auth import requires

# Categories other pages add (tickets by category, later) are named here too.
CATEGORY_LABELS = {
    "no_marks": _("Schools open today without marks"),
    "stuck_sync": _("Schools with a stuck sync"),
    "quarantine_open": _("Upstream records in quarantine"),
    "duplicates_open": _("Suspected duplicate people"),
    "access_revoked_24h": _("People whose access ended (24 h)"),
}
PROBLEMS = {
    "never": _("No delta sync has run yet: every school's roster may be old."),
    "failed": _("The last delta sync failed: every school's roster may be old."),
    "stalled": _("The delta sync has run for over an hour: every school's roster may be old."),
    "stale": _("No delta sync finished recently: every school's roster may be old."),
}
NOTES = {"failed": _("last sync failed"), "stalled": _("sync running for over an hour")}
CategorySource = Callable[[Session, datetime], list[Category]]
_SOURCES: list[CategorySource] = []


def add_categories(source: CategorySource, labels: dict[str, str]) -> None:
    """Let another module add counts to the page (e.g. open tickets by category).

    `source(session, now)` returns Category rows, their people counts already through
    core.disclosure.cell; `labels` maps each key to an English msgid marked with `_()`.
    """
    CATEGORY_LABELS.update(labels)
    if source not in _SOURCES:
        _SOURCES.append(source)


@console_bp.get("/analytics")
@requires(Permission.SUPPORT_ANALYTICS)
def analytics() -> str:
    """Show today's worklists (by school id, never ranked) and category counts (<5 suppressed)."""
    rt = runtime_of(current_app)
    with rt.replica_sessions() as session:
        view = support_view(session, rt.config, rt.clock())
        extra = [c for source in _SOURCES for c in source(session, rt.clock())]
    view = replace(view, categories=[*view.categories, *extra])
    return render_template("desk/analytics.html", view=view, labels=CATEGORY_LABELS,
                           problems=PROBLEMS, notes=NOTES)


nav.add("console.analytics", _("Support analytics"), Permission.SUPPORT_ANALYTICS)

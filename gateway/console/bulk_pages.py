"""Console pages for reversible bulk operations (C4): the list, a revert button, a merge form."""

from __future__ import annotations

from typing import Any

from flask import current_app, g, redirect, render_template, request, url_for

from core import bulk, merge
from core.i18n import _
from core.rbac import Permission
from core.runtime import runtime_of
from gateway.cli_bulk import forget_touched
from gateway.console import console_bp, nav
from gateway.console.auth import requires


STATES = {"revertible": _("revertible"), "final": _("final"), "reverted": _("reverted")}


def _actor() -> str:
    return f"{g.principal.role.value}:{g.principal.subject}"


@console_bp.get("/bulk")
@requires(Permission.BULK_READ)
def bulk_operations(problem: str = "", status: int = 200) -> Any:
    """List bulk operations, newest first; ops get a revert button while one is revertible."""
    rt = runtime_of(current_app)
    with rt.sessions() as session:
        ops = bulk.listing(session, rt.clock())
    return render_template("desk/bulk.html", ops=ops, problem=problem, states=STATES,
                           may_revert=g.principal.can(Permission.BULK_REVERT),
                           may_merge=g.principal.can(Permission.PEOPLE_MERGE)), status


@console_bp.post("/bulk/<int:op_id>/revert")
@requires(Permission.BULK_REVERT)
def bulk_revert(op_id: int) -> Any:
    """Revert one operation (a reason is required); a refusal says which rows changed since."""
    rt = runtime_of(current_app)
    try:
        with rt.sessions() as session, session.begin():
            bulk.revert(session, op_id, by=_actor(), reason=request.form.get("reason", ""),
                        now=rt.clock())
    except bulk.NotFound as exc:
        return bulk_operations(str(exc), 404)
    except bulk.BulkError as exc:
        return bulk_operations(str(exc), 409)
    forget_touched(rt, op_id)
    return redirect(url_for("console.bulk_operations"), 303)


@console_bp.post("/merges")
@requires(Permission.PEOPLE_MERGE)
def merge_people() -> Any:
    """Merge a suspected duplicate into the person kept; it shows in the list, revertible."""
    rt = runtime_of(current_app)
    form = request.form
    try:
        with rt.sessions() as session, session.begin():
            keep = merge.find(session, form.get("keep", "").strip())
            gone = merge.find(session, form.get("merge", "").strip())
            if keep is None or gone is None:
                raise LookupError(_("No such person."))
            op = merge.merge(session, keep_id=keep.id, merge_id=gone.id, actor=_actor(),
                             reason=form.get("reason", ""), now=rt.clock())
    except LookupError as exc:  # rendered once the transaction is closed (SQLite: one writer)
        return bulk_operations(str(exc), 404)
    except (merge.MergeRefused, bulk.BulkError) as exc:
        return bulk_operations(str(exc), 409)
    forget_touched(rt, op.id)
    return redirect(url_for("console.bulk_operations"), 303)


nav.add("console.bulk_operations", _("Bulk operations"), Permission.BULK_READ)

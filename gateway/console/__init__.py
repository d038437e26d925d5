"""The desk console (issue 11): server-rendered pages for the support desk, ops, security,
auditors and school champions, under /desk.

Every view of `console_bp` is either `@requires(Permission.X)` (gateway/console/auth.py) or
one of the sign-in pages marked `@public`; anything else is refused (deny by default) and
gateway/security_matrix.py lists each page with the API in one role matrix.

Adding a page from another module:

    from core.i18n import _
    from gateway.console import console_bp, nav
    from gateway.console.auth import requires

    @console_bp.get("/tickets")
    @requires(Permission.TICKETS_READ)          # school_scoped=True: champions, own school only
    def tickets(): ...                          # flask.g.principal is the core.rbac.Principal

    nav.add("console.tickets", _("Tickets"), Permission.TICKETS_READ)  # optional menu entry

and put that module in gateway/console/: `gateway.console.pages` imports every module there.
Templates extend "desk/base.html" (blocks `title`, `content`, `watermark`); every POST form
carries `<input type="hidden" name="csrf_token" value="{{ csrf_token() }}">`. Counts for the
analytics page: `gateway.console.analytics.add_categories`.
"""

from __future__ import annotations

from flask import Blueprint

console_bp = Blueprint("console", __name__, url_prefix="/desk")

from gateway.console import nav  # noqa: E402  (the routes need the blueprint above)
from gateway.console import auth, pages  # noqa: E402,F401

__all__ = ["auth", "console_bp", "nav"]

"""The desk console (issue 11): server-rendered pages for the support desk, ops, security,
auditors and school champions, under /desk.

Every view of `console_bp` is either `@requires(Permission.X)` (gateway/console/auth.py) or
one of the sign-in pages marked `@public`; anything else is refused (deny by default) and
gateway/security_matrix.py lists each page with the API in one role matrix.

Adding a page from another module:

    from gateway.console import console_bp, nav
    from gateway.console.auth import requires

    @console_bp.get("/tickets")
    @requires(Permission.TICKETS_READ)
    def tickets(): ...

    nav.add("console.tickets", "Tickets", Permission.TICKETS_READ)  # optional menu entry

and import that module from `gateway.console.pages` so the app registers it.
"""

from __future__ import annotations

from flask import Blueprint

console_bp = Blueprint("console", __name__, url_prefix="/desk")

from gateway.console import nav  # noqa: E402  (the routes need the blueprint above)
from gateway.console import auth, pages  # noqa: E402,F401

__all__ = ["auth", "console_bp", "nav"]

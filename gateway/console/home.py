"""The console's home page: who is signed in, and the pages their role may open."""

from __future__ import annotations

from flask import render_template

from core.rbac import Permission
from gateway.console import console_bp
from gateway.console.auth import requires


@console_bp.get("/")
@requires(Permission.DESK_HOME)
def home() -> str:
    """Show the signed-in person's role and menu."""
    return render_template("desk/home.html")

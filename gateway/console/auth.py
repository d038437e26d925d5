"""Console access: who is signed in (every request re-checked), which pages they may open, CSRF.

`requires(permission)` declares what a page needs; `public` marks the sign-in pages. Before
every /desk request the session cookie is resolved against SQL (core.console_sessions); a
page that is neither public nor declares a permission is refused (deny by default), POSTs
must carry the form's CSRF token, and a signed-out visitor is sent to /desk/sign-in.
"""

from __future__ import annotations

import hmac
import secrets
from functools import wraps
from typing import Any, Callable

from flask import (
    Response,
    abort,
    current_app,
    g,
    redirect,
    render_template,
    request,
    url_for,
)

from core import console_sessions
from core.i18n import LANGUAGES, _, translations
from core.rbac import Permission
from core.runtime import runtime_of
from gateway.console import console_bp, nav

COOKIE = "hudoor_desk"  # the session token
PRE_COOKIE = "hudoor_desk_pre"  # the signed-out CSRF token of the sign-in forms (double submit)
LANG_COOKIE = "hudoor_desk_lang"


def requires(permission: Permission, *, school_scoped: bool = False
             ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Declare the permission a console page needs; `flask.g.principal` is set when it runs.

    Signed out: redirect to /desk/sign-in. Signed in without the permission (or, with
    `school_scoped`, a champion asking for another school's `school` argument): 403 page.
    """
    def wrap(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        def inner(*args: Any, **kwargs: Any) -> Any:
            principal = g.get("principal")
            if principal is None:
                return redirect(url_for("console.sign_in"))
            if not principal.can(permission):
                abort(403)
            if school_scoped and not principal.sees_school(kwargs["school"]):
                abort(403)
            return view(*args, **kwargs)
        inner.permission = permission  # type: ignore[attr-defined]
        inner.school_scoped = school_scoped  # type: ignore[attr-defined]
        return inner
    return wrap


def public(view: Callable[..., Any]) -> Callable[..., Any]:
    """Mark a sign-in page that a signed-out visitor may open."""
    view.public = True  # type: ignore[attr-defined]
    return view


def is_declared(view: Callable[..., Any]) -> bool:
    """Tell whether a console view declares its access rule (a permission, or public)."""
    return hasattr(view, "permission") or getattr(view, "public", False)


def csrf_token() -> str:
    """Return the token this visitor's forms must carry (the session's, or the pre-session one)."""
    token = g.get("csrf")
    if token is None:
        token = g.csrf = request.cookies.get(PRE_COOKIE) or secrets.token_urlsafe(32)
        g.set_pre_cookie = token
    return str(token)


def _language() -> str:
    asked = request.args.get("lang", "")
    if asked in LANGUAGES:
        g.set_lang_cookie = asked
        return asked
    kept = request.cookies.get(LANG_COOKIE, "")
    return kept if kept in LANGUAGES else "ar"


@console_bp.before_request
def load_principal() -> Any:
    """Resolve the session; refuse undeclared pages and POSTs without the form's CSRF token."""
    g.desk_lang = _language()
    g.principal, g.csrf = None, None
    token = request.cookies.get(COOKIE, "")
    rt = runtime_of(current_app)
    if token:
        try:  # the primary, not a replica: a revocation counts the moment it is committed
            with rt.sessions() as session, session.begin():
                g.principal, g.csrf = console_sessions.resolve(session, token, rt.clock())
        except console_sessions.SessionInvalid:
            g.drop_cookie = True
    view = current_app.view_functions.get(request.endpoint or "")
    if view is None or not is_declared(view):
        abort(403)  # a page without @requires or @public: denied by default
    if request.method == "POST":
        sent = request.form.get("csrf_token", "")
        if not sent or not hmac.compare_digest(sent, csrf_token()):
            abort(400, _("The form is stale or forged: open the page again."))
    return None


@console_bp.after_request
def set_cookies(resp: Response) -> Response:
    """Set or drop the console's cookies: HttpOnly, SameSite=Strict, Secure in production."""
    secure = runtime_of(current_app).config.env == "production"
    opts: dict[str, Any] = {"httponly": True, "samesite": "Strict", "secure": secure, "path": "/desk"}
    if g.get("drop_cookie"):
        resp.delete_cookie(COOKIE, path="/desk")
    if g.get("set_pre_cookie"):
        resp.set_cookie(PRE_COOKIE, g.set_pre_cookie, **opts)
    if g.get("set_lang_cookie"):
        resp.set_cookie(LANG_COOKIE, g.set_lang_cookie, max_age=365 * 86400, **opts)
    resp.headers.setdefault("Cache-Control", "no-store")
    resp.headers.setdefault("X-Frame-Options", "DENY")
    resp.headers.setdefault("Content-Security-Policy",
                            "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; "
                            "form-action 'self'; frame-ancestors 'none'")
    return resp


def set_session_cookie(resp: Response, token: str) -> None:
    """Give the browser a new session's token (no Max-Age: the server decides when it ends)."""
    secure = runtime_of(current_app).config.env == "production"
    resp.set_cookie(COOKIE, token, httponly=True, samesite="Strict", secure=secure, path="/desk")
    resp.delete_cookie(PRE_COOKIE, path="/desk")


@console_bp.errorhandler(403)
def forbidden(_exc: Exception) -> tuple[str, int]:
    return render_template("desk/refused.html"), 403


@console_bp.errorhandler(400)
def bad_request(exc: Any) -> tuple[str, int]:
    return render_template("desk/refused.html", problem=getattr(exc, "description", "")), 400


def refusal(exc: Exception) -> str:
    """A domain refusal in the page's language (core.i18n.Refusal); other errors as they are."""
    from core.i18n import Refusal

    return exc.text(g.get("desk_lang", "ar")) if isinstance(exc, Refusal) else str(exc)


def _gettext(message: str) -> str:  # Jinja's new-style gettext fills in %(name)s itself
    return translations(g.get("desk_lang", "ar")).gettext(message)


def _ngettext(singular: str, plural: str, n: int) -> str:
    return translations(g.get("desk_lang", "ar")).ngettext(singular, plural, n)


@console_bp.record_once
def _templates(state: Any) -> None:
    """Give templates `_()` from the Babel catalogs in the visitor's language, and the menu."""
    env = state.app.jinja_env
    env.add_extension("jinja2.ext.i18n")
    env.install_gettext_callables(_gettext, _ngettext, newstyle=True)  # type: ignore[attr-defined]


@console_bp.context_processor
def _context() -> dict[str, Any]:
    lang = g.get("desk_lang", "ar")
    return {"lang": lang, "dir": "rtl" if lang == "ar" else "ltr", "principal": g.get("principal"),
            "csrf_token": csrf_token, "menu": nav.visible(g.get("principal")),
            "role_label": nav.ROLE_LABELS.get(g.principal.role.value, "") if g.get("principal") else ""}

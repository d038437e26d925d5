"""The desk console's frame: real sign-in by SMS code, deny by default, 403 for a role, CSRF."""

from __future__ import annotations

from flask import Flask

from core import staff_register
from core.rbac import Permission
from gateway.console.auth import COOKIE, is_declared, requires
from tests.support.desk import csrf, make_champion, make_staff, sign_in


def test_signed_out_visitors_are_sent_to_sign_in(client) -> None:  # type: ignore[no-untyped-def]
    resp = client.get("/desk/")
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/desk/sign-in")
    page = client.get("/desk/sign-in")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert '<html lang="ar" dir="rtl">' in html and "رقم الموظف" in html  # Arabic first
    english = client.get("/desk/sign-in?lang=en").get_data(as_text=True)
    assert '<html lang="en" dir="ltr">' in english and "Staff number" in english
    kept = client.get("/desk/sign-in").get_data(as_text=True)  # the choice is remembered
    assert '<html lang="en" dir="ltr">' in kept


def test_a_desk_agent_signs_in_with_a_code_by_sms(runtime, client) -> None:  # type: ignore[no-untyped-def]
    make_staff(runtime, "DESK-1", "desk")
    sign_in(client, runtime, "DESK-1")
    cookie = client.get_cookie(COOKIE, path="/desk")
    assert cookie is not None and cookie.http_only and cookie.same_site == "Strict"
    home = client.get("/desk/")
    assert home.status_code == 200
    html = home.get_data(as_text=True)
    assert "DESK-1" in html and 'id="watermark"' in html


def test_a_champion_signs_in_with_the_sim_bound_at_activation(runtime, client) -> None:  # type: ignore[no-untyped-def]
    make_champion(runtime, "STF-0009-0001", "SCH-0009")
    sign_in(client, runtime, "STF-0009-0001")
    assert "SCH-0009" in client.get("/desk/").get_data(as_text=True)


def test_every_console_page_declares_its_access(app: Flask) -> None:
    views = {rule.endpoint: app.view_functions[rule.endpoint] for rule in app.url_map.iter_rules()
             if rule.rule.startswith("/desk")}
    assert views, "the console registered no pages"
    undeclared = sorted(name for name, view in views.items()
                        if not name.startswith("console.") or not is_declared(view))
    assert not undeclared, f"/desk pages without @requires or @public: {undeclared}"


def test_a_page_without_a_declaration_is_refused(app: Flask, runtime, client) -> None:  # type: ignore[no-untyped-def]
    app.add_url_rule("/desk/forgotten", endpoint="console.forgotten", view_func=lambda: "secret")
    make_staff(runtime, "OPS-1", "ops")
    sign_in(client, runtime, "OPS-1")
    resp = client.get("/desk/forgotten")
    assert resp.status_code == 403 and "secret" not in resp.get_data(as_text=True)


def test_a_role_without_the_permission_gets_the_refusal_page(app: Flask, runtime, client) -> None:  # type: ignore[no-untyped-def]
    view = requires(Permission.TOKENS_READ)(lambda: "token holders")
    app.add_url_rule("/desk/holders", endpoint="console.holders", view_func=view)
    make_staff(runtime, "DESK-2", "desk")
    make_staff(runtime, "SEC-1", "security")
    sign_in(client, runtime, "DESK-2")
    refused = client.get("/desk/holders")
    assert refused.status_code == 403 and 'id="refused"' in refused.get_data(as_text=True)
    other = client.application.test_client()
    sign_in(other, runtime, "SEC-1")
    assert other.get("/desk/holders").get_data(as_text=True) == "token holders"


def test_posts_need_the_forms_csrf_token(runtime, client) -> None:  # type: ignore[no-untyped-def]
    make_staff(runtime, "DESK-3", "desk")
    sign_in(client, runtime, "DESK-3")
    assert client.post("/desk/sign-out").status_code == 400
    assert client.post("/desk/sign-out", data={"csrf_token": "forged"}).status_code == 400
    assert client.get("/desk/").status_code == 200  # still signed in
    token = csrf(client.get("/desk/").get_data(as_text=True))
    out = client.post("/desk/sign-out", data={"csrf_token": token})
    assert out.status_code == 303
    assert client.get("/desk/").status_code == 302


def test_a_deactivated_entry_loses_its_session_at_once(runtime, client) -> None:  # type: ignore[no-untyped-def]
    make_staff(runtime, "DESK-4", "desk")
    sign_in(client, runtime, "DESK-4")
    with runtime.sessions() as s, s.begin():
        staff_register.deactivate(s, "DESK-4", actor="test", reason="left the ministry")
    assert client.get("/desk/").status_code == 302

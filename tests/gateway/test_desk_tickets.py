"""The ticket pages of the desk console over HTTP: a worklist, a ticket's life, the breach forms."""

from __future__ import annotations

import re

from flask import Flask

from core.rbac import Role
from tests.support.desk import csrf, make_champion, make_staff, sign_in

SCHOOL = "SCH-0001"


def _client(app: Flask, runtime, ref: str, n: int):  # type: ignore[no-untyped-def]
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = f"10.8.0.{n}"  # one address each: no shared limit
    sign_in(client, runtime, ref)
    return client


def _post(client, path: str, page: str, **form: str):  # type: ignore[no-untyped-def]
    return client.post(path, data={"csrf_token": csrf(client.get(page).get_data(as_text=True)), **form})


def test_a_tickets_life_on_the_pages(app: Flask, runtime) -> None:  # type: ignore[no-untyped-def]
    make_champion(runtime, "STF-0001-0001", SCHOOL)
    make_staff(runtime, "DESK-1", Role.DESK)
    champion = _client(app, runtime, "STF-0001-0001", 1)
    desk = _client(app, runtime, "DESK-1", 2)

    refused = _post(champion, "/desk/tickets", "/desk/tickets", category="ussd", title="menu",
                    description="call the parent on 01012345678")
    assert refused.status_code == 422
    body = refused.get_data(as_text=True)
    assert "رقم تليفون آخره …78" in body and "call the parent on" in body  # Arabic; form kept
    assert champion.post("/desk/tickets", data={"category": "ussd", "title": "t",
                                                "description": "d"}).status_code == 400  # no CSRF

    made = _post(champion, "/desk/tickets", "/desk/tickets", category="ussd",
                 title="No classes on menu 1", description="teachers see an empty class list")
    assert made.status_code == 303
    page = made.headers["Location"]
    tid = int(page.rsplit("/", 1)[1])
    html = champion.get(page).get_data(as_text=True)
    assert 'id="queue">المستوى 0: منسق المدرسة<' in html
    assert _post(champion, f"/desk/tickets/{tid}/escalate", page, reason="").status_code == 422
    assert _post(champion, f"/desk/tickets/{tid}/escalate", page,
                 reason="needs the desk").status_code == 303
    listed = desk.get("/desk/tickets").get_data(as_text=True)
    assert f'data-id="{tid}"' in listed
    assert _post(desk, f"/desk/tickets/{tid}/assign", page, to="DESK-1", reason="mine").status_code == 303
    assert _post(desk, f"/desk/tickets/{tid}/close", page, reason="fixed the class link").status_code == 303
    html = desk.get(page).get_data(as_text=True)
    assert 'id="status">مغلقة<' in html and 'id="escalate"' not in html  # no actions on a closed one
    actions = re.findall(r'<td class="action">([^<]+)</td>', html)
    assert len(actions) == 4  # open, escalate, assign, close: each with who, when and why
    assert "fixed the class link" in html


def test_the_breach_forms_are_security_only(app: Flask, runtime) -> None:  # type: ignore[no-untyped-def]
    make_champion(runtime, "STF-0001-0001", SCHOOL)
    make_staff(runtime, "DESK-1", Role.DESK)
    make_staff(runtime, "SEC-1", Role.SECURITY)
    desk = _client(app, runtime, "DESK-1", 3)
    security = _client(app, runtime, "SEC-1", 4)
    made = _post(desk, "/desk/tickets", "/desk/tickets", category="access", title="odd",
                 description="a champion says his account was hacked", school=SCHOOL)
    assert made.status_code == 303 and "sent=" in made.headers["Location"]
    tid = int(made.headers["Location"].rsplit("=", 1)[1])
    assert "تحولت للأمن" in desk.get(made.headers["Location"]).get_data(as_text=True)
    assert desk.get(f"/desk/tickets/{tid}").status_code == 404
    page = f"/desk/tickets/{tid}"
    html = security.get(page).get_data(as_text=True)
    assert "الأدلة المختومة عند فتح الحالة سليمة" in html and 'id="decide"' in html
    case = int(re.search(r"/desk/breaches/(\d+)/decision", html).group(1))
    too_soon = _post(security, f"/desk/breaches/{case}/decision", page, decision="not-a-breach",
                     reason="a typo")
    assert too_soon.status_code == 422
    assert "يُعامل كاختراق في أول ساعة" in too_soon.get_data(as_text=True)  # the page is Arabic
    assert _post(desk, f"/desk/breaches/{case}/decision", "/desk/tickets", decision="breach",
                 reason="r").status_code == 403
    assert _post(security, f"/desk/breaches/{case}/decision", page, decision="breach",
                 reason="confirmed by the champion").status_code == 303
    assert "confirmed by the champion" in security.get(page).get_data(as_text=True)
    clocks = security.get("/desk/breaches").get_data(as_text=True)
    assert clocks.count(f'href="/desk/tickets/{tid}"') == 2  # the Centre's and the persons'


def test_a_refusal_is_shown_in_the_pages_language(app: Flask, runtime) -> None:  # type: ignore[no-untyped-def]
    make_champion(runtime, "STF-0001-0001", SCHOOL)
    champion = _client(app, runtime, "STF-0001-0001", 3)
    made = _post(champion, "/desk/tickets", "/desk/tickets", category="ussd",
                 title="No classes on menu 1", description="teachers see an empty class list")
    page = made.headers["Location"]
    tid = int(page.rsplit("/", 1)[1])
    # Arabic first: the domain's refusal in Arabic, its values filled in.
    no_reason = _post(champion, f"/desk/tickets/{tid}/escalate", page, reason="")
    assert no_reason.status_code == 422
    html = no_reason.get_data(as_text=True)
    assert "--reason مطلوب: كل تغيير لازم يقول مين عمله وليه" in html
    assert "is required" not in html
    below = _post(champion, f"/desk/tickets/{tid}/deescalate", page, reason="try")
    assert below.status_code == 422
    assert f"التذكرة {tid} في " in below.get_data(as_text=True)
    assert "nothing below" not in below.get_data(as_text=True)
    phone = _post(champion, f"/desk/tickets/{tid}/escalate", page, reason="call 01012345678")
    assert phone.status_code == 422
    assert "السبب اترفض: فيه رقم تليفون آخره …78" in phone.get_data(as_text=True)
    assert "--strip" not in phone.get_data(as_text=True)  # a reason is never stripped
    # The same refusal on the English page.
    champion.get(f"{page}?lang=en")
    english = _post(champion, f"/desk/tickets/{tid}/escalate", page, reason="")
    assert "--reason is required: every change says who made it and why" in english.get_data(as_text=True)

"""Desk-console test helpers: people who may sign in, and signing a test client in for real.

    from tests.support.desk import make_staff, make_champion, sign_in

    make_staff(runtime, "DESK-1", "desk")          # central staff entry + consented, bound SIM
    sign_in(client, runtime, "DESK-1")             # staff number → SMS code → session cookie
    assert client.get("/desk/").status_code == 200

`sign_in` goes through the pages a person uses: it asks for a code, lets the real SMS sender
hand the outbox's message to a console provider (the development provider), reads the code
from that message, and types it in.
"""

from __future__ import annotations

import re
from itertools import count

from sqlalchemy import select

from core import staff_register
from core.contacts import bind_staff
from core.models import Person, School
from core.rbac import Role
from core.runtime import Runtime
from digests.providers.console import ConsoleProvider
from digests.services import build_sender

_MSISDNS = count(1)
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
CODE = re.compile(r"\b(\d{8})\b")


def next_msisdn() -> str:
    """Return a fresh valid Vodafone Egypt number for a test SIM."""
    return f"+20100{next(_MSISDNS):07d}"


def make_staff(runtime: Runtime, staff_ref: str, role: str | Role, msisdn: str | None = None,
               *, name: str = "Test staff") -> str:
    """Register a central staff member with `role` and bind their SIM; return its number."""
    msisdn = msisdn or next_msisdn()
    with runtime.sessions() as s, s.begin():
        staff_register.add(s, staff_ref, name, Role(role), actor="test", reason="test fixture")
        return staff_register.bind_phone(s, staff_ref, msisdn, secret=runtime.config.secret_key,
                                         actor="test", reason="given with consent (test)")


def make_champion(runtime: Runtime, upstream_id: str, school: str, msisdn: str | None = None,
                  *, role: str = "champion") -> str:
    """Create a school (if new) and its champion with a SIM bound as by activation; return the SIM."""
    msisdn = msisdn or next_msisdn()
    with runtime.sessions() as s, s.begin():
        row = s.scalars(select(School).where(School.upstream_id == school)).first()
        if row is None:
            row = School(upstream_id=school, name=f"School {school}", governorate="Cairo")
            s.add(row)
            s.flush()
        person = s.scalars(select(Person).where(Person.upstream_id == upstream_id)).first()
        if person is None:
            person = Person(upstream_id=upstream_id, school_id=row.id, role=role,
                            display_name=f"Champion {upstream_id}", name_key=upstream_id.lower())
            s.add(person)
            s.flush()
        bind_staff(s, person, msisdn, actor="test")
    return msisdn


def csrf(html: str) -> str:
    """Return the CSRF token of the first form on a console page."""
    match = CSRF.search(html)
    assert match, "no csrf_token field on the page"
    return match.group(1)


def deliver(runtime: Runtime) -> ConsoleProvider:
    """Send every due outbox message through a console provider; return it with what it got."""
    provider = ConsoleProvider()
    sender = build_sender(runtime, provider, threads=2)
    try:
        sender.run(until_idle=True, stop_after=120)
    finally:
        sender.close()
    return provider


def read_code(runtime: Runtime, msisdn: str) -> str:
    """Deliver due SMS and return the newest sign-in code sent to `msisdn`."""
    texts = [m.text for m in deliver(runtime).sent if m.msisdn == msisdn]
    codes = [c for text in texts for c in CODE.findall(text)]
    assert codes, f"no sign-in code reached {msisdn}"
    return codes[-1]


def ask_code(client, number: str):  # type: ignore[no-untyped-def]
    """Open the sign-in page and ask for a code for `number`; return the response."""
    page = client.get("/desk/sign-in")
    assert page.status_code == 200, page.status_code
    return client.post("/desk/sign-in", data={"number": number,
                                              "csrf_token": csrf(page.get_data(as_text=True))})


def sign_in(client, runtime: Runtime, staff_ref: str) -> None:  # type: ignore[no-untyped-def]
    """Sign `client` in as `staff_ref` through the real flow (request code → SMS → submit)."""
    from core.console_signin import find_holder

    with runtime.sessions() as s:
        holder = find_holder(s, staff_ref)
    assert holder is not None, f"{staff_ref} may not sign in (no active entry or bound SIM)"
    asked = ask_code(client, staff_ref)
    assert asked.status_code == 200, asked.get_data(as_text=True)
    code = read_code(runtime, holder.msisdn)
    done = client.post("/desk/sign-in/code", data={
        "number": staff_ref, "code": code, "csrf_token": csrf(asked.get_data(as_text=True))})
    assert done.status_code == 303 and done.headers["Location"].endswith("/desk/"), (
        done.status_code, done.get_data(as_text=True))

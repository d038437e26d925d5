"""Warm the hop caches before the morning spike, so a teacher's first hop reads no database.

Run by the scheduler before the first bell (and by `hudoor ussd warm`). Warm entries live
WARM_TTL seconds: with the delta sync every 5 minutes, a revoked teacher's menu can live
at most sync interval + WARM_TTL — 25 minutes, inside the one-hour promise.
"""

from __future__ import annotations

import json
from datetime import date, datetime

import redis
from sqlalchemy import select
from sqlalchemy.orm import Session

from core import attendance
from core.standing import has_access
from core.models import Contact, ContactKind, Person
from core.runtime import Runtime
from core.pseudonyms import msisdn_ref
from ussd import keys
from ussd.cache import caller_value
from ussd.directory_db import caller_for

WARM_TTL = 1200


def warm_now(rt: Runtime) -> int:
    """Warm the caches for today (Cairo) with the runtime's clock; return how many SIMs."""
    from core import calendar

    now = rt.clock()
    with rt.sessions() as session:
        return warm(session, rt.redis, rt.config.secret_key, calendar.to_cairo(now).date(), now)


def warm(session: Session, conn: redis.Redis, secret: str, day: date, now: datetime, *,
         batch: int = 500) -> int:
    """Cache caller and classes of every staff member with a bound SIM; return how many."""
    rows = session.execute(
        select(Contact.msisdn, Person).join(Person, Person.id == Contact.person_id)
        .where(Contact.kind == ContactKind.STAFF.value, Contact.revoked_at.is_(None))).all()
    warmed, pipe = 0, conn.pipeline(transaction=False)
    for msisdn, person in rows:
        if not has_access(person):
            continue
        caller = caller_for(session, msisdn)  # the very answer a cold hop would compute
        classes = attendance.classes_for(session, person.id, day, now, with_taken=False,
                                         with_sizes=False)
        pipe.set(keys.caller(msisdn_ref(secret, msisdn)), caller_value(caller), ex=WARM_TTL)
        pipe.set(keys.classes(person.id), json.dumps(
            [[c.id, c.name, c.size, False, c.delegated] for c in classes]), ex=WARM_TTL)
        warmed += 1
        if warmed % batch == 0:
            pipe.execute()
    pipe.execute()
    return warmed

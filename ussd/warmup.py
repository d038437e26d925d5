"""Warm the hop caches before the morning spike, so a teacher's session reads no database
before its save.

Run by the scheduler before the first bell (and by `hudoor ussd warm`). Warm entries live
WARM_TTL seconds: with the delta sync every 5 minutes, a revoked teacher's menu can live
at most sync interval + WARM_TTL — 25 minutes, inside the one-hour promise. Each class's
roll goes in too, ids only (ussd.cache.roll_value): a roll the sync changed meanwhile is
caught at the save, which checks it against the database's roll.
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
from ussd.cache import ROLL_TTL, caller_value, roll_value
from ussd.ports import Roll
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
    """Cache caller, classes and rolls of every staff member with a bound SIM; return how many."""
    rows = session.execute(
        select(Contact.msisdn, Person).join(Person, Person.id == Contact.person_id)
        .where(Contact.kind == ContactKind.STAFF.value, Contact.revoked_at.is_(None))).all()
    warmed, pipe = 0, conn.pipeline(transaction=False)
    class_names: dict[int, str] = {}
    for msisdn, person in rows:
        if not has_access(person):
            continue
        caller = caller_for(session, msisdn)  # the very answer a cold hop would compute
        classes = attendance.classes_for(session, person.id, day, now, with_taken=False,
                                         with_sizes=False)
        pipe.set(keys.caller(msisdn_ref(secret, msisdn)), caller_value(caller), ex=WARM_TTL)
        pipe.set(keys.classes(person.id), json.dumps(
            [[c.id, c.name, c.size, False, c.delegated] for c in classes]), ex=WARM_TTL)
        class_names.update((c.id, c.name) for c in classes)
        warmed += 1
        if warmed % batch == 0:
            pipe.execute()
    pipe.execute()
    ids = sorted(class_names)
    for start in range(0, len(ids), batch):
        chunk = attendance.rolls(session, ids[start:start + batch])
        for cid, (students, fingerprint) in chunk.items():
            pipe.set(keys.roll(cid), roll_value(Roll(cid, students, fingerprint, class_names[cid])),
                     ex=min(WARM_TTL, ROLL_TTL))
        pipe.execute()
    return warmed

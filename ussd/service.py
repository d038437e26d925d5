"""One USSD hop: load the session, apply the new inputs, write effects, save, render."""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import cast

from sqlalchemy.orm import Session

from core import calendar
from core.db import SessionOnDemand, end_reads
from core.i18n import Texts, _
from core.pseudonyms import msisdn_ref
from core.runtime import Runtime
from ussd import effects as effect_writer
from ussd.cache import HopCache
from ussd.directory_db import DbDirectory, caller_for
from ussd.flow_attendance import RESUMABLE
from ussd.machine import first_state, is_final, is_quiz_resumable, render, step
from ussd.screens import Kind, Limits, Screen
from ussd.store import SessionStore


@dataclass(frozen=True)
class Hop:
    """One Africa's Talking USSD callback, already validated."""

    session_id: str
    service_code: str
    msisdn: str  # E.164
    network_code: str
    text: str


# Steps whose next input reads the class list (the main menu's attendance and late arrivals,
# each class menu). A session left on one by this process has its next hop's load fetch the
# list in the same round trip; a hop served by another process reads it as before.
_CLASS_LIST_NEXT = frozenset({"start", "att_class", "late_class", "corr_class", "sub_menu", "sub_class"})
_CLASS_READERS: dict[str, int] = {}  # session id -> staff id, for this process's next hop
_CLASS_READERS_MAX = 50_000


def _digest(inputs: list[str]) -> str:
    return format(zlib.crc32("*".join(inputs).encode()), "08x")


def handle(hop: Hop, rt: Runtime) -> Screen:
    """Answer one hop. Replays, retries and late requests never apply an input twice."""
    cfg = rt.config
    conn = rt.thread_redis  # a hop's few commands on this thread's own connection
    store = SessionStore(conn, cfg.ussd_session_seconds, cfg.ussd_resume_seconds)
    limits = Limits(cfg.ussd_max_gsm7, cfg.ussd_max_ucs2)
    inputs = hop.text.split("*") if hop.text else []
    info = effect_writer.HopInfo(hop.session_id, hop.msisdn, msisdn_ref(cfg.secret_key, hop.msisdn))
    now = rt.clock()
    hop_cache = HopCache(conn)
    staff_next = _CLASS_READERS.pop(hop.session_id, None)
    if staff_next is None:
        saved, resume, cached_caller = store.load(hop.session_id, info.sim_ref)
    else:  # the class list rides with the load (this process left the session on a menu of it)
        day = calendar.to_cairo(now).date()
        saved, resume, cached_caller, reply = store.load_with(
            hop.session_id, info.sim_ref, hop_cache.prefetch_classes(staff_next, day))
        hop_cache.fetched(staff_next, day, reply)
    owner = info.sim_ref  # the keyed hash binds the session to its phone, storing no number
    if saved is not None and saved.owner != owner:
        # A known sessionId from another phone: never continue someone else's session.
        return Screen(Kind.END, Texts("ar")(_("This session belongs to another phone. "
                                              "Nothing was saved. Please dial again.")))
    # No Session is made until the hop asks the database something, no connection taken
    # until a query needs one.
    with SessionOnDemand(rt.sessions) as session_:
        session = cast(Session, session_)
        directory = DbDirectory(session, cfg, store, now, hop_cache)
        caller = hop_cache.caller(info.sim_ref, hop.msisdn, lambda: caller_for(session, hop.msisdn),
                                  directory.staff_name, cached_caller)
        directory.staff_id = caller.staff_id  # the caller's school decides the day (calendar)
        if saved is None:
            directory.open_staff_session()  # a fresh teacher's reads, in this one checkout
        state = saved if saved is not None else first_state(caller, resume)
        if len(inputs) < state.hops or (state.hops and _digest(inputs[:state.hops]) != state.digest):
            # A late or out-of-order request: show where the session is, change nothing.
            return render(state, caller, directory, limits)
        before, effects = state, []  # type: ignore[var-annotated]
        for inp in inputs[state.hops:]:
            if is_final(state):
                break
            before = state
            outcome = step(state, inp, caller, directory, limits)
            state = outcome.state.with_(hops=state.hops + 1)
            effects.extend(outcome.effects)
        state = state.with_(digest=_digest(inputs[:state.hops]))
        if effects:
            state, committed = effect_writer.apply(session, cfg, info, effects, state, before,
                                                   directory.today(), directory.now,
                                                   forget_roll=directory.forget_roll)
            if committed:
                changed = effect_writer.invalidate(hop_cache, info, effects, directory.today())
                directory.forget_classes()
                if changed:  # a bound SIM, a language, a stop: read who is calling again
                    caller = hop_cache.caller(info.sim_ref, hop.msisdn,
                                              lambda: caller_for(session, hop.msisdn),
                                              directory.staff_name)
        screen = render(state, caller, directory, limits)
        end_reads(session)  # end the read transaction before answering (a COMMIT: see end_reads)
    if state.owner != owner:  # a continuing session's state carries it already
        state = state.with_(owner=owner)
    resumable = (state.step in RESUMABLE and bool(caller.staff_id)) or is_quiz_resumable(caller, state)
    if caller.staff_id and state.step in _CLASS_LIST_NEXT and not is_final(state):
        if len(_CLASS_READERS) >= _CLASS_READERS_MAX:
            _CLASS_READERS.clear()
        _CLASS_READERS[hop.session_id] = caller.staff_id
    store.save(hop.session_id, info.sim_ref, state, resumable=resumable, finished=is_final(state),
               also=hop_cache.pending.values())  # the caches this hop filled, same round trip
    return screen

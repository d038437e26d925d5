"""One USSD hop: load the session, apply the new inputs, write effects, save, render."""

from __future__ import annotations

import zlib
from dataclasses import dataclass

from core.runtime import Runtime
from ussd import effects as effect_writer
from ussd.cache import HopCache
from ussd.directory_db import DbDirectory, caller_for
from ussd.flow_attendance import RESUMABLE
from ussd.machine import first_state, is_final, render, step
from ussd.ports import Effect
from ussd.screens import Limits, Screen
from ussd.state import State
from ussd.store import SessionStore


@dataclass(frozen=True)
class Hop:
    """One Africa's Talking USSD callback, already validated."""

    session_id: str
    service_code: str
    msisdn: str  # E.164
    network_code: str
    text: str


def _digest(inputs: list[str]) -> str:
    return format(zlib.crc32("*".join(inputs).encode()), "08x")


def handle(hop: Hop, rt: Runtime) -> Screen:
    """Answer one hop. Replays, retries and late requests never apply an input twice."""
    cfg = rt.config
    store = SessionStore(rt.redis, cfg.ussd_session_seconds, cfg.ussd_resume_seconds)
    limits = Limits(cfg.ussd_max_gsm7, cfg.ussd_max_ucs2)
    inputs = hop.text.split("*") if hop.text else []
    saved, resume, cached_caller = store.load(hop.session_id, hop.msisdn)
    hop_cache = HopCache(rt.redis)
    with rt.sessions() as session:  # no connection is taken until a query needs one
        caller = hop_cache.caller(hop.msisdn, lambda: caller_for(session, hop.msisdn), cached_caller)
        directory = DbDirectory(session, cfg, store, rt.clock(), hop_cache, caller.staff_id)
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
            state, committed = _write(session, rt, hop, effects, state, before, directory)
            if committed:
                effect_writer.invalidate(hop_cache, effect_writer.HopInfo(hop.session_id, hop.msisdn),
                                         effects, directory.today())
                directory.classes_for.cache_clear()  # type: ignore[attr-defined]
                caller = hop_cache.caller(hop.msisdn, lambda: caller_for(session, hop.msisdn))
        screen = render(state, caller, directory, limits)
        session.rollback()  # end the read transaction before answering
    store.save(hop.session_id, hop.msisdn, state, resumable=state.step in RESUMABLE and bool(caller.staff_id),
               finished=is_final(state))
    return screen


def _write(session, rt: Runtime, hop: Hop, effects: list[Effect], state: State, before: State,  # type: ignore[no-untyped-def]
           directory: DbDirectory) -> tuple[State, bool]:
    info = effect_writer.HopInfo(hop.session_id, hop.msisdn)
    return effect_writer.apply(session, rt.config, info, effects, state, before, directory.today())

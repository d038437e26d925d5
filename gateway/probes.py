"""Run the operator probes: a USSD session and an SMS round trip per operator (U5).

The USSD probe plays the operator's side of a session against HUDOOR_PROBE_USSD_URL (our
callback as the provider reaches it; in production, the public address) from the
operator's probe SIM and network code: dial, then "0" (help), expecting a menu then an
END screen. The SMS probe goes through the real outbox and provider to the same SIM and
is judged by its delivery report on a later run (core.probes, digests.probes).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import requests

from core import calendar, probes
from core.runtime import Runtime

NETWORK_CODES = {"orange": "60201", "vodafone": "60202", "etisalat": "60203", "we": "60204"}
TIMEOUT_SECONDS = 10.0


@dataclass(frozen=True)
class Line:
    operator: str
    kind: str
    ok: bool | None
    latency_ms: int | None
    detail: str
    alert: bool = False

    def text(self) -> str:
        state = {True: "ok", False: "FAILED", None: "waiting"}[self.ok]
        ms = f" {self.latency_ms} ms" if self.latency_ms is not None else ""
        return f"{self.operator:9} {self.kind:4} {state}{ms} — {self.detail}" + (
            "  ALERT: second failure in a row" if self.alert else "")


def run(rt: Runtime, http: Any = None) -> list[Line]:
    """Settle finished SMS probes, probe USSD now, start new SMS probes; return what happened."""
    from digests import probes as sms_probes
    from digests.services import requeue_from_outbox

    sims, now = rt.config.probe_sims, rt.clock()
    lines: list[Line] = []
    with rt.sessions() as session, session.begin():
        for row in probes.waiting(session, "sms"):
            out = sms_probes.outcome(session, row.ref or 0, now)
            if out.ok is not None:
                probes.finish(session, row, ok=out.ok, latency_ms=out.latency_ms,
                              detail=out.detail, now=now)
                lines.append(Line(row.operator, "sms", out.ok, out.latency_ms, out.detail, row.alert))
    http = http or requests.Session()
    for operator, msisdn in sims.items():
        ok, ms, detail = _ussd(rt, http, operator, msisdn)
        with rt.sessions() as session, session.begin():
            row = probes.record(session, operator, "ussd", ok=ok, latency_ms=ms, detail=detail,
                                now=now)
            lines.append(Line(operator, "ussd", ok, ms, detail, row.alert))
    if calendar.in_quiet_hours(now, rt.config.quiet_start_hour, rt.config.quiet_end_hour):
        return lines  # the sender holds every SMS now: a round trip would only time out
    with rt.sessions() as session, session.begin():
        busy = {row.operator for row in probes.waiting(session, "sms")}
        for operator, msisdn in sims.items():
            if operator in busy:
                continue  # one round trip in flight per operator
            tag = f"{operator}-{int(now.timestamp())}"
            probes.start(session, operator, "sms", now, ref=sms_probes.send(session, msisdn, tag, now))
            lines.append(Line(operator, "sms", None, None, "sent; judged by its delivery report"))
    requeue_from_outbox(rt.sessions, rt.redis, now)
    return lines


def _ussd(rt: Runtime, http: Any, operator: str, msisdn: str) -> tuple[bool, int | None, str]:
    """Dial and press 0 as the operator would; return (ok, milliseconds, what was seen)."""
    session_id = f"probe-{operator}-{time.time_ns()}"
    fields = {"sessionId": session_id, "serviceCode": rt.config.ussd_code, "phoneNumber": msisdn,
              "networkCode": NETWORK_CODES[operator]}
    headers = {"X-Hudoor-Token": rt.config.ussd_callback_token}
    started = time.perf_counter()
    try:
        for text, expect in (("", "CON "), ("0", "END ")):
            resp = http.post(rt.config.probe_ussd_url, data={**fields, "text": text},
                             headers=headers, timeout=TIMEOUT_SECONDS)
            body = resp.text
            if resp.status_code != 200 or not body.startswith(expect):
                return False, None, f"HTTP {resp.status_code}, expected {expect.strip()}: {body[:60]!r}"
    except requests.RequestException as exc:
        return False, None, f"unreachable: {type(exc).__name__}"
    return True, int((time.perf_counter() - started) * 1000), "menu, then help (END)"

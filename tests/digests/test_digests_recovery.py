"""Work that survives crashes and Redis wipes: digest runs, report-day chunks, in-doubt SMS.

Each test goes through a real RQ worker (burst mode), the CLI or the HTTP webhooks; the
worker's runtime has an injected clock, so no test depends on the machine's speed.
"""

from __future__ import annotations

import json
import threading
from datetime import datetime, timedelta, timezone

import pytest
from rq import Queue, SimpleWorker
from sms_support import DAY, drafts, states
from sqlalchemy import event, func, select
from test_digests_daily import PARENT, family

from core import runtime as core_runtime
from core.models import AuditEntry, Contact, Person, School
from core.runtime import Runtime
from core.models import utcnow
from digests import jobs as sms_jobs
from digests import outbox
from digests.models import MessageKind, OutboxMessage
from digests.outbox import Draft
from digests.providers.base import Outcome, Submission, SubmitResult
from digests.sender import Sender
from digests.services import build_shaper
from gateway.cli import cli
from shaping.policy import OperatorCaps, Priority
from tests.support.consent import consent_all

AFTER_CUTOFF = datetime(2026, 11, 29, 14, 30, tzinfo=timezone.utc)  # Sunday 16:30 Cairo


@pytest.fixture
def worker(runtime, monkeypatch):  # type: ignore[no-untyped-def]
    """Return a function running every queued job in a real RQ worker, on a runtime whose
    clock the test sets (`worker.clock`)."""
    rt = Runtime(runtime.config.with_overrides(sms_provider="console", quiet_start_hour=0,
                                               quiet_end_hour=0), clock=lambda: AFTER_CUTOFF)
    monkeypatch.setattr(core_runtime, "_worker_runtime", rt)

    def work() -> None:
        SimpleWorker([Queue(q, connection=rt.redis) for q in core_runtime.QUEUES],
                     connection=rt.redis).work(burst=True)

    work.runtime = rt  # type: ignore[attr-defined]
    yield work
    rt.close()


def _queue(rt, func) -> None:  # type: ignore[no-untyped-def]
    Queue("digests", connection=rt.redis).enqueue(func)


def test_a_crashed_digest_run_is_resumed_the_same_day_without_duplicates(runtime, worker) -> None:  # type: ignore[no-untyped-def]
    family(runtime)
    rt = worker.runtime
    crashes = [1]

    @event.listens_for(rt.engine, "before_cursor_execute")
    def lose_the_database(conn, cursor, statement, *args):  # type: ignore[no-untyped-def]
        # Mid-run: the digests are in the outbox, the run's audit entry is next.
        if crashes and statement.lstrip().upper().startswith("INSERT INTO AUDIT_LOG"):
            crashes.pop()
            raise ConnectionError("injected: the database went away mid-run")

    _queue(rt, sms_jobs.digests_if_due)
    worker()
    assert states(runtime) == {}  # the crashed run left nothing behind
    for _ in range(2):  # the next scheduled ticks the same day
        _queue(rt, sms_jobs.digests_if_due)
        worker()
    with runtime.sessions() as s:
        rows = s.scalars(select(OutboxMessage)).all()
    assert [(r.msisdn, r.kind) for r in rows] == [(PARENT, "daily_digest")]  # exactly one
    assert sms_jobs.digests_if_due() == "already enqueued today"


def test_stop_withdraws_queued_messages_before_they_are_sent(runtime, client) -> None:  # type: ignore[no-untyped-def]
    other = "+201201234567"
    with runtime.sessions() as s, s.begin():
        outbox.enqueue(s, [Draft("daily_digest", DAY, PARENT, "ar", "حضور ١"),
                           Draft("report_day", DAY, PARENT, "ar", "حضور ٢"),
                           Draft("daily_digest", DAY, other, "ar", "حضور ٣")])
    form = {"from": PARENT, "text": "STOP", "id": "in-1"}
    assert client.post("/at/inbound?token=test-inbound-token", data=form).status_code == 200
    with runtime.sessions() as s:
        rows = {(r.msisdn, r.kind): (r.state, r.failure_reason)
                for r in s.scalars(select(OutboxMessage))}
        entry = s.scalars(select(AuditEntry).where(AuditEntry.action == "contact.opt_out")).one()
    assert rows[(PARENT, "daily_digest")] == ("withdrawn", "opted out: inbound STOP")
    assert rows[(PARENT, "report_day")][0] == "withdrawn"
    assert rows[(other, "daily_digest")][0] == "queued"
    assert json.loads(entry.data)["withdrawn"] == 2
    provider = Recorder()
    sender = Sender(runtime.sessions, build_shaper(runtime),
                    OperatorCaps.parse("orange=50,vodafone=50"), provider, outbox.RetryPolicy(quiet_start_hour=0, quiet_end_hour=0))
    try:
        sender.run(until_idle=True, stop_after=30)
    finally:
        sender.close()
    assert provider.numbers == [other]  # none of the withdrawn ones


class Recorder:
    """Accept every message; note the numbers and the most claimed-unrecorded rows seen."""

    name = "recorder"

    def __init__(self, runtime: Runtime | None = None) -> None:
        self.numbers: list[str] = []
        self.most_in_flight = 0
        self._runtime = runtime
        self._lock = threading.Lock()

    def submit(self, message: Submission) -> SubmitResult:
        if self._runtime is not None:
            with self._runtime.sessions() as s:
                claimed = s.scalar(select(func.count()).select_from(OutboxMessage).where(
                    OutboxMessage.state == "submitted")) or 0
            with self._lock:
                self.most_in_flight = max(self.most_in_flight, claimed)
        with self._lock:
            self.numbers.append(message.msisdn)
        return SubmitResult(Outcome.ACCEPTED, f"id-{message.outbox_id}")


def _guardians(runtime, n: int) -> None:  # type: ignore[no-untyped-def]
    with runtime.sessions() as s, s.begin():
        school = School(upstream_id="S", name="م", governorate="ج")
        s.add(school)
        s.flush()
        kids = [Person(upstream_id=f"K{i}", school_id=school.id, role="student",
                       display_name=f"مريم {i}", name_key=f"{i}") for i in range(n)]
        s.add_all(kids)
        s.flush()
        s.add_all(Contact(person_id=k.id, msisdn=f"+2010{i:08d}", kind="guardian")
                  for i, k in enumerate(kids))
        consent_all(s)


def test_a_redis_wipe_loses_no_report_day_chunk(runtime, worker, runner, client) -> None:  # type: ignore[no-untyped-def]
    _guardians(runtime, 10)
    out = runner.invoke(cli, ["digests", "report-day", "--from", "2026-09-20", "--to",
                              "2026-11-26", "--chunk-size", "2"])
    assert json.loads(out.output.strip().splitlines()[-1])["chunks"] == 5
    rt = worker.runtime
    SimpleWorker([Queue("digests", connection=rt.redis)], connection=rt.redis).work(
        burst=True, max_jobs=1)  # chunk 1 done; chunks 2-5 wait in Redis...
    rt.redis.flushall()  # ...and are lost
    assert client.get("/status.json").get_json()["report_day"]["chunks_done"] == 1
    requeued = runner.invoke(cli, ["digests", "requeue"])
    assert requeued.exit_code == 0, requeued.output
    assert len([j for j in json.loads(requeued.output) if "report-chunk" in j]) == 4
    worker()
    progress = client.get("/status.json").get_json()["report_day"]
    assert (progress["chunks_done"], progress["chunks_total"], progress["drafts"]) == (5, 5, 10)
    with runtime.sessions() as s:
        assert s.scalar(select(func.count(func.distinct(OutboxMessage.msisdn))).where(
            OutboxMessage.kind == MessageKind.REPORT_DAY.value)) == 10
    assert json.loads(runner.invoke(cli, ["digests", "requeue"]).output) == []  # nothing left


def _claim_all(runtime, at) -> None:  # type: ignore[no-untyped-def]
    """Claim every due message at `at`, as a sender that is then killed would."""
    with runtime.sessions() as s, s.begin():
        for operator, priority, n in outbox.due_groups(s, at):
            outbox.claim(s, operator, priority, n, at)


def test_in_doubt_messages_are_settled_by_class_after_the_grace(runtime, worker, client) -> None:  # type: ignore[no-untyped-def]
    """An alert in doubt past the DLR grace is sent again; a digest waits on /status until
    a delivery report settles it. The grace is measured on the injected clock."""
    rt = worker.runtime
    grace = timedelta(seconds=rt.config.sms_unknown_grace_seconds)
    killed_at = AFTER_CUTOFF - timedelta(hours=2)
    alert, digest = "+201001110001", "+201201110002"
    with runtime.sessions() as s, s.begin():
        outbox.enqueue(s, [Draft("absence_alert", DAY, alert, "ar", "حضور: غياب",
                                 Priority.URGENT),
                           Draft("daily_digest", DAY, digest, "ar", "حضور")], killed_at)
    _claim_all(runtime, killed_at)
    rt.clock = lambda: killed_at + grace - timedelta(seconds=1)  # within the grace
    _queue(rt, sms_jobs.requeue)
    worker()
    assert states(runtime) == {"submitted": 2}
    sms = client.get("/status.json").get_json()["sms"]
    assert (sms["in_doubt"], sms["dead_lettered_unknown"]) == (2, 0)
    rt.clock = lambda: killed_at + grace + timedelta(seconds=1)  # past it
    _queue(rt, sms_jobs.requeue)
    worker()  # the scheduled requeue settles both, then a send job sends the alert again
    with runtime.sessions() as s:
        rows = {r.msisdn: r for r in s.scalars(select(OutboxMessage))}
    assert (rows[alert].state, rows[alert].attempts) == ("sent", 2)
    assert (rows[digest].state, rows[digest].failure_reason) == (
        "dead_lettered", "outcome_unknown: sender lost it")
    status = client.get("/status.json").get_json()["sms"]
    assert (status["in_doubt"], status["dead_lettered_unknown"]) == (0, 1)
    assert "1 digests given up unsettled" in client.get("/status").get_data(as_text=True)
    # A delivery report for the number settles the digest after all: it was handed over.
    form = {"id": "ATXid_late", "status": "Success", "phoneNumber": digest, "networkCode": "60201"}
    answer = client.post("/at/delivery-reports?token=test-dlr-token", data=form)
    assert answer.get_json()["applied"] == "adopted"
    assert client.get("/status.json").get_json()["sms"]["dead_lettered_unknown"] == 0
    with runtime.sessions() as s:
        settled = s.get(OutboxMessage, rows[digest].id)
    assert settled is not None and settled.state == "delivered"


def test_a_sender_never_has_more_than_its_bound_in_flight(runtime) -> None:  # type: ignore[no-untyped-def]
    """What a SIGKILL can leave in doubt is bounded by HUDOOR_SMS_MAX_IN_FLIGHT."""
    runtime.config = runtime.config.with_overrides(quiet_start_hour=0, quiet_end_hour=0,
                                                   operator_caps="vodafone=5000,orange=5000,"
                                                                 "etisalat=5000,we=5000",
                                                   sms_urgent_share=0.0, sms_max_in_flight=20)
    runtime.clock = utcnow  # the sender paces on a moving clock
    with runtime.sessions() as s, s.begin():
        outbox.enqueue(s, drafts(120))
    provider = Recorder(runtime)
    from digests.services import build_sender

    sender = build_sender(runtime, provider, threads=4)
    try:
        sender.run(until_idle=True, stop_after=60)
    finally:
        sender.close()
    assert states(runtime) == {"sent": 120}
    assert 0 < provider.most_in_flight <= 20
    assert len({n[:5] for n in provider.numbers}) == 4

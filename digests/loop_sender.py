"""The sender on one asyncio event loop: every message leaves at its booked moment from
the loop, SQL (book and claim, record) runs on one worker thread the loop never waits on.

Rounds are what ``Sender`` plans and records (digests/sender.py): the same booking,
the same claim, the same one-transaction recording, the same give-back of a moment
that cannot leave in time and the same bound on what a SIGKILL leaves in doubt
(``MAX_OPEN_ROUNDS`` rounds of ``max_in_flight / MAX_OPEN_ROUNDS`` each). What changes
is the hand-over: one walk a round over its moments on the loop and keep-alive
connections (digests/providers/at_async.py, keepalive.py) instead of a dispatcher
thread, a 32-thread pool and the SDK's synchronous stack. A provider without an event-loop transport (the console,
tests' recorders, the SDK as shipped) is called on the thread pool as before.
Decision 33 (docs/decisions/0033-event-loop-sender.md).
"""

from __future__ import annotations

import asyncio
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any, Protocol

from digests import outbox
from digests.models import OutboxMessage
from digests.moments import RECHECK, Round, favour_latency
from digests.providers.base import ProviderError, Submission, SubmitResult
from digests.sender import LEAD, MAX_OPEN_ROUNDS, SendStats, Sender

log = logging.getLogger(__name__)


class LoopTransport(Protocol):
    """A provider that sends on the event loop (digests/providers/at_async.py)."""

    async def start(self) -> None: ...

    async def close(self) -> None: ...

    async def submit(self, message: Submission) -> SubmitResult: ...


class LoopSender(Sender):
    """``Sender``'s rounds, handed over from one event loop (see the module docstring)."""

    def __init__(self, *args: Any, transport: LoopTransport | None = None,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._transport = transport
        self._db = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sms-db")

    def close(self) -> None:
        self._db.shutdown(wait=True)
        super().close()

    def run_once(self) -> float:
        """Book, send and record one round; return seconds to wait (0: call again at once)."""
        return _run(self._once())

    def run(self, *, until_idle: bool = False, stop_after: float | None = None,
            grace: timedelta | None = None) -> SendStats:
        """Send rounds back to back; stop when nothing is due (until_idle) or after stop_after s."""
        favour_latency()
        _run(self._loop(until_idle, stop_after, grace))
        return self.stats

    async def _db_call(self, fn: Any, *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self._db, self._timed, fn, *args)

    def _timed(self, fn: Any, *args: Any) -> Any:
        """Run fn on the SQL thread, adding its thread CPU to stats.sql_cpu[fn's name]."""
        began = time.thread_time()
        try:
            return fn(*args)
        finally:
            name = fn.__name__.lstrip("_")
            self.stats.sql_cpu[name] = (self.stats.sql_cpu.get(name, 0.0)
                                        + time.thread_time() - began)

    async def _once(self) -> float:
        planned = await self._db_call(self._plan)
        if isinstance(planned, float):
            return planned
        await self._open()
        try:
            answers = await self._send_all(planned)
        finally:
            await self._shut()
        await self._db_call(self._record_answers, [r for _, r in planned.moments], answers)
        return 0.0

    async def _loop(self, until_idle: bool, stop_after: float | None,
                    grace: timedelta | None) -> None:
        started = time.monotonic()
        recovered_at = 0.0
        slots = asyncio.Semaphore(MAX_OPEN_ROUNDS)  # rounds claimed and not yet recorded
        rounds: set[asyncio.Task[None]] = set()
        tail = 0.0  # the latest booked moment
        await self._open()
        try:
            while stop_after is None or time.monotonic() - started < stop_after:
                if grace is not None and time.monotonic() - recovered_at > 2.0:
                    recovered_at = time.monotonic()
                    await self._db_call(self._recover, grace)
                # Book the next round while the booked moments still run `LEAD` seconds.
                if (delay := tail - LEAD - self.early() - time.monotonic()) > 0:
                    await asyncio.sleep(delay)
                await slots.acquire()
                try:
                    planned = await self._db_call(self._plan)
                except BaseException:
                    slots.release()
                    raise
                if isinstance(planned, Round):
                    tail = max(tail, planned.last)
                    task = asyncio.create_task(self._round(planned, slots))
                    rounds.add(task)
                    task.add_done_callback(rounds.discard)
                    continue
                slots.release()
                if planned >= 0.5 and until_idle:
                    await _drain(rounds)
                    if not await self._db_call(self._has_due):
                        break
                self.stats.idle_waits += 1
                await asyncio.sleep(min(planned, 0.5))
            await _drain(rounds)
        finally:
            await self._shut()

    def _recover(self, grace: timedelta) -> None:
        with self._sessions() as session, session.begin():
            outbox.recover_in_doubt(session, self._clock(), grace, self._policy)

    async def _round(self, planned: Round, slots: asyncio.Semaphore) -> None:
        try:
            answers = await self._send_all(planned)
            await self._db_call(self._record_answers, [r for _, r in planned.moments], answers)
        except Exception:  # a lost recording leaves rows in doubt for recovery
            log.exception("sms: recording a round of %d failed", len(planned.moments))
        finally:
            slots.release()

    async def _send_all(self, planned: Round) -> list[SubmitResult | ProviderError]:
        """Hand each message over at its moment; return the answers in the round's order.

        One walk over the round's moments (they are sorted): it sleeps until the next
        moment and starts every message due by then, so messages due together cost one
        timer, not one each; each message then waits for its answer on its own.
        """
        loop = asyncio.get_running_loop()
        sending: list[asyncio.Future[SubmitResult | ProviderError]] = []
        for moment, row in planned.moments:
            # The loop's clock is time.monotonic(), the clock moments are booked on. A
            # booked arrival leaves the path's delay before it; that delay is read again
            # while waiting (it moves).
            while (delay := (leave := moment - self.early()) - time.monotonic()) > 0.0005:
                await asyncio.sleep(min(delay, RECHECK))
            sending.append(loop.create_task(self._send_now(row, moment, leave)))
        return list(await asyncio.gather(*sending))

    async def _send_now(self, row: OutboxMessage, moment: float,
                        leave: float) -> SubmitResult | ProviderError:
        if self._transport is None:
            return await asyncio.get_running_loop().run_in_executor(
                self._pool, self._submit_at, row, moment, leave)
        missed = self._missed(row, moment, leave)
        if missed is not None:
            return missed
        try:
            answer = await self._transport.submit(Submission(row.id, row.msisdn, row.text))
        except ProviderError as exc:
            answer = exc  # type: ignore[assignment]
        self._answered(row, moment, answer)
        return answer

    async def _open(self) -> None:
        if self._transport is not None:
            await self._transport.start()

    async def _shut(self) -> None:
        if self._transport is not None:
            await self._transport.close()


async def _drain(rounds: set[asyncio.Task[None]]) -> None:
    """Return once every round handed over is sent and recorded."""
    while rounds:
        await asyncio.gather(*list(rounds))


def _run(coro: Any) -> Any:
    """Run `coro` on a loop of its own; on a thread of its own when this thread has one running.

    A caller that already runs an event loop (a browser driver, an async job runner) cannot
    nest asyncio.run; the sender's loop then runs beside it and the caller waits for it.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="sms-loop") as pool:
        return pool.submit(asyncio.run, coro).result()

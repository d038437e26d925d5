"""One watch over the path to the operators: its drift, its stalls, a sender's guard.

Every operator's messages travel the same path (one gateway endpoint), so a sender reads
the path from all of them at once, and what it learns holds for every operator. It sees a
message's round trip (answer read - request sent): the path's delay plus however long
the sender took to read the answer. On a busy machine the second part reached 100-300 ms
where the path's delay was 5-80 ms, so single answers say little; what the watch keeps:

* **The path's delay**: the least round trip of each ``bucket_us`` (50 ms, tens of
  messages; noise only ever adds), median of three buckets (one bucket read late is not
  the path). A bucket more than ``stall_us`` above the last second's delay is not the
  path either - a stall's messages or a sender away - unless that lasts a whole second.
* **The drift**: the largest fall of that delay within one second, kept 30 s (the path
  falls again); the guard books ``DRIFT_FACTOR`` times it (minima of buckets see a fall
  late and partly), and ``initial_us`` until ``warmup_us`` of the path is measured.
* **A stall under way**: the oldest request out, held beyond the last second's delay by
  more than ``stall_us``. Then ``stalled`` is true and the sender books nothing more: a
  stall releases what it held together, and every moment booked then would add to it.
* **The pause after it**: every answer held beyond the delay by more than the jitter
  allowance is a release (in any order); the longest hold is remembered for a second
  after it was read and added to the guard; moments are then spaced over ``1 s + drift + hold``, and
  the chain of moments in Redis (every sender's) keeps every such span - the burst's
  second and the one after it - within the cap.
* **The sender away**: a message picked up more than ``BLIND_US`` later than the least
  of the last 5 s means the sender itself did not run. Answers read within ``SETTLE_US``
  after it came back may have waited for it: they do not measure the path's delay, and a
  hold counts only where the time away does not explain it (then it counts whole: a
  stall may overlap an absence).
* **Give-back tolerance**: the sender's own jitter, what 90 % of the last 500 pick-ups
  stayed within beyond that least (10-100 ms); a message later than that is given back.
  It is the guard's first part (a message that late crowds the next ones' second by as
  much). The hold is left out: with the whole guard as tolerance, messages caught up
  after a stall left in clumps of 5-13.

**Booking arrivals** (``arrival=True``, the sender's default): a moment is when a message
is to reach the operator, and it leaves that moment less ``lead_us``, the path's delay as
the latest answers show it (the least round trip of each 20 ms, median of three, answers
held or read late beyond the jitter left out). The guard then covers what that estimate
misses, not the path's whole fall: per bucket, how late the earliest answer came after its
booked moment (median of three buckets); the largest fall of that within a second, kept
30 s, times ``SLIP_FACTOR``. A message answered later after its moment than the recent
least by more than the jitter (a stall's, in part or whole) is handed back by
``take_moved`` to be counted in the chain where it landed, and nothing is booked while the
rest of a burst is out; the hold is then no part of the guard.

Pure apart from a lock (threads read answers): every call takes its times (µs).
"""

from __future__ import annotations

import threading
from collections import deque

WINDOW_US = 1_000_000
BASELINE_US = 5 * WINDOW_US  # how far back the least pick-up lateness is taken
BUCKET_US = 50_000  # the least round trip of each 50 ms is the path's delay then
STALL_US = 30_000  # held this much beyond the path's recent delay: a stall
BLIND_US = 10_000  # picked up this much later than the least lateness: the sender was away
SETTLE_US = 20_000  # answers read this soon after the sender came back may have waited
DRIFT_FACTOR = 1.5  # the drift guard is this many times the largest fall measured
INITIAL_US = 50_000  # the drift guard before ``warmup_us`` of the path is measured
JITTER_SHARE = 0.9  # the give-back tolerance lets this share of recent pick-ups leave
JITTER_KEEP = 500  # pick-ups the tolerance is taken from
JITTER_EVERY = 50  # pick-ups between two readings of the tolerance
MAX_TOLERANCE_US = 100_000
SLIP_FACTOR = 1.25  # the arrival guard is this many times the miss's largest fall
FRESH_US = 20_000  # the delay a message leaves ahead of its arrival: least trip per 20 ms
BURST_SLOPE = 2  # buckets answered at most half as far apart as they were sent: a burst


def _push_max(queue: deque[tuple[int, int]], at_us: int, value: int) -> None:
    while queue and queue[-1][1] <= value:
        queue.pop()
    queue.append((at_us, value))


def _head(queue: deque[tuple[int, int]], since_us: int) -> int:
    while queue and queue[0][0] < since_us:
        queue.popleft()
    return queue[0][1] if queue else 0


class PathMargin:
    """Guard, stall and give-back tolerance for a sender, from every operator's answers."""

    def __init__(self, *, floor_us: int, ceiling_us: int = 500_000,
                 memory_us: int = 30 * WINDOW_US, stall_us: int = STALL_US,
                 bucket_us: int = BUCKET_US, initial_us: int = INITIAL_US,
                 warmup_us: int = 5 * WINDOW_US, arrival: bool = False) -> None:
        if not 0 <= floor_us <= ceiling_us < WINDOW_US:
            raise ValueError(f"need 0 <= floor {floor_us} <= ceiling {ceiling_us} < 1 s")
        if not 0 < bucket_us <= WINDOW_US or stall_us < 0:
            raise ValueError("need 0 < bucket <= 1 s and stall >= 0")
        self.floor_us, self.ceiling_us, self.memory_us = floor_us, ceiling_us, memory_us
        self.stall_us, self.bucket_us = stall_us, bucket_us
        self.initial_us, self.warmup_us = initial_us, warmup_us
        self._lock = threading.Lock()
        self._open: dict[tuple[str, int], int] = {}  # (operator, moment) -> sent at
        self._order: deque[tuple[int, str, int]] = deque()  # (sent at, operator, moment)
        # start, [(sent, read, moment, held by a stall)]
        self._bucket: tuple[int, list[tuple[int, int, int, bool]]] | None = None
        self._minima: deque[int] = deque(maxlen=3)  # the last buckets' least round trips
        self._first: int | None = None  # start of the first bucket measured
        self._accepted_at = 0  # start of the last bucket taken as the path
        self._least_answer: tuple[int, int] | None = None  # last bucket's least: sent, read
        self._delay: deque[tuple[int, int]] = deque()  # sliding max of the delay, 1 s
        self._falls: deque[tuple[int, int]] = deque()  # sliding max of falls, memory
        self._holds: deque[tuple[int, int]] = deque()  # sliding max of holds, 1 s
        self._least: dict[str, deque[tuple[int, int]]] = {}  # per operator: pick-up late
        self._blinds: deque[tuple[int, int]] = deque()  # the sender's absences: (from, until)
        self._jitter: deque[int] = deque(maxlen=JITTER_KEEP)  # pick-up late beyond the least
        self._started: int | None = None  # the first pick-up's moment
        self._picked = 0  # pick-ups seen
        self._tolerance_at, self._tolerance_us = -1, floor_us  # cached: (picked // 50, µs)
        # (sent, read, hold, operator, moment) to settle
        self._released: list[tuple[int, int, int, str, int]] = []
        self._moved: list[tuple[str, int, int]] = []  # held: (operator, moment, arrived)
        self._release_at = 0  # when the latest stall let go (µs, estimated)
        # Arrival scheduling (``arrival=True``): a message leaves at its booked arrival
        # less the path's delay (``lead_us``); what it then misses by is the estimate's error.
        self.arrival = arrival
        self._slip: deque[tuple[int, int]] = deque()  # sliding max of the miss, 1 s
        self._slip_falls: deque[tuple[int, int]] = deque()  # sliding max of its falls
        self._slip_minima: deque[int] = deque(maxlen=3)  # the last buckets' least misses
        self._fresh: deque[tuple[int, int]] = deque(maxlen=3)  # (window start, least trip)

    # -- what the sender reports --------------------------------------------------------

    def dispatched(self, key: str, moment_us: int, late_us: int,
                   leave_us: int | None = None) -> None:
        """Record that ``key``'s message booked for ``moment_us`` was picked up late_us late
        (after ``leave_us``, when it was to leave: its moment unless arrivals are booked)."""
        moment_us = moment_us if leave_us is None else leave_us
        with self._lock:
            least = self._least.setdefault(key, deque())
            while least and least[-1][1] >= late_us:
                least.pop()
            least.append((moment_us, late_us))
            while least[0][0] < moment_us - BASELINE_US:
                least.popleft()
            if self._started is None:
                self._started = moment_us
            self._jitter.append(late_us - least[0][1])
            self._picked += 1
            # The least of a sender's first seconds may be its start-up's slowness itself.
            known = least[0][1] if moment_us - self._started >= BASELINE_US else 0
            if late_us - known > BLIND_US:
                blinds, until = self._blinds, moment_us + late_us
                if blinds and moment_us <= blinds[-1][1]:  # the same absence, seen again
                    blinds[-1] = (blinds[-1][0], max(until, blinds[-1][1]))
                else:
                    blinds.append((moment_us, until))
                while self._blinds[0][1] < moment_us - 2 * WINDOW_US:
                    self._blinds.popleft()

    def sent(self, key: str, moment_us: int, at_us: int) -> None:
        """Record that the message booked for ``moment_us`` left at ``at_us``."""
        with self._lock:
            self._open[(key, moment_us)] = at_us
            self._order.append((at_us, key, moment_us))

    def failed(self, key: str, moment_us: int) -> None:
        """Forget a message that will get no answer (its request failed)."""
        with self._lock:
            self._open.pop((key, moment_us), None)

    def answered(self, key: str, moment_us: int, at_us: int) -> None:
        """Record that the message booked for ``moment_us`` was answered at ``at_us``."""
        with self._lock:
            sent = self._open.pop((key, moment_us), None)
            if sent is None:
                return
            over = at_us - sent - self._level(at_us)
            if self._delay and over > self._tolerance():
                # Held beyond the path's delay (by more than the guard's own part for
                # jitter) and answered at last: a stall's release, in any order. The longest
                # hold is the burst the next second makes room for.
                self._released.append((sent, at_us, over, key, moment_us))
            if self._delay and over > self.stall_us:  # a stall's: let go a delay before this
                self._release_at = max(self._release_at, at_us - self._level(at_us))
            if self.arrival:
                # Answered later after its booked arrival than the path's recent least by
                # more than the sender's jitter: held (a stall, in part or whole), or read
                # late. The chain is to count it at its answer's reading (never earlier than
                # it arrived: later is harmless to every booking still to come).
                least = self._slip[-1][1] if self._slip else 0  # the way back, alike for all
                if at_us - moment_us - least > self._tolerance():
                    self._moved.append((key, moment_us, at_us))
            bucket = self._bucket
            if bucket is not None and sent < bucket[0]:
                return  # a straggler of a bucket already closed: it could only be slower
            if bucket is not None and sent >= bucket[0] + self.bucket_us:
                self._close(*bucket)
                bucket = None
            if bucket is None:
                bucket = self._bucket = (sent - sent % self.bucket_us, [])
            bucket[1].append((sent, at_us, moment_us, over > self.stall_us))
            if self.arrival and self._delay and over <= self._tolerance():
                # Not held (nor read late) beyond the jitter: the path's delay now.
                self._fold_fresh(sent, at_us - sent)

    def _fold_fresh(self, sent: int, trip: int) -> None:
        """Fold an answer into the least round trip of its ``FRESH_US`` window (by send)."""
        fresh, start = self._fresh, sent - sent % FRESH_US
        if fresh and fresh[-1][0] == start:
            if trip < fresh[-1][1]:
                fresh[-1] = (start, trip)
        elif not fresh or start > fresh[-1][0]:
            fresh.append((start, trip))

    def _clean(self, sent: int, read: int) -> bool:
        """Whether the sender was there all the while a message was out (or its answer may
        have waited to be read: an absence is seen at the next pick-up, after the fact)."""
        return not any(start < read + SETTLE_US and until > sent
                       for start, until in self._blinds)

    def _close(self, start: int, samples: list[tuple[int, int, int, bool]]) -> None:
        """Fold one bucket's least round trip into the path's delay and its falls."""
        clean = [s for s in samples if self._clean(s[0], s[1])]
        if not clean:
            return
        sent, read, _, _ = min(clean, key=lambda c: c[1] - c[0])
        least = max(0, read - sent)
        if self._first is None:
            self._first = start
        level = self._level(start)
        if (self._delay and least > level + self.stall_us
                and start - self._accepted_at < WINDOW_US):
            return  # a stall's or an absent sender's bucket, not the path
        before, self._least_answer = self._least_answer, (sent, read)
        if before is not None and (read - before[1]) * BURST_SLOPE <= sent - before[0]:
            # Answered at most half as far apart as sent: a burst (a stall's release),
            # which the hold pays for; not the path's delay.
            return
        self._accepted_at = start
        self._minima.append(least)
        delay = sorted(self._minima)[len(self._minima) // 2]
        level = _head(self._delay, start - WINDOW_US + 1)
        if level > delay:
            _push_max(self._falls, start, level - delay)
        _push_max(self._delay, start, delay)
        if (start - self._first > WINDOW_US + 2 * self.bucket_us
                and not any(held for *_, held in samples)):
            # How late the bucket's earliest answer came after its booked moment: in
            # arrival scheduling, the delay estimate's miss (plus the way back, alike for
            # all). Its falls within a second crowd one. Left out: the first second (the
            # estimate jumps from nothing to the path's delay there) and a bucket a stall
            # held any of (the hold pays for that burst).
            self._slip_minima.append(min(read - moment for _, read, moment, _ in clean))
            slip = sorted(self._slip_minima)[len(self._slip_minima) // 2]
            high = _head(self._slip, start - WINDOW_US + 1)
            if high > slip:
                _push_max(self._slip_falls, start, high - slip)
            _push_max(self._slip, start, slip)

    def _level(self, now_us: int) -> int:
        """The path's highest delay of the last second (the latest one if none that recent)."""
        delay = self._delay
        while len(delay) > 1 and delay[0][0] <= now_us - WINDOW_US:
            delay.popleft()
        return delay[0][1] if delay else 0

    # -- what the sender asks -------------------------------------------------------------

    def baseline_us(self, key: str, now_us: int) -> int:
        """Return the least pick-up lateness of ``key``'s last 5 s: what every message pays."""
        with self._lock:
            least = self._least.get(key)
            while least and least[0][0] < now_us - BASELINE_US:
                least.popleft()
            return least[0][1] if least else 0

    def _settle(self, now_us: int) -> None:
        """Take the holds released ``SETTLE_US`` ago or more (an absence of the sender is
        known by then) as the path's, unless the sender's absence alone explains them. One
        it does not explain counts whole: a stall and an absence may overlap, and a hold
        missed is a burst unpaid for (measured: 33 and 72 rejections in a run)."""
        keep = []
        for release in self._released:
            sent, read, hold, key, moment = release
            if read > now_us - SETTLE_US:
                keep.append(release)
            elif hold - self._away(sent, read) > self._tolerance():
                _push_max(self._holds, read, hold)
        self._released = keep

    def _away(self, sent: int, read: int) -> int:
        """How long the sender was away while a message was out (and its answer read)."""
        return sum(max(0, min(until, read + SETTLE_US) - max(start, sent))
                   for start, until in self._blinds)

    def _held(self, now_us: int) -> int:
        """How long the oldest request out is held beyond the path's delay (0 if not a stall)."""
        self._settle(now_us)
        order, unanswered = self._order, self._open
        while order and ((order[0][1], order[0][2]) not in unanswered
                         or order[0][0] < now_us - 2 * WINDOW_US):
            _, key, moment = order.popleft()
            unanswered.pop((key, moment), None)  # unanswered 2 s: stops counting
        if not order:
            return 0
        # Time the sender was away counts as nothing held: answers wait to be read.
        if self._blinds and now_us - self._blinds[-1][1] < SETTLE_US:
            return 0  # the sender is just back: its answers may wait to be read
        held = now_us - order[0][0] - self._level(now_us)
        if held <= self.stall_us:
            return 0
        _push_max(self._holds, now_us, held)
        return held

    def stalled(self, now_us: int) -> bool:
        """Return whether the path holds requests now (book nothing more)."""
        with self._lock:
            if self._held(now_us) > 0:
                return True
            # Booking arrivals: the rest of a burst not read yet (sent before the release
            # and still out) is to be in the chain where it landed before more is booked.
            return self.arrival and bool(self._order) and self._order[0][0] < self._release_at

    def take_moved(self) -> list[tuple[str, int, int]]:
        """Return (and forget) the messages answered late after their booked arrival,
        booking arrivals: ``(operator, booked moment, answer read)``. The chain is to count
        each where it landed (at the answer's reading, never earlier than it arrived), so
        the arrivals booked next wait exactly as long as a stall's burst needs."""
        with self._lock:
            moved, self._moved = self._moved, []
            return moved

    def _drift(self, now_us: int) -> int:
        drift = int(DRIFT_FACTOR * _head(self._falls, now_us - self.memory_us))
        if self._first is None or now_us - self._first < self.warmup_us:
            drift = max(drift, self.initial_us)
        return drift

    def _miss(self, now_us: int) -> int:
        """The arrival guard's path part: the largest fall of the estimate's miss within a
        second, kept for the memory (``initial_us`` until the warm-up is over)."""
        miss = int(SLIP_FACTOR * _head(self._slip_falls, now_us - self.memory_us))
        if self._first is None or now_us - self._first < self.warmup_us:
            miss = max(miss, self.initial_us)
        return miss

    def guard_us(self, now_us: int) -> int:
        """Return the guard to book with: the drift (booking departures) or the delay
        estimate's miss (booking arrivals), plus a hold under way or just paid."""
        with self._lock:
            held = self._held(now_us)
            if self.arrival:  # a burst is paid for in the chain itself (``take_moved``)
                hold, path = held, self._miss(now_us)
            else:
                hold = max(held, _head(self._holds, now_us - WINDOW_US))
                path = self._drift(now_us)
            return min(self.ceiling_us, self._tolerance() + path + hold)

    def lead_us(self, now_us: int) -> int:
        """Return how long before its booked arrival a message leaves: the path's latest
        delay when booking arrivals (0 until measured), else 0 (moments are departures)."""
        with self._lock:
            if not self.arrival or not self._delay:
                return 0
            fresh = self._fresh
            if len(fresh) < 3 or fresh[-1][0] - fresh[0][0] > 4 * FRESH_US:
                return self._delay[-1][1]  # not three recent windows: the bucket level
            # The median of the last three 20 ms windows' least round trip: a step of the
            # path shows within two windows, and one window read late does not move it.
            return sorted(trip for _, trip in fresh)[1]

    def tolerance_us(self, now_us: int) -> int:
        """Return how much later than the baseline a message may still leave."""
        with self._lock:
            return self._tolerance()

    def _tolerance(self) -> int:
        """The sender's own jitter: what ``JITTER_SHARE`` of recent pick-ups stayed within
        beyond the least (never under the floor, never over 100 ms). It is part of the
        guard: a message that leaves that late crowds the next ones' second by as much."""
        if self._tolerance_at != self._picked // JITTER_EVERY:  # a sort every 50 pick-ups
            self._tolerance_at = self._picked // JITTER_EVERY
            jitter = sorted(self._jitter)
            seen = jitter[int(JITTER_SHARE * (len(jitter) - 1))] if jitter else 0
            self._tolerance_us = max(self.floor_us, min(MAX_TOLERANCE_US, seen))
        return self._tolerance_us

    def parts(self, now_us: int) -> tuple[int, int, int]:
        """Return ``(drift or miss, hold, level)`` as of now_us, µs (for logs and tests)."""
        with self._lock:
            self._held(now_us)
            path = self._miss(now_us) if self.arrival else self._drift(now_us)
            return (path, _head(self._holds, now_us - WINDOW_US),
                    self._level(now_us))

"""The adaptive concurrency controller against a simulated server, on a virtual clock (no threads).

Latency model of the simulated server: ``slots`` requests run at once, each taking ``service_s``
(its first token comes ``prefill_s`` after it starts); requests beyond the slots wait in a FIFO
queue. Variants: an *interrupting* server (llama-cpp-python's: a running stream is cut short as
soon as a second request waits; the cut one is wasted), and a *rate-limited* one (a request arriving
when ``reject_above`` are already in the system gets 429 with ``Retry-After``). The client abandons
a request whose first token has not come within ``first_token_timeout`` (a wasted generation when
the server had started it).
"""

from __future__ import annotations

import heapq
import itertools
from dataclasses import dataclass, field

import pytest

from judges.backends.concurrency import AdaptiveLimit, Sample, endpoint_snapshots, limit_for


@dataclass(eq=False)  # identity: two requests sent at the same moment are still two
class Request:
    submitted: float
    prompt_tokens: int = 500
    started: float | None = None
    abandoned: bool = False


@dataclass
class SimServer:
    slots: int
    service_s: float = 1.0
    prefill_s: float = 0.2
    interrupts: bool = False
    reject_above: int | None = None
    retry_after_s: float = 2.0
    first_token_timeout: float = 1e9
    now: float = 0.0
    queue: list[Request] = field(default_factory=list)
    running: list[Request] = field(default_factory=list)
    events: list = field(default_factory=list)
    wasted: int = 0
    answered: int = 0
    max_in_flight: int = 0
    _ids: itertools.count = field(default_factory=itertools.count)

    def submit(self, request: Request) -> None:
        in_system = len(self.queue) + len(self.running)
        if self.reject_above is not None and in_system >= self.reject_above:
            self._at(self.now, "reply", request, Sample("overload", retry_after_s=self.retry_after_s))
            return
        self.queue.append(request)
        self._at(request.submitted + self.first_token_timeout, "deadline", request, None)
        self.max_in_flight = max(self.max_in_flight, in_system + 1)
        if self.interrupts and self.running:
            # The running stream sees a waiter and stops: its answer is cut short.
            victim = self.running.pop()
            self.wasted += 1
            self._at(self.now, "reply", victim, Sample("interrupted", first_token_s=self.now - victim.submitted))
        self._start_waiting()

    def _start_waiting(self) -> None:
        while self.queue and len(self.running) < self.slots:
            request = self.queue.pop(0)
            if request.abandoned:
                continue  # the client gave up while it queued: skipped, nothing computed
            request.started = self.now
            self.running.append(request)
            self._at(self.now + self.service_s, "done", request, None)

    def _at(self, when: float, kind: str, request: Request, sample: Sample | None) -> None:
        heapq.heappush(self.events, (when, next(self._ids), kind, request, sample))

    def next_reply(self) -> tuple[Request, Sample] | None:
        """Advance the clock to the next answer the client gets, or None when nothing is pending."""
        while self.events:
            when, _, kind, request, sample = heapq.heappop(self.events)
            self.now = max(self.now, when)
            if kind == "reply":
                return request, sample
            if kind == "deadline":
                if request.started is None or request.started + self.prefill_s > self.now:
                    request.abandoned = True  # no first token yet: the client hangs up
                    return request, Sample("overload", first_token_s=self.now - request.submitted)
                continue
            if request not in self.running:
                continue  # interrupted earlier
            self.running.remove(request)
            self._start_waiting()
            if request.abandoned:
                self.wasted += 1  # computed to the end for a client that had hung up (no streaming)
                continue
            first = request.started + self.prefill_s - request.submitted
            self.answered += 1
            total = self.now - request.submitted
            return request, Sample("ok", first, total, request.prompt_tokens, 50)
        return None


def run(server: SimServer, limit: AdaptiveLimit, calls: int) -> dict:
    """A client with ``calls`` judge calls to make, sending whenever the limit allows; failed ones
    go back on its list. Returns throughput and the concurrency it used."""
    limit.clock = lambda: server.now
    remaining, limits = calls, []
    for _ in range(100 * calls):  # a livelocked client (every request timing out) stops here
        if server.answered >= calls:
            break
        while remaining and limit.try_acquire():
            remaining -= 1
            server.submit(Request(submitted=server.now))
        reply = server.next_reply()
        if reply is None:  # only a Retry-After pause is holding the client back
            server.now = limit.paused_until
            continue
        _, sample = reply
        limit.release(sample, timed_out=sample.outcome == "overload" and sample.retry_after_s is None)
        if sample.outcome != "ok":
            remaining += 1
        limits.append(limit.limit)
    return {"calls_per_s": server.answered / server.now, "limits": limits, "wasted": server.wasted}


def capacity(server: SimServer) -> float:
    return server.slots / server.service_s


def test_a_one_slot_server_gets_one_request_at_a_time_after_starting_from_four():
    server = SimServer(slots=1)
    result = run(server, AdaptiveLimit(start=4, ceiling=16), calls=200)
    settled = result["limits"][20:]
    assert settled.count(1) / len(settled) > 0.9  # a rare probe at 2, never a sawtooth
    assert result["calls_per_s"] >= 0.95 * capacity(server) and result["wasted"] == 0


def test_a_server_that_cuts_streams_short_is_probed_once_and_never_again():
    server = SimServer(slots=1, interrupts=True)
    result = run(server, AdaptiveLimit(start=1, ceiling=16), calls=200)
    assert result["wasted"] == 1 and max(result["limits"][5:]) == 1
    assert result["calls_per_s"] >= 0.95 * capacity(server)


@pytest.mark.parametrize("slots", [4, 12])
def test_a_many_slot_server_gets_at_least_nine_tenths_of_the_best_fixed_concurrency(slots):
    best = max(run(SimServer(slots=slots), AdaptiveLimit(start=n, ceiling=n, adaptive=False), 400)["calls_per_s"]
               for n in (1, 2, 4, 8, 16, 32))
    adaptive = run(SimServer(slots=slots), AdaptiveLimit(start=1, ceiling=32), calls=400)
    assert adaptive["calls_per_s"] >= 0.9 * best and adaptive["wasted"] == 0


def test_today_s_fixed_four_with_a_timeout_wastes_generations_on_one_slot_and_adaptive_does_not():
    # The figures: ~35 s per generation on one slot, 60 s timeout, four in flight.
    fixed = run(SimServer(slots=1, first_token_timeout=1.7), AdaptiveLimit(start=4, ceiling=4, adaptive=False), 50)
    adaptive = run(SimServer(slots=1, first_token_timeout=1.7), AdaptiveLimit(start=4, ceiling=16), 50)
    assert fixed["wasted"] > 0 and fixed["calls_per_s"] < 0.9 * adaptive["calls_per_s"]
    assert adaptive["wasted"] <= 1  # at most the very first round, started at four


def test_a_rate_limited_server_is_waited_for_and_the_limit_settles_below_its_cap():
    server = SimServer(slots=8, reject_above=3, retry_after_s=2.0)
    limit = AdaptiveLimit(start=8, ceiling=16)
    result = run(server, limit, calls=200)
    assert server.max_in_flight <= 3 and limit.counts["overload"] >= 1
    assert limit.paused_until > 0 and max(result["limits"][-50:]) <= 4
    assert result["calls_per_s"] >= 0.6 * 3 / server.service_s


def test_a_retry_after_pauses_every_request_to_the_endpoint():
    now = [0.0]
    limit = AdaptiveLimit(start=4, ceiling=4, clock=lambda: now[0])
    assert limit.try_acquire()
    limit.release(Sample("overload", retry_after_s=5.0))
    assert not limit.try_acquire()
    now[0] = 5.0
    assert limit.try_acquire()


def test_a_fixed_limit_does_not_move():
    server = SimServer(slots=1)
    result = run(server, AdaptiveLimit(start=3, ceiling=3, adaptive=False), calls=50)
    assert set(result["limits"]) == {3}


def test_one_controller_per_endpoint_is_shared_and_reports_its_throughput():
    made = limit_for("http://sim.invalid/v1/", "m", lambda: AdaptiveLimit(start=2))
    assert limit_for("http://sim.invalid/v1", "m", lambda: AdaptiveLimit(start=9)) is made
    made.acquire()
    made.release(Sample("ok", 0.1, 0.5, 100, 20))
    (snap,) = [s for s in endpoint_snapshots() if s["base_url"] == "http://sim.invalid/v1"]
    assert snap["concurrency"] >= 2 and snap["ok"] == 1 and snap["tokens_per_s"] > 0

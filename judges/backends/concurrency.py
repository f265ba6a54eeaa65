"""How many requests one judge endpoint gets at once: adaptive, per endpoint, shared by the threads
of one process. Pure: no HTTP here; the clock is injectable so a simulated server can drive it.

The limit is AIMD on two signals the client sees for every request:

- *overload*: HTTP 429/503, no first token within the queue allowance, or a stream the server cut
  short (llama-cpp-python's server interrupts a running stream whenever a second request waits).
  The limit halves at once, and a ``Retry-After`` pauses every request to the endpoint.
- *queueing*: the time to the first token per prompt token, against the best seen lately. A server
  with free capacity starts a request at once, so that ratio stays flat; a full one makes new
  requests wait for a slot and the ratio jumps. Each *round* (as many answers as the limit) whose
  median ratio stays within ``tolerance`` of the best grows the limit (doubling until the first
  sign of trouble, then by one); a round that queued shrinks it (by half in the doubling phase,
  else by one).

A level that failed is not tried again for a while (``hold`` rounds, doubling each time it fails
again), so a one-slot server sees a rare probe instead of a sawtooth. A server that cut a stream
short never gets more than the level below that again: it does not queue, it interrupts.

Across processes the limit is not shared: every worker process has its own controller per
endpoint, so with N processes on one endpoint a server that declares nothing sees up to N times the
limit. A server that declares its slots (llama.cpp's servers) has them shared by every process of
the host (``judges.backends.host_slots``), so a Celery worker's pool processes together never
exceed them; workers on other hosts still add their own.
"""

from __future__ import annotations

import statistics
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

Outcome = Literal["ok", "overload", "interrupted", "error"]

# Fixed cost of a request in "prompt tokens" (HTTP, scheduling, the first decode step), so that
# tiny prompts do not make the per-token ratio noisy.
OVERHEAD_TOKENS = 32
BASELINE_WINDOW = 64  # answers the best ratio is taken over; old bests age out when the load changes
FIRST_HOLD_ROUNDS = 4
MAX_HOLD_ROUNDS = 256
STATS_WINDOW_S = 120.0


@dataclass(frozen=True)
class Sample:
    """What one request did, as the client saw it."""

    outcome: Outcome
    first_token_s: float = 0.0
    total_s: float = 0.0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    retry_after_s: float | None = None


class AdaptiveLimit:
    """A concurrency limit for one endpoint; ``acquire``/``release`` around every request."""

    def __init__(
        self,
        *,
        start: int = 1,
        ceiling: int = 16,
        tolerance: float = 2.0,
        adaptive: bool = True,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.ceiling = max(1, ceiling)
        self.limit = min(max(1, start), self.ceiling)
        self.tolerance = tolerance
        self.adaptive = adaptive
        self.clock = clock
        self.in_flight = 0
        self.paused_until = 0.0
        self.slow_start = True
        self.rounds = 0
        self._round: list[float] = []
        self._ratios: deque[float] = deque(maxlen=BASELINE_WINDOW)
        self._hold: dict[int, int] = {}
        self._retry_at: dict[int, int] = {}
        self._never_above: int | None = None
        self._done: deque[tuple[float, int, float]] = deque()  # (finished at, completion tokens, seconds)
        self.counts = {"ok": 0, "overload": 0, "interrupted": 0, "error": 0, "timeouts": 0}
        self._cond = threading.Condition()

    # --- admission -------------------------------------------------------------------------------

    def try_acquire(self) -> bool:
        """Take a slot if one is free and the endpoint is not paused; never blocks."""
        with self._cond:
            return self._take()

    def acquire(self) -> None:
        """Wait for a free slot (and for any ``Retry-After`` pause to end), then take it."""
        with self._cond:
            while not self._take():
                pause = self.paused_until - self.clock()
                self._cond.wait(timeout=pause if pause > 0 else None)

    def _take(self) -> bool:
        if self.in_flight >= self.limit or self.clock() < self.paused_until:
            return False
        self.in_flight += 1
        return True

    def release(self, sample: Sample, *, timed_out: bool = False) -> None:
        with self._cond:
            self.in_flight -= 1
            self._record(sample, timed_out)
            if self.adaptive:
                self._adapt(sample)
            self._cond.notify_all()

    # --- the control law -------------------------------------------------------------------------

    def _adapt(self, sample: Sample) -> None:
        if sample.outcome in ("overload", "interrupted"):
            self._back_off(sample)
        elif sample.outcome == "ok":
            ratio = sample.first_token_s / (sample.prompt_tokens + OVERHEAD_TOKENS)
            self._ratios.append(ratio)
            self._round.append(ratio)
            if len(self._round) >= self.limit:
                self._end_round()

    def _back_off(self, sample: Sample) -> None:
        if sample.retry_after_s:
            self.paused_until = max(self.paused_until, self.clock() + sample.retry_after_s)
        failed = self.limit
        if sample.outcome == "interrupted" and failed > 1:
            self._never_above = failed - 1 if self._never_above is None else min(self._never_above, failed - 1)
        self._fail(failed, max(1, failed // 2))

    def _end_round(self) -> None:
        self.rounds += 1
        queued = statistics.median(self._round) > self.tolerance * min(self._ratios)
        self._round = []
        if queued:
            # In slow start the level before the last doubling was fine: go back to it.
            self._fail(self.limit, max(1, self.limit // 2 if self.slow_start else self.limit - 1))
            return
        self._hold.pop(self.limit, None)  # this level is sustained: forgive it
        target = self.limit * 2 if self.slow_start else self.limit + 1
        target = min(target, self.ceiling, self._never_above or self.ceiling)
        # Grow only to a level not on hold; a doubling that would jump over one stops below it.
        while target > self.limit and self.rounds < self._retry_at.get(target, 0):
            target -= 1
        self.limit = max(self.limit, target)

    def _fail(self, level: int, new_limit: int) -> None:
        self.slow_start = False
        self._round = []
        hold = min(MAX_HOLD_ROUNDS, self._hold.get(level, FIRST_HOLD_ROUNDS // 2) * 2)
        self._hold[level] = hold
        self._retry_at[level] = self.rounds + hold
        self.limit = min(self.limit, new_limit)

    # --- what an operator sees -------------------------------------------------------------------

    def _record(self, sample: Sample, timed_out: bool) -> None:
        self.counts[sample.outcome] += 1
        self.counts["timeouts"] += int(timed_out)
        now = self.clock()
        if sample.outcome == "ok":
            self._done.append((now, sample.completion_tokens, sample.total_s))
        while self._done and self._done[0][0] < now - STATS_WINDOW_S:
            self._done.popleft()

    def snapshot(self) -> dict:
        """Current limit and counters, and throughput over the last ``STATS_WINDOW_S`` seconds."""
        with self._cond:
            now = self.clock()
            recent = [d for d in self._done if d[0] >= now - STATS_WINDOW_S]
            span = (now - recent[0][0] + recent[0][2]) if recent else 0.0
            return {
                "concurrency": self.limit,
                "in_flight": self.in_flight,
                "calls_per_s": len(recent) / span if span > 0 else 0.0,
                "tokens_per_s": sum(d[1] for d in recent) / span if span > 0 else 0.0,
                "mean_latency_s": statistics.fmean(d[2] for d in recent) if recent else None,
                "paused_s": max(0.0, self.paused_until - now),
                **self.counts,
            }


# --- one controller per endpoint per process ----------------------------------------------------------

_LIMITS: dict[tuple[str, str], AdaptiveLimit] = {}
_LIMITS_LOCK = threading.Lock()


def limit_for(base_url: str, model: str, make: Callable[[], AdaptiveLimit]) -> AdaptiveLimit:
    """The process's controller for (base_url, model), made by ``make`` the first time: two judge
    configurations on the same server share it, since they share the server's slots."""
    key = (base_url.rstrip("/"), model)
    with _LIMITS_LOCK:
        if key not in _LIMITS:
            _LIMITS[key] = make()
        return _LIMITS[key]


def endpoint_snapshots() -> list[dict]:
    """Every endpoint this process has talked to, with its ``snapshot``."""
    with _LIMITS_LOCK:
        items = list(_LIMITS.items())
    return [{"base_url": url, "model": model, **limit.snapshot()} for (url, model), limit in items]

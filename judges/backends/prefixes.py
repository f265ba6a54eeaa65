"""Which prompts share a token prefix, and the prefix caches kept between calls (no torch here).

The two orders of one pair share the system text and the question; a judge that scores them
from one prefix KV cache does that part of the forward pass once.
"""

from __future__ import annotations

import itertools
import sys
import threading
from collections import OrderedDict, deque
from collections.abc import Sequence
from typing import Any


class PrefixStore:
    """Prefix KV caches kept across calls, for the text every judge prompt starts with.

    Within one call ``group_by_prefix`` finds what prompts share; across calls (a Celery worker
    judging one match per task) the boundary is learnt from recent prompts: the token prefix a
    new prompt shares with one seen shortly before (the protocol's instructions and worked
    examples, often the question too) is computed once and kept. Entries are small (~36 KB per
    token for Gemma 3 270M), and the least recently used is dropped beyond ``capacity``.
    """

    def __init__(self, capacity: int = 4, history: int = 8):
        self.capacity = capacity
        self.entries: OrderedDict[tuple[int, ...], Any] = OrderedDict()
        self.recent: deque[tuple[int, ...]] = deque(maxlen=history)
        self.lock = threading.Lock()

    def longest(self, tokens: Sequence[int]) -> tuple[int, Any]:
        """(length, cache) of the longest kept prefix of ``tokens``; (0, None) when none fits."""
        with self.lock:
            best = max(
                (key for key in self.entries if len(key) <= len(tokens) and tuple(tokens[: len(key)]) == key),
                key=len,
                default=None,
            )
            if best is None:
                return 0, None
            self.entries.move_to_end(best)
            return len(best), self.entries[best]

    def shared_with_recent(self, tokens: Sequence[int]) -> int:
        with self.lock:
            shared = max((common_prefix_len(tokens, seen) for seen in self.recent), default=0)
            self.recent.append(tuple(tokens))
            return shared

    def clear(self) -> None:
        with self.lock:
            self.entries.clear()
            self.recent.clear()

    def put(self, tokens: Sequence[int], cache: Any) -> None:
        with self.lock:
            self.entries[tuple(tokens)] = cache
            self.entries.move_to_end(tuple(tokens))
            while len(self.entries) > self.capacity:
                self.entries.popitem(last=False)


def group_by_prefix(
    sequences: list[list[int]], *, min_prefix: int = 1, max_group: int = 256
) -> list[tuple[list[int], int]]:
    """Split sequences into groups sharing a token prefix, as (member indices, prefix length).

    Sorting brings sequences with common prefixes next to each other; a group is then a run of
    neighbours, and a run of k members sharing L tokens saves (k-1)*L tokens of compute. The runs
    are chosen by dynamic programming to save the most, so with the four prompts of two pairs
    (system text S, questions Q1, Q2) each pair groups on S+Q rather than all four on S alone.
    A prefix stops one token short of its shortest member, whose last token must still go through
    the model to give the next-token logits. Members without a useful prefix come back alone
    with length 0.
    """
    n = len(sequences)
    order = sorted(range(n), key=lambda i: sequences[i])
    # links[k]: usable prefix shared by order[k-1] and order[k]
    links = [0] + [
        min(common_prefix_len(sequences[a], sequences[b]), len(sequences[a]) - 1, len(sequences[b]) - 1)
        for a, b in itertools.pairwise(order)
    ]
    best = [0] * (n + 1)  # best[k]: most tokens saved on order[:k]
    cut = list(range(-1, n))  # cut[k]: where the last group of that best split starts
    for end in range(1, n + 1):
        best[end], cut[end] = best[end - 1], end - 1
        shared = sys.maxsize
        for start in range(end - 2, max(-1, end - 1 - max_group), -1):
            shared = min(shared, links[start + 1])
            if shared < min_prefix:
                break
            saved = best[start] + (end - 1 - start) * shared
            if saved > best[end]:
                best[end], cut[end] = saved, start
    groups = []
    end = n
    while end > 0:
        start = cut[end]
        members = order[start:end]
        groups.append((members, min(links[start + 1 : end]) if len(members) > 1 else 0))
        end = start
    return groups[::-1]


def common_prefix_len(a: Sequence[int], b: Sequence[int]) -> int:
    n = min(len(a), len(b))
    for i in range(n):
        if a[i] != b[i]:
            return i
    return n

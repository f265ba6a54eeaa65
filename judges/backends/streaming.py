"""Reading an OpenAI-compatible completion as a server-sent event stream, timed out on silence.

Two limits instead of one total timeout, so that waiting in a busy server's queue is not punished:
``first_token_s`` is the queue allowance (queueing plus prompt processing until the first token),
``idle_s`` the longest silence between tokens after that. Leaving the ``with`` block closes the
connection, which is how a server learns that nobody waits for the rest: llama.cpp's servers check
for a closed connection after every token and stop generating.

Deadlines are checked at every line the server sends, SSE keep-alive comments included
(llama-cpp-python sends one every 15 s while a request waits for the model), and the socket read
timeout (``first_token_s``) is the backstop for a server that sends nothing at all.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx


class StreamFailure(Exception):
    """The stream ended without a whole answer. ``kind``: "first_token" or "idle" (a silence limit
    passed; the stream was closed), "interrupted" (the server ended it without a finish reason),
    or "malformed"."""

    def __init__(self, message: str, *, kind: str, first_token_s: float | None = None):
        super().__init__(message)
        self.kind = kind
        self.first_token_s = first_token_s


@dataclass
class Streamed:
    text: str = ""
    finish_reason: str | None = None
    first_token_s: float | None = None
    total_s: float = 0.0
    chunks: int = 0
    usage: dict[str, Any] = field(default_factory=dict)


def read_stream(
    response: httpx.Response,
    *,
    chat: bool,
    started: float,
    first_token_s: float,
    idle_s: float,
    clock: Callable[[], float] = time.monotonic,
) -> Streamed:
    """Collect the text of a streamed completion; raises ``StreamFailure`` on silence or a cut."""
    result = Streamed()
    last = started
    for line in response.iter_lines():
        now = clock()
        if not line.startswith("data:"):
            # Keep-alive comments and blank separators: nothing said, so a silence limit may have passed.
            check_silence(result, now - started, now - last, first_token_s=first_token_s, idle_s=idle_s)
            continue
        payload = line[5:].strip()
        if payload == "[DONE]":
            break
        chunk = parse_chunk(payload)
        last = now
        if result.first_token_s is None:
            result.first_token_s = now - started
        add_chunk(result, chunk, chat=chat)
    result.total_s = clock() - started
    if result.finish_reason is None:
        raise StreamFailure(
            f"the server ended the stream without a finish reason after {result.chunks} chunk(s)",
            kind="interrupted",
            first_token_s=result.first_token_s,
        )
    return result


def check_silence(result: Streamed, since_start: float, since_token: float, *, first_token_s: float,
                  idle_s: float) -> None:
    if result.first_token_s is None and since_start > first_token_s:
        raise StreamFailure(f"no first token within {first_token_s:g} s", kind="first_token")
    if result.first_token_s is not None and since_token > idle_s:
        raise StreamFailure(f"no token for {idle_s:g} s", kind="idle", first_token_s=result.first_token_s)


def parse_chunk(payload: str) -> Mapping[str, Any]:
    try:
        chunk = json.loads(payload)
    except ValueError as exc:
        raise StreamFailure(f"malformed stream chunk ({exc}): {payload[:200]}", kind="malformed") from exc
    if not isinstance(chunk, dict):
        raise StreamFailure(f"malformed stream chunk: {payload[:200]}", kind="malformed")
    return chunk


def add_chunk(result: Streamed, chunk: Mapping[str, Any], *, chat: bool) -> None:
    if chunk.get("usage"):
        result.usage = dict(chunk["usage"])
    choices = chunk.get("choices") or []
    if not choices:
        return
    choice = choices[0]
    try:
        piece = (choice.get("delta") or {}).get("content") if chat else choice.get("text")
    except AttributeError as exc:
        raise StreamFailure(f"malformed stream chunk: {str(chunk)[:200]}", kind="malformed") from exc
    if isinstance(piece, str) and piece:
        result.text += piece
        result.chunks += 1
    if choice.get("finish_reason"):
        result.finish_reason = str(choice["finish_reason"])

"""Small factories for the pure judge tests (no Django, no database)."""

from __future__ import annotations

from typing import Any

from judges.backends.fake import FakeBackend
from judges.base import Criterion, PairTask, Rubric
from judges.prompts import DEFAULT_RUBRIC
from judges.registry import build_judge

TWO_CRITERIA = Rubric(
    name="maths",
    version=2,
    criteria=(
        Criterion("correctness", "Is the final number right?", 3.0),
        Criterion("clarity", "Is the working easy to follow?", 1.0),
    ),
    instructions="Prefer exact answers.",
)


def make_task(
    a: str = "a short answer",
    b: str = "a much longer and more detailed answer",
    *,
    prompt: str | tuple[str, ...] = "What is two plus two?",
    reference: str | tuple[str, ...] | None = None,
    rubric: Rubric = DEFAULT_RUBRIC,
    key: str = "",
) -> PairTask:
    def turns(value: str | tuple[str, ...]) -> tuple[str, ...]:
        return (value,) if isinstance(value, str) else value

    return PairTask(
        prompt_turns=turns(prompt),
        output_a_turns=turns(a),
        output_b_turns=turns(b),
        rubric=rubric,
        reference_turns=turns(reference) if reference is not None else None,
        key=key,
    )


def fake_spec(protocol: str, **extra: Any) -> dict[str, Any]:
    params = extra.pop("params", {})
    return {"backend": "fake", "model": "fake", "protocol": protocol, "params": params, **extra}


def fake_judge(protocol: str, **extra: Any):
    """A judge on a FakeBackend, returned with the backend so tests can count its calls."""
    spec = fake_spec(protocol, **extra)
    backend = FakeBackend(params=spec["params"])
    return build_judge(spec, backend=backend), backend

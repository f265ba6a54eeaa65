"""Reading verdicts out of judge text, and the arithmetic of graded labels.

Parsing is forgiving about decoration (markdown bold, brackets, spaces, lowercase) and strict
about substance: the last well-formed verdict wins (judges often restate the options before
deciding), and text without one is a retryable ``JudgeError`` — never a silent tie.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

from judges.base import JudgeError, Winner
from judges.prompts import SCORE_RANGE, SEPARATOR

GRADED_LABELS = ("A>>B", "A>B", "A=B", "B>A", "B>>A")
LABEL_SCORES = {"A>>B": 2.0, "A>B": 1.0, "A=B": 0.0, "B>A": -1.0, "B>>A": -2.0}
_FLIPPED = {"A>>B": "B>>A", "A>B": "B>A", "A=B": "A=B", "B>A": "A>B", "B>>A": "A>>B"}

# "A>B", "a >> b", "B<A", "**A=B**", "[[B>>A]]": a letter, a comparison, the other letter, not glued
# to surrounding words (so "DATA>BASE" does not count).
_LABEL_RE = re.compile(r"(?<![A-Za-z0-9])([AB])\s*(>>|<<|>|<|==?)\s*([AB])(?![A-Za-z0-9])", re.IGNORECASE)
_SCORE_RE = re.compile(r"score[*_\s]*[:=][*_\s]*(\d+(?:\.\d+)?)", re.IGNORECASE)


def unparsable(what: str, text: str) -> JudgeError:
    snippet = text.strip()[-200:]
    return JudgeError(f"no {what} found in judge output: {snippet!r}", retryable=True)


def cut_at_separator(text: str) -> str:
    """A base model continuing a few-shot document writes its answer, then starts inventing the next
    example after the separator; only the part before it is the judge's answer."""
    return text.split(SEPARATOR, 1)[0]


def _normalise(left: str, op: str, right: str) -> str | None:
    left, right = left.upper(), right.upper()
    if op in ("<", "<<"):
        left, right, op = right, left, op.replace("<", ">")
    if left == right:
        return None
    if op.startswith("="):
        return "A=B"
    return f"{left}{op}{right}"


def find_labels(text: str) -> list[str]:
    labels = (_normalise(*match.groups()) for match in _LABEL_RE.finditer(text))
    return [label for label in labels if label is not None]


def parse_graded(text: str) -> str:
    """The last graded verdict (one of ``GRADED_LABELS``) in ``text``."""
    labels = find_labels(text)
    if not labels:
        raise unparsable("verdict (A>>B, A>B, A=B, B>A, B>>A)", text)
    return labels[-1]


_BRACKETED_RE = re.compile(r"\[\[([^\]\n]{1,20})\]\]")


def parse_verdict_first(text: str) -> str:
    """The verdict of an answer asked to start with it: the first ``[[label]]``, since the reasons
    that follow may quote other labels; without brackets, the last label anywhere."""
    for match in _BRACKETED_RE.finditer(text):
        labels = find_labels(match.group(1))
        if labels:
            return labels[0]
    return parse_graded(text)


def parse_criteria(text: str, names: Sequence[str]) -> dict[str, str]:
    """The last ``name: [[label]]`` line for every criterion; any criterion missing is an error."""
    found: dict[str, str] = {}
    for name in names:
        # "- **clarity** (weight 0.5): [[A>B]]": decoration and a copied weight are allowed.
        pattern = rf"^[\W_]*{re.escape(name)}[*_\s]*(?:\([^)\n]*\))?[*_\s]*[:=\-–]\s*(.*)$"
        line_re = re.compile(pattern, re.IGNORECASE | re.MULTILINE)
        for line in line_re.finditer(text):
            labels = find_labels(line.group(1))
            if labels:
                found[name] = labels[-1]
    missing = [name for name in names if name not in found]
    if missing:
        raise unparsable(f"verdict for criteria {missing}", text)
    return found


def parse_score(text: str, bounds: tuple[int, int] = SCORE_RANGE) -> float:
    """The last ``Score: N`` within ``bounds``; out of range counts as unparsable."""
    matches = _SCORE_RE.findall(text)
    if not matches:
        raise unparsable("score line", text)
    score = float(matches[-1])
    if not bounds[0] <= score <= bounds[1]:
        raise unparsable(f"score within {bounds}", text)
    return score


# --- label arithmetic -----------------------------------------------------------------------------


def label_winner(label: str) -> Winner:
    score = LABEL_SCORES[label]
    return "a" if score > 0 else "b" if score < 0 else "tie"


def flip_label(label: str | None) -> str | None:
    """The same judgment with the two slots swapped; labels outside the graded scale pass through."""
    return _FLIPPED.get(label, label) if label is not None else None


def label_from_score(score: float) -> str:
    """A weighted mean of label scores (-2..2) back onto the scale."""
    if score >= 1.5:
        return "A>>B"
    if score <= -1.5:
        return "B>>A"
    return "A>B" if score > 0 else "B>A" if score < 0 else "A=B"


def winner_from_prob(prob_a: float, tie_margin: float) -> Winner:
    if prob_a > 0.5 + tie_margin:
        return "a"
    if prob_a < 0.5 - tie_margin:
        return "b"
    return "tie"


def label_for_winner(winner: Winner) -> str:
    return {"a": "A>B", "b": "B>A", "tie": "A=B"}[winner]


def sigmoid(x: float) -> float:
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    z = math.exp(x)
    return z / (1.0 + z)


def logit(p: float, eps: float = 1e-6) -> float:
    p = min(max(p, eps), 1.0 - eps)
    return math.log(p / (1.0 - p))

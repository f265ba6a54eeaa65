"""Judge prompt templates, written for this project, for chat models and base models alike.

Every template has a version constant that goes into cache keys and spec fingerprints
(``PROMPT_VERSIONS``): change the wording, bump the version, and old cached scores stop matching.

Chat style renders ``Prompt(messages=...)`` (system + user message). Completion style renders one
plain-text document, ``Prompt(text=...)``, with a few worked examples separated by ``SEPARATOR``
and ends where the judge's answer starts, so a base model continues it.

Outputs longer than the token budget are cut, each one on its own, to the same budget, with a
visible marker; ``Rendered.truncated`` records that it happened.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from judges.base import ConfigurationError, Criterion, PairTask, Prompt, Rubric
from judges.checks import Check, checks_from_list

PAIRWISE_VERSION = 2  # 2: the generate mode asks for the verdict first, the reasons after
CRITERIA_VERSION = 1
POINTWISE_VERSION = 1
PROMPT_VERSIONS = {"pairwise": PAIRWISE_VERSION, "criteria": CRITERIA_VERSION, "pointwise": POINTWISE_VERSION}
# Not in PROMPT_VERSIONS, which every judge's fingerprint holds: the registry adds it for pair_criteria
# judges only, so no other judge's cache is thrown away.
PAIR_CRITERIA_VERSION = 1

Style = Literal["chat", "completion"]
Mode = Literal["generate", "logprob"]

SEPARATOR = "====="
TRUNCATION_MARKER = "[... cut here: this response continues beyond the judge's length limit ...]"
PAIR_LABELS = ("A", "B")
POINTWISE_LABELS = ("Yes", "No")
GRADED_SCALE = (
    "A>>B (A is much better), A>B (A is better), A=B (about equally good), B>A (B is better), B>>A (B is much better)"
)
SCORE_RANGE = (1, 10)

DEFAULT_RUBRIC = Rubric(
    name="general",
    version=1,
    criteria=(
        Criterion("helpfulness", "Does the response do what the user asked, completely and directly?"),
        Criterion("correctness", "Are its facts, reasoning, code and arithmetic right?"),
        Criterion("clarity", "Is it organised and easy to follow, without padding or repetition?", 0.5),
    ),
)

CountTokens = Callable[[str], int]


@dataclass(frozen=True)
class Rendered:
    prompt: Prompt
    truncated: bool = False


# --- rubrics ----------------------------------------------------------------------------------------


def rubric_from_dict(data: Mapping[str, Any] | None) -> Rubric:
    """The rubric stored on a judge configuration; ``None`` means ``DEFAULT_RUBRIC``."""
    if not data:
        return DEFAULT_RUBRIC
    try:
        criteria = tuple(
            Criterion(str(c["name"]), str(c.get("description", "")), float(c.get("weight", 1.0)))
            for c in data["criteria"]
        )
        rubric = Rubric(
            name=str(data.get("name", "custom")),
            version=int(data.get("version", 1)),
            criteria=criteria,
            instructions=str(data.get("instructions", "")),
        )
    except (KeyError, TypeError, ValueError, OverflowError) as exc:
        raise ConfigurationError(f"invalid rubric: {exc!r}") from exc
    if not criteria or any(c.weight < 0 for c in criteria) or sum(c.weight for c in criteria) <= 0:
        raise ConfigurationError("a rubric needs at least one criterion and a positive total weight")
    if any(not c.name.strip() for c in criteria):
        raise ConfigurationError("each rubric criterion needs a name")
    # Checks are validated with the rubric but kept off ``Rubric``: the judge never sees them, and
    # leaving them out keeps every cached verdict's key (which hashes the rubric) unchanged.
    rubric_checks(data)
    return rubric


def rubric_checks(data: Mapping[str, Any] | None) -> tuple[Check, ...]:
    """The verifiable checks (``judges.checks``) a stored rubric carries, validated."""
    if not data:
        return ()
    return checks_from_list(data.get("checks"), where="rubric checks")


def rubric_to_dict(rubric: Rubric) -> dict[str, Any]:
    return {
        "name": rubric.name,
        "version": rubric.version,
        "instructions": rubric.instructions,
        "criteria": [{"name": c.name, "description": c.description, "weight": c.weight} for c in rubric.criteria],
    }


# --- truncation -------------------------------------------------------------------------------------


def truncate_text(text: str, budget: int | None, count_tokens: CountTokens) -> tuple[str, bool]:
    """Longest prefix of ``text`` within ``budget`` tokens, plus the marker, when it does not fit.

    Backends expose only ``count_tokens``, so the cut point is found by binary search over
    characters (O(log n) counts), then moved back to a whitespace so no word is split.
    """
    if budget is None or count_tokens(text) <= budget:
        return text, False
    low, high = 0, len(text)
    while low < high:
        middle = (low + high + 1) // 2
        if count_tokens(text[:middle]) <= budget:
            low = middle
        else:
            high = middle - 1
    cut = text[:low]
    space = cut.rfind(" ", max(0, low - 40))
    if space > 0:
        cut = cut[:space]
    return f"{cut.rstrip()}\n{TRUNCATION_MARKER}", True


def truncate_turns(turns: Sequence[str], budget: int | None, count_tokens: CountTokens) -> tuple[tuple[str, ...], bool]:
    """Each turn cut to the same budget: applied to both outputs, the cut is symmetric."""
    results = [truncate_text(turn, budget, count_tokens) for turn in turns]
    return tuple(text for text, _ in results), any(cut for _, cut in results)


# --- blocks shared by all templates -------------------------------------------------------------------


def rubric_block(rubric: Rubric, focus: Criterion | None = None) -> str:
    if focus is not None:
        return f"Judge only this criterion, ignoring all others:\n- {focus.name}: {focus.description}"
    lines = [f'Rubric "{rubric.name}" (version {rubric.version}).']
    if rubric.instructions:
        lines.append(rubric.instructions)
    lines.append("Criteria, with their relative weights:")
    lines += [f"- {c.name} (weight {c.weight:g}): {c.description}" for c in rubric.criteria]
    return "\n".join(lines)


def reference_block(reference_turns: Sequence[str] | None) -> str:
    if not reference_turns:
        return ""
    if len(reference_turns) == 1:
        body = reference_turns[0]
    else:
        body = "\n\n".join(f"[Turn {i}]\n{turn}" for i, turn in enumerate(reference_turns, 1))
    return (
        "A reference answer follows. Use it to check facts and results; a good response need not "
        f"share its wording or structure.\n<reference>\n{body}\n</reference>"
    )


def exchange_block(prompt_turns: Sequence[str], outputs: dict[str, Sequence[str]]) -> str:
    """The question and each response in tags; a multi-turn conversation is replayed per response,
    because later user turns only make sense after that assistant's earlier answers."""
    if len(prompt_turns) == 1:
        parts = [f"<question>\n{prompt_turns[0]}\n</question>"]
        parts += [f"<{tag}>\n{turns[0]}\n</{tag}>" for tag, turns in outputs.items()]
        return "\n\n".join(parts)
    parts = []
    for tag, turns in outputs.items():
        lines = []
        for i, (user, assistant) in enumerate(zip(prompt_turns, turns, strict=True), 1):
            lines.append(f"[User, turn {i}]\n{user}\n\n[Assistant, turn {i}]\n{assistant}")
        parts.append(f"<{tag}>\n" + "\n\n".join(lines) + f"\n</{tag}>")
    return "\n\n".join(parts)


def _join(*blocks: str) -> str:
    return "\n\n".join(block for block in blocks if block)


def _chat(system: str, user: str) -> Prompt:
    return Prompt(messages=({"role": "system", "content": system}, {"role": "user", "content": user}))


def _document(header: str, examples: Sequence[str], case: str) -> Prompt:
    body = f"\n{SEPARATOR}\n".join([header, *examples, case])
    return Prompt(text=body)


def _check_turns(task: PairTask) -> None:
    n = len(task.prompt_turns)
    if n == 0 or len(task.output_a_turns) != n or len(task.output_b_turns) != n:
        raise ConfigurationError("a task needs as many assistant turns per output as user turns (at least one)")


# --- pairwise: one verdict for the pair (generate and logprob protocols) ------------------------------

PAIRWISE_SYSTEM = (
    "You compare two answers written by AI assistants for the same user and decide which one "
    "serves that user better. Weigh substance over style and length: extra text only counts when "
    "it helps. Which answer is shown first is random, so ignore position. A response that states "
    "wrong facts or ignores the request is worse than a short correct one."
)
# Verdict first: it is the only part the arena needs, and generating it first keeps every call short.
PAIRWISE_GENERATE_ASK = (
    "Start your answer with one line, exactly in this form:\n"
    "Verdict: [[X]]\nwhere X is one of " + GRADED_SCALE + ".\n"
    "Then give your reasons in at most two short sentences."
)
PAIRWISE_LOGPROB_ASK = "Which response is better? Reply with the single letter A or B and nothing else."

_PAIR_EXAMPLES = (
    (
        "What is the capital of Australia?",
        "Sydney is the capital of Australia.",
        "Australia's capital is Canberra.",
        "B names the right city and A names the wrong one.",
        "B>>A",
    ),
    (
        "Convert 3 kilometres to metres.",
        "3 km = 3,000 m (1 km is 1,000 m).",
        "3 kilometres is 300 metres.",
        "A is right and shows the factor; B is off by a factor of ten.",
        "A>>B",
    ),
    (
        "Suggest a name for a pet goldfish.",
        "Bubbles.",
        "How about Goldie?",
        "Both give one fitting name; neither is clearly better.",
        "A=B",
    ),
)


def _pair_example(mode: Mode, example: tuple[str, str, str, str, str]) -> str:
    question, a, b, reason, label = example
    shown = exchange_block((question,), {"response_a": (a,), "response_b": (b,)})
    if mode == "logprob":
        return f"{shown}\n\nBetter response: {label[0]}"
    return f"{shown}\n\nVerdict: [[{label}]]\nReasoning: {reason}"


def render_pairwise(
    task: PairTask,
    *,
    style: Style,
    mode: Mode,
    budget: int | None,
    count_tokens: CountTokens,
    focus: Criterion | None = None,
) -> Rendered:
    """The prompt asking for one verdict on ``task``; ``focus`` narrows it to one rubric criterion."""
    _check_turns(task)
    out_a, cut_a = truncate_turns(task.output_a_turns, budget, count_tokens)
    out_b, cut_b = truncate_turns(task.output_b_turns, budget, count_tokens)
    shown = exchange_block(task.prompt_turns, {"response_a": out_a, "response_b": out_b})
    rubric = rubric_block(task.rubric, focus)
    reference = reference_block(task.reference_turns)
    ask = PAIRWISE_LOGPROB_ASK if mode == "logprob" else PAIRWISE_GENERATE_ASK
    if style == "chat":
        prompt = _chat(PAIRWISE_SYSTEM, _join(rubric, reference, shown, ask))
    else:
        # Logprob examples need a decisive letter, so the tie example is left out there.
        examples = _PAIR_EXAMPLES[:2] if mode == "logprob" else _PAIR_EXAMPLES
        header = _join(PAIRWISE_SYSTEM, rubric, ask, "Worked examples come first, then the case to judge.")
        ending = "Better response:" if mode == "logprob" else "Verdict:"
        case = _join(reference, shown, ending)
        prompt = _document(header, [_pair_example(mode, e) for e in examples], case)
    return Rendered(prompt, cut_a or cut_b)


# --- per-criterion: one verdict line per rubric criterion in one generation ---------------------------

CRITERIA_ASK = (
    "Judge the two responses on each criterion separately. You may reason briefly first. Then write "
    "one line per criterion, exactly in this form:\n<criterion name>: [[X]]\nwhere X is one of "
    + GRADED_SCALE
    + ".\nCriteria to cover: {names}."
)
_CRITERIA_EXAMPLE_REASON = "A gets the number right and says it plainly; B is wrong but equally clear."


def render_criteria(task: PairTask, *, style: Style, budget: int | None, count_tokens: CountTokens) -> Rendered:
    _check_turns(task)
    out_a, cut_a = truncate_turns(task.output_a_turns, budget, count_tokens)
    out_b, cut_b = truncate_turns(task.output_b_turns, budget, count_tokens)
    shown = exchange_block(task.prompt_turns, {"response_a": out_a, "response_b": out_b})
    names = ", ".join(c.name for c in task.rubric.criteria)
    ask = CRITERIA_ASK.format(names=names)
    rubric = rubric_block(task.rubric)
    reference = reference_block(task.reference_turns)
    if style == "chat":
        prompt = _chat(PAIRWISE_SYSTEM, _join(rubric, reference, shown, ask))
    else:
        question, a, b, _, _ = _PAIR_EXAMPLES[1]
        example = _join(
            "Criteria to cover: correctness, clarity.",
            exchange_block((question,), {"response_a": (a,), "response_b": (b,)}),
            f"Reasoning: {_CRITERIA_EXAMPLE_REASON}\ncorrectness: [[A>>B]]\nclarity: [[A=B]]",
        )
        header = _join(PAIRWISE_SYSTEM, rubric, CRITERIA_ASK.format(names="the criteria listed with each case"))
        case = _join(f"Criteria to cover: {names}.", reference, shown, "Reasoning:")
        prompt = _document(header, [example], case)
    return Rendered(prompt, cut_a or cut_b)


# --- pair-specific criteria: the judge writes the criteria for this pair (judges.pair_criteria) ----------

PAIR_CRITERIA_ASK = (
    "Do not pick a winner yet. Write 3 to 8 criteria that a good answer to this question must meet, "
    "each specific to this question, one per line, exactly in this form:\n[type] criterion\n"
    "where type is one of: fatal (a flaw that alone makes an answer unacceptable, such as a wrong "
    "final answer), core (essential), important (matters), highlight (a welcome extra)."
)
PAIR_CRITERIA_EXAMPLE = (
    ("fatal", "States that 3 km is 3,000 m."),
    ("core", "Shows the conversion factor of 1,000."),
    ("highlight", "Keeps the answer to one line."),
)


def render_pair_criteria(task: PairTask, *, style: Style, budget: int | None, count_tokens: CountTokens) -> Rendered:
    """The prompt asking the judge to write the criteria for this pair (not to judge it)."""
    _check_turns(task)
    out_a, cut_a = truncate_turns(task.output_a_turns, budget, count_tokens)
    out_b, cut_b = truncate_turns(task.output_b_turns, budget, count_tokens)
    shown = exchange_block(task.prompt_turns, {"response_a": out_a, "response_b": out_b})
    reference = reference_block(task.reference_turns)
    if style == "chat":
        prompt = _chat(PAIRWISE_SYSTEM, _join(rubric_block(task.rubric), reference, shown, PAIR_CRITERIA_ASK))
    else:
        question, a, b, _, _ = _PAIR_EXAMPLES[1]
        example = _join(exchange_block((question,), {"response_a": (a,), "response_b": (b,)}),
                        "Criteria:\n" + "\n".join(f"[{kind}] {text}" for kind, text in PAIR_CRITERIA_EXAMPLE))
        header = _join(PAIRWISE_SYSTEM, PAIR_CRITERIA_ASK, "A worked example comes first, then the case.")
        prompt = _document(header, [example], _join(reference, shown, "Criteria:"))
    return Rendered(prompt, cut_a or cut_b)


# --- pointwise: one output judged on its own ------------------------------------------------------------

POINTWISE_SYSTEM = (
    "You grade one answer written by an AI assistant for a user, on its own merits. Weigh substance "
    "over style and length, and treat wrong facts or an ignored request as serious faults."
)
POINTWISE_LOGPROB_ASK = "Is this a good response under the rubric? Reply with Yes or No and nothing else."
POINTWISE_GENERATE_ASK = (
    "Give your reasons in a few sentences. Then finish with one line, exactly in this form:\n"
    "Score: N\nwhere N is a whole number from 1 (useless or wrong) to 10 (excellent)."
)
_POINTWISE_EXAMPLES = (
    ("What is the capital of Australia?", "Sydney is the capital of Australia.", "It names the wrong city.", "No", 2),
    (
        "Convert 3 kilometres to metres.",
        "3 km = 3,000 m (1 km is 1,000 m).",
        "Correct, and it shows the conversion factor.",
        "Yes",
        9,
    ),
)


def _pointwise_example(mode: Mode, example: tuple[str, str, str, str, int]) -> str:
    question, answer, reason, good, score = example
    shown = exchange_block((question,), {"response": (answer,)})
    if mode == "logprob":
        return f"{shown}\n\nGood response: {good}"
    return f"{shown}\n\nReasoning: {reason}\nScore: {score}"


def render_pointwise(
    prompt_turns: Sequence[str],
    output_turns: Sequence[str],
    *,
    rubric: Rubric,
    reference_turns: Sequence[str] | None,
    style: Style,
    mode: Mode,
    budget: int | None,
    count_tokens: CountTokens,
) -> Rendered:
    if not prompt_turns or len(output_turns) != len(prompt_turns):
        raise ConfigurationError("an output needs one assistant turn per user turn (at least one)")
    output, cut = truncate_turns(output_turns, budget, count_tokens)
    shown = exchange_block(prompt_turns, {"response": output})
    ask = POINTWISE_LOGPROB_ASK if mode == "logprob" else POINTWISE_GENERATE_ASK
    blocks = (rubric_block(rubric), reference_block(reference_turns))
    if style == "chat":
        prompt = _chat(POINTWISE_SYSTEM, _join(*blocks, shown, ask))
    else:
        header = _join(POINTWISE_SYSTEM, blocks[0], ask, "Worked examples come first, then the case to grade.")
        ending = "Good response:" if mode == "logprob" else "Reasoning:"
        case = _join(blocks[1], shown, ending)
        prompt = _document(header, [_pointwise_example(mode, e) for e in _POINTWISE_EXAMPLES], case)
    return Rendered(prompt, cut)

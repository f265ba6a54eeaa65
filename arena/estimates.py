"""What a tournament will cost before it runs, and which anchor to pick.

Judge calls come from the schedule (both orders, K brackets per prompt, one call per criterion for
per-criterion judges, one per output for pointwise ones) less the verdicts the judge's cache already
holds; tokens from the stored prompt and output lengths; dollars from the judge's price params;
seconds from the judge's measured speed (its recent judgments, else its latest ``judge_eval`` run).
``detectable_win_rate`` is the smallest edge the tournament will detect at 80% power (one-sided sign
test at 5%, ``ratings.power``): a model against the anchor (anchor schedule), any pair (round robin), or
neighbours in the final order (elimination and adaptive, whose matches are spread over about n - 1
adjacent pairs), from the matches per such pair and the judge's tie rate so far (or a stated default).
"""

from __future__ import annotations

import statistics
from dataclasses import asdict, dataclass

from django.conf import settings
from django.db.models import Sum

from judges.cache import task_key
from judges.protocols.listwise import listwise_settings
from judges.registry import JudgeOptions, spec_fingerprint

from . import judging, leaderboards, quality, ratings, scheduling, tournaments
from .ingest import CHARS_PER_TOKEN
from .models import Competitor, JudgeConfig, Judgment, Match, Output, Prompt, Tournament
from .ratings import power

# The judge's template around the prompt and outputs (instructions, rubric, labels), in tokens.
TEMPLATE_TOKENS = 150
PAIR_CRITERIA_GUESS = 5  # criteria a pair_criteria judge writes per match (it may write 3 to 8)
RECENT_JUDGMENTS = 50
TIE_RATE_JUDGMENTS = 500  # the judge's latest judgments that set the expected tie rate


@dataclass(frozen=True)
class Estimate:
    matches: int
    judge_calls: int
    tokens: int
    usd: float
    seconds: float | None
    cache_hits: int = 0
    seconds_basis: str = ""
    detectable_win_rate: float | None = None  # None: too few matches per pair to detect any edge
    tie_rate: float = power.DEFAULT_TIE_RATE
    power_basis: str = ""

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class AnchorSuggestion:
    competitor: Competitor
    reason: str


def estimate(*, tournament: Tournament) -> Estimate:
    """The whole tournament's cost, from its competitors, prompts, schedule and judge."""
    config = tournament.judge_config
    outputs = tournaments.outputs_by_prompt(tournament)
    exact = _exact_pairs(tournament, outputs)
    matches = len(exact) if exact is not None else _counted_matches(tournament, outputs)
    text, answer = _prompt_and_answer_tokens(outputs, config)
    template = _template_tokens(config)
    orders = 2 if config.both_orders else 1
    hits = _cache_hits(config, exact) if exact else 0
    if config.protocol == JudgeConfig.Protocol.LISTWISE:
        calls, prompt_tokens = _listwise_calls_and_tokens(tournament, outputs, matches, orders,
                                                          text + template, answer)
    elif config.protocol == JudgeConfig.Protocol.POINTWISE:
        # Each output is scored once and its score reused in all its matches (the score cache).
        calls = sum(len(by_competitor) for by_competitor in outputs.values()) if matches - hits // orders > 0 else 0
        prompt_tokens = round(calls * (text + answer + template))
    elif config.protocol == JudgeConfig.Protocol.PAIR_CRITERIA:
        # One generation (the criteria) and both orders of each criterion per match, whatever ``orders``;
        # how many criteria the judge writes is not known before: the middle of 3-8 is the guess.
        calls = max(0, matches - hits // orders) * (1 + 2 * PAIR_CRITERIA_GUESS)
        prompt_tokens = round(calls * (text + 2 * answer + template))
    else:
        per_order = len(config.rubric.criteria) if config.protocol == JudgeConfig.Protocol.PER_CRITERION else 1
        calls = max(0, matches * orders - hits) * per_order
        prompt_tokens = round(calls * (text + 2 * answer + template))
    completion_tokens = calls * _completion_tokens_per_call(config)
    seconds, basis = _seconds_per_call(config)
    detectable, tie_rate, power_basis = _detectable(tournament, matches, outputs)
    return Estimate(
        matches=matches, judge_calls=calls, tokens=prompt_tokens + completion_tokens,
        usd=round(_usd(config, prompt_tokens, completion_tokens), 6),
        seconds=round(seconds * calls, 1) if seconds is not None else None, cache_hits=hits, seconds_basis=basis,
        detectable_win_rate=detectable, tie_rate=tie_rate, power_basis=power_basis,
    )


def _detectable(tournament: Tournament, matches: int, outputs: dict) -> tuple[float | None, float, str]:
    """The smallest win rate detected at 80% power between the compared pairs, the tie rate it assumes, and
    what both rest on."""
    n = len({c for by_competitor in outputs.values() for c in by_competitor})
    if n < 2:
        return None, power.DEFAULT_TIE_RATE, "fewer than two models"
    round_robin = tournament.schedule == Tournament.Schedule.ROUND_ROBIN
    pairs = n * (n - 1) // 2 if round_robin else n - 1
    tie_rate, tie_basis = _tie_rate(tournament.judge_config)
    per_pair = matches / pairs
    compared = {Tournament.Schedule.ANCHOR: "each model against the anchor",
                Tournament.Schedule.ROUND_ROBIN: "each pair"}.get(tournament.schedule, "neighbours in the final order")
    detectable = power.detectable_win_rate(per_pair * (1.0 - tie_rate))
    basis = (f"{compared}: {per_pair:.0f} matches per pair, {tie_rate:.0%} ties ({tie_basis}); "
             "one-sided sign test, 5% level, 80% power")
    return (None if detectable is None else round(detectable, 4)), tie_rate, basis


def _tie_rate(config: JudgeConfig) -> tuple[float, str]:
    scores = list(Judgment.objects.filter(judge_config=config).order_by("-pk")
                  .values_list("score_a", flat=True)[:TIE_RATE_JUDGMENTS])
    if not scores:
        return power.DEFAULT_TIE_RATE, "no verdicts of this judge yet: a default"
    return sum(1 for s in scores if s == 0.5) / len(scores), f"its last {len(scores)} verdicts"


def _exact_pairs(tournament: Tournament, outputs: dict) -> list[tuple[int, int, int]] | None:
    """Every (prompt, a, b) the tournament will play, where the schedule fixes them in advance."""
    if tournament.schedule not in (Tournament.Schedule.ANCHOR, Tournament.Schedule.ROUND_ROBIN):
        return None
    return [(p, a, b) for p, pairs in tournaments.all_prompt_pairs(tournament).items() for a, b in pairs]


def _listwise_calls_and_tokens(tournament: Tournament, outputs: dict, matches: int, orders: int,
                               fixed: float, answer: float) -> tuple[int, int]:
    """A listwise judge makes one call per permutation of each group: in a groupwise tournament a
    group is up to ``group_size`` answers, elsewhere each match is a group of two (in each order)."""
    settings_ = listwise_settings(tournament.judge_config.options)
    if tournament.schedule != Tournament.Schedule.GROUPWISE:
        calls = matches * orders * _permutations(settings_, 2)
        return calls, round(calls * (fixed + 2 * answer))
    size = tournaments.group_size(tournament)
    calls = tokens = 0.0
    for index, by_competitor in enumerate(sorted(outputs.items())):
        for group in scheduling.groupwise_groups(list(by_competitor[1]), index, size):
            per_group = _permutations(settings_, len(group))
            calls += per_group
            tokens += per_group * (fixed + len(group) * answer)
    return int(calls), round(tokens)


def _permutations(settings_, k: int) -> int:
    # Cyclic shifts stop at k distinct orders; shuffles take as many as asked.
    return min(settings_.permutations, k) if settings_.permutation_kind == "cyclic" else settings_.permutations


def _counted_matches(tournament: Tournament, outputs: dict) -> int:
    sizes = [len(by_competitor) for by_competitor in outputs.values() if len(by_competitor) >= 2]
    if tournament.schedule == Tournament.Schedule.GROUPWISE:
        size = tournaments.group_size(tournament)
        return sum(len(g) * (len(g) - 1) // 2
                   for index, by_competitor in enumerate(sorted(outputs.items()))
                   for g in scheduling.groupwise_groups(list(by_competitor[1]), index, size))
    if tournament.schedule == Tournament.Schedule.BRACKET:
        return sum(scheduling.bracket_matches(n) for n in sizes) * tournaments.brackets_per_prompt(tournament)
    # Adaptive: a fixed number of rounds of the schedule's round size, at most every pair on every prompt.
    competitors = len({c for by_competitor in outputs.values() for c in by_competitor})
    per_round = scheduling.adaptive_round_matches(competitors, settings.ARENA_ADAPTIVE_ROUND_MATCHES)
    return min(settings.ARENA_ADAPTIVE_ROUNDS * per_round, sum(n * (n - 1) // 2 for n in sizes))


def _prompt_and_answer_tokens(outputs: dict, config: JudgeConfig) -> tuple[float, float]:
    """Mean tokens of a prompt (with its reference) and of one answer as the judge sees it (cut to
    the judge's ``max_output_tokens``)."""
    if not outputs:
        return 0.0, 0.0
    prompts = {p.pk: p for p in Prompt.objects.filter(pk__in=list(outputs)).only("turns", "reference")}
    rows = {o.pk: o for o in Output.objects.filter(pk__in=[o for by_c in outputs.values() for o in by_c.values()])
            .only("token_count", "char_count")}
    texts = [_prompt_tokens(prompts[p]) for p in outputs]
    answers = [_answer_tokens(rows[o], config) for by_c in outputs.values() for o in by_c.values()]
    return statistics.fmean(texts), statistics.fmean(answers)


def _prompt_tokens(prompt: Prompt) -> float:
    chars = sum(len(t) for t in prompt.turns) + sum(len(t) for t in (prompt.reference or []))
    return chars / CHARS_PER_TOKEN


def _answer_tokens(output: Output, config: JudgeConfig) -> float:
    """An uploaded token count where there is one, else the character rule of thumb; cut to the
    judge's ``max_output_tokens`` as the judge cuts it."""
    cap = config.options.get("max_output_tokens", JudgeOptions.max_output_tokens) or float("inf")
    return min(cap, output.token_count or output.char_count / CHARS_PER_TOKEN)


def _template_tokens(config: JudgeConfig) -> float:
    """Tokens the judge's template adds to each call (instructions, rubric, worked examples): what its
    recent judgments were billed beyond the text they judged, else a first guess."""
    recent = list(Judgment.objects.filter(judge_config=config, judge_calls__gt=0).order_by("-pk")
                  .select_related("match__prompt", "match__output_a", "match__output_b")[:RECENT_JUDGMENTS])
    if not recent:
        return TEMPLATE_TOKENS
    pointwise = config.protocol == JudgeConfig.Protocol.POINTWISE
    billed = content = calls = 0.0
    for judgment in recent:
        match = judgment.match
        answers = [_answer_tokens(o, config) for o in (match.output_a, match.output_b)]
        per_call = _prompt_tokens(match.prompt) + (sum(answers) / 2 if pointwise else sum(answers))
        billed += judgment.prompt_tokens
        content += judgment.judge_calls * per_call
        calls += judgment.judge_calls
    return max(0.0, (billed - content) / calls)


def _completion_tokens_per_call(config: JudgeConfig) -> int:
    measured = Judgment.objects.filter(judge_config=config, judge_calls__gt=0).aggregate(
        tokens=Sum("completion_tokens"), calls=Sum("judge_calls"))
    if measured["calls"]:
        return round(measured["tokens"] / measured["calls"])
    if config.protocol in (JudgeConfig.Protocol.LOGPROB, JudgeConfig.Protocol.PER_CRITERION):
        return 1
    # A generated verdict with its rationale: half the generation limit is a fair first guess.
    return int(config.options.get("max_new_tokens", 512)) // 2


def _usd(config: JudgeConfig, prompt_tokens: int, completion_tokens: int) -> float:
    per_input = float(config.params.get("price_per_million_input") or 0)
    per_output = float(config.params.get("price_per_million_output") or 0)
    return (prompt_tokens * per_input + completion_tokens * per_output) / 1e6


def _cache_hits(config: JudgeConfig, pairs: list[tuple[int, int, int]]) -> int:
    """Orders of these matches the judge's verdict cache already holds (they cost nothing)."""
    matches = _unsaved_matches(pairs)
    tasks = [judging.pair_task(m, config) for m in matches]
    keys = [task_key(t) for t in tasks]
    if config.both_orders:
        keys += [task_key(t.swapped()) for t in tasks]
    store = judging.DbCacheStore(spec_fingerprint(config.spec()))
    stored = store.get_many(keys)
    return sum(1 for key in keys if key in stored)


def _unsaved_matches(pairs: list[tuple[int, int, int]]) -> list[Match]:
    prompt_ids = {p for p, _, _ in pairs}
    prompts = {p.pk: p for p in Prompt.objects.filter(pk__in=prompt_ids)}
    outputs = {(o.prompt_id, o.competitor_id): o for o in Output.objects.filter(prompt_id__in=prompt_ids)}
    return [Match(prompt=prompts[p], output_a=outputs[(p, a)], output_b=outputs[(p, b)]) for p, a, b in pairs]


def _seconds_per_call(config: JudgeConfig) -> tuple[float | None, str]:
    recent = Judgment.objects.filter(judge_config=config, judge_calls__gt=0).order_by("-pk")
    per_call = [latency / calls for latency, calls in recent.values_list("latency_s", "judge_calls")[:RECENT_JUDGMENTS]]
    if per_call:
        # The median, since a worker's first call also loads the model.
        return statistics.median(per_call), f"median latency per call of its last {len(per_call)} judgments"
    evaluation = config.evaluations.first()
    if evaluation and evaluation.metrics.get("n") and evaluation.metrics.get("seconds"):
        # judge_eval judges every labelled pair in both orders.
        return evaluation.metrics["seconds"] / (2 * evaluation.metrics["n"]), "its latest judge_eval run"
    return None, "no measurement yet: run judge_eval or a small tournament"


# --- anchor ----------------------------------------------------------------------------------------

def suggest_anchor(*, competitors: list[Competitor]) -> AnchorSuggestion | None:
    """The most informative anchor of a finished anchor screen of these models, when there is one; else
    the model nearest the median of the current leaderboard: a mediocre anchor separates the others best
    ("Mediocrity is the key for LLM-as-a-judge anchor selection")."""
    if not competitors:
        return None
    median = _median_anchor(competitors)
    screens = quality.screened_anchors(competitors=competitors)
    if not screens:
        return median
    best = screens[0]
    by_name = {c.name: c for c in competitors}
    reason = (f"{best['anchor']} was the most informative anchor of the screen ({best['tournament']}): the models "
              f"got different verdicts against it in {best['informativeness']:.0%} of {best['cases']} "
              "(prompt, pair of models) cases")
    others = ", ".join(f"{s['anchor']} {s['informativeness']:.0%}" for s in screens[1:])
    reason += f" (then {others})" if others else ""
    reason += f". By median rating it would be {median.competitor.name}." if median else "."
    return AnchorSuggestion(competitor=by_name[best["anchor"]], reason=reason)


def _median_anchor(competitors: list[Competitor]) -> AnchorSuggestion | None:
    try:
        board = leaderboards.get_leaderboard(leaderboards.LeaderboardQuery())
    except (leaderboards.LeaderboardError, ratings.RatingError):
        board = {"models": []}
    by_name = {c.name: c for c in competitors}
    rated = {row["model"]: row["rating"] for row in board["models"] if row["model"] in by_name}
    if len(rated) < 2:
        return None
    median = statistics.median(rated.values())
    name = min(sorted(rated), key=lambda n: abs(rated[n] - median))
    return AnchorSuggestion(
        competitor=by_name[name],
        reason=f"{name} (rating {rated[name]:.0f}) is nearest the median rating ({median:.0f}) of the current "
               "leaderboard: a mid-strength anchor separates the others best (Mediocrity is the key for "
               "LLM-as-a-judge anchor selection).",
    )

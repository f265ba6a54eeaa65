"""Which tournament schedule reaches a trustworthy ranking with the fewest judge calls?

Run: PYTHONPATH=. .venv/bin/python benchmarks/schedules.py [--sizes 8 16 64] [--seeds 5] [--prompts 100]

A simulated judge over known strengths (no database, no model): model i has a true strength in
logits, each (model, prompt) a small interaction, the model shown first gets a position bonus, and
a share of verdicts are ties. Every match is judged in both orders (2 calls), as the arena does;
the groupwise schedules instead judge overlapping groups of k answers per prompt with a simulated
listwise judge (``World.listwise``: one Plackett-Luce ranking per call from the same utilities and
position bonus, with Gumbel noise, so each pair's order in one call is exactly as noisy as one
pairwise call; two cyclic shifts averaged), one call per permutation for the whole group. No ties.
Pairs come from the arena's own pairing rules (``arena.scheduling``) and ratings from its own
Bradley-Terry fit (``arena.ratings``). For each schedule and size it prints the judge calls needed
after which Kendall tau with the true ranking stays >= 0.9 (at that check and the next three, one
check every N calls; median over seeds; ">cap" when it never did within 200 calls per model) and
the mean 95% interval width at a fixed budget (25 calls per model), with the ratio to
single elimination (random seeding) run in the same process. Beside it, the calls after which each
stop rule of adaptive tournaments is first met (``ratings.quality.target_met`` on the 95% intervals
of ``scheduling.adaptive_estimates``, as ``tournaments`` checks it after each round): the top 3
separated from the rest, every pair of neighbours separated, separability >= 0.8; and Kendall tau
with the true ranking at that moment (does stopping there give a trustworthy ranking?).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

# Run as a script, this file's folder comes first on sys.path and benchmarks/judges.py would
# shadow the judges package.
if sys.path and Path(sys.path[0]).resolve() == Path(__file__).resolve().parent:
    sys.path.pop(0)

import numpy as np
from scipy.stats import kendalltau, norm

from arena import scheduling
from arena.ratings import Cells, RatingError, compute_leaderboard
from arena.ratings.quality import Placement, target_met
from judges import listwise as listwise_core

TARGET_TAU = 0.9
POSITION_BIAS = 0.3  # logits in favour of the output shown first
TIE_SHARE = 0.15
PROMPT_NOISE = 0.5  # sd of a model's per-prompt deviation from its strength, in logits
SPREAD = 3.0  # true strengths are evenly spaced over [-SPREAD, SPREAD] logits
BUDGET_CALLS_PER_MODEL = 25
CAP_CALLS_PER_MODEL = 200
LISTWISE_PERMUTATIONS = 2
SUSTAIN = 3  # the target counts as reached when tau also holds at the next 3 checks (tau is noisy)
PRIOR = "__prior__"  # one tie of every model against a virtual average model keeps every rating finite
STOP_RULES = {"top-3": ("top_k", 3), "neighbours": ("neighbours", None), "sep>=0.8": ("separability", 0.8)}


@dataclass
class World:
    strength: np.ndarray  # (models,)
    prompt_effect: np.ndarray  # (models, prompts)
    rng: np.random.Generator

    @property
    def models(self) -> int:
        return len(self.strength)

    def call(self, first: int, second: int, prompt: int) -> float:
        """One judge call with ``first`` shown first: 1 if it wins, 0 if it loses, 0.5 for a tie."""
        if self.rng.random() < TIE_SHARE:
            return 0.5
        d = (self.strength[first] + self.prompt_effect[first, prompt] - self.strength[second]
             - self.prompt_effect[second, prompt] + POSITION_BIAS)
        return float(self.rng.random() < 1.0 / (1.0 + np.exp(-d)))

    def match(self, a: int, b: int, prompt: int) -> float:
        """Both orders, combined in a's favour as the arena stores it."""
        return (self.call(a, b, prompt) + 1.0 - self.call(b, a, prompt)) / 2.0

    def listwise(self, group: list[int], prompt: int, permutations: int) -> dict[tuple[int, int], float]:
        """A simulated listwise judge, as noisy per comparison as ``call``: each call ranks the shown
        answers by utility = strength + prompt effect + POSITION_BIAS for the first shown + Gumbel
        noise (a Plackett-Luce sample; the difference of two Gumbels is logistic, so any one pair's
        order in a call has exactly the pairwise judge's win probability). A pair's evidence is the
        share of the cyclic shifts that ranked i above j."""
        k = len(group)
        wins: dict[tuple[int, int], float] = {}
        orders = listwise_core.permutations(k, min(permutations, k))
        for order in orders:
            shown = np.array([group[c] for c in order])
            utility = self.strength[shown] + self.prompt_effect[shown, prompt] + self.rng.gumbel(0.0, 1.0, k)
            utility[0] += POSITION_BIAS
            rank = {int(model): r for r, model in enumerate(shown[np.argsort(-utility)])}
            for i in range(k):
                for j in range(i + 1, k):
                    a, b = group[i], group[j]
                    wins[(a, b)] = wins.get((a, b), 0.0) + (rank[a] < rank[b]) / len(orders)
        return wins


def make_world(models: int, prompts: int, seed: int) -> World:
    rng = np.random.default_rng(seed)
    strength = rng.permutation(np.linspace(-SPREAD, SPREAD, models))
    return World(strength, rng.normal(0.0, PROMPT_NOISE, (models, prompts)), rng)


class Record:
    """Battles so far, and ratings fitted from them."""

    def __init__(self, models: int):
        self.models = models
        self.a: list[int] = []
        self.b: list[int] = []
        self.score: list[float] = []
        self.counts: dict[tuple[int, int], int] = {}
        self.paid = 0

    def add(self, a: int, b: int, score: float, *, calls: int = 2) -> None:
        """One battle; ``calls``: judge calls it cost (2: both orders; a listwise group's calls are
        charged to its first pair)."""
        self.paid += calls
        self.a.append(a)
        self.b.append(b)
        self.score.append(score)
        key = (min(a, b), max(a, b))
        self.counts[key] = self.counts.get(key, 0) + 1

    @property
    def calls(self) -> int:
        return self.paid

    def cells(self) -> Cells:
        names = [str(i) for i in range(self.models)] + [PRIOR]
        prior = self.models
        a = self.a + list(range(self.models))
        b = self.b + [prior] * self.models
        return Cells.from_battles(a, b, self.score + [0.5] * self.models, models=names)

    def ratings(self, ci: str = "none") -> tuple[np.ndarray, float]:
        """Ratings by model index, and the mean 95% interval width (nan without intervals)."""
        try:
            board = compute_leaderboard(self.cells(), ci=ci)
        except RatingError:
            return np.zeros(self.models), float("nan")
        rating = np.zeros(self.models)
        widths = []
        for row in board.rows:
            if row.model != PRIOR:
                rating[int(row.model)] = row.rating
                widths.append(row.ci_high - row.ci_low)
        return rating, float(np.mean(widths)) if ci != "none" else float("nan")


# --- schedules: each yields batches of (a, b, prompt) to judge, seeing the record as it grows ---------

Schedule = Callable[[World, Record, int, np.random.Generator], Iterator[list[tuple[int, int, int]]]]


def round_robin(world: World, record: Record, prompts: int, rng: np.random.Generator):
    while True:
        for prompt in range(prompts):
            pairs = scheduling.round_robin_pairs(range(world.models))
            yield [(a, b, prompt) for a, b in pairs]


def anchor(world: World, record: Record, prompts: int, rng: np.random.Generator):
    # The suggestion rule: the model nearest the median (of the true strengths here, standing in for
    # a current leaderboard).
    middle = int(np.argmin(np.abs(world.strength - np.median(world.strength))))
    while True:
        for prompt in range(prompts):
            yield [(a, b, prompt) for a, b in scheduling.anchor_pairs(range(world.models), middle)]


def _bracket(world: World, record: Record, prompt: int, first: tuple[list, list]) -> Iterator[list]:
    pairs, byes = first
    while pairs:
        yield [(a, b, prompt) for a, b in pairs]
        last = record.score[-len(pairs):]
        survivors = [b if score < 0.5 else a for (a, b), score in zip(pairs, last, strict=True)] + byes
        pairs, byes = scheduling.bracket_next_round(survivors)


def single_elimination(world: World, record: Record, prompts: int, rng: np.random.Generator):
    while True:
        for prompt in range(prompts):
            yield from _bracket(world, record, prompt, scheduling.bracket_first_round(range(world.models), rng))


def single_elimination_rated(world: World, record: Record, prompts: int, rng: np.random.Generator):
    """Seeded by the ratings fitted so far (strong against weak first); the first bracket at random."""
    while True:
        for prompt in range(prompts):
            if record.score:
                rating, _ = record.ratings()
                first = scheduling.bracket_seeded_first_round([int(i) for i in np.argsort(-rating)])
            else:
                first = scheduling.bracket_first_round(range(world.models), rng)
            yield from _bracket(world, record, prompt, first)


def adaptive(world: World, record: Record, prompts: int, rng: np.random.Generator):
    """The arena's adaptive rounds, through the same calls as ``tournaments._adaptive_pairs``: the fit
    of ``scheduling.adaptive_estimates`` over the battles so far (no benchmark prior), the round size
    of ``scheduling.adaptive_round_matches`` (the default setting), a prompt the pair has not played."""
    played: set[tuple[int, int, int]] = set()
    names = [str(i) for i in range(world.models)]
    while True:
        cells = Cells.from_battles(record.a, record.b, record.score, models=names) if record.score else None
        rating, error = scheduling.adaptive_estimates(cells) if cells is not None else ({}, {})
        chosen = scheduling.adaptive_pairs(
            list(range(world.models)), {int(k): v for k, v in rating.items()}, record.counts,
            budget=scheduling.adaptive_round_matches(world.models), rng=rng,
            uncertainty={int(k): v for k, v in error.items()})
        batch = []
        for a, b in chosen:
            fresh = [p for p in range(prompts) if (a, b, p) not in played]
            prompt = int(rng.choice(fresh)) if fresh else int(rng.integers(prompts))
            played.add((a, b, prompt))
            batch.append((a, b, prompt))
        yield batch


@dataclass(frozen=True)
class Group:
    """A listwise call's group on one prompt: every pair inside gets evidence."""

    members: list[int]
    prompt: int


def groupwise(size: int) -> Schedule:
    def schedule(world: World, record: Record, prompts: int, rng: np.random.Generator):
        while True:
            for prompt in range(prompts):
                yield [Group(g, prompt) for g in scheduling.groupwise_groups(range(world.models), prompt, size)]
    return schedule


SCHEDULES: dict[str, Schedule] = {
    "single_elimination": single_elimination,
    "single_elimination (rating seeds)": single_elimination_rated,
    "round_robin": round_robin,
    "anchor (median)": anchor,
    "adaptive": adaptive,
    f"groupwise k=4 (listwise, {LISTWISE_PERMUTATIONS} perm.)": groupwise(4),
    f"groupwise k=8 (listwise, {LISTWISE_PERMUTATIONS} perm.)": groupwise(8),
}


def run(schedule: Schedule, models: int, prompts: int, seed: int) -> tuple[float, float, dict]:
    """Judge calls after which tau stays >= the target (at that check and the next SUSTAIN ones; inf
    if not within the cap), the mean interval width at the fixed budget, and for each stop rule the
    calls and tau when it was first met (inf, nan when never within the cap)."""
    world = make_world(models, prompts, seed)
    record = Record(models)
    rng = np.random.default_rng(seed + 1)
    budget, cap = BUDGET_CALLS_PER_MODEL * models, CAP_CALLS_PER_MODEL * models
    step = max(4, models)  # check the ranking every `models` calls
    width, next_check, streak_start, streak = float("nan"), step, 0, 0
    stops: dict[str, tuple[float, float]] = {}
    for batch in schedule(world, record, prompts, rng):
        for item in batch:
            _play(world, record, item)
            if np.isnan(width) and record.calls >= budget:
                width = record.ratings(ci="sandwich")[1]
            if record.calls >= next_check and (streak <= SUSTAIN or len(stops) < len(STOP_RULES)):
                next_check += step
                tau = kendalltau(record.ratings()[0], world.strength).statistic
                if tau >= TARGET_TAU:
                    streak_start, streak = (streak_start or record.calls), streak + 1
                else:
                    streak_start, streak = 0, 0
                _check_stops(record, stops, tau)
        if record.calls >= cap or (streak > SUSTAIN and record.calls >= budget and len(stops) == len(STOP_RULES)):
            break
    found = {name: stops.get(name, (float("inf"), float("nan"))) for name in STOP_RULES}
    return (streak_start if streak > SUSTAIN else float("inf")), width, found


def _check_stops(record: Record, stops: dict[str, tuple[float, float]], tau: float) -> None:
    """Note the calls and tau at which each stop rule is first met, on the intervals the arena checks."""
    if len(stops) == len(STOP_RULES):
        return
    names = [str(i) for i in range(record.models)]
    rating, error = scheduling.adaptive_estimates(Cells.from_battles(record.a, record.b, record.score,
                                                                     models=names))
    if not rating:
        return
    z = float(norm.ppf(0.975))
    board = [Placement(m, rating[m] - z * error[m], rating[m] + z * error[m])
             for m in sorted(rating, key=lambda m: -rating[m])]
    for name, (rule, value) in STOP_RULES.items():
        if name not in stops and target_met(board, rule, value):
            stops[name] = (record.calls, tau)


def _play(world: World, record: Record, item) -> None:
    if isinstance(item, Group):
        calls = min(LISTWISE_PERMUTATIONS, len(item.members))
        for n, ((a, b), score) in enumerate(world.listwise(item.members, item.prompt, LISTWISE_PERMUTATIONS).items()):
            record.add(a, b, score, calls=calls if n == 0 else 0)
    else:
        a, b, prompt = item
        record.add(a, b, world.match(a, b, prompt))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[8, 16, 64])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--prompts", type=int, default=100)
    args = parser.parse_args()
    started = time.monotonic()
    stop_titles = "".join(f" {name + ' (tau)':>18}" for name in STOP_RULES)
    header = (f"{'models':>6}  {'schedule':<34} {'calls to tau>=0.9':>18} {'vs single elim.':>15} {'CI width':>9}"
              + stop_titles)
    lines = [header, "-" * len(header)]
    for models in args.sizes:
        results = {}
        for name, schedule in SCHEDULES.items():
            runs = [run(schedule, models, args.prompts, seed) for seed in range(args.seeds)]
            stops = {rule: (statistics.median(r[2][rule][0] for r in runs),
                            float(np.nanmedian([r[2][rule][1] for r in runs]))
                            if any(np.isfinite(r[2][rule][1]) for r in runs) else float("nan"))
                     for rule in STOP_RULES}
            results[name] = (statistics.median(r[0] for r in runs), float(np.nanmean([r[1] for r in runs])), stops)
        baseline = results["single_elimination"][0]
        cap = f">{CAP_CALLS_PER_MODEL * models}"
        for name, (calls, width, stops) in results.items():
            shown = f"{calls:.0f}" if np.isfinite(calls) else cap
            ratio = f"{calls / baseline:.2f}" if np.isfinite(calls) and np.isfinite(baseline) else "-"
            targets = "".join(f" {(f'{c:.0f} ({t:.2f})' if np.isfinite(c) else cap):>18}" for c, t in stops.values())
            lines.append(f"{models:>6}  {name:<34} {shown:>18} {ratio:>15} {width:>9.0f}{targets}")
    lines.append(f"(median over {args.seeds} seeds, {args.prompts} prompts; CI width: mean 95% sandwich interval "
                 f"in rating points at {BUDGET_CALLS_PER_MODEL} calls per model; stop rules: calls when first met "
                 f"(median Kendall tau then); {time.monotonic() - started:.0f} s)")
    print("\n".join(lines))  # a benchmark's output is its table


if __name__ == "__main__":
    main()

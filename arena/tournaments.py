"""Tournaments: create them, lay out their matches, and advance them as judgments land.

Domain functions here create matches and return; the entry point that called them enqueues the
pending ones (``tasks.enqueue_pending``), so this module never imports the task layer.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable, Sequence

import numpy as np
from django.conf import settings
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from scipy.stats import norm

from judges.protocols.listwise import DEFAULT_GROUP_SIZE

from . import leaderboards, ratings, scheduling
from .models import Competitor, Match, Output, Prompt, Tournament
from .ratings.quality import Placement, target_met


class TournamentError(ValueError):
    pass


def schedule_round(*, tournament: Tournament) -> int:
    """Create the tournament's first matches; returns how many were made. Only ``lifecycle.start``
    calls it, which also changes the state; the caller enqueues them (``tasks.enqueue_pending``)."""
    with transaction.atomic():
        if tournament.schedule == Tournament.Schedule.BRACKET:
            if tournament.plan.get("seeding") == "rating" and "seed_order" not in tournament.plan:
                tournament.plan["seed_order"] = _rating_order(tournament)
                Tournament.objects.filter(pk=tournament.pk).update(plan=tournament.plan)
            created = [m for bracket in range(1, brackets_per_prompt(tournament) + 1)
                       for m in _create_matches(tournament, _bracket_openers(tournament, bracket), round_number=1,
                                                bracket=bracket)]
        elif tournament.schedule == Tournament.Schedule.ADAPTIVE:
            created = _create_matches(tournament, _adaptive_pairs(tournament, 1), round_number=1)
        elif tournament.schedule == Tournament.Schedule.GROUPWISE:
            created = [m for group, pairs in groupwise_pairs(tournament).items()
                       for m in _create_matches(tournament, pairs, round_number=1, bracket=group)]
        else:
            created = _create_matches(tournament, all_prompt_pairs(tournament), round_number=1)
        if not created and not tournament.matches.exists():
            # Never a "running 0/0": say why nothing can be played instead.
            raise TournamentError(f"tournament {tournament.name!r} makes no match: every pair needs outputs of "
                                  "both models on one of its prompts (is the anchor among the models with outputs?)")
    return len(created)


def after_judgments(*, match_ids: Iterable[int]) -> list[int]:
    """The one step after matches are judged (or fail for good): open the next bracket or adaptive
    rounds, finish tournaments with nothing left, mark leaderboards stale. Returns the new matches'
    ids for the caller to enqueue."""
    matches = list(Match.objects.filter(pk__in=list(match_ids)).select_related("tournament"))
    by_tournament = {m.tournament_id: m.tournament for m in matches}
    made: list[int] = []
    for tournament in by_tournament.values():
        judged = [m.prompt_id for m in matches if m.tournament_id == tournament.pk and m.status == Match.Status.DONE]
        made += advance(tournament=tournament, prompt_ids=judged)
        stop_if_over_budget(tournament=tournament)
    if any(m.status == Match.Status.DONE for m in matches):
        leaderboards.mark_stale()
    return made


def advance(*, tournament: Tournament, prompt_ids: Iterable[int]) -> list[int]:
    """Open the next round where the schedule has rounds; returns the new matches' ids."""
    if tournament.schedule == Tournament.Schedule.BRACKET:
        made = _advance_brackets(tournament, prompt_ids)
    elif tournament.schedule == Tournament.Schedule.ADAPTIVE:
        made = _advance_adaptive(tournament)
    else:
        made = []
    finish_if_done(tournament=tournament)
    return made


def _advance_brackets(tournament: Tournament, prompt_ids: Iterable[int]) -> list[int]:
    made = []
    with transaction.atomic():
        for prompt_id in set(prompt_ids):
            for bracket in range(1, brackets_per_prompt(tournament) + 1):
                pairs, round_number = _next_bracket_round(tournament, prompt_id, bracket)
                if pairs:
                    made += _create_matches(tournament, {prompt_id: pairs}, round_number=round_number,
                                            bracket=bracket)
    return [m.pk for m in made]


def stop_if_over_budget(*, tournament: Tournament) -> bool:
    """A running tournament whose spending reached a cap stops claiming (status budget_exhausted);
    raising the budget and resuming carries on where it stopped."""
    if not tournament.budget:
        return False
    if not tournament.over_budget(tournament.spent()):
        return False
    return bool(Tournament.objects.filter(pk=tournament.pk, status=Tournament.Status.RUNNING)
                .update(status=Tournament.Status.BUDGET_EXHAUSTED))


def finish_if_done(*, tournament: Tournament) -> bool:
    open_matches = tournament.matches.filter(status__in=[Match.Status.PENDING, Match.Status.RUNNING])
    if open_matches.exists():
        return False
    return bool(Tournament.objects.filter(pk=tournament.pk, status=Tournament.Status.RUNNING)
                .update(status=Tournament.Status.FINISHED, finished_at=timezone.now()))


# --- which outputs exist ---------------------------------------------------------------------------

def outputs_by_prompt(tournament: Tournament) -> dict[int, dict[int, int]]:
    """prompt id -> {competitor id: output id}, for the tournament's prompts and competitors."""
    prompts = Prompt.objects.all()
    if tournament.dataset_id:
        prompts = prompts.filter(dataset_id=tournament.dataset_id)
    if tournament.category:
        prompts = prompts.filter(category=tournament.category)
    if tournament.plan.get("prompt_ids"):
        prompts = prompts.filter(external_id__in=tournament.plan["prompt_ids"])
    # The anchor plays whether or not it was also ticked as a competitor.
    players = set(tournament.competitors.values_list("pk", flat=True)) | ({tournament.anchor_id} - {None})
    rows = Output.objects.filter(prompt__in=prompts, competitor__in=players).values_list(
        "prompt_id", "competitor_id", "id")
    table: dict[int, dict[int, int]] = defaultdict(dict)
    for prompt_id, competitor_id, output_id in rows:
        table[prompt_id][competitor_id] = output_id
    return table


def all_prompt_pairs(tournament: Tournament) -> dict[int, list[scheduling.Pair]]:
    pairs = {}
    for prompt_id, outputs in outputs_by_prompt(tournament).items():
        present = sorted(outputs)
        if tournament.schedule == Tournament.Schedule.ANCHOR:
            pairs[prompt_id] = scheduling.anchor_pairs(present, tournament.anchor_id) \
                if tournament.anchor_id in outputs else []
        else:
            pairs[prompt_id] = scheduling.round_robin_pairs(present)
    return pairs


def group_size(tournament: Tournament) -> int:
    """Answers per listwise call in a groupwise tournament: the judge's ``group_size`` option."""
    return int(tournament.judge_config.options.get("group_size", DEFAULT_GROUP_SIZE))


def groupwise_pairs(tournament: Tournament) -> dict[int, dict[int, list[scheduling.Pair]]]:
    """group number (the match's ``bracket``) -> prompt id -> every pair inside that group."""
    by_group: dict[int, dict[int, list[scheduling.Pair]]] = defaultdict(dict)
    for index, (prompt_id, outputs) in enumerate(sorted(outputs_by_prompt(tournament).items())):
        for number, group in enumerate(scheduling.groupwise_groups(list(outputs), index, group_size(tournament)), 1):
            by_group[number][prompt_id] = scheduling.round_robin_pairs(group)
    return by_group


def _create_matches(tournament: Tournament, pairs_by_prompt: dict[int, list], *, round_number: int,
                    bracket: int = 1) -> list[Match]:
    outputs = outputs_by_prompt(tournament)
    matches = [
        Match(tournament=tournament, prompt_id=prompt_id, round=round_number, bracket=bracket,
              competitor_a_id=a, competitor_b_id=b,
              output_a_id=outputs[prompt_id][a], output_b_id=outputs[prompt_id][b])
        for prompt_id, pairs in pairs_by_prompt.items()
        for a, b in pairs
    ]
    # ignore_conflicts makes re-scheduling safe. Reading back the round's pending matches (rather than
    # trusting bulk_create's ids, which not every database returns with ignore_conflicts) may also pick
    # up matches enqueued before; judging claims each match once, so a second enqueue is harmless.
    Match.objects.bulk_create(matches, ignore_conflicts=True)
    if not matches:
        return []
    return list(tournament.matches.filter(round=round_number, bracket=bracket, status=Match.Status.PENDING,
                                          prompt_id__in=list(pairs_by_prompt)))


# --- brackets --------------------------------------------------------------------------------------

def brackets_per_prompt(tournament: Tournament) -> int:
    return int(tournament.plan.get("brackets_per_prompt") or 1)


def _bracket_rng(tournament: Tournament, prompt_id: int, bracket: int = 1) -> np.random.Generator:
    # Seeded by tournament, prompt and bracket so that the seeding can be recomputed instead of stored.
    extra = "".join(f":{part}" for part in (bracket if bracket > 1 else None, tournament.plan.get("seed"))
                    if part is not None)
    digest = hashlib.sha256(f"{tournament.pk}:{prompt_id}{extra}".encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "big"))


def _first_round(tournament: Tournament, prompt_id: int, present: list[int],
                 bracket: int) -> tuple[list[scheduling.Pair], list[int]]:
    """Bracket 1 of a rating-seeded tournament puts strong against weak (ArenaRL); every other
    bracket is seeded at random, so that K brackets per prompt are K different draws."""
    if tournament.plan.get("seeding") == "rating" and bracket == 1:
        order = tournament.plan.get("seed_order", [])
        ranked = [c for c in order if c in present] + [c for c in present if c not in order]
        return scheduling.bracket_seeded_first_round(ranked)
    return scheduling.bracket_first_round(present, _bracket_rng(tournament, prompt_id, bracket))


def _rating_order(tournament: Tournament) -> list[int]:
    """The tournament's competitors, strongest first on the current leaderboard; unrated ones last."""
    try:
        board = leaderboards.get_leaderboard(leaderboards.LeaderboardQuery())
    except (leaderboards.LeaderboardError, ratings.RatingError):
        board = {"models": []}
    ids = dict(tournament.competitors.values_list("name", "pk"))
    rated = [ids[row["model"]] for row in sorted(board["models"], key=lambda r: -r["rating"]) if row["model"] in ids]
    return rated + sorted(set(ids.values()) - set(rated))


def _bracket_openers(tournament: Tournament, bracket: int = 1) -> dict[int, list[scheduling.Pair]]:
    return {
        prompt_id: _first_round(tournament, prompt_id, sorted(outputs), bracket)[0]
        for prompt_id, outputs in outputs_by_prompt(tournament).items()
        if len(outputs) >= 2
    }


def _next_bracket_round(tournament: Tournament, prompt_id: int,
                        bracket: int = 1) -> tuple[list[scheduling.Pair], int]:
    """Replay the bracket from its seeding to find the next round's pairs, or none if not ready."""
    outputs = outputs_by_prompt(tournament).get(prompt_id, {})
    pairs, byes = _first_round(tournament, prompt_id, sorted(outputs), bracket)
    matches = {(m.round, m.competitor_a_id, m.competitor_b_id): m
               for m in tournament.matches.filter(prompt_id=prompt_id, bracket=bracket).select_related("judgment")}
    round_number = 1
    while pairs:
        played = [matches.get((round_number, a, b)) for a, b in pairs]
        if any(m is None for m in played):
            return (pairs, round_number) if all(m is None for m in played) else ([], round_number)
        if any(m.status != Match.Status.DONE for m in played):
            return [], round_number
        survivors = [_bracket_winner(m) for m in played] + byes
        pairs, byes = scheduling.bracket_next_round(survivors)
        round_number += 1
    return [], round_number


def _bracket_winner(match: Match) -> int:
    # An exact tie sends the first-listed competitor on: deterministic, and the judge saw both orders.
    return match.competitor_b_id if match.judgment.score_a < 0.5 else match.competitor_a_id


# --- adaptive --------------------------------------------------------------------------------------

def _advance_adaptive(tournament: Tournament) -> list[int]:
    if tournament.matches.filter(status__in=[Match.Status.PENDING, Match.Status.RUNNING]).exists():
        return []
    last = tournament.matches.aggregate(r=Max("round"))["r"] or 0
    if last >= settings.ARENA_ADAPTIVE_ROUNDS or _stopped_at_target(tournament, last):
        return []
    with transaction.atomic():
        made = _create_matches(tournament, _adaptive_pairs(tournament, last + 1), round_number=last + 1)
    return [m.pk for m in made]


def _stopped_at_target(tournament: Tournament, last_round: int) -> bool:
    """A stop rule in the plan ({"rule": "top_k" | "neighbours" | "separability", "value": ...}) that the
    intervals after ``last_round`` meet: no next round, and the plan says why the tournament stopped."""
    stop = tournament.plan.get("stop")
    if not stop or not last_round:
        return False
    current, errors = _current_estimates(tournament)
    if not current:
        return False
    z = float(norm.ppf(0.975))  # the 95% intervals of the leaderboards
    order = sorted(current, key=lambda c: -current[c])
    board = [Placement(str(c), current[c] - z * errors[c], current[c] + z * errors[c]) for c in order]
    if not target_met(board, stop["rule"], stop.get("value")):
        return False
    tournament.plan["stopped"] = {**stop, "after_round": last_round}
    Tournament.objects.filter(pk=tournament.pk).update(plan=tournament.plan)
    return True


def _adaptive_pairs(tournament: Tournament, round_number: int) -> dict[int, list[scheduling.Pair]]:
    """The round's most informative pairs (close ratings, few meetings), each on a prompt they have
    not played yet, chosen at random among those both answered."""
    outputs = outputs_by_prompt(tournament)
    competitors = sorted({c for by_competitor in outputs.values() for c in by_competitor})
    played = set(tournament.matches.values_list("prompt_id", "competitor_a_id", "competitor_b_id"))
    counts: dict[scheduling.Pair, int] = defaultdict(int)
    for _, a, b in played:
        counts[(min(a, b), max(a, b))] += 1
    rng = np.random.default_rng([tournament.pk, round_number])
    budget = scheduling.adaptive_round_matches(len(competitors), settings.ARENA_ADAPTIVE_ROUND_MATCHES)
    current, uncertainty = _current_estimates(tournament)
    chosen = scheduling.adaptive_pairs(competitors, current, counts, budget=budget, rng=rng, uncertainty=uncertainty)
    by_prompt: dict[int, list[scheduling.Pair]] = defaultdict(list)
    for a, b in chosen:
        fresh = [p for p, by_competitor in outputs.items() if a in by_competitor and b in by_competitor
                 and (p, a, b) not in played and (p, b, a) not in played]
        if fresh:
            by_prompt[int(rng.choice(fresh))].append((a, b))
    return dict(by_prompt)


def _current_estimates(tournament: Tournament) -> tuple[dict[int, float], dict[int, float]]:
    """Ratings and standard errors from the tournament's judgments so far (``scheduling.adaptive_estimates``,
    as the schedules benchmark uses it); none until they are identifiable."""
    cells = leaderboards.battle_cells(leaderboards.LeaderboardQuery(source="judge", tournament=str(tournament.pk)))
    if cells is None:
        return {}, {}
    by_name, errors = scheduling.adaptive_estimates(cells)
    ids = dict(Competitor.objects.filter(name__in=by_name).values_list("name", "pk"))
    return ({ids[name]: value for name, value in by_name.items()},
            {ids[name]: value for name, value in errors.items()})


# --- re-running: the matches behind lifecycle's verbs, which change the state -------------------------

def reset_failed(*, tournament: Tournament) -> int:
    """Make the tournament's failed matches pending again (the caller enqueues them); judged matches
    are left alone. Returns how many."""
    return tournament.matches.filter(status=Match.Status.FAILED).update(
        status=Match.Status.PENDING, last_error="", error_detail="", enqueued_at=None)


def cancel_pending(*, tournament: Tournament) -> int:
    """Cancel the matches nobody has claimed; matches being judged finish. Returns how many."""
    return tournament.matches.pending().update(status=Match.Status.CANCELLED)


def copy_matches(*, source: Tournament, target: Tournament) -> int:
    """The source's matches (same prompts, same stored outputs), pending in ``target``: nothing is
    regenerated. Returns how many."""
    made = Match.objects.bulk_create([
        Match(tournament=target, prompt_id=m.prompt_id, round=m.round, bracket=m.bracket,
              competitor_a_id=m.competitor_a_id, competitor_b_id=m.competitor_b_id,
              output_a_id=m.output_a_id, output_b_id=m.output_b_id)
        for m in source.matches.all()
    ])
    return len(made)


def add_competitors(*, tournament: Tournament, competitors: Sequence[Competitor]) -> int:
    """Bring more models into a laid-out tournament: only the matches they need are made. Returns
    how many."""
    if tournament.schedule == Tournament.Schedule.BRACKET:
        raise TournamentError("a single-elimination bracket cannot take new models once drawn; "
                              "create a new tournament")
    if tournament.schedule == Tournament.Schedule.GROUPWISE:
        raise TournamentError("a groupwise tournament's groups are drawn once; create a new tournament")
    with transaction.atomic():
        tournament.competitors.add(*competitors)
        if tournament.schedule == Tournament.Schedule.ADAPTIVE:
            last = tournament.matches.aggregate(r=Max("round"))["r"] or 0
            made = _create_matches(tournament, _adaptive_pairs(tournament, last + 1), round_number=last + 1)
        else:
            made = _create_matches(tournament, all_prompt_pairs(tournament), round_number=1)
    return len(made)

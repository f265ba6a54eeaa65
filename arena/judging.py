"""Judging matches: claim them, ask the judge (both orders, cached), and record what it said.

The network or model call happens outside any database transaction; claims are conditional
UPDATEs so that two workers never judge the same match, and a unique constraint makes a second
judgment of a match impossible even if they tried.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from judges.base import Criterion, CriterionResult, JudgeError, PairTask, Rubric, Verdict
from judges.both_orders import PairResult, judge_both_orders
from judges.cache import Score
from judges.registry import build_judge, spec_fingerprint

from .models import JudgeCacheEntry, JudgeConfig, Judgment, Match

log = logging.getLogger(__name__)

# Graded labels that count as strong verdicts (weighted by ARENA_STRONG_VERDICT_WEIGHT).
STRONG_LABELS = {"A>>B", "B>>A"}


@dataclass
class JudgingOutcome:
    done: list[int] = field(default_factory=list)
    retry: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    errors: dict[int, str] = field(default_factory=dict)


def lease() -> timedelta:
    return timedelta(seconds=settings.ARENA_MATCH_LEASE_SECONDS)


def claim_matches(match_ids: list[int]) -> list[int]:
    """Mark matches as ours. A match another worker holds is skipped unless its lease ran out
    (that worker died), so nothing is lost and nothing is judged twice."""
    claimed = []
    now = timezone.now()
    claimable = Q(status=Match.Status.PENDING) | Q(status=Match.Status.RUNNING, claimed_at__lt=now - lease())
    for match_id in match_ids:
        changed = Match.objects.filter(claimable, pk=match_id).update(
            status=Match.Status.RUNNING, claimed_at=now, attempts=F("attempts") + 1
        )
        if changed == 1:
            claimed.append(match_id)
    return claimed


def judge_matches(*, match_ids: list[int], final_attempt: bool = False) -> JudgingOutcome:
    """Judge the given matches; retryable failures go back to pending unless this is the last try."""
    outcome = JudgingOutcome()
    claimed = claim_matches(match_ids)
    matches = list(
        Match.objects.filter(pk__in=claimed).select_related(
            "prompt", "output_a", "output_b", "tournament__judge_config__rubric"
        )
    )
    by_config: dict[int, list[Match]] = {}
    for match in matches:
        by_config.setdefault(match.tournament.judge_config_id, []).append(match)
    try:
        for group in by_config.values():
            _judge_group(group, outcome, final_attempt)
    except Exception:
        # A bug or an outage we did not classify: hand the unfinished matches back at once instead of
        # leaving them leased for ARENA_MATCH_LEASE_SECONDS, then let the task fail loudly.
        finished = set(outcome.done) | set(outcome.failed) | set(outcome.retry)
        Match.objects.filter(pk__in=set(claimed) - finished, status=Match.Status.RUNNING).update(
            status=Match.Status.PENDING)
        raise
    _after_judging(matches, outcome)
    return outcome


def _judge_group(matches: list[Match], outcome: JudgingOutcome, final_attempt: bool) -> None:
    config = matches[0].tournament.judge_config
    tasks = [pair_task(m, config) for m in matches]
    try:
        results = CachedJudge(config).judge_pairs(tasks, both_orders=config.both_orders)
    except JudgeError as exc:
        for match in matches:
            _release(match, exc, outcome, final_attempt)
        return
    for match, result in zip(matches, results, strict=True):
        if result.combined is None:
            _release(match, _first_error(result), outcome, final_attempt)
        else:
            record_judgment(match=match, judge_config=config, result=result)
            outcome.done.append(match.pk)


def _first_error(result: PairResult) -> JudgeError:
    # Retry only when every failure was transient; one permanent failure fails the match.
    errors = result.errors
    return next((e for e in errors if not e.retryable), errors[0])


def _release(match: Match, error: JudgeError, outcome: JudgingOutcome, final_attempt: bool) -> None:
    retry = error.retryable and not final_attempt
    status = Match.Status.PENDING if retry else Match.Status.FAILED
    Match.objects.filter(pk=match.pk, status=Match.Status.RUNNING).update(status=status, last_error=str(error)[:2000])
    (outcome.retry if retry else outcome.failed).append(match.pk)
    outcome.errors[match.pk] = str(error)
    log.warning("match %s %s: %s", match.pk, "will be retried" if retry else "failed", error)


def _after_judging(matches: list[Match], outcome: JudgingOutcome) -> None:
    from .leaderboards import mark_stale
    from .tournaments import advance

    done = set(outcome.done)
    tournaments = {m.tournament_id: m.tournament for m in matches}
    for tournament in tournaments.values():
        advance(tournament=tournament,
                prompt_ids=[m.prompt_id for m in matches if m.pk in done and m.tournament_id == tournament.pk])
    if done:
        mark_stale()


# --- tasks for the judge ---------------------------------------------------------------------------

def rubric_of(config: JudgeConfig) -> Rubric:
    rubric = config.rubric
    return Rubric(
        name=rubric.name, version=rubric.version, instructions=rubric.instructions,
        criteria=tuple(Criterion(c["name"], c.get("description", ""), float(c.get("weight", 1)))
                       for c in rubric.criteria),
    )


def pair_task(match: Match, config: JudgeConfig) -> PairTask:
    reference = match.prompt.reference
    return PairTask(
        prompt_turns=tuple(match.prompt.turns),
        output_a_turns=tuple(match.output_a.turns),
        output_b_turns=tuple(match.output_b.turns),
        rubric=rubric_of(config),
        reference_turns=tuple(reference) if reference else None,
        key=str(match.pk),
    )


def record_judgment(*, match: Match, judge_config: JudgeConfig, result: PairResult) -> Judgment | None:
    """Store both raw verdicts and the combined one, with the accounting; the match is then done."""
    combined: Verdict = result.combined
    verdicts = [v for v in (result.forward, result.backward) if isinstance(v, Verdict)]
    paid = [v for v in verdicts if not v.extra.get("cached")]
    score = combined.prob_a if combined.prob_a is not None else {"a": 1.0, "b": 0.0, "tie": 0.5}[combined.winner]
    try:
        with transaction.atomic():
            judgment = Judgment.objects.create(
                match=match, judge_config=judge_config, winner=combined.winner, score_a=score,
                weight=settings.ARENA_STRONG_VERDICT_WEIGHT if combined.label in STRONG_LABELS else 1.0,
                prob_a=combined.prob_a, label=combined.label or "", consistent=result.consistent,
                forward=verdict_to_dict(result.forward), backward=verdict_to_dict(result.backward),
                prompt_tokens=sum(v.prompt_tokens for v in paid),
                completion_tokens=sum(v.completion_tokens for v in paid),
                cost_usd=sum(v.cost_usd for v in paid), latency_s=sum(v.latency_s for v in paid),
                truncated=any(v.truncated for v in verdicts),
            )
            Match.objects.filter(pk=match.pk).update(status=Match.Status.DONE, last_error="")
    except IntegrityError:
        # Judged already (a redelivered task racing the first): the first judgment stands.
        Match.objects.filter(pk=match.pk).update(status=Match.Status.DONE)
        return None
    return judgment


# --- verdicts as JSON, and the judgment cache ------------------------------------------------------

def verdict_to_dict(verdict: Verdict | JudgeError | None) -> dict | None:
    if verdict is None:
        return None
    if isinstance(verdict, JudgeError):
        return {"error": str(verdict), "retryable": verdict.retryable}
    return dataclasses.asdict(verdict)


def verdict_from_dict(data: dict) -> Verdict:
    fields = dict(data)
    fields["criteria"] = tuple(CriterionResult(**c) for c in fields.get("criteria", ()))
    return Verdict(**fields)


def task_key(task: PairTask) -> str:
    """Everything the judge sees, in the order it sees it."""
    content = [task.prompt_turns, task.output_a_turns, task.output_b_turns, task.reference_turns,
               dataclasses.asdict(task.rubric)]
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()


class CachedJudge:
    """A judge configuration's judge, with every verdict it ever gave kept in the database.

    An identical (configuration fingerprint, prompt, output pair, order) is never judged twice, so
    re-running a tournament, or judging the same outputs in another tournament, costs nothing.
    """

    def __init__(self, config: JudgeConfig):
        spec = config.spec()
        self.fingerprint = spec_fingerprint(spec)
        self.judge = _built_judge(self.fingerprint, spec)
        # judge_both_orders reads the tie margin from here.
        self.options = getattr(self.judge, "options", None)

    def judge_many(self, tasks: list[PairTask]) -> list[Verdict | JudgeError]:
        keys = [task_key(t) for t in tasks]
        stored = dict(JudgeCacheEntry.objects.filter(fingerprint=self.fingerprint, key__in=set(keys))
                      .values_list("key", "value"))
        misses = [i for i, key in enumerate(keys) if key not in stored]
        fresh = self.judge.judge_many([tasks[i] for i in misses]) if misses else []
        JudgeCacheEntry.objects.bulk_create(
            [JudgeCacheEntry(fingerprint=self.fingerprint, key=keys[i], value=verdict_to_dict(v))
             for i, v in zip(misses, fresh, strict=True) if isinstance(v, Verdict)],
            ignore_conflicts=True,
        )
        results: list[Verdict | JudgeError] = [None] * len(tasks)  # type: ignore[list-item]
        for i, verdict in zip(misses, fresh, strict=True):
            results[i] = verdict
        for i, key in enumerate(keys):
            if results[i] is None:
                cached = verdict_from_dict(stored[key])
                results[i] = dataclasses.replace(cached, extra={**cached.extra, "cached": True})
        return results

    def judge_pairs(self, tasks: list[PairTask], *, both_orders: bool) -> list[PairResult]:
        if both_orders:
            return judge_both_orders(self, tasks)
        verdicts = self.judge_many(tasks)
        return [PairResult(task=t, forward=v, backward=None, combined=v if isinstance(v, Verdict) else None,
                           consistent=None) for t, v in zip(tasks, verdicts, strict=True)]


_JUDGES: dict[str, object] = {}


def _built_judge(fingerprint: str, spec: dict):
    """One judge per configuration per worker process: a backend holds a loaded model or an HTTP
    connection pool, both too costly to rebuild for every batch. Keyed by the whole spec, since the
    fingerprint leaves out operational params such as timeouts."""
    key = json.dumps(spec, sort_keys=True, default=str)
    if key not in _JUDGES:
        _JUDGES[key] = build_judge(spec, score_cache=DbScoreCache(fingerprint))
    return _JUDGES[key]


class DbScoreCache:
    """Pointwise scores per output, shared by every match the output plays in."""

    def __init__(self, fingerprint: str):
        self.fingerprint = "score:" + fingerprint[:58]

    def get_many(self, keys: list[str]) -> dict[str, Score]:
        rows = JudgeCacheEntry.objects.filter(fingerprint=self.fingerprint, key__in=set(keys))
        return {key: Score.from_dict(value) for key, value in rows.values_list("key", "value")}

    def put_many(self, scores: dict[str, Score]) -> None:
        JudgeCacheEntry.objects.bulk_create(
            [JudgeCacheEntry(fingerprint=self.fingerprint, key=k, value=s.as_dict()) for k, s in scores.items()],
            ignore_conflicts=True,
        )

"""Judging matches: claim them, ask the judge (both orders, cached), and record what it said.

The network or model call happens outside any database transaction; claims are conditional
UPDATEs so that two workers never judge the same match, and a unique constraint makes a second
judgment of a match impossible even if they tried. A claim is a short lease that a heartbeat renews
while the judge works, so the matches of a worker that died are free again within seconds.

What follows a judgment (next bracket rounds, stale leaderboards) is not done here: the caller
runs ``tournaments.after_judgments`` and enqueues what it returns.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from judges.base import ConfigurationError, JudgeError, PairTask, Verdict
from judges.both_orders import PairResult
from judges.cache import CachedJudge, ScoreCache, verdict_to_dict
from judges.checks import (
    CheckReport,
    checks_for_prompt,
    decided_verdict,
    judge_pairs_checked,
    run_checks,
    with_check_criteria,
)
from judges.listwise import GroupTask
from judges.panel import MemberVerdict, abstains, panel_settings
from judges.panel import combine as combine_panel
from judges.prompts import rubric_checks, rubric_from_dict
from judges.protocols.listwise import pair_verdict
from judges.registry import build_judge, spec_fingerprint

from . import judge_endpoints
from .judge_configs import secret_policy
from .models import JudgeCacheEntry, JudgeConfig, Judgment, Match, Tournament
from .ratings import verdict_outcome

log = logging.getLogger(__name__)


@dataclass
class JudgingOutcome:
    done: list[int] = field(default_factory=list)
    retry: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    # Still held by another worker's live lease: ask again once that lease could have run out.
    leased: list[int] = field(default_factory=list)
    errors: dict[int, str] = field(default_factory=dict)


def lease() -> timedelta:
    return timedelta(seconds=settings.ARENA_MATCH_LEASE_SECONDS)


def claim_matches(match_ids: list[int]) -> list[int]:
    """Mark matches as ours. A match another worker holds is skipped unless its lease ran out
    (that worker died), so nothing is lost and nothing is judged twice."""
    claimed = []
    now = timezone.now()
    claimable = Q(status=Match.Status.PENDING) | Q(status=Match.Status.RUNNING, claimed_at__lt=now - lease())
    # Only running tournaments' matches: a paused, cancelled or over-budget one gets no new claims
    # (matches already claimed finish), and its queued messages simply find nothing to do.
    live = Q(tournament__status=Tournament.Status.RUNNING)
    for match_id in match_ids:
        changed = Match.objects.filter(claimable, live, pk=match_id).update(
            status=Match.Status.RUNNING, claimed_at=now, attempts=F("attempts") + 1
        )
        if changed == 1:
            claimed.append(match_id)
    return claimed


def judge_matches(*, match_ids: list[int], final_attempt: bool = False) -> JudgingOutcome:
    """Judge the given matches; retryable failures go back to pending unless this is the last try."""
    outcome = JudgingOutcome()
    match_ids = with_group_siblings(match_ids)
    claimed = claim_matches(match_ids)
    outcome.leased = list(Match.objects.filter(pk__in=set(match_ids) - set(claimed), status=Match.Status.RUNNING)
                          .values_list("pk", flat=True))
    matches = list(
        Match.objects.filter(pk__in=claimed).select_related(
            "prompt", "output_a", "output_b", "tournament__judge_config__rubric", "competitor_a", "competitor_b"
        )
    )
    by_config: dict[int, list[Match]] = {}
    for match in matches:
        by_config.setdefault(match.tournament.judge_config_id, []).append(match)
    try:
        with heartbeat(claimed):
            for group in by_config.values():
                _judge_group(group, outcome, final_attempt)
        judge_endpoints.publish(force=True)
    except Exception:
        # A bug or an outage we did not classify: hand the unfinished matches back at once instead of
        # leaving them leased, then let the task fail loudly.
        finished = set(outcome.done) | set(outcome.failed) | set(outcome.retry)
        Match.objects.filter(pk__in=set(claimed) - finished, status=Match.Status.RUNNING).update(
            status=Match.Status.PENDING)
        raise
    return outcome


@contextmanager
def heartbeat(match_ids: list[int]) -> Iterator[None]:
    """Renew the lease on ``match_ids`` every third of a lease while the judge works.

    A judge batch on a GPU can outlast a short lease; renewing it lets the lease be short, so that
    a worker that dies (and stops renewing) frees its matches within one lease.
    """
    if connection.in_atomic_block:
        # Our claims are not committed yet, so another connection can neither see nor renew them (and on
        # SQLite it would wait on our own write lock): nothing to beat for.
        yield
        return
    stop = threading.Event()
    interval = settings.ARENA_MATCH_LEASE_SECONDS / 3

    def renew() -> None:
        try:
            while not stop.wait(interval):
                try:
                    Match.objects.filter(pk__in=match_ids, status=Match.Status.RUNNING).update(
                        claimed_at=timezone.now())
                except DatabaseError as exc:
                    # A missed beat only shortens the lease; the next one (or the judgment) follows.
                    log.warning("could not renew the lease of %d match(es): %s", len(match_ids), exc)
                judge_endpoints.publish()  # a slow batch still shows its endpoints' speed as it goes
        finally:
            connection.close()  # this thread's own connection

    thread = threading.Thread(target=renew, name="match-lease-heartbeat", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def _judge_group(matches: list[Match], outcome: JudgingOutcome, final_attempt: bool) -> None:
    config = matches[0].tournament.judge_config
    if config.protocol == JudgeConfig.Protocol.PANEL:
        _judge_panel(matches, config, outcome, final_attempt)
        return
    grouped = [m for m in matches if is_listwise_group(m)]
    if grouped:
        _judge_listwise_groups(grouped, config, outcome, final_attempt)
        matches = [m for m in matches if not is_listwise_group(m)]
        if not matches:
            return
    tasks = []
    for match in list(matches):
        try:
            tasks.append(pair_task(match, config))
        except ConfigurationError as exc:
            # A prompt whose stored checks are invalid (written around the upload's validation):
            # that match fails, naming why (public: the checks are the prompt's own data, no
            # secret); the others are judged.
            matches.remove(match)
            _release(match, ConfigurationError(str(exc), public=str(exc)[:300]), outcome, final_attempt)
    if not matches:
        return
    try:
        results = judge_pairs_checked(cached_judge(config), tasks, both_orders=config.both_orders)
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
    # The public column gets our summary; the full message (a remote body, a URL) is for staff only.
    Match.objects.filter(pk=match.pk, status=Match.Status.RUNNING).update(
        status=status, last_error=error.summary()[:2000], error_detail=str(error)[:2000])
    (outcome.retry if retry else outcome.failed).append(match.pk)
    outcome.errors[match.pk] = str(error)
    log.warning("match %s %s: %s", match.pk, "will be retried" if retry else "failed", error)


# --- panels ----------------------------------------------------------------------------------------

def panel_members(config: JudgeConfig) -> list[JudgeConfig]:
    """A panel's member configurations, pinned when the panel was made, in the panel's order."""
    ids = list(config.options.get("member_ids") or [])
    if not ids:
        # Made around create_judge_config (the admin): members by name, their latest versions.
        names = list(config.options.get("members") or [])
        latest = {c.name: c for c in JudgeConfig.objects.filter(name__in=names).order_by("version")}
        ids = [latest[n].pk for n in names if n in latest and latest[n].protocol != JudgeConfig.Protocol.PANEL]
    found = {c.pk: c for c in JudgeConfig.objects.filter(pk__in=ids).select_related("rubric")}
    return [found[i] for i in ids if i in found]


def _judge_panel(matches: list[Match], config: JudgeConfig, outcome: JudgingOutcome, final_attempt: bool) -> None:
    """Every member judges every match (its own protocol, rubric, checks and cache); the panel
    combines their verdicts by its rule and keeps each member's beside its own."""
    members = panel_members(config)
    if len(members) < 2:
        for match in matches:
            _release(match, ConfigurationError(f"panel {config} has fewer than two members left"), outcome,
                     final_attempt)
        return
    try:
        tasks = {member.pk: [pair_task(m, member) for m in matches] for member in members}
        results = {member.pk: judge_pairs_checked(cached_judge(member), tasks[member.pk],
                                                  both_orders=member.both_orders) for member in members}
    except JudgeError as exc:
        for match in matches:
            _release(match, exc, outcome, final_attempt)
        return
    settings_ = panel_settings(config.options)
    tie_margin = float(config.options.get("tie_margin", 0.0))
    for i, match in enumerate(matches):
        own = [(member, results[member.pk][i]) for member in members]
        failed = [r for _, r in own if r.combined is None]
        if failed:
            _release(match, _first_error(failed[0]), outcome, final_attempt)
            continue
        votes = [MemberVerdict(name=str(member), verdict=r.combined, consistent=r.consistent,
                               calls=_paid_calls(r, member),
                               abstained=settings_.self_preference_guard and _own_family(member, match))
                 for member, r in own]
        try:
            verdict = combine_panel(votes, rule=settings_.rule, tie_margin=tie_margin)
        except ConfigurationError as exc:
            _release(match, exc, outcome, final_attempt)
            continue
        record_judgment(match=match, judge_config=config,
                        result=PairResult(own[0][1].task, verdict, None, verdict, None))
        outcome.done.append(match.pk)


def _own_family(member: JudgeConfig, match: Match) -> bool:
    # ``family`` on judge configurations and competitors comes with the quality work (issue 14);
    # without it nobody has a family and the guard never fires.
    families = [getattr(match.competitor_a, "family", ""), getattr(match.competitor_b, "family", "")]
    return abstains(getattr(member, "family", "") or "", families)


def _paid_calls(result: PairResult, config: JudgeConfig) -> int:
    verdicts = [v for v in (result.forward, result.backward) if isinstance(v, Verdict) and not v.extra.get("cached")]
    return sum(model_calls(v, config) for v in verdicts)


# --- listwise groups -------------------------------------------------------------------------------

def is_listwise_group(match: Match) -> bool:
    """A match of a groupwise tournament with a listwise judge: judged with its group in one call."""
    tournament = match.tournament
    return (tournament.schedule == Tournament.Schedule.GROUPWISE
            and tournament.judge_config.protocol == JudgeConfig.Protocol.LISTWISE)


def with_group_siblings(match_ids: list[int]) -> list[int]:
    """``match_ids`` plus the pending matches of the same listwise groups, so that one call judges a
    whole group however the matches were split into tasks; the siblings' own tasks then find them
    done (claims are conditional) and do nothing."""
    groups = set(Match.objects.filter(
        pk__in=match_ids, tournament__schedule=Tournament.Schedule.GROUPWISE,
        tournament__judge_config__protocol=JudgeConfig.Protocol.LISTWISE,
    ).values_list("tournament_id", "prompt_id", "round", "bracket"))
    if not groups:
        return match_ids
    same_group = Q()
    for tournament_id, prompt_id, round_number, bracket in groups:
        same_group |= Q(tournament_id=tournament_id, prompt_id=prompt_id, round=round_number, bracket=bracket)
    siblings = Match.objects.filter(same_group, status=Match.Status.PENDING).values_list("pk", flat=True)
    return list(dict.fromkeys([*match_ids, *siblings]))


def _judge_listwise_groups(matches: list[Match], config: JudgeConfig, outcome: JudgingOutcome,
                           final_attempt: bool) -> None:
    """Checks first (a fatal one decides its pair alone), then one listwise call per group for the
    rest: every pair in a group gets the group's pairwise evidence; the group's cost is charged to
    its first pair."""
    open_matches: dict[tuple[int, int, int, int], list[tuple[Match, PairTask, CheckReport]]] = {}
    for match in matches:
        try:
            task = pair_task(match, config)
        except ConfigurationError as exc:
            _release(match, exc, outcome, final_attempt)
            continue
        report = run_checks(task)
        if report.decision is not None:
            verdict = decided_verdict(report)
            record_judgment(match=match, judge_config=config, result=PairResult(task, verdict, None, verdict, None))
            outcome.done.append(match.pk)
            continue
        key = (match.tournament_id, match.prompt_id, match.round, match.bracket)
        open_matches.setdefault(key, []).append((match, task, report))
    if not open_matches:
        return
    buckets, groups = [], []
    for bucket in open_matches.values():
        try:
            groups.append(_group_of(bucket, config))
            buckets.append(bucket)
        except ConfigurationError as exc:  # more answers than a listwise call takes, or uneven turns
            for match, _, _ in bucket:
                _release(match, exc, outcome, final_attempt)
    if not groups:
        return
    judge = cached_judge(config).judge
    try:
        verdicts = judge.judge_groups([task for task, _ in groups])
    except JudgeError as exc:
        verdicts = [exc] * len(groups)
    for bucket, (_, candidates), verdict in zip(buckets, groups, verdicts, strict=True):
        if isinstance(verdict, JudgeError):
            for match, _, _ in bucket:
                _release(match, verdict, outcome, final_attempt)
            continue
        names = [name for _, name in candidates]
        index = {output_id: i for i, (output_id, _) in enumerate(candidates)}
        for position, (match, task, report) in enumerate(bucket):
            pair = pair_verdict(verdict, index[match.output_a_id], index[match.output_b_id],
                                judge.options.tie_margin, share=position == 0, names=names)
            if report.results:
                weight = sum(c.weight for c in task.rubric.criteria)
                pair = with_check_criteria(pair, report, weight)
            record_judgment(match=match, judge_config=config, result=PairResult(task, pair, None, pair, None))
            outcome.done.append(match.pk)


def _group_of(bucket: list, config: JudgeConfig) -> tuple[GroupTask, list[tuple[int, str]]]:
    """The group's task (its distinct answers, in order of first appearance) and who wrote each."""
    candidates: dict[int, tuple[tuple[str, ...], str]] = {}
    for match, task, _ in bucket:
        candidates.setdefault(match.output_a_id, (task.output_a_turns, match.competitor_a.name))
        candidates.setdefault(match.output_b_id, (task.output_b_turns, match.competitor_b.name))
    first = bucket[0][1]
    group = GroupTask(first.prompt_turns, tuple(turns for turns, _ in candidates.values()), first.rubric,
                      first.reference_turns, key=first.key)
    return group, [(output_id, name) for output_id, (_, name) in candidates.items()]


# --- tasks for the judge ---------------------------------------------------------------------------

def pair_task(match: Match, config: JudgeConfig) -> PairTask:
    reference = match.prompt.reference
    spec = config.rubric.as_spec()
    checks = checks_for_prompt(rubric_checks(spec), metadata=match.prompt.metadata, category=match.prompt.category)
    return PairTask(
        prompt_turns=tuple(match.prompt.turns),
        output_a_turns=tuple(match.output_a.turns),
        output_b_turns=tuple(match.output_b.turns),
        rubric=rubric_from_dict(spec),
        reference_turns=tuple(reference) if reference else None,
        key=str(match.pk),
        checks=checks,
    )


def record_judgment(*, match: Match, judge_config: JudgeConfig, result: PairResult) -> Judgment | None:
    """Store both raw verdicts and the combined one, with the accounting; the match is then done."""
    combined: Verdict = result.combined
    verdicts = [v for v in (result.forward, result.backward) if isinstance(v, Verdict)]
    paid = [v for v in verdicts if not v.extra.get("cached")]
    score, weight = verdict_outcome(winner=combined.winner, prob_a=combined.prob_a, label=combined.label,
                                    strong_weight=settings.ARENA_STRONG_VERDICT_WEIGHT)
    try:
        with transaction.atomic():
            judgment = Judgment.objects.create(
                match=match, judge_config=judge_config, winner=combined.winner, score_a=score, weight=weight,
                prob_a=combined.prob_a, label=combined.label or "", consistent=result.consistent,
                forward=verdict_to_dict(result.forward), backward=verdict_to_dict(result.backward),
                prompt_tokens=sum(v.prompt_tokens for v in paid),
                completion_tokens=sum(v.completion_tokens for v in paid),
                cost_usd=sum(v.cost_usd for v in paid), judge_calls=sum(model_calls(v, judge_config) for v in paid),
                latency_s=sum(v.latency_s for v in paid),
                truncated=any(v.truncated for v in verdicts),
                checks=combined.extra.get("checks") or {},
            )
            Match.objects.filter(pk=match.pk).update(status=Match.Status.DONE, last_error="", error_detail="")
    except IntegrityError:
        # Judged already (a redelivered task racing the first): the first judgment stands.
        Match.objects.filter(pk=match.pk).update(status=Match.Status.DONE)
        return None
    return judgment


def model_calls(verdict: Verdict, config: JudgeConfig) -> int:
    """Model invocations behind one verdict: a pointwise verdict reports the scores it computed
    (scores cached from earlier matches are free); a per-criterion verdict asks once per criterion;
    a verdict verifiable checks gave asked no model."""
    if verdict.extra.get("decided_by") == "checks":
        return 0
    if "scores_computed" in verdict.extra:
        return int(verdict.extra["scores_computed"])
    if config.protocol == JudgeConfig.Protocol.PER_CRITERION:
        return max(1, len(verdict.criteria))
    return 1


# --- the judge of a configuration, with its caches in the database ----------------------------------

class DbCacheStore:
    """``judges.cache.CacheStore`` on the ``JudgeCacheEntry`` table, one namespace per instance."""

    def __init__(self, namespace: str):
        self.namespace = namespace

    def get_many(self, keys: list[str]) -> dict[str, dict]:
        rows = JudgeCacheEntry.objects.filter(fingerprint=self.namespace, key__in=set(keys))
        return dict(rows.values_list("key", "value"))

    def put_many(self, values: dict[str, dict]) -> None:
        JudgeCacheEntry.objects.bulk_create(
            [JudgeCacheEntry(fingerprint=self.namespace, key=k, value=v) for k, v in values.items()],
            ignore_conflicts=True,
        )


def cached_judge(config: JudgeConfig) -> CachedJudge:
    """The configuration's judge with its verdicts kept in the database (namespace: the fingerprint)
    and, for pointwise judges, its output scores too (namespace: ``score:`` + fingerprint)."""
    spec = config.spec()
    fingerprint = spec_fingerprint(spec)
    return CachedJudge(_built_judge(fingerprint, spec), store=DbCacheStore(fingerprint))


_JUDGES: dict[str, object] = {}


def _built_judge(fingerprint: str, spec: dict):
    """One judge per configuration per worker process: a backend holds a loaded model or an HTTP
    connection pool, both too costly to rebuild for every batch. Keyed by the whole spec, since the
    fingerprint leaves out operational params such as timeouts. The operator's secret policy is
    checked again here, for configurations stored before it (or before it was narrowed): a refused
    one raises ``ConfigurationError`` before any request is made, and its matches fail."""
    policy = secret_policy()
    key = json.dumps([spec, sorted(policy.key_envs), sorted(policy.hosts)], sort_keys=True, default=str)
    if key not in _JUDGES:
        scores = ScoreCache(DbCacheStore("score:" + fingerprint[:58]))
        _JUDGES[key] = build_judge(spec, score_cache=scores, policy=policy)
    return _JUDGES[key]

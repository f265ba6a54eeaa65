"""Celery tasks, and the one place that enqueues them.

Tasks take ids and call domain functions; only this module publishes work. Judge work runs on the
queue its judge configuration names (``judge`` unless it names another, e.g. ``judge.qwen`` for the GPU
nodes that serve that model only); bookkeeping on ``default``. Late acks, short leases
renewed by a heartbeat, and a frequent sweeper mean that nothing is lost when a worker dies or the
broker is down: the sweeper frees the matches of dead workers and publishes matches that no queued
task will reach.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import timedelta

import redis
from celery import shared_task
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from kombu.exceptions import OperationalError

from . import judging, leaderboards, tournaments
from .models import JUDGE_QUEUE, Match, Tournament

log = logging.getLogger(__name__)

# What publishing raises when the broker is unreachable (Redis down, filesystem broker unwritable).
BROKER_ERRORS = (OperationalError, redis.RedisError, OSError)


class RetryableJudging(Exception):
    """Some matches hit a transient judge error (timeout, 5xx, rate limit, unparsable output)."""


@shared_task(bind=True, acks_late=True, max_retries=5)
def judge_matches(self, match_ids: list[int]) -> dict:
    outcome = judging.judge_matches(match_ids=match_ids, final_attempt=self.request.retries >= self.max_retries)
    enqueue_matches(tournaments.after_judgments(match_ids=outcome.done + outcome.failed))
    if outcome.leased:
        # Held by another worker (a redelivered task, or a duplicate): look again once that worker's
        # lease could have run out, in case it died.
        publish_matches(outcome.leased, countdown=settings.ARENA_MATCH_LEASE_SECONDS + 1)
    if outcome.retry:
        # Only the matches that failed transiently go round again, with exponential backoff.
        countdown = min(600, 5 * 2**self.request.retries)
        Match.objects.filter(pk__in=outcome.retry).update(enqueued_at=timezone.now() + timedelta(seconds=countdown))
        raise self.retry(args=[outcome.retry], countdown=countdown,
                         exc=RetryableJudging(f"{len(outcome.retry)} match(es) to retry"))
    return {"done": len(outcome.done), "failed": len(outcome.failed), "leased": len(outcome.leased)}


@shared_task(acks_late=True)
def sweep_matches() -> int:
    """Free the matches of workers that stopped renewing their lease (they died), and publish the
    pending matches that no queued task will reach. Runs every ARENA_SWEEP_SECONDS under beat."""
    Match.objects.stale(older_than=judging.lease()).update(status=Match.Status.PENDING, enqueued_at=None)
    grace = timedelta(seconds=settings.ARENA_ENQUEUE_GRACE_SECONDS)
    pending = Match.objects.pending().filter(tournament__status=Tournament.Status.RUNNING)
    never = pending.filter(enqueued_at__isnull=True, created_at__lt=timezone.now() - grace)
    ids = list(never.values_list("pk", flat=True))
    published = pending.filter(enqueued_at__lt=timezone.now() - grace)
    queues = set(published.values_list("tournament__judge_config__queue", flat=True).distinct())
    empty = [queue for queue in sorted(queues) if judge_queue_length(queue) == 0]
    if empty:
        # Published, but their queue is empty and no worker holds them: the messages were lost
        # (a broker restarted without persistence). Each judge queue is looked at on its own, since
        # one busy queue says nothing about another's messages.
        ids += published.filter(tournament__judge_config__queue__in=empty).values_list("pk", flat=True)
    publish_matches(ids)
    return len(ids)


@shared_task(acks_late=True)
def recompute_leaderboards() -> int:
    return leaderboards.recompute_stale()


# --- publishing ------------------------------------------------------------------------------------

def enqueue_matches(match_ids: Iterable[int]) -> None:
    """Send matches to their judge queues once the surrounding transaction commits."""
    ids = list(match_ids)
    if ids:
        transaction.on_commit(lambda: publish_matches(ids))


def enqueue_pending(*, tournament: Tournament) -> None:
    """Every pending match of a tournament, after a domain function created or reset them."""
    enqueue_matches(tournament.matches.pending().values_list("pk", flat=True))


def publish_matches(match_ids: list[int], *, countdown: float | None = None) -> int:
    """Publish judge tasks in batches, each on its judge configuration's queue, and note when; returns
    how many matches were published.

    A broker outage is logged, never raised: the caller's data is committed already, and the matches
    not published keep ``enqueued_at`` empty, which the sweeper looks for.
    """
    size = settings.ARENA_JUDGE_BATCH
    published = 0
    for queue, ids in _by_queue(match_ids).items():
        for start in range(0, len(ids), size):
            batch = ids[start:start + size]
            try:
                judge_matches.apply_async(args=[batch], countdown=countdown, queue=queue)
            except BROKER_ERRORS as exc:
                log.warning("broker unavailable, %d match(es) left for the sweeper: %s",
                            len(match_ids) - published, exc)
                return published
            Match.objects.filter(pk__in=batch).update(enqueued_at=timezone.now())
            published += len(batch)
    return published


def _by_queue(match_ids: list[int]) -> dict[str, list[int]]:
    """Match ids grouped by the queue of their tournament's judge configuration, in the given order."""
    queue_of = dict(Match.objects.filter(pk__in=match_ids).values_list("pk", "tournament__judge_config__queue"))
    grouped: dict[str, list[int]] = {}
    for pk in match_ids:
        if pk in queue_of:  # a match deleted since (its tournament was) has nothing to judge
            grouped.setdefault(queue_of[pk], []).append(pk)
    return grouped


def judge_queue_length(queue: str = JUDGE_QUEUE) -> int | None:
    """Messages waiting on a judge queue, or None when the broker cannot say."""
    try:
        with judge_matches.app.connection_for_read() as conn:
            return conn.default_channel.queue_declare(queue=queue).message_count
    except BROKER_ERRORS as exc:
        log.warning("cannot read the length of queue %s: %s", queue, exc)
        return None

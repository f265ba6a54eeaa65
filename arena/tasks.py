"""Celery tasks, and the one place that enqueues them.

Tasks take ids and call domain functions; only this module publishes work. Judge work runs on the
``judge`` queue (GPU nodes in production); bookkeeping on ``default``. Late acks, short leases
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
from .models import Match, Tournament

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
    if judge_queue_length() == 0:
        # Published, but the queue is empty and no worker holds them: the messages were lost
        # (a broker restarted without persistence).
        ids += pending.filter(enqueued_at__lt=timezone.now() - grace).values_list("pk", flat=True)
    publish_matches(ids)
    return len(ids)


# The old name, for beat schedules written before the sweeper also published lost matches.
requeue_stale_matches = sweep_matches


@shared_task(acks_late=True)
def recompute_leaderboards() -> int:
    return leaderboards.recompute_stale()


# --- publishing ------------------------------------------------------------------------------------

def enqueue_matches(match_ids: Iterable[int]) -> None:
    """Send matches to the judge queue once the surrounding transaction commits."""
    ids = list(match_ids)
    if ids:
        transaction.on_commit(lambda: publish_matches(ids))


def enqueue_pending(*, tournament: Tournament) -> None:
    """Every pending match of a tournament, after a domain function created or reset them."""
    enqueue_matches(tournament.matches.pending().values_list("pk", flat=True))


def publish_matches(match_ids: list[int], *, countdown: float | None = None) -> int:
    """Publish judge tasks in batches and note when; returns how many matches were published.

    A broker outage is logged, never raised: the caller's data is committed already, and the matches
    not published keep ``enqueued_at`` empty, which the sweeper looks for.
    """
    size = settings.ARENA_JUDGE_BATCH
    published = 0
    for start in range(0, len(match_ids), size):
        batch = list(match_ids[start:start + size])
        try:
            judge_matches.apply_async(args=[batch], countdown=countdown)
        except BROKER_ERRORS as exc:
            log.warning("broker unavailable, %d match(es) left for the sweeper: %s", len(match_ids) - start, exc)
            break
        Match.objects.filter(pk__in=batch).update(enqueued_at=timezone.now())
        published += len(batch)
    return published


def judge_queue_length() -> int | None:
    """Messages waiting on the judge queue, or None when the broker cannot say."""
    try:
        with judge_matches.app.connection_for_read() as conn:
            return conn.default_channel.queue_declare(queue="judge").message_count
    except BROKER_ERRORS as exc:
        log.warning("cannot read the judge queue's length: %s", exc)
        return None

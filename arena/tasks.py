"""Celery tasks: thin wrappers that take ids and call one domain function.

Judge work runs on the ``judge`` queue (GPU nodes in production); bookkeeping on ``default``.
Late acks plus claim-with-lease mean a worker that dies mid-task loses nothing: the broker
redelivers the task, or the sweeper re-enqueues matches whose lease ran out.
"""

from celery import shared_task

from . import judging, leaderboards, tournaments
from .models import Match


class RetryableJudging(Exception):
    """Some matches hit a transient judge error (timeout, 5xx, rate limit, unparsable output)."""


@shared_task(bind=True, acks_late=True, max_retries=5)
def judge_matches(self, match_ids: list[int]) -> dict:
    outcome = judging.judge_matches(match_ids=match_ids, final_attempt=self.request.retries >= self.max_retries)
    if outcome.retry:
        # Only the matches that failed transiently go round again, with exponential backoff.
        raise self.retry(args=[outcome.retry], countdown=min(600, 5 * 2**self.request.retries),
                         exc=RetryableJudging(f"{len(outcome.retry)} match(es) to retry"))
    return {"done": len(outcome.done), "failed": len(outcome.failed)}


@shared_task(acks_late=True)
def requeue_stale_matches() -> int:
    """Matches claimed by a worker that never finished (it died) go back on the queue."""
    stale = list(Match.objects.stale(older_than=judging.lease()).values_list("pk", flat=True))
    tournaments.enqueue_matches(stale)
    return len(stale)


@shared_task(acks_late=True)
def recompute_leaderboards() -> int:
    return leaderboards.recompute_stale()

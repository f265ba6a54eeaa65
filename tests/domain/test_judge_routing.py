"""Judge routing: a judge configuration names its Celery queue; its matches are published there."""

import json

import pytest
import redis
from django.core.management import call_command
from django.core.management.base import CommandError

from arena import tasks
from arena.judge_configs import JudgeConfigError, create_judge_config
from arena.lifecycle import create_tournament
from arena.models import JudgeConfig, Match
from tests import factories

pytestmark = pytest.mark.django_db


def test_a_judge_configuration_goes_to_the_judge_queue_unless_it_names_another():
    factories.rubric()
    plain = create_judge_config(name="plain", backend="fake", model="m")
    routed = create_judge_config(name="routed", backend="fake", model="m", queue="judge.qwen-2_5")
    assert (plain.queue, routed.queue) == ("judge", "judge.qwen-2_5")


@pytest.mark.parametrize("queue", ["", "judge queue", "judge/../x", ".hidden", "q\x00", "q\ud800", "é", "q" * 101,
                                   "judge;rm"])
def test_an_unsafe_queue_name_is_refused_and_nothing_is_saved(queue):
    factories.rubric()
    with pytest.raises(JudgeConfigError, match="letters, digits, dots, dashes or underscores"):
        create_judge_config(name="bad", backend="fake", model="m", queue=queue)
    assert not JudgeConfig.objects.filter(name="bad").exists()


def test_create_judge_takes_a_queue_and_refuses_an_unsafe_one():
    factories.rubric()
    call_command("create_judge", "gpu", "--backend", "fake", "--model", "m", "--queue", "judge.gpu")
    assert JudgeConfig.objects.get(name="gpu").queue == "judge.gpu"
    with pytest.raises(CommandError, match="letters, digits"):
        call_command("create_judge", "gpu2", "--backend", "fake", "--model", "m", "--queue", "a b")


def test_the_api_takes_a_judges_queue_shows_it_and_refuses_an_unsafe_one_by_name(api):
    factories.rubric()
    body = {"name": "gpu", "backend": "fake", "model": "m", "queue": "judge.gpu"}
    created = api.post_raw("judges", json.dumps(body))
    assert created.status_code == 201 and created.json()["queue"] == "judge.gpu"
    assert JudgeConfig.objects.get(name="gpu").queue == "judge.gpu"
    assert {j["name"]: j["queue"] for j in api.get("judges").json()}["gpu"] == "judge.gpu"
    refused = api.post_raw("judges", json.dumps({**body, "name": "gpu2", "queue": "judge\x00"}))
    assert refused.status_code == 422 and "queue" in refused.json()["detail"]
    assert not JudgeConfig.objects.filter(name="gpu2").exists()


def test_moving_a_used_configuration_to_another_queue_is_allowed_since_it_does_not_change_judgments():
    competitors = factories.prompts_with_outputs({"a": 1, "b": 2}, prompts=1)
    config = factories.fake_judge()
    create_tournament(name="t", judge_config=config, competitors=competitors, schedule="round_robin")
    config.queue = "judge.elsewhere"
    config.save()
    assert JudgeConfig.objects.get(pk=config.pk).version == 1


@pytest.fixture
def redis_broker(settings):
    """Publishing on the real Redis broker, when this run has one (the queue lengths are Redis lists)."""
    if not settings.CELERY_BROKER_URL.startswith("redis"):
        pytest.skip("needs REDIS_URL: queue lengths are read from the broker")
    redis.Redis.from_url(settings.CELERY_BROKER_URL).flushdb()
    yield
    redis.Redis.from_url(settings.CELERY_BROKER_URL).flushdb()


def _tournament(name: str, queue: str):
    competitors = factories.prompts_with_outputs({f"{name}-short": 3, f"{name}-long": 40}, prompts=3, dataset=name)
    judge = factories.fake_judge(name=f"{name}-judge", queue=queue)
    return create_tournament(name=name, judge_config=judge, competitors=competitors, schedule="anchor",
                             anchor=competitors[0])


def test_matches_are_published_on_their_judge_configurations_queues(redis_broker, settings):
    settings.ARENA_JUDGE_BATCH = 2
    alpha, beta = _tournament("alpha", "judge.alpha"), _tournament("beta", "judge.beta")
    ids = list(Match.objects.order_by("?").values_list("pk", flat=True))
    assert tasks.publish_matches(ids) == 6
    assert tasks.judge_queue_length("judge.alpha") == 2  # 3 matches in batches of 2
    assert tasks.judge_queue_length("judge.beta") == 2
    assert tasks.judge_queue_length("judge") == 0
    assert not Match.objects.filter(enqueued_at__isnull=True).exists()
    assert alpha.matches.count() == beta.matches.count() == 3


def test_the_sweeper_republishes_lost_messages_of_an_empty_queue_while_another_queue_is_busy(redis_broker,
                                                                                              settings):
    settings.ARENA_ENQUEUE_GRACE_SECONDS = 0
    alpha, beta = _tournament("alpha", "judge.alpha"), _tournament("beta", "judge.beta")
    tasks.publish_matches(list(alpha.matches.values_list("pk", flat=True)))
    tasks.publish_matches(list(beta.matches.values_list("pk", flat=True)))
    redis.Redis.from_url(settings.CELERY_BROKER_URL).delete("judge.alpha")  # alpha's messages are lost
    assert tasks.judge_queue_length("judge.alpha") == 0 < tasks.judge_queue_length("judge.beta")
    assert tasks.sweep_matches() == 3  # alpha's three, not beta's, whose messages are still queued
    assert tasks.judge_queue_length("judge.alpha") == 1

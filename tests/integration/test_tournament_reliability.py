"""Tournaments under real processes: two workers racing, pause and cancel while workers are busy, and
a Redis server restarted mid-tournament. Real Celery workers, the fake judge, and the broker this
run is configured with (the Redis restart test starts its own ``redis-server``)."""

import shutil
import socket
import subprocess
from pathlib import Path

import pytest

from arena import lifecycle, tasks
from arena.lifecycle import create_tournament
from arena.models import Judgment, Tournament
from tests import factories
from tests.integration.test_worker import Worker, judged_once_each, wait_for


def tournament_of(matches_per_prompt_models: dict, prompts: int, delay_s: float, name: str = "race") -> Tournament:
    competitors = factories.prompts_with_outputs(matches_per_prompt_models, prompts=prompts, dataset=name)
    judge = factories.fake_judge(name=f"{name}-judge", delay_s=delay_s)
    return create_tournament(name=name, judge_config=judge, competitors=competitors, schedule="round_robin")


@pytest.fixture
def two_workers(broker, transactional_db):
    started = [Worker(broker), Worker(broker)]
    yield started
    for worker in started:
        worker.stop()


def test_two_workers_racing_on_one_tournament_judge_every_match_exactly_once(two_workers, settings):
    settings.ARENA_JUDGE_BATCH = 2
    for worker in two_workers:
        worker.env["ARENA_JUDGE_BATCH"] = "2"
    tournament = tournament_of({"a": 3, "b": 20, "c": 40}, prompts=4, delay_s=0.1)
    matches = sorted(tournament.matches.values_list("pk", flat=True))
    assert len(matches) == 12
    # Every match published twice, so that both workers reach for the same matches.
    tasks.enqueue_pending(tournament=tournament)
    tasks.publish_matches(list(reversed(matches)))
    two_workers[0].start(beat=True)
    two_workers[1].start()
    assert wait_for(lambda: judged_once_each(tournament), timeout=90)
    assert sorted(tournament.matches.values_list("pk", flat=True)) == matches  # no duplicate, none lost
    assert Judgment.objects.filter(match__tournament=tournament).count() == 12
    assert wait_for(lambda: Tournament.objects.get(pk=tournament.pk).status == "finished", timeout=10)


def quiet_for_sweeps(worker: Worker, sweeps: int) -> None:
    """Until the sweeper has run ``sweeps`` more times (a sweep a second, each also a chance for queued
    tasks to reach the worker): the chances a paused or cancelled tournament had to claim a match,
    awaited instead of slept through. (Waiting for a drained queue too would cost a second per queued
    task on the filesystem broker, which polls once a second.)"""
    seen = worker.sweeps()
    assert wait_for(lambda: worker.sweeps() >= seen + sweeps, timeout=30)


def test_pause_lets_matches_in_flight_finish_and_claims_nothing_new_until_resumed(worker, settings):
    settings.ARENA_JUDGE_BATCH = 1
    worker.env["ARENA_JUDGE_BATCH"] = "1"
    tournament = tournament_of({"a": 3, "b": 20, "c": 40}, prompts=3, delay_s=0.5, name="pausing")
    tasks.enqueue_pending(tournament=tournament)
    worker.start(beat=True)
    assert wait_for(lambda: tournament.matches.filter(status="running").exists(), timeout=60)
    lifecycle.pause(tournament=tournament)
    # The match in flight finishes; nothing else is claimed while paused, even by the sweeper.
    assert wait_for(lambda: not tournament.matches.filter(status="running").exists(), timeout=30)
    done = tournament.matches.filter(status="done").count()
    quiet_for_sweeps(worker, 3)
    assert tournament.matches.filter(status="done").count() == done < 9
    assert not tournament.matches.filter(status="running").exists()
    lifecycle.resume(tournament=tournament)
    tasks.enqueue_pending(tournament=tournament)
    assert wait_for(lambda: judged_once_each(tournament), timeout=90)
    assert wait_for(lambda: Tournament.objects.get(pk=tournament.pk).status == "finished", timeout=10)


def test_cancel_while_a_worker_is_busy_stops_the_tournament_for_good(worker, settings):
    settings.ARENA_JUDGE_BATCH = 1
    worker.env["ARENA_JUDGE_BATCH"] = "1"
    tournament = tournament_of({"a": 3, "b": 20, "c": 40}, prompts=3, delay_s=0.5, name="cancelling")
    tasks.enqueue_pending(tournament=tournament)
    worker.start(beat=True)
    assert wait_for(lambda: tournament.matches.filter(status="running").exists(), timeout=60)
    cancelled = lifecycle.cancel(tournament=tournament)
    assert cancelled > 0
    assert wait_for(lambda: not tournament.matches.filter(status="running").exists(), timeout=30)
    quiet_for_sweeps(worker, 2)
    statuses = set(tournament.matches.values_list("status", flat=True))
    assert statuses <= {"done", "cancelled"}
    assert tournament.matches.filter(status="cancelled").count() == cancelled
    assert Judgment.objects.filter(match__tournament=tournament).count() == 9 - cancelled
    assert Tournament.objects.get(pk=tournament.pk).status == "cancelled"


# --- a Redis server restarted mid-tournament ---------------------------------------------------------

REDIS_SERVER = shutil.which("redis-server")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class OwnRedis:
    """A throwaway redis-server without persistence: a restart loses every queued message."""

    def __init__(self, port: int):
        self.port = port
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen([REDIS_SERVER, "--port", str(self.port), "--save", "", "--appendonly", "no",
                                         "--bind", "127.0.0.1"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        assert wait_for(self.listening, timeout=10)

    def listening(self) -> bool:
        with socket.socket() as probe:
            return probe.connect_ex(("127.0.0.1", self.port)) == 0

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)


@pytest.mark.redis
@pytest.mark.skipif(REDIS_SERVER is None, reason="redis-server is not installed")
def test_a_redis_restart_mid_tournament_loses_nothing_and_judges_nothing_twice(transactional_db, settings):
    settings.ARENA_MATCH_LEASE_SECONDS = 2
    settings.ARENA_ENQUEUE_GRACE_SECONDS = 1
    # A free port, not a fixed one: two checkouts' suites running at once must not share this server.
    redis = OwnRedis(free_port())
    redis.start()
    worker = Worker({"REDIS_URL": f"redis://127.0.0.1:{redis.port}/0", "ARENA_JUDGE_BATCH": "1"})
    try:
        tournament = tournament_of({"a": 3, "b": 20, "c": 40}, prompts=4, delay_s=0.3, name="restart")
        # Published by the worker's own sweeper (beat): this process's broker is not the throwaway one.
        worker.start(beat=True)
        assert wait_for(lambda: tournament.matches.filter(status="done").count() >= 2, timeout=90)
        lost = worker.logged("Connection to broker lost")
        redis.stop()  # every queued message is gone with it
        # The worker has noticed (its consumer reconnects from here on): the outage happened.
        assert wait_for(lambda: worker.logged("Connection to broker lost") > lost, timeout=30)
        redis.start()
        assert wait_for(lambda: judged_once_each(tournament), timeout=120)
        assert tournament.matches.count() == 12
        assert set(tournament.matches.values_list("status", flat=True)) == {"done"}
    finally:
        worker.stop()
        redis.stop()
    assert "Connection" in (Path(settings.DATA_DIR) / "worker.log").read_text(errors="replace")

"""A real Celery worker process judging matches, on the broker this run is configured with.

The worker runs ``celery -A arena worker`` against the test database; the test publishes through the
project's own enqueue path. Killing the worker mid-task must lose nothing. CI runs these on the
filesystem broker (the zero-setup default) and again with REDIS_URL on a real Redis.
"""

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis
from django.conf import settings
from django.db import connection

from arena import judging, tasks
from arena.lifecycle import create_tournament
from arena.models import Judgment, Match, Tournament
from tests import factories

ROOT = Path(__file__).resolve().parents[2]


def database_url() -> str:
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    return f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


class Worker:
    def __init__(self, broker_env: dict):
        self.env = {**os.environ, "DATABASE_URL": database_url(), "ARENA_DATA_DIR": str(settings.DATA_DIR),
                    "ARENA_MATCH_LEASE_SECONDS": "2", "ARENA_VISIBILITY_TIMEOUT": "4", "ARENA_SWEEP_SECONDS": "1",
                    "ARENA_ENQUEUE_GRACE_SECONDS": "1", **broker_env}
        self.process: subprocess.Popen | None = None
        self.log_path = Path(settings.DATA_DIR) / "worker.log"
        self.log = open(self.log_path, "ab")  # noqa: SIM115 - closed in stop()

    def start(self, *, beat: bool = False, queues: str = "default,judge", concurrency: int = 1) -> None:
        command = [sys.executable, "-m", "celery", "-A", "arena", "worker", "-Q", queues, "-c", str(concurrency),
                   "--loglevel", "INFO", "--without-gossip", "--without-mingle", "--without-heartbeat"]
        if beat:
            # The sweeper, as a deployment runs it: beat embedded in one worker.
            command += ["-B", "-s", str(Path(settings.DATA_DIR) / f"beat-{os.getpid()}")]
        # A process group of its own, so that a kill takes the pool child too, as a crash would.
        self.process = subprocess.Popen(command, cwd=ROOT, env=self.env, start_new_session=True,
                                        stdout=self.log, stderr=subprocess.STDOUT)

    def logged(self, pattern: str) -> int:
        """How often the workers' log (shared by every worker of this run) matches ``pattern`` so far:
        tests wait for the count to grow, e.g. for the next sweeps, instead of sleeping."""
        return len(re.findall(pattern, self.log_path.read_text(errors="replace")))

    def sweeps(self) -> int:
        return self.logged(r"Task arena\.tasks\.sweep_matches\[[^\]]*\] succeeded")

    def kill(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()
        self.log.close()


def wait_for(condition, timeout: float = 90.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)  # a cheap check: polling often ends each wait soon after its event
    return False


@pytest.fixture
def broker(settings):
    """The broker this test run is configured with: the filesystem transport by default, Redis when
    REDIS_URL is set (CI runs the suite both ways). Messages left by earlier tests are dropped."""
    if settings.CELERY_BROKER_URL.startswith("redis"):
        redis.Redis.from_url(settings.CELERY_BROKER_URL).flushdb()
    else:
        for stale in Path(settings.CELERY_BROKER_TRANSPORT_OPTIONS["data_folder_in"]).glob("*.msg"):
            stale.unlink()
    settings.ARENA_MATCH_LEASE_SECONDS = 2  # the worker gets the same lease and grace through its environment
    settings.ARENA_ENQUEUE_GRACE_SECONDS = 1
    return {"REDIS_URL": settings.REDIS_URL}


@pytest.fixture
def worker(broker, transactional_db):
    started = Worker(broker)
    yield started
    started.stop()


def make_tournament(delay_s: float = 0.0, prompts: int = 4, hold: Path | None = None):
    competitors = factories.prompts_with_outputs({"short": 3, "long": 40}, prompts=prompts)
    params = {"delay_s": delay_s} if delay_s else {}
    if hold is not None:
        params["hold"] = str(hold)
    tournament = create_tournament(name="live", judge_config=factories.fake_judge(**params),
                                   competitors=competitors, schedule="anchor", anchor=competitors[0])
    tasks.enqueue_pending(tournament=tournament)
    return tournament


def test_worker_judges_every_enqueued_match(worker):
    tournament = make_tournament()
    worker.start()
    assert wait_for(lambda: Judgment.objects.filter(match__tournament=tournament).count() == 4)
    assert set(tournament.matches.values_list("status", flat=True)) == {"done"}


def test_nothing_is_lost_when_the_worker_dies_mid_task(worker, tmp_path):
    hold = tmp_path / "hold"
    hold.touch()  # the judge stays mid-call until the file is gone
    tournament = make_tournament(hold=hold)
    worker.start()
    assert wait_for(lambda: tournament.matches.filter(status="running").exists(), timeout=60)
    worker.kill()
    assert not Judgment.objects.filter(match__tournament=tournament).exists()
    assert wait_for(lambda: Match.objects.stale(older_than=judging.lease()).exists(), timeout=10)  # lease over
    tasks.sweep_matches()  # what the beat scheduler does every ARENA_SWEEP_SECONDS
    hold.unlink()
    worker.start()
    assert wait_for(lambda: Judgment.objects.filter(match__tournament=tournament).count() == 4, timeout=120)
    assert Match.objects.filter(tournament=tournament, status="done").count() == 4


def judged_once_each(tournament) -> bool:
    matches = tournament.matches.count()
    judged = Judgment.objects.filter(match__tournament=tournament)
    return judged.count() == matches and judged.values("match").distinct().count() == matches


def test_a_killed_worker_is_replaced_and_its_matches_judged_exactly_once_within_seconds(worker, settings,
                                                                                      record_property):
    """The whole worker (parent and pool child) is SIGKILLed mid-tournament; a new one, with the
    sweeper under beat as the README runs it, finishes the tournament within a few leases."""
    settings.ARENA_JUDGE_BATCH = 2  # several tasks, so that some are done and some running at the kill
    worker.env["ARENA_JUDGE_BATCH"] = "2"
    tournament = make_tournament(delay_s=1.0, prompts=8)
    worker.start(beat=True)
    assert wait_for(lambda: tournament.matches.filter(status="done").exists(), timeout=60)
    assert wait_for(lambda: tournament.matches.filter(status="running").exists(), timeout=30)
    worker.kill()
    killed_at = time.monotonic()
    worker.start(beat=True)
    assert wait_for(lambda: judged_once_each(tournament), timeout=60)
    recovery_s = time.monotonic() - killed_at
    record_property("recovery_seconds", round(recovery_s, 1))
    assert set(tournament.matches.values_list("status", flat=True)) == {"done"}
    assert recovery_s < 45  # leases of 2 s, a sweep every second, 1 s per judge call


def test_matches_made_while_the_broker_is_down_are_published_by_the_sweeper(worker):
    """A tournament created while the broker is unreachable is committed with nothing queued; the
    command still succeeds, and the sweeper publishes its matches once a broker is there."""
    competitors = factories.prompts_with_outputs({"short": 3, "long": 40}, prompts=3)
    factories.fake_judge(name="offline")
    env = {**worker.env, "REDIS_URL": "redis://127.0.0.1:1/0"}  # nothing listens on port 1
    done = subprocess.run(
        [sys.executable, "manage.py", "create_tournament", "cup", "--judge", "offline", "--schedule", "anchor",
         "--anchor", competitors[0].name], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    tournament = Tournament.objects.get(name="cup")
    assert tournament.matches.count() == 3
    assert not tournament.matches.filter(enqueued_at__isnull=False).exists()
    worker.start(beat=True)
    assert wait_for(lambda: judged_once_each(tournament), timeout=60)

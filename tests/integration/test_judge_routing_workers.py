"""Two real judge workers, one per judge model, as a GPU fleet runs them (``-Q judge.<name>``)."""

import json

from arena import tasks
from arena.lifecycle import create_tournament
from arena.models import Judgment
from tests import factories
from tests.integration.test_worker import Worker, wait_for


def test_each_judge_worker_judges_only_its_own_matches_and_loads_only_its_own_model(broker, transactional_db,
                                                                                    tmp_path):
    record = tmp_path / "backends.jsonl"  # every fake backend built or called, with its process ids
    competitors = factories.prompts_with_outputs({"short": 3, "mid": 20, "long": 40}, prompts=4)
    tournaments = {}
    for name in ("alpha", "beta"):
        judge = factories.fake_judge(name=name, model=f"model-{name}", queue=f"judge.{name}", record=str(record))
        tournaments[name] = create_tournament(name=f"cup-{name}", judge_config=judge, competitors=competitors,
                                              schedule="round_robin")
        tasks.enqueue_pending(tournament=tournaments[name])
    workers = {name: Worker(broker) for name in tournaments}
    try:
        for name, worker in workers.items():
            worker.start(queues=f"judge.{name}")
        for tournament in tournaments.values():
            assert wait_for(lambda t=tournament: Judgment.objects.filter(match__tournament=t).count() == 12)
    finally:
        for worker in workers.values():
            worker.stop()
    lines = [json.loads(line) for line in record.read_text().splitlines()]
    for name, worker in workers.items():
        # The backend runs in the worker's pool process, a child of the process the test started.
        mine = [line for line in lines if line["ppid"] == worker.process.pid]
        assert {line["model"] for line in mine if line["event"] == "load"} == {f"model-{name}"}
        assert {line["model"] for line in mine if line["event"] == "call"} == {f"model-{name}"}
    # Nothing was judged anywhere else (the test process, some other worker).
    pids = {worker.process.pid for worker in workers.values()}
    assert {line["ppid"] for line in lines} <= pids
    for tournament in tournaments.values():
        assert set(tournament.matches.values_list("status", flat=True)) == {"done"}

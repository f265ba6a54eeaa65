"""One-line judge and tournament set-up from the command line and the admin."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from arena.models import JudgeConfig, Tournament
from tests import factories

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_create_judge_adds_an_openai_judge_in_one_line_and_versions_it():
    assert "vllm v1" in run("create_judge", "vllm", "--backend", "openai", "--model", "qwen",
                            "--param", "base_url=http://127.0.0.1:8000/v1", "--option", "max_output_tokens=1024")
    config = JudgeConfig.objects.get(name="vllm")
    assert config.params == {"base_url": "http://127.0.0.1:8000/v1"}
    assert config.spec()["max_output_tokens"] == 1024
    assert "vllm v2" in run("create_judge", "vllm", "--backend", "openai", "--model", "qwen-2")


def test_create_judge_refuses_a_bad_spec_before_any_worker_sees_it():
    with pytest.raises(CommandError, match="unknown judge spec keys"):
        run("create_judge", "x", "--backend", "fake", "--model", "m", "--option", "temperature=2")
    with pytest.raises(CommandError, match="no rubric named 'nope'"):
        run("create_judge", "x", "--backend", "fake", "--model", "m", "--rubric", "nope")
    assert not JudgeConfig.objects.filter(name="x").exists()


def test_create_tournament_queues_the_matches():
    factories.prompts_with_outputs({"a": 2, "b": 9, "c": 4}, prompts=2, dataset="ds", category="math")
    factories.fake_judge(name="fj")
    text = run("create_tournament", "cup", "--judge", "fj", "--anchor", "a", "--dataset", "ds", "--category", "math")
    assert "4 match(es) queued" in text
    with pytest.raises(CommandError, match="unknown model\\(s\\): zed"):
        run("create_tournament", "cup2", "--judge", "fj", "--models", "a,zed", "--schedule", "round_robin")
    with pytest.raises(CommandError, match="needs an anchor"):
        run("create_tournament", "cup3", "--judge", "fj")


def test_admin_action_schedules_a_tournament_made_in_the_admin(admin_client):
    competitors = factories.prompts_with_outputs({"a": 2, "b": 9}, prompts=3)
    tournament = Tournament.objects.create(name="admin-made", judge_config=factories.fake_judge(),
                                           schedule="round_robin")
    tournament.competitors.set(competitors)
    response = admin_client.post("/admin/arena/tournament/", {"action": "schedule_matches",
                                                              "_selected_action": [tournament.pk]})
    assert response.status_code == 302
    assert tournament.matches.count() == 3

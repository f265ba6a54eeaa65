"""Judge configurations are history once used: a change becomes a new version."""

import pytest
from django.core.exceptions import ValidationError

from arena.lifecycle import create_tournament
from arena.models import JudgeConfig
from tests import factories

pytestmark = pytest.mark.django_db


def test_an_unused_judge_configuration_can_be_edited_in_place():
    config = factories.fake_judge()
    config.params = {"preference": "shorter"}
    config.save()
    assert JudgeConfig.objects.get(pk=config.pk).params == {"preference": "shorter"}


def test_a_used_judge_configuration_refuses_changes_to_what_it_judges():
    competitors = factories.prompts_with_outputs({"a": 1, "b": 2}, prompts=1)
    config = factories.fake_judge()
    create_tournament(name="t", judge_config=config, competitors=competitors, schedule="round_robin")
    config.refresh_from_db()
    config.protocol = "pointwise"
    with pytest.raises(ValidationError, match="new version"):
        config.save()
    config.refresh_from_db()
    config.notes = "notes are not part of the judgment"
    config.save()


def test_editing_a_used_configuration_in_the_admin_saves_a_new_version(admin_client):
    competitors = factories.prompts_with_outputs({"a": 1, "b": 2}, prompts=1)
    config = factories.fake_judge()
    create_tournament(name="t", judge_config=config, competitors=competitors, schedule="round_robin")
    form = {"name": config.name, "version": config.version, "backend": "fake", "model": "fake-longer-wins",
            "protocol": "pointwise", "prompt_style": "chat", "params": "{}", "options": "{}",
            "rubric": config.rubric_id, "both_orders": "on", "notes": "", "queue": "judge"}
    response = admin_client.post(f"/admin/arena/judgeconfig/{config.pk}/change/", form)
    assert response.status_code == 302
    versions = dict(JudgeConfig.objects.filter(name=config.name).values_list("version", "protocol"))
    assert versions == {1: "logprob", 2: "pointwise"}


@pytest.mark.parametrize("model", ["competitor", "prompt", "output", "judgeconfig", "tournament", "match",
                                   "judgment", "importedbattle", "humanvote", "leaderboardsnapshot", "apitoken"])
def test_admin_list_pages_load_with_filters_and_search(admin_client, model):
    factories.prompts_with_outputs({"a": 1, "b": 2}, prompts=1)
    response = admin_client.get(f"/admin/arena/{model}/", {"q": "a"})
    assert response.status_code == 200

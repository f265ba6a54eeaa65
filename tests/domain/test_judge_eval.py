"""``manage.py judge_eval``: a judge configuration measured on labelled pairs, numbers stored."""

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from arena.models import JudgeEvaluation
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def pairs(tmp_path):
    """Six pairs where the longer answer is the labelled winner, in alternating slots."""
    rows = []
    for i in range(6):
        short, long = f"No. {i}", f"A careful, complete answer number {i} with reasons and an example."
        first_is_better = i % 2 == 0
        rows.append({"prompt": f"Question {i}?", "output_1": long if first_is_better else short,
                     "output_2": short if first_is_better else long, "label": 1 if first_is_better else 2})
    path = tmp_path / "pairs.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows))
    return path


def test_judge_eval_prints_and_stores_the_metrics(pairs):
    config = factories.fake_judge(name="longer-wins")
    out = StringIO()
    call_command("judge_eval", str(pairs), "--judge", "longer-wins", stdout=out)
    report = json.loads(out.getvalue())
    assert report["n"] == 6 and report["errors"] == 0
    assert report["accuracy"] == 1.0 and report["position_consistency"] == 1.0
    assert report["longer_output_win_rate"] == 1.0 and report["slot_a_rate"] == 0.5
    assert set(report) >= {"accuracy_no_ties", "tie_rate", "cohen_kappa", "seconds"}
    stored = JudgeEvaluation.objects.get(judge_config=config)
    assert stored.metrics["accuracy"] == 1.0


def test_a_position_biased_judge_shows_it(pairs):
    factories.fake_judge(name="first-slot", preference="first")
    out = StringIO()
    call_command("judge_eval", str(pairs), "--judge", "first-slot", "--limit", "4", stdout=out)
    report = json.loads(out.getvalue())
    assert report["n"] == 4
    assert report["slot_a_rate"] == 1.0 and report["position_consistency"] == 0.0


def test_judge_eval_refuses_unknown_judges_and_bad_files(pairs, tmp_path):
    with pytest.raises(CommandError, match="no judge configuration named 'nope'"):
        call_command("judge_eval", str(pairs), "--judge", "nope")
    factories.fake_judge(name="ok")
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"prompt": "x", "output_1": "a"}\n')
    with pytest.raises(CommandError, match="missing label, output_2"):
        call_command("judge_eval", str(bad), "--judge", "ok")
    bad.write_text('\n{"prompt": "x", "output_1": "a", "output_2": "b", "label": "a"}\n{"prompt": \n')
    with pytest.raises(CommandError, match="bad.jsonl:3: malformed JSON"):
        call_command("judge_eval", str(bad), "--judge", "ok")


def test_the_default_judge_configuration_exists_after_migrate_and_matches_the_measured_spec():
    from arena.models import JudgeConfig
    from judges.defaults import DEFAULT_JUDGE_SPEC

    spec = JudgeConfig.objects.get(name="default").spec()
    assert spec.pop("rubric")["criteria"]
    assert spec == DEFAULT_JUDGE_SPEC


def test_the_dashboard_shows_the_latest_measurement_of_each_judge(pairs, client):
    factories.fake_judge(name="longer-wins")
    call_command("judge_eval", str(pairs), "--judge", "longer-wins", stdout=StringIO())
    page = client.get("/").content.decode()
    assert "longer-wins v1" in page and "1.00" in page

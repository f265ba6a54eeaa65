"""Small factories for domain tests: named, explicit, no fixture files."""

from arena import judging, tournaments
from arena.lifecycle import create_tournament
from arena.models import Competitor, Dataset, JudgeConfig, Output, Prompt, Rubric, Tournament


def rubric() -> Rubric:
    # Not the migration's "general" rubric: transactional tests flush data that migrations created.
    criteria = [{"name": "correctness", "description": "Right answers.", "weight": 2},
                {"name": "clarity", "description": "Easy to follow.", "weight": 1}]
    return Rubric.objects.get_or_create(name="test", version=1, defaults={"criteria": criteria})[0]


def fake_judge(name: str = "fake", *, model: str = "fake-longer-wins", queue: str = "judge", **params) -> JudgeConfig:
    """A judge configuration on the deterministic fake backend (for scheduling and storage tests)."""
    return JudgeConfig.objects.create(name=name, backend="fake", model=model, protocol="logprob",
                                      prompt_style="chat", params=params, rubric=rubric(), queue=queue)


def prompts_with_outputs(models: dict[str, int], prompts: int = 3, dataset: str = "set",
                         category: str = "chat") -> list[Competitor]:
    """``models`` maps a name to its answer length: with the fake judge, longer answers win."""
    data, _ = Dataset.objects.get_or_create(name=dataset)
    competitors = [Competitor.objects.get_or_create(name=name)[0] for name in models]
    for i in range(prompts):
        prompt = Prompt.objects.create(external_id=f"{dataset}-{i}", dataset=data, turns=[f"Question {i}?"],
                                       category=category)
        for competitor, length in zip(competitors, models.values(), strict=True):
            text = f"{competitor.name} answers {i}: " + "word " * length
            Output.objects.create(competitor=competitor, prompt=prompt, turns=[text], char_count=len(text))
    return competitors


def judge(*, match_ids: list[int], final_attempt: bool = False) -> judging.JudgingOutcome:
    """What the judge task does, in this process and without a broker: judge, then the step after
    judgments (next rounds, finished tournaments, stale leaderboards)."""
    outcome = judging.judge_matches(match_ids=match_ids, final_attempt=final_attempt)
    tournaments.after_judgments(match_ids=outcome.done + outcome.failed)
    return outcome


def judge_all(tournament) -> None:
    """Judge until the tournament has no pending matches (brackets and adaptive rounds open new ones)."""
    for _ in range(10):
        pending = list(tournament.matches.pending().values_list("pk", flat=True))
        if not pending:
            return
        judge(match_ids=pending)


def running_round_robins(count: int) -> None:
    """Grow to ``count`` running round robins of three models on one prompt, each with two of its three
    matches judged (progress, spending and an ETA to show): lists of every length from one setup."""
    if not Competitor.objects.filter(name__in=["m1", "m2", "m3"]).exists():
        prompts_with_outputs({"m1": 3, "m2": 5, "m3": 8}, prompts=1)
    competitors = Competitor.objects.filter(name__in=["m1", "m2", "m3"])
    judge_config = JudgeConfig.objects.filter(name="fake").first() or fake_judge("fake")
    for i in range(Tournament.objects.count(), count):
        tournament = create_tournament(name=f"cup-{i:02}", judge_config=judge_config, competitors=competitors,
                                       schedule="round_robin")
        judge(match_ids=list(tournament.matches.values_list("pk", flat=True)[:2]))
